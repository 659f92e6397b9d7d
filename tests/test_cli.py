"""`gradviz` and `gradviz export`: files written, numbers equal to the core and torch, bad input."""
import os
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch

from gradviz import cli
from gradviz.core.cells import sigma_max
from gradviz.core.scene import Scene, analyse, simulate

ROOT = Path(__file__).resolve().parents[1]
CELL_ARRAYS = {
    "rnn": {"log10_bound_h"}, "rnn-relu": {"log10_bound_h"}, "rnn-sigmoid": {"log10_bound_h"},
    "lstm": {"c", "gate_i", "gate_f", "gate_g", "gate_o", "log10_jac_c", "log10_forget_path"},
    "gru": {"gate_r", "gate_z", "gate_n", "log10_update_path"},
}
MAPS = ("log10_jac_h", "log10_jac_h_fro", "log10_jac_c", "log10_forget_path",
        "log10_update_path", "log10_bound_h")


@pytest.fixture
def no_png(monkeypatch):
    """Skip the figures (rendering is tested on its own): the npz is what most tests check."""
    monkeypatch.setattr(cli, "_renderer", lambda: None)


def export(*args, out=None):
    argv = ["export", *map(str, args)] + (["--out", str(out)] if out is not None else [])
    return cli.main(argv)


def load(out):
    with np.load(Path(out) / "trace.npz") as d:
        return {k: d[k] for k in d.files}


def assert_failed(capsys, rc, *words, out=None):
    """Exit status non-zero, one short line on stderr naming ``words``, nothing written."""
    err = capsys.readouterr().err
    assert rc != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for w in words:
        assert w.lower() in lines[0].lower(), (w, lines[0])
    assert len(lines[0]) < 250
    if out is not None:
        assert not Path(out).exists()
        assert not [p for p in Path(out).parent.iterdir() if p.name.startswith(".")], \
            "a temp folder was left behind"
    return lines[0]


# ---------------------------------------------------------------- what is written

@pytest.mark.parametrize("cell", list(CELL_ARRAYS))
def test_export_writes_every_array_for_each_cell(cell, tmp_path, no_png, capsys):
    out = tmp_path / "run"
    assert export("--cell", cell, "--hidden", 3, "--steps", 12, "--seed", 4, out=out) == 0
    a = load(out)
    T, H = 12, 3
    assert CELL_ARRAYS[cell] <= set(a)
    assert a["h"].shape == (T + 1, H) and np.all(a["h"][0] == 0.0)
    assert a["output"].shape == (T, H)
    for name, value in a.items():
        if value.dtype.kind == "f":
            assert value.dtype == np.float64, name
        if name.startswith("gate_"):
            assert value.shape == (T, H)
    low = np.tril_indices(T + 1)
    high = np.triu_indices(T + 1, 1)
    for name in MAPS:
        if name not in a:
            continue
        m = a[name]
        assert m.shape == (T + 1, T + 1), name
        assert np.all(np.isnan(m[high])), name
        assert np.all(np.isfinite(m[low])), name
    for name in ("log10_jac_h", "log10_jac_c", "log10_forget_path", "log10_update_path",
                 "log10_bound_h"):
        if name in a:
            assert np.all(np.diag(a[name]) == 0.0), name
    # Frobenius norm of the identity on the diagonal: log10 √H
    np.testing.assert_allclose(np.diag(a["log10_jac_h_fro"]), 0.5 * np.log10(H), atol=1e-12)
    # the same numbers as the core's API on the same scene
    scene = Scene().replace(hidden_size=3, steps=12, seed=4, cell=cell.split("-")[0],
                            nonlinearity=(cell.split("-") + ["tanh"])[1])
    ref = analyse(simulate(scene))
    np.testing.assert_array_equal(a["h"], ref.trace.layer().h)
    np.testing.assert_array_equal(a["log10_jac_h"], ref.jac.h)
    assert "wrote" in capsys.readouterr().out


def test_export_from_a_state_dict_equals_torch_for_layer_and_direction(tmp_path, no_png):
    torch.manual_seed(0)
    module = torch.nn.LSTM(2, 5, num_layers=2, bidirectional=True, proj_size=3).double().eval()
    sd = tmp_path / "lstm.pt"
    torch.save(module.state_dict(), sd)
    x = np.random.default_rng(1).normal(size=(9, 2))
    csv = tmp_path / "x.csv"
    csv.write_text("a,b\n" + "\n".join(f"{float(u)!r},{float(v)!r}" for u, v in x))
    out = tmp_path / "run"
    assert export("--state-dict", sd, "--inputs", csv, "--layer", 1, "--direction", 1, out=out) == 0
    a = load(out)
    with torch.no_grad():
        y, (_hn, cn) = module(torch.from_numpy(x)[:, None, :])
    y = y[:, 0, :].numpy()
    np.testing.assert_allclose(a["output"], y, atol=1e-10)
    # layer 1, direction 1 in processing order: step 1 consumes the last input
    np.testing.assert_allclose(a["h"][1:], y[::-1, 3:], atol=1e-10)
    np.testing.assert_allclose(a["c"][-1], cn[3, 0].numpy(), atol=1e-10)
    assert a["h"].shape == (10, 3) and a["c"].shape == (10, 5)
    # weights used as stored: no rescaling unless --wr-scale is given
    w = module.weight_hh_l1_reverse.detach().numpy()
    assert float(a["sigma_max_whh"]) == pytest.approx(sigma_max(w), rel=1e-12)
    assert "log10_jac_c" in a and a["log10_jac_h"].shape == (10, 10)


def test_rnn_state_dict_nonlinearity_from_cell_and_wr_scale(tmp_path, no_png):
    module = torch.nn.RNN(1, 4, nonlinearity="relu").double()
    sd = tmp_path / "rnn.pt"
    torch.save(module.state_dict(), sd)
    out = tmp_path / "run"
    assert export("--state-dict", sd, "--cell", "rnn-relu", "--wr-scale", 0.7, "--steps", 20,
                  "--input", "noise", out=out) == 0
    a = load(out)
    assert float(a["sigma_max_whh"]) == pytest.approx(0.7)
    assert set(np.unique(a["dphi"])) <= {0.0, 1.0}      # relu, chosen by --cell


def test_inputs_csv_sets_steps_and_input_size(tmp_path, no_png):
    csv = tmp_path / "x.csv"
    csv.write_text("\n".join(f"{k},{-k},{k * k}" for k in range(7)))
    out = tmp_path / "run"
    assert export("--inputs", csv, "--amplitude", 2, "--cell", "gru", out=out) == 0
    a = load(out)
    assert a["h"].shape[0] == 8
    np.testing.assert_array_equal(a["inputs"][:, 1], -2.0 * np.arange(7))


def test_out_folder_is_created_and_existing_files_replaced(tmp_path, no_png):
    out = tmp_path / "a" / "b"
    assert export("--steps", 5, out=out) == 0
    (out / "notes.txt").write_text("mine")
    assert export("--steps", 6, out=out) == 0
    assert load(out)["h"].shape[0] == 7
    assert (out / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.joinpath("a").iterdir()) == ["b"]


def test_overflow_is_a_note_and_keeps_the_steps_before(tmp_path, no_png, capsys):
    args = ["--cell", "rnn-relu", "--init", "identity", "--wr-scale", 4, "--input", "step",
            "--hidden", 4, "--steps", 800]
    out = tmp_path / "run"
    assert export(*args, out=out) == 0
    scene = Scene(nonlinearity="relu", init="identity", wr_scale=4.0, input="step",
                  hidden_size=4, steps=800)
    trace = simulate(scene)
    assert trace.overflow_step is not None and 400 < trace.overflow_step < 800
    err = capsys.readouterr().err
    assert f"overflows float64 at step {trace.overflow_step}" in err
    a = load(out)
    assert a["h"].shape == (trace.overflow_step, 4)
    assert int(a["overflow_step"]) == trace.overflow_step
    for name in MAPS:
        if name in a:
            low = a[name][np.tril_indices(a[name].shape[0])]
            assert np.all(np.isfinite(low)), name
    np.testing.assert_array_equal(a["h"], trace.layer().h)


def test_python_dash_m_and_console_script(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    out = tmp_path / "run"
    r = subprocess.run([sys.executable, "-m", "gradviz", "export", "--steps", "4", "--hidden", "2",
                        "--out", str(out)], capture_output=True, text=True, env=env, cwd=ROOT,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    assert (out / "trace.npz").is_file()
    script = Path(sys.executable).with_name("gradviz")
    if script.exists():
        r = subprocess.run([str(script), "export", "--hidden", "0", "--out", str(tmp_path / "x")],
                           capture_output=True, text=True, env=env, timeout=120)
        assert r.returncode == 2
        assert r.stderr.count("\n") == 1 and "--hidden" in r.stderr
        assert "Traceback" not in r.stderr


def test_pngs_one_per_view_at_the_chosen_scale(tmp_path):
    from PyQt6.QtGui import QImage
    out1, out2 = tmp_path / "s1", tmp_path / "s2"
    assert export("--cell", "lstm", "--hidden", 3, "--steps", 10, out=out1) == 0
    assert export("--cell", "lstm", "--hidden", 3, "--steps", 10, "--scale", 2, out=out2) == 0
    pngs = sorted(p.name for p in out1.glob("*.png"))
    assert len(pngs) >= 3
    assert sorted(p.name for p in out2.glob("*.png")) == pngs
    for name in pngs:
        a, b = QImage(str(out1 / name)), QImage(str(out2 / name))
        assert not a.isNull() and a.width() > 100
        assert (b.width(), b.height()) == (2 * a.width(), 2 * a.height())


# ---------------------------------------------------------------- bad input

@pytest.fixture
def bad(tmp_path, no_png, capsys):
    """Run an export that must fail; check the one-line message and that nothing was written."""
    def run(*args, words=()):
        out = tmp_path / "out" / "run"
        (tmp_path / "out").mkdir(exist_ok=True)
        rc = export(*args, out=out)
        return assert_failed(capsys, rc, *words, out=out)
    return run


def write(path, text):
    path.write_text(text)
    return path


@pytest.mark.parametrize("content,words", [
    ("1\n2\nabc\n", ["x.csv", "row 3", "abc"]),
    ("1\nnan\n", ["x.csv", "row 2", "nan"]),
    ("1\n-inf\n", ["x.csv", "row 2", "inf"]),
    ("1,2\n3\n", ["x.csv", "row 2", "columns"]),
    ("", ["x.csv", "empty"]),
    ("\n\n", ["x.csv", "empty"]),
    ("value\n", ["x.csv", "no rows"]),
])
def test_bad_csv(bad, tmp_path, content, words):
    bad("--inputs", write(tmp_path / "x.csv", content), words=words)


def test_csv_not_text(bad, tmp_path):
    p = tmp_path / "x.csv"
    p.write_bytes(b"\xff\xfe\x00\x81\x9f" * 10)
    bad("--inputs", p, words=["x.csv"])


def test_csv_width_must_match_the_weights(bad, tmp_path):
    sd = tmp_path / "gru.pt"
    torch.save(torch.nn.GRU(2, 3).state_dict(), sd)
    bad("--state-dict", sd, "--inputs", write(tmp_path / "x.csv", "1,2,3\n4,5,6\n"),
        words=["x.csv", "3 column", "expected 2"])
    bad("--input-size", 2, "--inputs", write(tmp_path / "y.csv", "1\n2\n"),
        words=["y.csv", "expected 2"])


def test_missing_files(bad, tmp_path):
    bad("--inputs", tmp_path / "nope.csv", words=["nope.csv", "no such file"])
    bad("--state-dict", tmp_path / "nope.pt", words=["nope.pt", "no such file"])
    bad("--inputs", tmp_path, words=["no such file"])
    bad("--session", tmp_path / "nope.json", words=["nope.json"])


@pytest.mark.parametrize("make,words", [
    (lambda p: p.write_text("not a checkpoint"), ["not a torch checkpoint"]),
    (lambda p: p.write_bytes(b""), ["not a torch checkpoint"]),
    (lambda p: torch.save(torch.nn.Linear(2, 3).state_dict(), p), ["unexpected key 'weight'"]),
    (lambda p: torch.save([torch.zeros(2)], p), ["expected a state_dict"]),
    (lambda p: torch.save({"weight_ih_l0": torch.zeros(10, 2), "weight_hh_l0": torch.zeros(5, 3)}, p),
     ["weight_hh_l0", "shape"]),
    (lambda p: torch.save({**torch.nn.GRU(2, 3, num_layers=2).state_dict(),
                           "weight_ih_l1": torch.zeros(9, 4)}, p), ["weight_ih_l1", "shape"]),
    (lambda p: torch.save({k: v for k, v in torch.nn.LSTM(2, 3).state_dict().items()
                           if k != "bias_hh_l0"}, p), ["bias_hh_l0"]),
    (lambda p: torch.save(torch.nn.GRU(2, 3), p), ["refused"]),
])
def test_bad_state_dict(bad, tmp_path, make, words):
    p = tmp_path / "model.pt"
    make(p)
    bad("--state-dict", p, words=["model.pt", *words])


class _RunsCode:
    """Unpickling this calls os.mkdir(marker): a checkpoint that tries to run code."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def test_a_checkpoint_that_runs_code_is_refused_and_the_code_never_runs(bad, tmp_path):
    marker = tmp_path / "pwned"
    p = tmp_path / "evil.pt"
    torch.save({"weight_ih_l0": torch.zeros(3, 1), "weight_hh_l0": torch.zeros(3, 3),
                "payload": _RunsCode(marker)}, p)
    bad("--state-dict", p, words=["evil.pt", "refused"])
    assert not marker.exists()
    torch.load(p, weights_only=False)       # the file really does run code when trusted
    assert marker.is_dir()


@pytest.mark.parametrize("args,words", [
    (["--hidden", "0"], ["--hidden", "positive integer"]),
    (["--hidden", "-3"], ["--hidden", "positive integer"]),
    (["--steps", "0"], ["--steps", "positive integer"]),
    (["--input-size", "-1"], ["--input-size"]),
    (["--num-layers", "0"], ["--num-layers"]),
    (["--hidden", "2.5"], ["--hidden"]),
    (["--cell", "transformer"], ["--cell", "invalid choice"]),
    (["--input", "sawtooth"], ["--input", "invalid choice"]),
    (["--init", "xavier"], ["--init", "invalid choice"]),
    (["--direction", "2"], ["--direction"]),
    (["--scale", "4"], ["--scale"]),
    (["--amplitude", "nan"], ["--amplitude", "finite"]),
    (["--wr-scale", "inf"], ["--wr-scale", "finite"]),
    (["--forget-clamp", "1.5"], ["--forget-clamp", "[0, 1]"]),
    (["--layer", "-1"], ["--layer"]),
    (["--bogus"], ["--bogus"]),
])
def test_bad_options_are_usage_errors(tmp_path, no_png, capsys, args, words):
    out = tmp_path / "run"
    rc = export(*args, out=out)
    assert rc == 2
    assert_failed(capsys, rc, *words, out=out)


@pytest.mark.parametrize("args,words", [
    (["--layer", "1"], ["--layer 1", "1 layer"]),
    (["--direction", "1"], ["--direction 1", "unidirectional"]),
    (["--num-layers", "2", "--layer", "2"], ["--layer 2", "2 layer"]),
    (["--proj-size", "2"], ["proj_size"]),
    (["--cell", "lstm", "--proj-size", "16"], ["proj", "hidden size"]),
    (["--forget-bias", "1"], ["--forget-bias", "LSTM only"]),
    (["--cell", "gru", "--forget-clamp", "0.5"], ["--forget-clamp", "LSTM only"]),
    (["--cell", "lstm", "--update-bias", "1"], ["--update-bias", "GRU only"]),
    (["--input", "sine", "--inputs", "x.csv"], ["--input", "--inputs"]),
])
def test_contradictions_and_out_of_range(bad, args, words):
    bad(*args, words=words)


def test_state_dict_decides_sizes_and_contradicting_flags_are_errors(bad, tmp_path, no_png):
    sd = tmp_path / "rnn.pt"
    torch.save(torch.nn.RNN(2, 3, num_layers=2).state_dict(), sd)
    bad("--state-dict", sd, "--cell", "lstm", words=["--cell lstm", "rnn.pt", "RNN"])
    bad("--state-dict", sd, "--hidden", 5, words=["--hidden 5", "rnn.pt", "3"])
    bad("--state-dict", sd, "--input-size", 1, words=["--input-size 1", "rnn.pt"])
    bad("--state-dict", sd, "--bidirectional", words=["--bidirectional", "rnn.pt"])
    bad("--state-dict", sd, "--init", "orthogonal", words=["--init", "rnn.pt"])
    bad("--state-dict", sd, "--layer", 2, words=["--layer 2", "2 layer"])
    bad("--state-dict", sd, "--direction", 1, words=["--direction 1", "unidirectional"])
    csv = write(tmp_path / "x.csv", "1,2\n3,4\n5,6\n")
    bad("--state-dict", sd, "--inputs", csv, "--steps", 10, words=["--steps 10", "3 rows"])
    # flags that agree with the file are fine
    out = tmp_path / "ok"
    assert export("--state-dict", sd, "--hidden", 3, "--num-layers", 2, "--layer", 1,
                  "--inputs", csv, "--steps", 3, out=out) == 0
    assert load(out)["h"].shape == (4, 3)


def test_out_that_is_a_file(tmp_path, no_png, capsys):
    f = tmp_path / "taken"
    f.write_text("x")
    rc = export(out=f)
    assert_failed(capsys, rc, "--out", "taken", "is a file")
    assert f.read_text() == "x"
    rc = export(out=f / "sub")
    assert_failed(capsys, rc, "--out", "is a file")


def test_a_failure_while_writing_leaves_nothing(tmp_path, monkeypatch, capsys):
    def broken_render(scene, analysis, out_dir, scale=1, **kw):
        (Path(out_dir) / "states.png").write_bytes(b"half")
        raise cli.GradvizError("rendering failed")
    monkeypatch.setattr(cli, "_renderer", lambda: broken_render)
    out = tmp_path / "new" / "run"
    rc = export("--steps", 3, out=out)
    assert_failed(capsys, rc, "rendering failed")
    assert list(tmp_path.iterdir()) == []      # not even the parent it created


def test_overflow_at_step_one_is_an_error(bad, tmp_path):
    sd = tmp_path / "huge.pt"
    m = torch.nn.RNN(1, 1, nonlinearity="relu").double()
    with torch.no_grad():
        m.weight_ih_l0.fill_(1e308)
        m.bias_ih_l0.fill_(1e308)
        m.bias_hh_l0.fill_(1e308)
    torch.save(m.state_dict(), sd)
    bad("--state-dict", sd, "--cell", "rnn-relu", "--input", "step", words=["step 1"])


# ---------------------------------------------------------------- presets and sessions

def fake_presets():
    from gradviz.core.errors import GradvizError

    mod = types.ModuleType("gradviz.core.presets")
    preset = types.SimpleNamespace(name="tiny-lstm", title="A tiny LSTM")

    def load_preset(name):
        if name != "tiny-lstm":
            raise GradvizError(f"unknown preset {name!r}")
        return types.SimpleNamespace(name=name, title=preset.title, step=3,
                                     scene=Scene(cell="lstm", hidden_size=2, steps=7, forget_clamp=0.9))
    mod.list_presets = lambda: [preset]
    mod.load_preset = load_preset
    return mod


def test_export_from_a_preset_with_overrides(tmp_path, no_png, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "gradviz.core.presets", fake_presets())
    out = tmp_path / "run"
    assert export("--preset", "tiny-lstm", "--steps", 9, out=out) == 0
    a = load(out)
    assert a["c"].shape == (10, 2)
    np.testing.assert_array_equal(a["gate_f"], 0.9)
    rc = export("--preset", "nope", out=tmp_path / "x")
    assert_failed(capsys, rc, "nope", out=tmp_path / "x")


def test_the_real_presets_export_and_list(tmp_path, no_png, capsys):
    import gradviz.core.presets as presets
    assert cli.main(["--list-presets"]) == 0
    listed = capsys.readouterr().out.splitlines()
    names = [p.name for p in presets.list_presets()]
    assert [line.split()[0] for line in listed] == names
    out = tmp_path / "run"
    assert export("--preset", names[0], "--steps", 30, out=out) == 0
    assert load(out)["h"].shape[0] == 31


def test_export_from_a_session(tmp_path, no_png, capsys):
    import gradviz.core.session as session_mod
    csv = write(tmp_path / "x.csv", "\n".join(str(0.1 * k) for k in range(15)))
    scene = Scene(cell="gru", hidden_size=3, steps=15, seed=2, inputs_path=str(csv), amplitude=2.0)
    path = tmp_path / "s.gradviz.json"
    session_mod.save_session(path, session_mod.Session(scene=scene))
    csv.unlink()                                   # the session carries its inputs
    out = tmp_path / "run"
    assert export("--session", path, out=out) == 0
    a = load(out)
    np.testing.assert_allclose(a["inputs"][:, 0], 0.2 * np.arange(15), atol=1e-15)
    assert a["h"].shape == (16, 3)
    bad_session = write(tmp_path / "b.json", "{not json")
    rc = export("--session", bad_session, out=tmp_path / "x")
    assert_failed(capsys, rc, "b.json", out=tmp_path / "x")


# ---------------------------------------------------------------- the window command

def test_the_window_gets_the_preset_or_session_itself_when_it_takes_them(monkeypatch, tmp_path):
    import gradviz.core.session as session_mod
    calls = []
    app = types.ModuleType("gradviz.gui.app")
    app.run_app = lambda argv, scene=None, session=None, preset=None: \
        calls.append((scene, session, preset)) or 0
    monkeypatch.setitem(sys.modules, "gradviz.gui.app", app)
    monkeypatch.setitem(sys.modules, "gradviz.core.presets", fake_presets())
    assert cli.main(["--preset", "tiny-lstm"]) == 0
    assert calls[-1] == (None, None, "tiny-lstm")
    path = tmp_path / "s.gradviz.json"
    session_mod.save_session(path, session_mod.Session(scene=Scene(cell="gru", hidden_size=3)))
    assert cli.main(["--session", str(path)]) == 0
    _scene, session, preset = calls[-1]
    assert session == str(path) and preset is None   # the path: Save writes back to it
    assert cli.main(["--session", str(tmp_path / "missing.gradviz.json")]) == 1


def test_list_presets(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "gradviz.core.presets", fake_presets())
    assert cli.main(["--list-presets"]) == 0
    assert capsys.readouterr().out.split() == ["tiny-lstm", "A", "tiny", "LSTM"]


def test_window_command_rejects_unknown_options(capsys):
    rc = cli.main(["--steps", "3"])
    assert rc == 2
    assert_failed(capsys, rc, "--steps", "gradviz export")
