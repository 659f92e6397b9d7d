"""Session files: bit-for-bit reopening, embedded files, old files, clear errors, autosave."""
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from gradviz.core.cells import init_net
from gradviz.core.errors import GradvizError
from gradviz.core.files import TargetExistsError
from gradviz.core.scene import Scene, analyse, simulate
from gradviz.core.session import (Session, autosave_path, clear_autosave, load_session,
                                  read_autosave, save_session, session_base_net, session_inputs,
                                  write_autosave)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _arrays(session):
    trace = simulate(session.scene, base=session_base_net(session), inputs=session_inputs(session))
    return analyse(trace, session.scene.layer, session.scene.direction).arrays()


def _assert_same(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert np.array_equal(a[k], b[k], equal_nan=True), k


def test_seed_scene_reopens_bit_for_bit(tmp_path):
    scene = Scene(cell="gru", hidden_size=5, steps=40, seed=7, init="orthogonal", wr_scale=1.3,
                  update_bias=0.5, input="noise", amplitude=0.7, h0=0.1)
    session = Session(scene=scene, step=12, compare=True, preset="gru-update-gate",
                      view_layout="AAAA/w==")
    path = save_session(tmp_path / "lecture.gradviz.json", session)
    loaded = load_session(path)
    assert loaded.scene == scene
    assert (loaded.step, loaded.compare, loaded.preset, loaded.view_layout) == \
        (12, True, "gru-update-gate", "AAAA/w==")
    assert loaded.weights is None and loaded.inputs is None
    _assert_same(_arrays(session), _arrays(loaded))
    data = json.loads(path.read_text())
    assert data["format"] == "gradviz-session" and data["version"] == 1


def test_files_are_embedded_and_not_needed_after(tmp_path):
    import torch
    spec_scene = Scene(cell="rnn", hidden_size=6, input_size=2)
    net = init_net(spec_scene.spec(), seed=5, init="gaussian")
    sd_path = tmp_path / "rnn.pt"
    torch.save({k: torch.from_numpy(v.astype(np.float32)) for k, v in net.params.items()}, sd_path)
    csv_path = tmp_path / "x.csv"
    rng = np.random.default_rng(0)
    x = rng.standard_normal((25, 2))
    csv_path.write_text("a,b\n" + "".join(f"{float(p)!r},{float(q)!r}\n" for p, q in x))
    scene = spec_scene.replace(state_dict_path=str(sd_path), inputs_path=str(csv_path),
                               wr_scale=None, amplitude=0.3)
    session = Session(scene=scene, step=25)
    before = _arrays(session)   # from the files
    path = save_session(tmp_path / "s.gradviz.json", session)
    sd_path.unlink()
    csv_path.unlink()
    loaded = load_session(path)
    assert np.array_equal(loaded.inputs, x)
    after = _arrays(loaded)
    _assert_same(before, after)
    assert after["inputs"].shape == (25, 2)
    # saving the loaded session again (files gone) keeps the embedded copies
    again = load_session(save_session(tmp_path / "again.gradviz.json", loaded))
    _assert_same(before, _arrays(again))


def test_old_v1_fixture_loads_and_gives_the_expected_numbers():
    session = load_session(FIXTURES / "session_v1.json")
    assert session.scene.cell == "lstm" and session.step == 17
    assert not Path(session.scene.state_dict_path).exists()   # only the embedded copy is used
    arrays = _arrays(session)
    expected = json.loads((FIXTURES / "session_v1_expected.json").read_text())
    got = {"log10_jac_h_row_T": arrays["log10_jac_h"][-1],
           "log10_jac_c_row_T": arrays["log10_jac_c"][-1],
           "log10_forget_path_row_T": arrays["log10_forget_path"][-1],
           "h_T": arrays["h"][-1], "c_T": arrays["c"][-1],
           "sigma_max_whh": arrays["sigma_max_whh"]}
    for k, v in expected.items():
        np.testing.assert_allclose(got[k], v, rtol=1e-12, atol=1e-14, err_msg=k)


def test_existing_file_not_overwritten(tmp_path):
    path = tmp_path / "s.gradviz.json"
    path.write_text("mine")
    with pytest.raises(TargetExistsError):
        save_session(path, Session())
    assert path.read_text() == "mine"
    save_session(path, Session(), overwrite=True)
    assert load_session(path).scene == Scene()


def _fixture_data():
    return json.loads((FIXTURES / "session_v1.json").read_text())


def _broken(mutate):
    data = _fixture_data()
    mutate(data)
    return data


@pytest.mark.parametrize("content, message", [
    ("", "not JSON"),
    ("{\"format\": \"gradviz-session\", ", "not JSON"),
    ("[1, 2, 3]", "not a gradviz session file"),
    (json.dumps({"format": "something-else", "version": 1}), "not a gradviz session file"),
    (json.dumps({"cell": "rnn"}), "not a gradviz session file"),
    (json.dumps({"format": "gradviz-session", "version": 9, "scene": {}}), "newer gradviz"),
    (json.dumps({"format": "gradviz-session", "version": "1", "scene": {}}), "version"),
    (json.dumps({"format": "gradviz-session", "version": 1}), "missing key 'scene'"),
    (json.dumps({"format": "gradviz-session", "version": 1, "scene": {"steps": "many"}}),
     "steps must be an integer"),
    (json.dumps({"format": "gradviz-session", "version": 1, "scene": {"steps": -3}}),
     "steps must be a positive integer"),
    (json.dumps({"format": "gradviz-session", "version": 1, "scene": {"colour": 1}}),
     "unknown setting 'colour'"),
    (json.dumps({"format": "gradviz-session", "version": 1, "scene": {}, "step": -1}), "step"),
    (json.dumps({"format": "gradviz-session", "version": 1, "scene": {}, "extra": 1}),
     "unknown key 'extra'"),
    (json.dumps({"format": "gradviz-session", "version": 1, "scene": {}, "compare": "yes"}),
     "compare"),
    ('{"format": "gradviz-session", "version": 1, "scene": {"h0": NaN}}', "NaN"),
    (json.dumps(_broken(lambda d: d["weights"]["params"][1].update(shape=[4, 4]))), "shape"),
    (json.dumps(_broken(lambda d: d["weights"]["params"][1]["values"][0].__setitem__(0, "x"))),
     "numbers"),
    (json.dumps(_broken(lambda d: d["weights"]["params"].pop())), "bias_hh_l0"),
    (json.dumps(_broken(lambda d: d["scene"].update(hidden_size=5))), "do not match the scene"),
    (json.dumps(_broken(lambda d: d["scene"].update(steps=None))), "steps must be set"),
    (json.dumps(_broken(lambda d: d["scene"].update(state_dict_path=3))), "state_dict_path must be text"),
    (json.dumps(_broken(lambda d: d["inputs"].update(values=[[1.0, 2.0, 3.0]]))), "inputs"),
    (json.dumps(_broken(lambda d: d["scene"].update(state_dict_path=None))), "embedded"),
])
def test_malformed_or_foreign_files_get_a_clear_message(tmp_path, content, message):
    path = tmp_path / "bad.gradviz.json"
    path.write_text(content)
    with pytest.raises(GradvizError, match=message) as info:
        load_session(path)
    assert str(info.value).startswith("bad.gradviz.json")
    assert "\n" not in str(info.value)


def test_not_text_and_missing_file(tmp_path):
    path = tmp_path / "bin.gradviz.json"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(GradvizError, match="cannot be read as text"):
        load_session(path)
    with pytest.raises(GradvizError, match="no such file"):
        load_session(tmp_path / "missing.json")


def test_autosave_round_trip(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADVIZ_DATA_DIR", str(tmp_path / "data"))
    assert autosave_path().parent == tmp_path / "data"
    assert read_autosave() is None
    scene = Scene(cell="lstm", hidden_size=3, steps=20, forget_clamp=0.99)
    write_autosave(Session(scene=scene, step=5))
    write_autosave(Session(scene=scene, step=6))   # replaces the previous one
    got = read_autosave()
    assert got.scene == scene and got.step == 6
    assert os.listdir(tmp_path / "data") == [autosave_path().name]
    clear_autosave()
    assert read_autosave() is None
    clear_autosave()


def test_with_scene_keeps_embedded_data_only_for_the_same_file():
    session = load_session(FIXTURES / "session_v1.json")
    same = session.with_scene(session.scene.replace(wr_scale=0.5))
    assert same.weights is session.weights and same.inputs is session.inputs
    other = session.with_scene(session.scene.replace(state_dict_path="/elsewhere.pt"))
    assert other.weights is None and other.inputs is session.inputs


def test_fixture_copy_is_self_contained(tmp_path):
    """The fixture works from anywhere (nothing relative to its folder)."""
    copy = tmp_path / "moved.gradviz.json"
    shutil.copy(FIXTURES / "session_v1.json", copy)
    _assert_same(_arrays(load_session(copy)), _arrays(load_session(FIXTURES / "session_v1.json")))
