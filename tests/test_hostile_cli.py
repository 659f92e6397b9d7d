"""Issue 9 against ``gradviz export``: hostile and oversized input is refused in one line (or run
at a coarser exact resolution), never half written, never NaN/inf, never an internal error."""
import json
import os
import resource
import signal
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import torch

from gradviz import cli
from gradviz.core import plan as core_plan
from gradviz.core.scene import Scene, analyse, simulate

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


@pytest.fixture
def no_png(monkeypatch):
    monkeypatch.setattr(cli, "_renderer", lambda: None)


def export(*args, out=None):
    argv = ["export", *map(str, args)] + (["--out", str(out)] if out is not None else [])
    return cli.main(argv)


def one_line(capsys, rc, *words):
    err = capsys.readouterr().err
    assert rc != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "internal error" not in err and "Traceback" not in err
    for w in words:
        assert w.lower() in lines[0].lower(), (w, lines[0])
    return lines[0]


def snapshot(folder: Path) -> dict:
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else "dir")
            for p in sorted(folder.rglob("*"))}


# ---------------------------------------------------------------- 1. a plan before allocation

@pytest.mark.parametrize("args, words", [
    (("--cell", "lstm", "--hidden", 512, "--steps", 1500), ["reduce the hidden size or the steps"]),
    (("--hidden", 1024, "--steps", 100), ["reduce the hidden size or the steps"]),
    (("--hidden", 40000, "--steps", 10), ["GB", "reduce"]),
    (("--steps", 10**9), ["GB", "reduce the steps to at most"]),
])
def test_oversized_scenes_are_refused_fast_without_allocating(tmp_path, capsys, no_png, args,
                                                              words):
    out = tmp_path / "out"
    tracemalloc.start()
    start = time.perf_counter()
    rc = export(*args, out=out)
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    one_line(capsys, rc, *words)
    assert seconds < 2.0
    assert peak < 64 * 2**20, peak     # numpy's buffers are traced: nothing large was made
    assert not out.exists()


def test_a_map_that_does_not_fit_is_written_coarser_and_exact(tmp_path, capsys, no_png,
                                                              monkeypatch):
    monkeypatch.setattr(core_plan, "EXPORT_SECONDS", 0.3)   # this machine's budget, made small
    out = tmp_path / "out"
    assert export("--cell", "gru", "--hidden", 8, "--steps", 240, out=out) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "wrote the map at every" in err[0], err
    with np.load(out / "trace.npz") as d:
        stride = int(d["map_stride"])
        coarse = d["log10_jac_h"]
    assert stride > 1 and f"every {stride}" in err[0]
    full = analyse(simulate(Scene(cell="gru", hidden_size=8, steps=240)), exact=True).jac.h
    grid = np.arange(240 // stride + 1) * stride
    np.testing.assert_allclose(coarse, full[np.ix_(grid, grid)], atol=1e-9)


def test_the_default_limit_is_this_machine_not_a_table(no_png):
    """H = 1025 (beyond the old fixed limit of 1024) is a valid scene when memory allows."""
    Scene(hidden_size=1025, steps=5).validate()
    with pytest.raises(cli.GradvizError, match="reduce"):
        Scene(hidden_size=10**6, steps=5).validate()


def _expanded(path: Path, hidden: int) -> Path:
    z = torch.zeros(1)
    torch.save({"weight_ih_l0": z.expand(hidden, 1), "weight_hh_l0": z.expand(hidden, hidden),
                "bias_ih_l0": z.expand(hidden), "bias_hh_l0": z.expand(hidden)}, path)
    assert path.stat().st_size < 4000
    return path


_PEAK_OF_CHILD = (
    "import json, resource, subprocess, sys\n"
    "r = subprocess.run(sys.argv[2:])\n"
    "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "open(sys.argv[1], 'w').write(json.dumps([r.returncode, peak]))\n"
)


def _run_measuring_peak(args: list[str], env: dict, report: Path):
    """Run ``args`` in a fresh wrapper process, so RUSAGE_CHILDREN holds this command's own
    peak resident memory only (in the test process it is the maximum over every child so far)."""
    r = subprocess.run([sys.executable, "-c", _PEAK_OF_CHILD, str(report), *args],
                       capture_output=True, text=True, env=env, timeout=120)
    code, peak_kb = json.loads(report.read_text())
    return code, peak_kb, r


def test_a_tiny_checkpoint_of_expanded_tensors_allocates_nothing(tmp_path):
    """Run as a user would (a process): refused in one line, its peak memory small."""
    bomb = _expanded(tmp_path / "bomb.pt", 100_000)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
    code, peak_kb, r = _run_measuring_peak(
        [sys.executable, "-m", "gradviz", "export", "--state-dict", str(bomb),
         "--out", str(tmp_path / "o")], env, tmp_path / "peak.json")
    assert code == 1
    assert r.stderr.count("\n") == 1 and "bomb.pt" in r.stderr and "hidden size" in r.stderr
    assert peak_kb < 1.2 * 2**20, peak_kb     # < 1.2 GB: torch itself, no weights (80 GB if read)
    assert not (tmp_path / "o").exists()


# ---------------------------------------------------------------- 3. finite everywhere

@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_huge_weights_give_finite_maps_equal_to_autograd(tmp_path, capsys, no_png, cell):
    out = tmp_path / "o"
    assert export("--cell", cell, "--hidden", 4, "--steps", 6, "--wr-scale", "1e200",
                  "--h0", "0.001", "--amplitude", "1e-3", out=out) == 0
    assert capsys.readouterr().err == ""
    with np.load(out / "trace.npz") as d:
        arrays = {k: d[k] for k in d.files}
    for name, a in arrays.items():
        if a.dtype.kind == "f":
            below = np.tril(a) if name.startswith("log10_") and a.ndim == 2 else a
            assert np.all(np.isfinite(below)), name
    # ∂h_1/∂h_0 by autograd in float64 (one step of 1e200 weights is still finite)
    scene = Scene(cell=cell, hidden_size=4, steps=6, wr_scale=1e200, h0=0.001, amplitude=1e-3)
    trace = simulate(scene)
    net = trace.net.to_torch().double()
    x = torch.tensor(trace.inputs[:1], dtype=torch.float64)[:, None, :]
    h0 = torch.full((1, 1, 4), 0.001, dtype=torch.float64)

    def step(h):
        if cell == "lstm":
            return net(x, (h[None, None], torch.full_like(h0, 0.001)))[1][0][0, 0]
        return net(x, h[None, None])[1][0, 0]
    J = torch.autograd.functional.jacobian(step, h0[0, 0]).numpy()
    expected = np.log10(np.linalg.norm(J, 2)) if np.any(J) else -999.0
    assert arrays["log10_jac_h"][1, 0] == pytest.approx(expected, abs=1e-9)
    fro = np.log10(np.linalg.norm(J)) if np.any(J) else -999.0
    assert arrays["log10_jac_h_fro"][1, 0] == pytest.approx(fro, abs=1e-9)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_the_window_float32_map_is_finite_at_1e30(cell):
    a = analyse(simulate(Scene(cell=cell, hidden_size=6, steps=40, wr_scale=1e30, h0=0.01)),
                exact=False, dtype=np.float32)
    assert np.all(np.isfinite(np.tril(a.jac.h_fro)))
    full = analyse(a.trace, exact=False, dtype=np.float64).jac.h_fro
    np.testing.assert_allclose(np.tril(a.jac.h_fro), np.tril(full), atol=1e-3)


def test_wr_scale_beyond_float64_is_refused(capsys, tmp_path, no_png):
    one_line(capsys, export("--wr-scale", "1e305", out=tmp_path / "o"), "wr_scale", "1e+300")


# ---------------------------------------------------------------- 4. whole or nothing

@pytest.mark.parametrize("blocker", ["trace.npz", "states.png"])
def test_a_folder_in_the_way_leaves_out_as_it_was(tmp_path, capsys, blocker):
    out = tmp_path / "out"
    out.mkdir()
    (out / "gates.png").write_bytes(b"an older figure")
    (out / blocker).mkdir()
    (out / blocker / "keep.txt").write_text("mine")
    before = snapshot(out)
    line = one_line(capsys, export("--steps", 3, out=out), blocker, "folder")
    assert str(out) in line
    assert snapshot(out) == before
    assert [p.name for p in tmp_path.iterdir()] == ["out"]   # no temp folder left


def test_a_full_disk_leaves_out_as_it_was(tmp_path):
    """A real write failure (the file-size limit, as a full disk: EFBIG) while the figures are
    written: one line naming --out's file, the old files untouched, no temp folder."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "states.png").write_bytes(b"old")
    before = snapshot(out)

    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (30_000, 30_000))
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable, "-m", "gradviz", "export", "--steps", "3", "--out",
                        str(out)], preexec_fn=limit, capture_output=True, text=True, env=env,
                       timeout=120)
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert str(out) in lines[0] and ".partial" not in lines[0] and "libpng" not in r.stderr
    assert snapshot(out) == before
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


# ---------------------------------------------------------------- 6, 8, 9. one line, no internal error

@pytest.mark.parametrize("make, words", [
    (lambda sd: {1: torch.zeros(3)}, ["a key is int"]),
    (lambda sd: {**sd, "weight_hh_l0": sd["weight_hh_l0"].to_sparse()}, ["sparse", "dense"]),
    (lambda sd: {**sd, "weight_hh_l0": sd["weight_hh_l0"].to(torch.complex128)}, ["complex"]),
    (lambda sd: {**sd, "weight_hh_l0": torch.zeros(4, 4, dtype=torch.bool)}, ["true/false"]),
])
def test_strange_checkpoints_are_refused_by_name(tmp_path, capsys, no_png, make, words):
    sd = torch.nn.RNN(1, 4).state_dict()
    path = tmp_path / "w.pt"
    torch.save(make(dict(sd)), path)
    one_line(capsys, export("--state-dict", path, out=tmp_path / "o"), "w.pt", *words)


def test_a_state_dict_too_large_to_run_names_the_file(tmp_path, capsys, no_png):
    path = tmp_path / "long.pt"
    torch.save(torch.nn.RNN(1, 2000).state_dict(), path)
    one_line(capsys, export("--state-dict", path, "--steps", 10**6, out=tmp_path / "o"),
             "long.pt", "reduce")


@pytest.mark.parametrize("args, words", [
    (("--seed", -1), ["--seed", "from 0"]),
    (("--out", ""), ["--out", "empty"]),
    (("--preset", "", "--out", "x"), ["--preset", "empty"]),
    (("--session", " ", "--out", "x"), ["--session", "empty"]),
])
def test_bad_option_values_are_one_line(capsys, args, words):
    err = capsys.readouterr()
    rc = cli.main(["export", *map(str, args)])
    one_line(capsys, rc, *words)
    del err


def test_negative_numbers_are_option_values(tmp_path, capsys, no_png):
    assert export("--steps", 4, "--amplitude", "-1e3", "--h0", "-.5", out=tmp_path / "o") == 0
    with np.load(tmp_path / "o" / "trace.npz") as d:
        assert np.isclose(np.abs(d["inputs"]).max(), 1e3, rtol=0.2)
        assert d["h"].shape[0] == 5   # h_0..h_4


def _session(tmp_path, scene: dict, **extra) -> Path:
    data = {"format": "gradviz-session", "version": 1, "scene": scene, **extra}
    path = tmp_path / "s.gradviz.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_session_with_a_bom_and_a_negative_seed(tmp_path, capsys, no_png):
    path = _session(tmp_path, {"steps": 3})
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert export("--session", path, out=tmp_path / "o") == 0
    bad = _session(tmp_path, {"steps": 3, "seed": -1})
    one_line(capsys, export("--session", bad, out=tmp_path / "p"), "s.gradviz.json", "seed")


def test_a_400_digit_integer_in_a_session_is_refused(tmp_path, capsys, no_png):
    sd = torch.nn.RNN(1, 2).state_dict()
    params = [{"key": k, "shape": list(v.shape), "values": v.tolist()} for k, v in sd.items()]
    params[1]["values"][0][0] = "HUGE"
    text = json.dumps({"format": "gradviz-session", "version": 1,
                       "scene": {"hidden_size": 2, "steps": 3, "state_dict_path": "w.pt"},
                       "weights": {"source": "w.pt", "params": params}})
    path = tmp_path / "s.gradviz.json"
    path.write_text(text.replace('"HUGE"', "1" + "0" * 400))
    one_line(capsys, export("--session", path, out=tmp_path / "o"), "s.gradviz.json",
             "too large")
    path.write_text(json.dumps({"format": "gradviz-session", "version": 1,
                                "scene": {"steps": 10**400}}))
    one_line(capsys, export("--session", path, out=tmp_path / "o"), "s.gradviz.json", "steps")


# ---------------------------------------------------------------- 5. paths

def test_relative_paths_in_a_session_resolve_against_its_folder(tmp_path, capsys, no_png,
                                                               monkeypatch):
    folder = tmp_path / "lecture"
    folder.mkdir()
    (folder / "x.csv").write_text("x\n1\n2\n3\n4\n")
    path = _session(folder, {"inputs_path": "x.csv", "amplitude": 1.0})
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert export("--session", path, out=tmp_path / "o") == 0
    with np.load(tmp_path / "o" / "trace.npz") as d:
        np.testing.assert_array_equal(d["inputs"][:, 0], [1, 2, 3, 4])


def test_a_session_never_reads_outside_its_folder(tmp_path, capsys, no_png):
    secret = tmp_path / "secret.csv"
    secret.write_text("name\nTOPSECRETLINE\n")
    folder = tmp_path / "a" / "b"
    folder.mkdir(parents=True)
    for target in ("../../secret.csv", str(secret), "../../../../../../../../etc/passwd"):
        path = _session(folder, {"inputs_path": target})
        line = one_line(capsys, export("--session", path, out=tmp_path / "o"),
                        "s.gradviz.json", "outside")
        assert "TOPSECRET" not in line and "root:" not in line


def test_no_error_message_echoes_a_file(tmp_path, capsys, no_png):
    csv = tmp_path / "p.csv"
    csv.write_text("h\n1\nroot:x:0:0:root:/root:/bin/bash\n")
    line = one_line(capsys, export("--inputs", csv, out=tmp_path / "o"), "p.csv", "row 3")
    assert "root" not in line.replace(str(tmp_path), "")
