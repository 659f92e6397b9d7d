"""`gradviz phase`: phase.npz holds the core's numbers, a PNG beside it, bad input one line."""
from pathlib import Path

import numpy as np
import pytest

from gradviz import cli
from gradviz.core.errors import GradvizError
from gradviz.commands import phase as phase_command
from gradviz.core.lyapunov import mean_field_rate
from gradviz.core.phase import PhaseSpec, compute_phase, lin_range, log_range, point_lambda1
from gradviz.core.phase import point_scene
from gradviz.core.scene import Scene


def run(*args, out=None):
    argv = ["phase", *map(str, args)] + (["--out", str(out)] if out is not None else [])
    return cli.main(argv)


def assert_failed(capsys, rc, *words, out=None):
    err = capsys.readouterr().err
    assert rc != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    for w in words:
        assert w.lower() in lines[0].lower(), (w, lines[0])
    if out is not None:
        assert not Path(out).exists()
        assert not [p for p in Path(out).parent.iterdir() if p.name.startswith(".")]


def test_phase_writes_the_cores_numbers_and_a_png(tmp_path, capsys):
    out = tmp_path / "nested" / "phase"
    rc = run("--cell", "rnn", "--g-range", "0.5:2:4", "--y", "amplitude", "--y-range", "0:2:3",
             "--hidden", 16, "--steps", 60, "--input", "sine", out=out)
    assert rc == 0, capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["phase.npz", "phase.png"]
    with np.load(out / "phase.npz") as d:
        arrays = {k: d[k] for k in d.files}
    assert set(arrays) == {"g", "y", "lambda1", "lambda1_std", "lambda1_mean_field"}
    np.testing.assert_allclose(arrays["g"], log_range(0.5, 2.0, 4))
    np.testing.assert_allclose(arrays["y"], [0.0, 1.0, 2.0])
    assert arrays["lambda1"].shape == (3, 4) and arrays["lambda1_std"].shape == (3, 4)
    assert all(a.dtype == np.float64 for a in arrays.values())
    np.testing.assert_allclose(arrays["lambda1_mean_field"], mean_field_rate(arrays["g"]))
    scene = Scene(hidden_size=16, steps=60, init="gaussian", wr_scale=None, input="sine", h0=0.5)
    spec = PhaseSpec(scene, log_range(0.5, 2.0, 4), "amplitude", lin_range(0.0, 2.0, 3))
    np.testing.assert_array_equal(arrays["lambda1"], compute_phase(spec).lambda1)
    lam, _ = point_lambda1(point_scene(spec, 3, 2), spec.measure_from)
    assert arrays["lambda1"][2, 3] == pytest.approx(lam, abs=1e-12)
    png = (out / "phase.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    assert "wrote 2 file(s)" in capsys.readouterr().out


def test_lstm_forget_bias_seeds_and_negative_ranges(tmp_path, capsys):
    out = tmp_path / "lstm"
    rc = run("--cell", "lstm", "--init", "orthogonal", "--g-range", "0.5:3:3", "--y-range",
             "-2:2:2", "--hidden", 8, "--steps", 40, "--seeds", 2, "--transient", 10, out=out)
    assert rc == 0, capsys.readouterr().err
    with np.load(out / "phase.npz") as d:
        assert "lambda1_mean_field" not in d.files        # theory for tanh RNNs only
        np.testing.assert_allclose(d["y"], [-2.0, 2.0])
        lam, std = d["lambda1"], d["lambda1_std"]
    scene = Scene(cell="lstm", hidden_size=8, steps=40, init="orthogonal", wr_scale=None,
                  input="sine", h0=0.5)
    spec = PhaseSpec(scene, log_range(0.5, 3.0, 3), "forget_bias", (-2.0, 2.0), seeds=2,
                     transient=10)
    ref = compute_phase(spec)
    np.testing.assert_array_equal(lam, ref.lambda1)
    np.testing.assert_array_equal(std, ref.lambda1_std)
    assert point_scene(spec, 1, 0).wr_scale == pytest.approx(spec.g[1])   # σ_max axis


@pytest.mark.parametrize("args,words", [
    (("--g-range", "1:0.5:3"), ("--g-range", "0 < A < B")),
    (("--g-range", "abc"), ("--g-range", "A:B:N")),
    (("--y-range", "0:1:0"), ("--y-range",)),
    (("--y", "forget-bias"), ("forget_bias", "LSTM")),
    (("--steps", 5, "--transient", 5), ("transient",)),
    (("--hidden", 0), ("--hidden",)),
    (("--cell", "nope"), ("--cell",)),
])
def test_bad_input_is_one_line_and_nothing_is_written(tmp_path, capsys, args, words):
    out = tmp_path / "out"
    rc = run(*args, out=out)
    assert_failed(capsys, rc, *words, out=out)


def test_an_out_that_is_a_file_is_refused_before_any_work(tmp_path, capsys):
    target = tmp_path / "file"
    target.write_text("x")
    rc = run("--g-range", "0.5:1:2", "--y-range", "0:1:2", "--hidden", 4, "--steps", 10,
             out=target)
    assert_failed(capsys, rc, "is a file")
    assert target.read_text() == "x"


def test_a_failing_figure_leaves_nothing(tmp_path, capsys, monkeypatch):
    def broken(*_args, **_kw):
        raise GradvizError("phase.png: could not write the PNG")
    monkeypatch.setattr(phase_command, "_render", broken)
    out = tmp_path / "out"
    rc = run("--g-range", "0.5:1:2", "--y-range", "0:1:2", "--hidden", 4, "--steps", 10, out=out)
    assert_failed(capsys, rc, "phase.png", out=out)
