"""Atomic writes and CSV tables: no half-written file, no silent overwrite, exact floats."""
import os

import numpy as np
import pytest

from gradviz.core.errors import GradvizError
from gradviz.core.files import TargetExistsError, atomic_path, atomic_write_bytes, atomic_write_text
from gradviz.core.tables import csv_text, read_csv_table, write_csv


def test_write_then_read(tmp_path):
    p = atomic_write_text(tmp_path / "a.txt", "héllo\n")
    assert p.read_text(encoding="utf-8") == "héllo\n"
    assert sorted(os.listdir(tmp_path)) == ["a.txt"]
    mode = p.stat().st_mode & 0o777
    assert mode & 0o044  # readable by others as an ordinary file, not mkstemp's 0600


def test_existing_file_untouched_without_overwrite(tmp_path):
    target = tmp_path / "fig.png"
    target.write_bytes(b"old")
    with pytest.raises(TargetExistsError, match="already exists"):
        atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["fig.png"]
    atomic_write_bytes(target, b"new", overwrite=True)
    assert target.read_bytes() == b"new"
    assert os.listdir(tmp_path) == ["fig.png"]


def test_target_exists_error_is_a_gradviz_error(tmp_path):
    (tmp_path / "x").write_text("1")
    with pytest.raises(GradvizError):
        atomic_write_text(tmp_path / "x", "2")


def test_failure_midway_leaves_no_file_and_no_temp(tmp_path):
    target = tmp_path / "anim.gif"
    with pytest.raises(RuntimeError, match="boom"), atomic_path(target) as tmp:
        assert tmp.parent == tmp_path and tmp.suffix == ".gif" and tmp != target
        tmp.write_bytes(b"half")
        raise RuntimeError("boom")
    assert os.listdir(tmp_path) == []


def test_failure_midway_keeps_the_old_file(tmp_path):
    target = tmp_path / "data.csv"
    target.write_text("old")
    with pytest.raises(KeyboardInterrupt), atomic_path(target, overwrite=True) as tmp:
        tmp.write_text("half")
        raise KeyboardInterrupt
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["data.csv"]


def test_file_appearing_meanwhile_is_not_overwritten(tmp_path):
    target = tmp_path / "race.txt"
    with pytest.raises(TargetExistsError), atomic_path(target) as tmp:
        tmp.write_text("mine")
        target.write_text("theirs")
    assert target.read_text() == "theirs"
    assert os.listdir(tmp_path) == ["race.txt"]


def test_missing_folder_and_folder_target(tmp_path):
    with pytest.raises(GradvizError, match="does not exist"):
        atomic_write_text(tmp_path / "nope" / "a.txt", "x")
    with pytest.raises(GradvizError, match="is a folder"):
        atomic_write_text(tmp_path, "x", overwrite=True)


def test_csv_round_trips_floats_exactly_and_pads(tmp_path):
    rng = np.random.default_rng(1)
    a = rng.standard_normal(7) * 10.0 ** rng.integers(-300, 300, 7)
    b = np.array([0.1, 1 / 3, np.nan, -0.0, 5e-324])
    path = write_csv(tmp_path / "view.csv", {"t": np.arange(7), "log10 norm": a, "bound": b})
    table = read_csv_table(path)
    assert list(table) == ["t", "log10 norm", "bound"]
    assert np.array_equal(table["t"], np.arange(7))
    assert np.array_equal(table["log10 norm"], a)
    assert np.array_equal(table["bound"][:5], b, equal_nan=True)
    assert np.isnan(table["bound"][5:]).all()   # padded with empty cells
    lines = path.read_text().splitlines()
    assert lines[0] == "t,log10 norm,bound"
    assert lines[-1].endswith(",") and lines[-1].count(",") == 2
    with pytest.raises(TargetExistsError):
        write_csv(path, {"x": [1.0]})


def test_csv_two_dimensional_columns():
    text = csv_text({"h": np.array([[1.0, 2.0], [3.0, 4.5]])})
    assert text == "h[0],h[1]\n1.0,2.0\n3.0,4.5\n"
