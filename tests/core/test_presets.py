"""Every preset loads, simulates and its claim holds; the claim is what its explanation says."""
import json
import re
from pathlib import Path

import numpy as np
import pytest

from gradviz.core.errors import GradvizError
from gradviz.core.presets import (PRESETS_DIR, QUANTITIES, check_claim, list_presets, load_preset,
                                  preset_from_dict, preset_names)
from gradviz.core.scene import analyse, simulate
from gradviz.core.session import Session, load_session, save_session, session_base_net, session_inputs

PRESETS = list_presets()
NAMES = [p.name for p in PRESETS]


def test_the_gallery_covers_the_issue():
    assert len(PRESETS) >= 11
    assert len(set(NAMES)) == len(NAMES)
    assert preset_names() == NAMES
    for needed in ("tanh-vanishing", "tanh-saturation", "irnn", "relu-overflow", "scalar-h1",
                   "sigmoid-gamma", "tanh-gamma", "lstm-carousel", "lstm-forget-bias-0",
                   "lstm-forget-bias-1", "gru-update-gate", "compare-cells", "airline-lstm",
                   "nonnormal"):
        assert needed in NAMES
    assert [p.name for p in PRESETS if p.compare] == ["compare-cells"]


@pytest.mark.parametrize("preset", PRESETS, ids=NAMES)
def test_preset_file_is_well_formed(preset):
    assert preset.path.name == f"{preset.path.name[:2]}_{preset.name}.json"
    text = preset.explanation.strip().replace("et al.", "et al")
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", text) if s]
    assert 2 <= len(sentences) <= 4, sentences
    assert preset.claim, "a preset must make a checkable claim"
    for cond in preset.claim:
        assert cond["quantity"] in QUANTITIES
        assert cond.get("statement"), "each condition says in words what it checks"
        assert cond["statement"] in preset.explanation
    for path in (preset.scene.state_dict_path, preset.scene.inputs_path):
        if path:
            assert Path(path).is_absolute() and Path(path).is_file()
            assert Path(path).parent == PRESETS_DIR.resolve()


@pytest.mark.parametrize("preset", PRESETS, ids=NAMES)
def test_preset_claim_holds(preset):
    ok, measured = check_claim(preset)
    values = measured if isinstance(measured, list) else [measured]
    assert len(values) == len(preset.claim)
    assert all(np.isfinite(values))
    assert ok, list(zip([c["statement"] for c in preset.claim], values))


def test_claims_can_fail():
    """A negative control: the same claim on a scene that does not vanish is False."""
    p = load_preset("tanh-vanishing")
    p.scene = p.scene.replace(wr_scale=2.0, init="orthogonal", input="zeros")
    ok, measured = check_claim(p)
    assert not ok and measured[0] == pytest.approx(100 * np.log10(2.0))


def test_single_condition_claim_returns_one_number():
    p = load_preset("tanh-growth")
    assert len(p.claim) == 1
    ok, measured = check_claim(p)
    assert ok and isinstance(measured, float)
    assert measured == pytest.approx(100 * np.log10(2.0), abs=1e-9)   # W_R^100, exactly


def test_nonnormal_weights_are_what_the_text_says():
    p = load_preset("nonnormal")
    w = simulate(p.scene).net.params["weight_hh_l0"]
    assert np.allclose(np.linalg.eigvals(w), 0.8)
    assert np.linalg.norm(w, 2) == pytest.approx(1.57, abs=0.005)


def test_load_by_slug_or_file_stem_and_unknown_name():
    assert load_preset("01_tanh-vanishing").name == "tanh-vanishing"
    with pytest.raises(GradvizError, match="unknown preset 'nope'.*tanh-vanishing"):
        load_preset("nope")


def test_preset_opens_as_a_session_on_another_machine(tmp_path):
    """A session saved from a file-based preset embeds the weights and reopens bit for bit."""
    p = load_preset("nonnormal")
    session = Session(scene=p.scene, compare=p.compare, step=p.step, preset=p.name)
    path = save_session(tmp_path / "lecture.gradviz.json", session)
    data = json.loads(path.read_text())
    assert data["weights"]["source"] == "nonnormal_rnn.pt"
    loaded = load_session(path)
    a = analyse(simulate(p.scene), exact=False).arrays()
    b = analyse(simulate(loaded.scene, base=session_base_net(loaded),
                         inputs=session_inputs(loaded)), exact=False).arrays()
    assert all(np.array_equal(a[k], b[k], equal_nan=True) for k in a)


@pytest.mark.parametrize("change, message", [
    (lambda d: d.pop("scene"), "missing key 'scene'"),
    (lambda d: d.update(name="Not A Slug"), "slug"),
    (lambda d: d.update(extra=1), "unknown key 'extra'"),
    (lambda d: d.update(claim=[{"quantity": "magic", "below": 1}]), "unknown claim quantity"),
    (lambda d: d.update(claim=[{"quantity": "steps"}]), "below"),
    (lambda d: d.update(claim=[{"quantity": "steps", "below": 1, "scene": {"cell": "x"}}]),
     "cell"),
    (lambda d: d["scene"].update(steps=0), "steps"),
])
def test_malformed_preset_is_a_clear_error(change, message):
    data = json.loads((PRESETS_DIR / "01_tanh-vanishing.json").read_text(encoding="utf-8"))
    change(data)
    with pytest.raises(GradvizError, match=message):
        preset_from_dict(data, source="bad.json")


def test_claim_index_errors_are_clear():
    p = load_preset("tanh-growth")
    p.claim = [{"quantity": "log10_jac_h", "t": 500, "i": 0, "below": 0}]
    with pytest.raises(GradvizError, match="outside"):
        check_claim(p)
    p.claim = [{"quantity": "log10_jac_h", "t": "all", "i": 0, "below": 0}]
    with pytest.raises(GradvizError, match="reduce"):
        check_claim(p)


def test_lstm_carousel_weights_follow_their_recipe():
    from gradviz.core.cells import init_net

    p = load_preset("lstm-carousel")
    params = simulate(p.scene).net.params
    recipe = init_net(p.scene.spec(), seed=0)
    assert np.all(params["bias_ih_l0"][:16] == -6.0) and np.all(params["bias_hh_l0"][:16] == 0.0)
    assert np.array_equal(params["weight_hh_l0"], recipe.params["weight_hh_l0"])
