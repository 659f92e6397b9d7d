"""Exported scripts run with plain torch and print gradviz's numbers (issue 12).

Every cell kind (with layers, both directions and proj_size where they apply) and every preset
is written as a script, run in a subprocess with this venv's python (two batches in parallel,
plus one script run exactly as a student would), and its printed numbers are compared with
gradviz's own trace: states, gates and pre-activations to 1e-10 (relative where |value| > 1:
the relu preset's states reach 10^307), log10 norms to 1e-8 against analyse(..., exact=True).
"""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from gradviz.core.codegen import (generate_script, inputs_file, parse_output,
                                  weights_file, write_script)
from gradviz.core.errors import GradvizError
from gradviz.core.files import TargetExistsError
from gradviz.core.presets import list_presets
from gradviz.core.scene import Scene, analyse, simulate

STATE_TOL, LOG_TOL = 1e-10, 1e-8

#: every cell kind; layers, directions, projection and the clamp where they apply
CELL_SCENES = {
    "rnn-tanh-2layers-bi": Scene(cell="rnn", hidden_size=6, num_layers=2, bidirectional=True,
                                 steps=30, layer=1, direction=1, input="noise", input_size=2),
    "rnn-relu": Scene(cell="rnn", nonlinearity="relu", hidden_size=8, init="identity",
                      wr_scale=1.0, input="step", steps=40, h0=0.1),
    "rnn-sigmoid-2layers": Scene(cell="rnn", nonlinearity="sigmoid", hidden_size=5, num_layers=2,
                                 layer=1, steps=25, wr_scale=1.0),
    "lstm-proj-2layers-bi": Scene(cell="lstm", hidden_size=6, proj_size=3, num_layers=2,
                                  bidirectional=True, layer=1, direction=0, steps=30,
                                  init="default", wr_scale=None, forget_bias=1.0, h0=0.2),
    "lstm-bi-reverse": Scene(cell="lstm", hidden_size=5, bidirectional=True, direction=1,
                             steps=20, input="impulse"),
    "lstm-clamp": Scene(cell="lstm", hidden_size=6, steps=40, forget_clamp=0.9),
    "gru-2layers-bi": Scene(cell="gru", hidden_size=6, num_layers=2, bidirectional=True, layer=1,
                            direction=1, steps=30, update_bias=2.0, init="default"),
    # more numbers than EMBED_LIMIT: weights in a .pt, inputs in a CSV beside the script
    "gru-files": Scene(cell="gru", hidden_size=40, input_size=41, input="noise", steps=100,
                       init="default"),
}
#: a cursor in the middle of the run for some scenes (default: the last step)
CURSORS = {"rnn-tanh-2layers-bi": 17, "lstm-clamp": 0, "gru-2layers-bi": 9}


def _cases():
    cases = {name: (scene, CURSORS.get(name)) for name, scene in CELL_SCENES.items()}
    for preset in list_presets():
        cases[f"preset-{preset.name}"] = (preset.scene, preset.step)
    return cases


RUNNER = textwrap.dedent("""
    import contextlib, io, runpy, sys
    for path in sys.argv[1:]:
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            runpy.run_path(path, run_name="__main__")
        open(path + ".out", "w", encoding="utf-8").write(buf.getvalue())
""")


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    """Write every script, run them in two parallel subprocesses, parse what they print."""
    folder = tmp_path_factory.mktemp("scripts")
    cases = _cases()
    paths = {}
    for name, (scene, step) in cases.items():
        path = folder / f"{name.replace('-', '_')}.py"
        write_script(path, scene, step=step)
        paths[name] = path
    names = list(paths)
    batches = [names[0::2], names[1::2]]
    procs = [subprocess.Popen([sys.executable, "-c", RUNNER, *[str(paths[n]) for n in batch]],
                              cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for batch in batches]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-3000:]
    return {name: (cases[name], paths[name],
                   parse_output(Path(str(paths[name]) + ".out").read_text(encoding="utf-8")))
            for name in names}


def _close(ours, theirs, what):
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    assert ours.shape == theirs.shape, (what, ours.shape, theirs.shape)
    err = np.abs(ours - theirs) / np.maximum(1.0, np.abs(theirs))
    assert err.max(initial=0.0) <= STATE_TOL, (what, float(err.max()))


@pytest.mark.parametrize("name", list(_cases()))
def test_script_prints_gradviz_numbers(outputs, name):
    (scene, step), _path, out = outputs[name]
    trace = simulate(scene)
    a = analyse(trace, scene.layer, scene.direction, exact=True, dtype=np.float64)
    lt = trace.layer(scene.layer, scene.direction)
    T = trace.steps
    t = T if step is None else step
    assert (out.steps, out.cursor, out.layer, out.direction) == (T, t, scene.layer, scene.direction)
    _close(out.x, trace.inputs, "x")
    _close(out.h, lt.h, "h")
    kind = trace.net.spec.kind
    if kind == "lstm":
        _close(out.c, lt.c, "c")
    if kind == "rnn":
        _close(out.a, lt.preact["a"], "a")
        _close(out.dphi, lt.dphi, "dphi")
    assert sorted(out.gates) == sorted(lt.gates)
    for gate, values in lt.gates.items():
        _close(out.gates[gate], values, f"gate {gate}")
    assert abs(out.sigma_max - a.sigma_max) <= 1e-12 * a.sigma_max
    # log10 ‖∂h_t/∂h_i‖ for the cursor row, i = 0..t: 2-norm, Frobenius, and ∂c_t/∂c_i
    assert np.abs(out.log10_jac_h - a.jac.h[t, :t + 1]).max() <= LOG_TOL
    assert np.abs(out.log10_jac_h_fro - a.jac.h_fro[t, :t + 1]).max() <= LOG_TOL
    if kind == "lstm":
        assert np.abs(out.log10_jac_c - a.jac.c[t, :t + 1]).max() <= LOG_TOL
    if out.log10_autograd is not None:
        assert abs(out.log10_autograd - a.jac.h[t, 0]) <= LOG_TOL
    else:   # beyond float64: only the log10 product can say it
        assert abs(a.jac.h[t, 0]) > 299
    if t >= 1:
        label, ft, value = out.factor
        assert ft == t
        assert label == {"rnn": "max|φ′(a_t)|·σ_max", "lstm": "mean_f_t", "gru": "mean_z_t"}[kind]
        expected = {"rnn": lambda: 10 ** a.step_factor[t - 1] if a.step_factor[t - 1] > -999 else 0,
                    "lstm": lambda: a.gate_stats["f_mean"][t - 1],
                    "gru": lambda: a.gate_stats["z_mean"][t - 1]}[kind]()
        assert abs(value - expected) <= 1e-10 * max(1.0, abs(expected))
    # the script's own checks ran and passed (hand loop vs torch.nn, autograd vs product)
    torch_nn = not (kind == "rnn" and trace.net.spec.nonlinearity == "sigmoid")
    assert ("hand_vs_torch_nn" in out.checks) == torch_nn
    assert all(v <= 1e-8 for v in out.checks.values()), out.checks


def test_large_scenes_write_a_state_dict_and_a_csv_beside_the_script(outputs):
    _, path, _ = outputs["gru-files"]
    assert weights_file(path).is_file() and inputs_file(path).is_file()
    text = path.read_text(encoding="utf-8")
    assert "weights_only=True" in text and "np.loadtxt" in text
    small = outputs["rnn-relu"][1]
    assert not weights_file(small).exists() and not inputs_file(small).exists()
    assert "np.ones(T)" in small.read_text(encoding="utf-8")   # the step signal as a formula


def test_a_student_runs_the_script_from_another_folder(tmp_path):
    """``python path/to/scene.py`` from elsewhere: only torch and numpy, files found beside it."""
    scene = CELL_SCENES["gru-files"]
    path = tmp_path / "sub" / "my scene.py"
    path.parent.mkdir()
    written = write_script(path, scene)
    assert written == [path, weights_file(path), inputs_file(path)]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    probe = ("import sys, runpy; runpy.run_path(sys.argv[1], run_name='__main__'); "
             "print('# modules', *sorted(m.split('.')[0] for m in sys.modules "
             "if m.split('.')[0] in ('gradviz', 'scipy', 'pandas')))")
    proc = subprocess.run([sys.executable, "-I", "-c", probe, str(path)], cwd=elsewhere,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.splitlines()[-1] == "# modules"   # no gradviz, nothing beyond torch/numpy
    out = parse_output(proc.stdout)
    trace = simulate(scene)
    _close(out.h, trace.layer(0, 0).h, "h")


def test_the_script_says_where_notes_and_torch_differ():
    gru = generate_script(Scene(cell="gru", hidden_size=3, steps=5)).text
    assert "(r_t * h) @ W_hh" in gru and "h = (1 - z_t) * n_t + z_t * h" in gru
    assert "z = the share of the NEW state" in gru and "the share of the OLD state" in gru
    lstm = generate_script(Scene(cell="lstm", hidden_size=4, proj_size=2, steps=5)).text
    assert "W_xf = weight_ih[H:2H].T" in lstm and "bias_ih[H:2H] + bias_hh[H:2H]" in lstm
    assert "proj_size" in lstm and "weight_hr" in lstm
    sig = generate_script(Scene(nonlinearity="sigmoid", hidden_size=3, steps=5)).text
    assert "torch.nn.RNN has no sigmoid" in sig
    clamp = generate_script(Scene(cell="lstm", hidden_size=3, steps=5, forget_clamp=0.5)).text
    assert "torch has no forget clamp" in clamp
    for text in (gru, lstm, sig, clamp):
        imports = [line for line in text.splitlines() if line.startswith(("import ", "from "))]
        assert imports == ["import math", "from pathlib import Path", "import numpy as np",
                           "import torch"]


def test_write_is_whole_or_nothing_and_never_overwrites_unasked(tmp_path):
    scene = Scene(cell="lstm", hidden_size=40, steps=5)     # weights go to a .pt
    path = tmp_path / "s.py"
    weights_file(path).write_bytes(b"old")
    with pytest.raises(TargetExistsError):
        write_script(path, scene)
    assert not path.exists() and weights_file(path).read_bytes() == b"old"
    assert write_script(path, scene, overwrite=True) == [path, weights_file(path)]
    with pytest.raises(GradvizError, match=r"\.py"):
        write_script(tmp_path / "s.txt", scene)
    with pytest.raises(GradvizError, match="does not exist"):
        write_script(tmp_path / "missing" / "s.py", Scene(steps=5))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.pt", "s.py"]
