"""The layering in pyproject.toml is enforced: the real tree keeps every contract, and a Qt import
in the core or an import cycle in the window breaks one (so `make test` fails on them)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")


def lint(root: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([str(LINT), "--config", str(root / "pyproject.toml"), "--no-cache"],
                          cwd=root, env=env, capture_output=True, text=True, timeout=120)


def copy_tree(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "gradviz", tmp_path / "gradviz",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_tree_keeps_every_contract():
    r = lint(ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "broken" in r.stdout and "0 broken" in r.stdout


@pytest.mark.parametrize("where, line, contract", [
    ("core/theory.py", "import PyQt6.QtCore", "The core imports no Qt"),
    ("core/theory.py", "import pyqtgraph", "The core imports no Qt"),
    ("core/scene.py", "from ..gui import controller", "Layers"),
    ("gui/worker.py", "from . import controller", "No import cycles inside the window"),
])
def test_a_forbidden_import_breaks_a_contract(tmp_path, where, line, contract):
    root = copy_tree(tmp_path)
    path = root / "gradviz" / where
    path.write_text(path.read_text() + f"\n{line}  # injected by the test\n")
    r = lint(root)
    assert r.returncode != 0
    broken = [s for s in r.stdout.splitlines() if s.endswith("BROKEN")]
    assert any(contract in s for s in broken), r.stdout
