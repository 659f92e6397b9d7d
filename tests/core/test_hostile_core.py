"""Issue 9 in the core: presets and sessions read only what the user chose; the plan refuses
weights before reading them; one-step Jacobians of huge weights stay finite in products."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from gradviz.core import plan
from gradviz.core.cells import net_from_state_dict
from gradviz.core.errors import GradvizError
from gradviz.core.jacobians import coarse_map, jacobian_map, row_norms
from gradviz.core.presets import PRESETS_DIR, preset_from_dict
from gradviz.core.session import OutsideFileError, load_session


def _preset(path_value):
    data = json.loads(next(PRESETS_DIR.glob("01_*.json")).read_text(encoding="utf-8"))
    data["scene"]["inputs_path"] = path_value
    return data


@pytest.mark.parametrize("value", ["../../../../../../etc/passwd", "/etc/passwd",
                                   "../presets/../../README.md"])
def test_a_preset_never_reaches_outside_its_folder(value):
    with pytest.raises(GradvizError, match="must lie in its folder") as err:
        preset_from_dict(_preset(value), source="p.json")
    assert "root" not in str(err.value)


def test_a_preset_file_inside_its_folder_resolves_there():
    p = preset_from_dict(_preset("data/x.csv"), source="p.json")
    assert Path(p.scene.inputs_path) == (PRESETS_DIR / "data" / "x.csv").resolve()


def test_session_paths_resolve_against_the_session_and_stay_inside(tmp_path):
    folder = tmp_path / "s"
    (folder / "sub").mkdir(parents=True)
    path = folder / "a.gradviz.json"
    doc = {"format": "gradviz-session", "version": 1, "scene": {"inputs_path": "sub/x.csv"}}
    path.write_text(json.dumps(doc), encoding="utf-8")
    assert load_session(path).scene.inputs_path == str(folder / "sub" / "x.csv")
    doc["scene"]["inputs_path"] = "../x.csv"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(doc).encode())        # with a BOM
    with pytest.raises(OutsideFileError, match="outside the session's folder"):
        load_session(path)
    assert load_session(path, allow_outside=True).scene.inputs_path == str(tmp_path / "x.csv")


def test_expanded_weights_are_refused_before_their_storage_is_read():
    z = torch.zeros(1)
    H = 30_000
    sd = {"weight_ih_l0": z.expand(H, 1), "weight_hh_l0": z.expand(H, H),
          "bias_ih_l0": z.expand(H), "bias_hh_l0": z.expand(H)}
    with pytest.raises(GradvizError, match=r"w.pt: its weights need 6.7 GB .*hidden size 30000"):
        net_from_state_dict(sd, source="w.pt")
    assert plan.weight_bytes(1, H, 0, 1, 1, 1) == 8 * (H * H + 3 * H)


def test_products_of_huge_one_step_jacobians_match_exact_arithmetic():
    """J = 1e200·Q (Q orthogonal): ‖J^k‖ = 10^(200k) exactly, far beyond float64."""
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.normal(size=(5, 5)))
    J = np.stack([1e200 * q] * 6)
    for m in (jacobian_map(J, 5, exact=True), coarse_map(J, 5, 2, exact=True)):
        s = m.stride
        for a in range(m.h.shape[0]):
            for b in range(a + 1):
                assert m.h[a, b] == pytest.approx(200 * s * (a - b), abs=1e-9)
    for dtype in (np.float32,):
        m = jacobian_map(J * 1e-170, 5, exact=False, dtype=dtype)   # 1e30 in the window
        assert np.all(np.isfinite(np.tril(m.h_fro)))
        assert m.h_fro[6, 0] == pytest.approx(6 * 30 + 0.5 * np.log10(5), abs=1e-4)
    r = row_norms(J, 6, 5)
    np.testing.assert_allclose(r.h, 200.0 * np.arange(6, -1, -1), atol=1e-9)
