"""`gradviz train`: the files it writes, their numbers against torch, bad input, no partial output."""
from __future__ import annotations

import csv
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from gradviz import cli
from gradviz.commands import train as train_cmd
from gradviz.core.cells import load_state_dict_file

torch.set_num_threads(1)

ADDING = ["--task", "adding", "--model", "lstm", "--steps", "8", "--hidden", "5", "--iters",
          "12", "--batch", "8", "--record-every", "4", "--eval-every", "4"]


@pytest.fixture
def no_png(monkeypatch):
    monkeypatch.setattr(train_cmd, "_renderer", lambda: None)


def gradviz_train(*args, out=None):
    argv = ["train", *map(str, args)] + (["--out", str(out)] if out is not None else [])
    return cli.main(argv)


def test_adding_writes_everything(tmp_path, capsys):
    out = tmp_path / "run"
    assert gradviz_train(*ADDING, out=out) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["grad_h.png", "grad_heatmap.png", "grad_norm.png", "head.pt", "history.npz",
                     "loss.png", "metrics.json", "model.pt", "sigma.png", "whh_contrib.png"]
    assert "wrote 10 file(s)" in capsys.readouterr().out
    m = json.loads((out / "metrics.json").read_text())
    assert m["iterations"] == 12 and m["stopped_nonfinite"] is False
    assert m["baseline_loss"] == pytest.approx(1 / 6)
    with np.load(out / "history.npz") as h:
        assert h["loss"].shape == h["grad_norm"].shape == h["sigma_max_whh"].shape == (12,)
        assert h["grad_norm_clipped"].shape == (12,) and h["clipped"].dtype == bool
        assert h["grad_h"].shape == (4, 8) and h["record_iteration"].tolist() == [1, 4, 8, 12]
        assert h["test_iteration"].tolist() == [4, 8, 12]
        assert m["final_train_loss"] == pytest.approx(float(h["loss"][-1]))
        for k in h.files:
            assert np.all(np.isfinite(h[k])), k
    # the state_dict has torch's keys: plain torch and gradviz's loader take it
    sd = torch.load(out / "model.pt", weights_only=True)
    lstm = torch.nn.LSTM(2, 5, 1, batch_first=True)
    lstm.load_state_dict(sd)
    net = load_state_dict_file(out / "model.pt")
    assert net.spec.kind == "lstm" and net.spec.hidden_size == 5
    head = torch.load(out / "head.pt", weights_only=True)
    assert set(head) == {"weight", "bias"} and head["weight"].shape == (1, 5)


def test_airline_forecast_csv_reproduces_the_metrics(tmp_path, no_png):
    out = tmp_path / "air"
    assert gradviz_train("--task", "airline", "--model", "gru", "--iters", "30",
                         "--record-every", "10", out=out) == 0
    m = json.loads((out / "metrics.json").read_text())
    rows = list(csv.DictReader((out / "forecast.csv").open()))
    assert len(rows) == 144 and rows[0]["label"] == "1949-01" and rows[-1]["label"] == "1960-12"
    test = [r for r in rows if r["part"] == "test"]
    assert len(test) == 144 - 3 - 112
    for name, metrics in [("gru", m["metrics"]), ("ar", m["baselines"]["ar"]),
                          ("persistence", m["baselines"]["persistence"]),
                          ("seasonal", m["baselines"]["seasonal"])]:
        err = np.array([float(r[name]) - float(r["actual"]) for r in test])
        assert metrics["test_rmse"] == pytest.approx(math.sqrt(np.mean(err ** 2)), rel=1e-12)
        assert metrics["test_mae"] == pytest.approx(np.mean(np.abs(err)), rel=1e-12)
    assert m["units"] == "passengers" and len(m["baselines"]["ar"]["params"]) == 13


def test_ar_model_has_no_weights(tmp_path, no_png):
    out = tmp_path / "ar"
    assert gradviz_train("--task", "airline", "--model", "ar", "--ar-order", "6", out=out) == 0
    assert sorted(p.name for p in out.iterdir()) == ["forecast.csv", "history.npz", "metrics.json"]
    m = json.loads((out / "metrics.json").read_text())
    assert m["metrics"] == {k: m["baselines"]["ar"][k] for k in m["metrics"]}
    assert len(m["baselines"]["ar"]["params"]) == 7


def test_preset_with_flags(tmp_path, no_png):
    out = tmp_path / "p"
    assert gradviz_train("--preset", "exploding-clipping", "--iters", "5", "--no-clip",
                         out=out) == 0
    m = json.loads((out / "metrics.json").read_text())
    cfg = m["config"]
    assert (cfg["wr_scale"], cfg["optimizer"], cfg["iters"], cfg["clip_norm"]) == (3.0, "sgd", 5, None)


def test_nonfinite_run_keeps_what_came_before(tmp_path, capsys, no_png):
    out = tmp_path / "boom"
    assert gradviz_train("--preset", "exploding-clipping", "--no-clip", out=out) == 0
    err = capsys.readouterr().err
    # the iteration depends on the CPU's float kernels (34 with AVX2, 30 with AVX-512)
    found = re.search(r"stopped at iteration (\d+): the loss or gradient is not finite; the "
                      r"(\d+) iterations before it are kept", err)
    assert found, err
    k = int(found.group(1))
    assert 10 <= k <= 100 and int(found.group(2)) == k - 1
    m = json.loads((out / "metrics.json").read_text())
    assert m["stopped_nonfinite"] is True and m["iterations"] == k - 1
    with np.load(out / "history.npz") as h:
        assert h["loss"].shape == (k - 1,) and np.all(np.isfinite(h["loss"]))
    for v in torch.load(out / "model.pt", weights_only=True).values():
        assert torch.isfinite(v).all()


def test_csv_task(tmp_path, no_png):
    path = tmp_path / "rain.csv"
    t = np.arange(80)
    lines = ["month,temp,rain"] + [f"m{i},{20 + math.sin(i / 4):.6f},{5 + math.cos(i / 3):.6f}"
                                   for i in t]
    path.write_text("\n".join(lines) + "\n")
    out = tmp_path / "c"
    assert gradviz_train("--task", "csv", "--csv", path, "--columns", "temp,rain", "--target",
                         "rain", "--model", "rnn", "--look-back", "6", "--iters", "5",
                         "--ar-order", "4", out=out) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["units"] == "rain" and m["config"]["columns"] == ["temp", "rain"]
    rows = list(csv.DictReader((out / "forecast.csv").open()))
    assert rows[10]["label"] == "m10"
    assert float(rows[10]["actual"]) == pytest.approx(5 + math.cos(10 / 3), abs=1e-6)


@pytest.mark.parametrize("args,message", [
    (["--task", "csv"], "task csv needs a CSV file (--csv FILE)"),
    (["--task", "csv", "--csv", "missing.csv"], "missing.csv: no such file"),
    (["--task", "adding", "--clip-norm", "-1"], "--clip-norm -1.0: expected a positive number"),
    (["--task", "adding", "--model", "ar"], "model ar forecasts a series"),
    (["--task", "airline", "--model", "gru", "--forget-bias", "1"], "forget bias applies to an LSTM only"),
    (["--task", "airline", "--columns", "a"], "--csv, --columns and --target apply to task csv only"),
    (["--preset", "nope"], "no training preset 'nope'"),
    (["--preset", "airline-lstm", "--task", "copy"], "--task copy contradicts --preset airline-lstm"),
    (["--task", "airline", "--look-back", "200"], "need at least 4"),
])
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, capsys, monkeypatch, args, message,
                                                  no_png):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "deep" / "out"
    assert gradviz_train(*args, out=out) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("gradviz train: error: ")
    assert message in err
    assert not (tmp_path / "deep").exists()


def test_bad_csv_names_row_and_column(tmp_path, capsys, no_png):
    path = tmp_path / "bad.csv"
    path.write_text("month,rain\nm1,1.0\nm2,wet\n")
    assert gradviz_train("--task", "csv", "--csv", path, out=tmp_path / "o") == 1
    assert "bad.csv: row 3, column rain: 'wet' is not a number" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_usage_errors(tmp_path, capsys):
    assert gradviz_train("--task", "adding", "--clip-norm", "1", "--clip-value", "1",
                         out=tmp_path / "o") == 2
    assert "not allowed with argument" in capsys.readouterr().err
    assert gradviz_train("--task", "nope", out=tmp_path / "o") == 2
    assert gradviz_train("--task", "adding") == 2
    assert not (tmp_path / "o").exists()


def test_out_is_a_file(tmp_path, capsys, no_png):
    f = tmp_path / "f"
    f.write_text("x")
    assert gradviz_train(*ADDING, out=f) == 1
    assert "is a file, expected a folder" in capsys.readouterr().err
    assert f.read_text() == "x"


def test_failed_write_leaves_nothing(tmp_path, monkeypatch, capsys):
    """A failure while the figures are drawn: no folder, no temp folder beside it."""
    def broken(result, folder):
        (Path(folder) / "loss.png").write_bytes(b"half")
        raise cli.GradvizError("the figures could not be drawn")
    monkeypatch.setattr(train_cmd, "_renderer", lambda: broken)
    out = tmp_path / "o"
    assert gradviz_train(*ADDING, out=out) == 1
    assert "the figures could not be drawn" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
