"""The wheel carries everything gradviz reads (presets, the airline series) and works outside the
checkout: built here, installed into a fresh venv, run from another folder."""
from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(*args, cwd, env=None):
    return subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def test_the_wheel_works_outside_the_checkout(tmp_path):
    dist = tmp_path / "dist"
    r = run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
            "-w", dist, ROOT, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    wheel = next(dist.glob("gradviz-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "gradviz/assets/airline_passengers.csv" in names
    assert "gradviz/assets/presets/01_tanh-vanishing.json" in names
    assert "gradviz/assets/presets/nonnormal_rnn.pt" in names

    venv = tmp_path / "venv"
    assert run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path).returncode == 0
    py = venv / "bin" / "python"
    purelib = Path(run(py, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))",
                       cwd=tmp_path).stdout.strip())
    # the dependencies (numpy, torch, Qt) come from this environment, gradviz from the wheel
    (purelib / "deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    r = run(sys.executable, "-m", "pip", "--python", py, "install", "--no-deps", "-q", wheel,
            cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    env["QT_QPA_PLATFORM"] = "offscreen"
    where = run(py, "-c", "import gradviz; print(gradviz.__file__)", cwd=tmp_path, env=env)
    assert Path(where.stdout.strip()).is_relative_to(venv), where.stdout + where.stderr

    listed = run(venv / "bin" / "gradviz", "--list-presets", cwd=tmp_path, env=env)
    assert listed.returncode == 0, listed.stderr
    assert "tanh-vanishing" in listed.stdout and len(listed.stdout.splitlines()) >= 15
    out = tmp_path / "out"
    exported = run(venv / "bin" / "gradviz", "export", "--preset", "01_tanh-vanishing",
                   "--out", out, cwd=tmp_path, env=env)
    assert exported.returncode == 0, exported.stderr
    assert (out / "trace.npz").is_file() and (out / "gradient_flow.png").is_file()
    airline = run(venv / "bin" / "gradviz", "export", "--input", "airline", "--steps", "144",
                  "--out", tmp_path / "air", cwd=tmp_path, env=env)
    assert airline.returncode == 0, airline.stderr


def test_in_the_checkout_the_same_lookup_finds_assets():
    """An editable install maps gradviz.assets to the checkout's top-level assets/ folder."""
    from gradviz.core.assets import assets_dir

    assert assets_dir().resolve() == (ROOT / "assets").resolve()
