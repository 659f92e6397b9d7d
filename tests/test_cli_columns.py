"""`gradviz export --inputs --columns --time-column` on CSV files as spreadsheets write them."""
from pathlib import Path

import numpy as np
import pytest

from gradviz import cli

GBK = "日期,乘客数,温度\r\n1949-02,118,4.0\r\n1949-01,112,3.5\r\n1949-03,132,9.1\r\n"


@pytest.fixture
def no_png(monkeypatch):
    monkeypatch.setattr(cli, "_renderer", lambda: None)


@pytest.fixture
def gbk_csv(tmp_path):
    path = tmp_path / "乘客.csv"
    path.write_bytes(GBK.encode("gbk"))
    return path


def export(*args, out):
    return cli.main(["export", *map(str, args), "--out", str(out)])


def inputs(out):
    with np.load(Path(out) / "trace.npz") as d:
        return d["inputs"]


def test_columns_by_name_and_number_and_the_time_axis(tmp_path, gbk_csv, no_png):
    assert export("--inputs", gbk_csv, "--columns", "乘客数", out=tmp_path / "a") == 0
    np.testing.assert_array_equal(inputs(tmp_path / "a"), [[118], [112], [132]])
    assert export("--inputs", gbk_csv, "--columns", "3,2", out=tmp_path / "b") == 0
    np.testing.assert_array_equal(inputs(tmp_path / "b"), [[4.0, 118], [3.5, 112], [9.1, 132]])
    # the date column orders the months; the other two drive the cell (input size 2)
    assert export("--inputs", gbk_csv, "--time-column", "日期", out=tmp_path / "c") == 0
    np.testing.assert_array_equal(inputs(tmp_path / "c"), [[112, 3.5], [118, 4.0], [132, 9.1]])


@pytest.mark.parametrize("args,words", [
    (["--columns", "风速"], ["乘客.csv", "no column '风速'", "1: 日期"]),
    (["--columns", "日期"], ["乘客.csv", "row 2", "a cell of 7 character(s) that is not a number", "dates"]),
    (["--columns", "乘客数", "--input-size", "2"], ["乘客.csv", "1 column(s), expected 2"]),
])
def test_bad_columns_are_one_line_naming_file_row_and_column(tmp_path, gbk_csv, capsys, no_png,
                                                              args, words):
    out = tmp_path / "out"
    assert export("--inputs", gbk_csv, *args, out=out) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0]
    for w in words:
        assert w in err[0], (w, err[0])
    assert not out.exists()


def test_columns_without_a_csv_is_refused(tmp_path, capsys, no_png):
    assert export("--columns", "2", out=tmp_path / "out") == 1
    assert "--columns and --time-column choose columns of --inputs" in capsys.readouterr().err
