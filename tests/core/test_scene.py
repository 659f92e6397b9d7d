"""Scene: plain data in, a clear message for anything that cannot work."""
import pytest

from gradviz.core.errors import GradvizError
from gradviz.core.scene import Scene, analyse, simulate


def test_round_trip_through_plain_data():
    scene = Scene(cell="lstm", hidden_size=4, forget_bias=1.0, forget_clamp=0.5, seed=3)
    assert Scene.from_dict(scene.to_dict()) == scene


@pytest.mark.parametrize("data, message", [
    ({"steps": None}, "steps must be set"),
    ({"num_layers": 10**30}, "layers 1000000000000000000000000000000 is beyond what any machine"),
    ({"hidden_size": 0}, "hidden size must be a positive integer"),
    ({"hidden_size": True}, "hidden_size must be an integer"),
    ({"state_dict_path": 3}, "state_dict_path must be text"),
    ({"wr_scale": "big"}, "wr_scale must be a number"),
    ({"layer": 1}, "layer 1 does not exist"),
    ({"direction": 1}, "direction 1 does not exist"),
    ({"colour": "red"}, "unknown setting 'colour'"),
    ({"cell": "transformer"}, "unknown cell kind"),
    ({"forget_clamp": 1.5}, r"forget clamp must lie in \[0, 1\]"),
    ({"amplitude": float("nan")}, "amplitude must be a finite number"),
])
def test_bad_settings_are_named(data, message):
    with pytest.raises(GradvizError, match=message):
        Scene.from_dict(data, source="s.json")


def test_default_scene_vanishes_and_explodes_past_one():
    """The window's first scene: ‖∂h_100/∂h_0‖₂ ≈ 10^-6 at σ_max 0.9, > 10^3 at 1.5."""
    quiet = analyse(simulate(Scene()))
    loud = analyse(simulate(Scene(wr_scale=1.5)))
    assert quiet.jac.h[100, 0] < -5 and quiet.sigma_max == pytest.approx(0.9)
    assert loud.jac.h[100, 0] > 3
