"""The training lab's core against torch.nn / torch.autograd (float64) and statsmodels."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from gradviz.core import training as tr
from gradviz.core.cells import net_from_state_dict
from gradviz.core.errors import GradvizError

torch.set_num_threads(1)


def _net(cfg, input_size, output_size):
    return tr.build_model(cfg, input_size, output_size, seq_len=0)


def _split_grad(model, x, target, loss_fn, t):
    """‖∂L/∂h_t‖ by autograd on torch's fused module, cut at step t: the states after step t
    become leaves and the rest of the sequence continues from them."""
    rnn = model.rnn
    is_lstm = isinstance(rnn, torch.nn.LSTM)
    out1, state = rnn(x[:, :t])
    if is_lstm:
        h = state[0].detach().requires_grad_()
        c = state[1].detach().requires_grad_()
        state2 = (h, c)
    else:
        h = state.detach().requires_grad_()
        state2 = h
    pieces = [out1[:, :-1].detach(), h[-1].unsqueeze(1)]
    if t < x.shape[1]:
        out2, _ = rnn(x[:, t:], state2)
        pieces.append(out2)
    out = torch.cat(pieces, dim=1)
    pred = model.head(out if model.per_step else out[:, -1])
    loss = loss_fn(pred, target)
    (g,) = torch.autograd.grad(loss, h)
    return float(torch.linalg.vector_norm(g[-1]))


CASES = [("rnn", 1, "adding"), ("rnn-relu", 1, "adding"), ("lstm", 2, "adding"),
         ("gru", 2, "adding"), ("lstm", 1, "copy"), ("rnn", 2, "copy")]


@pytest.mark.parametrize("model,layers,task", CASES)
def test_grad_through_time_equals_autograd(model, layers, task):
    cfg = tr.TrainConfig(task=task, model=model, hidden=5, layers=layers, steps=9, batch=4,
                         dtype="float64", seed=3)
    job = tr._Task(cfg)
    net = _net(cfg, job.input_size, job.output_size)
    x, target = job.batch()
    pred, states, copies, fmean = net.unrolled(x)
    # the unrolled pass is the fused module's forward pass
    torch.testing.assert_close(pred, net(x), rtol=1e-12, atol=1e-12)
    loss = job.loss(pred, target)
    loss.backward()
    T = x.shape[1]
    assert len(states) == T
    ours = [float(torch.linalg.vector_norm(s.grad)) for s in states]
    theirs = [_split_grad(net, x, target, job.loss, t) for t in range(1, T + 1)]
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-14)
    # what the training loop records: the same numbers, without touching the parameters' .grad
    net.zero_grad(set_to_none=True)
    gh, wc, fm = tr.grad_through_time(net, x, target, job.loss)
    np.testing.assert_allclose(gh, theirs, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(wc, [float(torch.linalg.vector_norm(c.grad)) for c in copies],
                               rtol=1e-12)
    assert fm == fmean and all(p.grad is None for p in net.parameters())
    # the steps' W_hh contributions sum to autograd's ∂L/∂W_hh of the fused module
    w = getattr(net.rnn, f"weight_hh_l{layers - 1}")
    (g_fused,) = torch.autograd.grad(job.loss(net(x), target), w)
    torch.testing.assert_close(sum(c.grad for c in copies), g_fused, rtol=1e-10, atol=1e-14)
    assert (fmean is not None) == (model == "lstm")


def test_whh_contribution_is_delta_times_previous_state():
    """tanh RNN: step t's ∂L/∂W_hh is (∂L/∂h_t ⊙ (1 − h_t²)) h_{t−1}ᵀ, ∂L/∂h_t from autograd."""
    cfg = tr.TrainConfig(task="adding", model="rnn", hidden=4, layers=1, steps=7, batch=3,
                         dtype="float64", seed=1)
    job = tr._Task(cfg)
    net = _net(cfg, job.input_size, job.output_size)
    x, target = job.batch()
    pred, states, copies, _ = net.unrolled(x)
    job.loss(pred, target).backward()
    prev = torch.zeros(3, 4, dtype=torch.float64)
    for s, c in zip(states, copies):
        delta = s.grad * (1 - s.detach() ** 2)
        torch.testing.assert_close(c.grad, delta.T @ prev, rtol=1e-10, atol=1e-14)
        prev = s.detach()


def test_lstm_forget_mean_is_torch_gate():
    cfg = tr.TrainConfig(task="adding", model="lstm", hidden=3, layers=1, steps=5, batch=2,
                         dtype="float64", forget_bias=1.0)
    job = tr._Task(cfg)
    net = _net(cfg, job.input_size, job.output_size)
    x, _ = job.batch()
    _, _, _, fmean = net.unrolled(x)
    # forget gates by torch.nn.LSTMCell on the same weights
    cell = torch.nn.LSTMCell(2, 3).double()
    sd = net.rnn.state_dict()
    cell.load_state_dict({k[:-3]: v for k, v in sd.items()})
    h = c = torch.zeros(2, 3, dtype=torch.float64)
    fs = []
    for t in range(5):
        a = x[:, t] @ cell.weight_ih.T + cell.bias_ih + h @ cell.weight_hh.T + cell.bias_hh
        fs.append(torch.sigmoid(a[:, 3:6]))
        h, c = cell(x[:, t], (h, c))
    assert fmean == pytest.approx(float(torch.stack(fs).detach().mean()), rel=1e-12)
    # forget bias 1, gradviz's way: b_if = 1, b_hf = 0
    assert torch.all(sd["bias_ih_l0"][3:6] == 1.0) and torch.all(sd["bias_hh_l0"][3:6] == 0.0)


def test_wr_scale_sets_sigma_max():
    cfg = tr.TrainConfig(task="adding", model="rnn", hidden=8, layers=1, wr_scale=3.0, steps=5,
                         iters=1, record_every=0)
    net = _net(cfg, 2, 1)
    w = net.rnn.weight_hh_l0.detach().double()
    assert float(torch.linalg.matrix_norm(w, ord=2)) == pytest.approx(3.0, rel=1e-6)


@pytest.mark.parametrize("clip", [{"clip_norm": 0.05}, {"clip_value": 0.001}])
def test_clipping_holds(clip):
    cfg = tr.TrainConfig(task="adding", model="rnn", hidden=8, layers=1, steps=20, batch=16,
                         iters=12, lr=1e-3, record_every=4, dtype="float64", **clip)
    r = tr.train(cfg)
    h = r.history.arrays()
    assert r.iterations == 12
    if "clip_norm" in clip:
        # torch's clip_grad_norm_ scales by max_norm / (norm + 1e-6) when that is below 1
        coef = np.minimum(1.0, 0.05 / (h["grad_norm"] + 1e-6))
        np.testing.assert_allclose(h["grad_norm_clipped"], h["grad_norm"] * coef, rtol=1e-12)
        assert np.all(h["grad_norm_clipped"] <= 0.05)
        np.testing.assert_array_equal(h["clipped"], h["grad_norm"] > 0.05)
    else:
        assert np.all(h["grad_norm_clipped"] <= h["grad_norm"] * (1 + 1e-12))
        assert h["clipped"].all()
    assert h["clipped"].any()
    assert r.metrics_dict()["clipping_fired"] == int(h["clipped"].sum())


def test_clip_norm_is_torch_clip_grad_norm():
    """The 'after' norm is the norm of what clip_grad_norm_ leaves (checked on one step)."""
    cfg = tr.TrainConfig(task="adding", model="lstm", hidden=4, layers=1, steps=6, batch=3,
                         iters=1, clip_norm=1e-3, record_every=0, dtype="float64")
    r = tr.train(cfg)
    n = r.history.grad_norm[0]
    assert n > 1e-3
    assert r.history.grad_norm_clipped[0] == pytest.approx(n * 1e-3 / (n + 1e-6), rel=1e-12)


def test_same_seed_same_curve():
    cfg = tr.TrainConfig(task="adding", model="lstm", hidden=6, layers=1, steps=15, batch=8,
                         iters=15, lr=1e-2, record_every=5, eval_every=5)
    a, b = tr.train(cfg), tr.train(cfg)
    for key, value in a.history.arrays().items():
        np.testing.assert_array_equal(value, b.history.arrays()[key], err_msg=key)
    c = tr.train(cfg.replace(seed=1))
    assert c.history.loss != a.history.loss


def test_recording_does_not_change_the_training():
    cfg = tr.TrainConfig(task="adding", model="lstm", hidden=6, layers=1, steps=12, batch=8,
                         iters=12, lr=1e-2, eval_every=4)
    a, b = tr.train(cfg.replace(record_every=0)), tr.train(cfg.replace(record_every=3))
    assert a.history.loss == b.history.loss and a.history.test_loss == b.history.test_loss
    assert a.history.grad_h == [] and len(b.history.grad_h) == 5


def test_history_shapes_and_finite():
    cfg = tr.TrainConfig(task="copy", model="gru", hidden=8, layers=1, steps=5, batch=8,
                         iters=10, lr=1e-2, record_every=3, eval_every=2, test_size=16)
    r = tr.train(cfg)
    h = r.history.arrays()
    assert h["loss"].shape == (10,) and h["sigma_max_whh"].shape == (10,)
    assert h["test_iteration"].tolist() == [2, 4, 6, 8, 10]
    assert h["record_iteration"].tolist() == [1, 3, 6, 9]
    assert h["grad_h"].shape == (4, 25) and h["whh_contrib"].shape == (4, 25)
    assert "forget_mean" not in h
    for key, value in h.items():
        assert np.all(np.isfinite(value)), key
    assert r.baseline_loss == pytest.approx(10 * math.log(8) / 25)


def test_nonfinite_loss_stops_and_keeps_what_came_before():
    # SGD with a huge step on a relu RNN: finite for a few iterations, then overflow
    cfg = tr.TrainConfig(task="adding", model="rnn-relu", hidden=16, layers=1, steps=30,
                         batch=8, iters=200, optimizer="sgd", lr=50.0, wr_scale=1.5,
                         record_every=1, eval_every=1)
    r = tr.train(cfg)
    assert r.stopped_nonfinite is not None and 1 < r.stopped_nonfinite <= 200
    h = r.history.arrays()
    assert r.iterations == len(h["loss"]) == r.stopped_nonfinite - 1 or \
        r.iterations == r.stopped_nonfinite
    for key, value in h.items():
        assert np.all(np.isfinite(value)), key
    for v in r.recurrent_state_dict().values():
        assert torch.isfinite(v).all()
    assert str(r.stopped_nonfinite) in r.status()
    d = r.metrics_dict()
    assert d["stopped_nonfinite"] is True and d["stopped_at_iteration"] == r.stopped_nonfinite


def test_control_stops_and_pauses():
    import threading
    control = tr.TrainControl()
    seen = []

    def progress(p):
        seen.append(p.iteration)
        if p.iteration >= 3 and not p.done:
            control.stop()

    cfg = tr.TrainConfig(task="adding", model="rnn", hidden=4, layers=1, steps=5, batch=4,
                         iters=1000, lr=1e-3, record_every=0)
    r = tr.train(cfg, progress=progress, control=control, progress_interval=0.0)
    assert r.cancelled and r.iterations == 3 and "3" in r.status()
    assert seen[-1] == 3
    # pause blocks the loop until resumed
    control = tr.TrainControl()
    control.pause()
    done = []
    th = threading.Thread(target=lambda: done.append(tr.train(cfg.replace(iters=2),
                                                               control=control)))
    th.start()
    th.join(0.3)
    assert th.is_alive() and control.paused
    control.resume()
    th.join(20)
    assert done and done[0].iterations == 2


def test_saved_state_dict_reproduces_test_metric_in_plain_torch(tmp_path):
    cfg = tr.default_config("airline", "lstm").replace(iters=60, record_every=20)
    r = tr.train(cfg)
    tr.save_model(r, tmp_path / "model.pt")
    tr.save_head(r, tmp_path / "head.pt")
    sd = torch.load(tmp_path / "model.pt", weights_only=True)
    head_sd = torch.load(tmp_path / "head.pt", weights_only=True)
    assert list(sd) == list(torch.nn.LSTM(3, 6, 2).state_dict())
    lstm = torch.nn.LSTM(input_size=3, hidden_size=6, num_layers=2, batch_first=True).double()
    lstm.load_state_dict(sd)
    head = torch.nn.Linear(6, 1).double()
    head.load_state_dict(head_sd)
    # the notes' data prepared by hand: min-max on the whole series, windows of 3, 80 % train
    y = np.loadtxt(Path(__file__).parents[2] / "assets" / "airline_passengers.csv",
                   delimiter=",", skiprows=1, usecols=1)
    s = (y - y.min()) / (y.max() - y.min())
    X = np.stack([s[i:i + 3] for i in range(len(s) - 3)])
    n_train = int(len(X) * 0.8)
    with torch.no_grad():
        out, _ = lstm(torch.tensor(X[None]))
        z = head(out).reshape(-1).numpy()
    pred = z[n_train:] * (y.max() - y.min()) + y.min()
    test_rmse = float(np.sqrt(np.mean((pred - y[3 + n_train:]) ** 2)))
    assert test_rmse == pytest.approx(r.metrics.test_rmse, rel=1e-12)
    assert r.metrics_dict()["metrics"]["test_rmse"] == r.metrics.test_rmse
    # the same weights open in gradviz's dynamics views
    net = net_from_state_dict(sd)
    assert net.spec.kind == "lstm" and net.spec.num_layers == 2 and net.spec.hidden_size == 6
    assert r.recurrent_net().spec == net.spec
    assert r.test_inputs.shape == (len(X), 3)


def test_ar_equals_statsmodels_autoreg():
    from statsmodels.tsa.ar_model import AutoReg
    data = tr.make_forecast_data(tr.default_config("airline"))
    base = tr.forecast_baselines(data, ar_order=12)
    y = data.y
    train = y[:data.train_index[-1] + 1]
    fit = AutoReg(train, lags=12, trend="c").fit()
    np.testing.assert_allclose(base["ar"].params, fit.params, rtol=1e-12)
    # least squares on the lag matrix gives the same coefficients
    p = 12
    A = np.column_stack([np.ones(len(train) - p)] + [train[p - d:len(train) - d]
                                                      for d in range(1, p + 1)])
    coef, *_ = np.linalg.lstsq(A, train[p:], rcond=None)
    np.testing.assert_allclose(coef, fit.params, rtol=1e-8)
    # one-step-ahead predictions from actual values, as statsmodels' predict with these params
    full = AutoReg(y, lags=12, trend="c")
    sm_pred = full.predict(fit.params, start=int(data.test_index[0]), end=len(y) - 1)
    np.testing.assert_allclose(base["ar"].predicted, sm_pred, rtol=1e-12)
    assert base["ar"].test_rmse == pytest.approx(
        float(np.sqrt(np.mean((sm_pred - y[data.test_index]) ** 2))), rel=1e-12)


def test_naive_baselines():
    data = tr.make_forecast_data(tr.default_config("airline"))
    base = tr.forecast_baselines(data)
    y, te = data.y, data.test_index
    assert te.tolist() == list(range(3 + data.n_train, 144))
    np.testing.assert_array_equal(base["persistence"].predicted, y[te - 1])
    np.testing.assert_array_equal(base["seasonal"].predicted, y[te - 12])
    assert base["persistence"].test_rmse == pytest.approx(np.sqrt(np.mean((y[te] - y[te - 1]) ** 2)))
    assert base["seasonal"].test_mae == pytest.approx(np.mean(np.abs(y[te] - y[te - 12])))


def test_adding_baseline_is_one_sixth():
    assert tr.adding_baseline() == 1 / 6
    x, y = tr.adding_batch(np.random.default_rng(0), 200_000, 10)
    assert x.shape == (200_000, 10, 2)
    assert np.all(x[:, :, 1].sum(axis=1) == 2)
    assert np.all(x[:, :5, 1].sum(axis=1) == 1)            # one marker in each half
    np.testing.assert_allclose(y, (x[:, :, 0] * x[:, :, 1]).sum(axis=1))
    # the MSE of always answering 1: 1/6 (Monte-Carlo standard error 4.4e-4; 5 of them)
    assert np.mean((y - 1.0) ** 2) == pytest.approx(1 / 6, abs=2.2e-3)


@pytest.mark.parametrize("steps", [5, 100])
def test_copy_baseline(steps):
    x, y = tr.copy_batch(np.random.default_rng(1), 64, steps)
    L = steps + 20
    assert x.shape == (64, L, 10) and y.shape == (64, L)
    # the no-memory strategy: blank for T + 10 steps, uniform over the 8 symbols for the last 10
    logp = torch.full((64, L, 10), -math.inf, dtype=torch.float64)
    logp[:, :L - 10, 0] = 0.0
    logp[:, L - 10:, 1:9] = -math.log(8)
    ce = torch.nn.functional.nll_loss(logp.reshape(-1, 10), torch.tensor(y).reshape(-1))
    assert float(ce) == pytest.approx(tr.copy_baseline(steps), rel=1e-12)
    assert tr.copy_baseline(steps) == 10 * math.log(8) / (steps + 20)
    np.testing.assert_array_equal(x[:, :10].argmax(-1), y[:, -10:])
    assert np.all(x[:, steps + 9].argmax(-1) == 9)


def test_forecast_data_notes_layout():
    cfg = tr.default_config("airline")
    d = tr.make_forecast_data(cfg)
    assert d.features.shape == (141, 3, 1) and d.n_train == 112
    np.testing.assert_allclose(d.to_original(d.z, d.target_index), d.y[3:], rtol=1e-12)
    d2 = tr.make_forecast_data(cfg.replace(difference="logdiff", scale_on="train"))
    np.testing.assert_allclose(d2.to_original(d2.z, d2.target_index), d2.y[d2.target_index],
                               rtol=1e-12)
    assert d2.z[:d2.n_train].min() == pytest.approx(0.0, abs=1e-12) or d2.z.min() >= 0


def test_csv_task(tmp_path):
    rng = np.random.default_rng(0)
    n = 60
    t = np.arange(n)
    rain = 5 + np.sin(t / 3) + 0.1 * rng.standard_normal(n)
    temp = 20 + np.cos(t / 5)
    lines = ["date,temp,rain,wind"] + [f"2020-{i},{float(temp[i])!r},{float(rain[i])!r},{i % 7}"
                                       for i in range(n)]
    path = tmp_path / "w.csv"
    path.write_text("\n".join(lines) + "\n")
    cfg = tr.TrainConfig(task="csv", model="gru", hidden=4, layers=1, csv_path=str(path),
                         columns=("temp", "rain", "wind"), target="rain", look_back=4,
                         iters=5, lr=1e-2, ar_order=3, layout="window", batch=8)
    r = tr.train(cfg)
    assert r.data.features.shape == (56, 4, 3) and r.data.target_name == "rain"
    np.testing.assert_array_equal(r.data.y, rain)
    assert set(r.baselines) == {"persistence", "seasonal", "ar"}
    assert math.isfinite(r.metrics.test_rmse)
    cols, rows = tr.forecast_table(r)
    assert cols[:5] == ["index", "label", "part", "actual", "gru"] and len(rows) == n
    with pytest.raises(GradvizError, match="no column 'snow'"):
        tr.make_forecast_data(cfg.replace(target="snow"))
    path.write_text("date,temp\n2020-1,1\n2020-2,x\n")
    with pytest.raises(GradvizError, match=r"row 3, column temp: 'x' is not a number"):
        tr.make_forecast_data(cfg.replace(columns=(), target="temp"))


@pytest.mark.parametrize("changes,match", [
    ({"model": "ar", "task": "adding"}, "model ar forecasts"),
    ({"clip_norm": 1.0, "clip_value": 1.0}, "choose one"),
    ({"forget_bias": 1.0, "model": "gru"}, "LSTM only"),
    ({"hidden": 0}, "hidden must be an integer"),
    ({"lr": -1.0}, "lr must be a positive number"),
    ({"task": "csv"}, "needs a CSV file"),
    ({"model": "conv1d", "task": "copy"}, "conv1d"),
    ({"optimizer": "rmsprop"}, "unknown optimizer"),
    ({"task": "adding", "batch": 0}, "batch 0 .the whole training set. is for forecasting"),
])
def test_config_errors(changes, match):
    with pytest.raises(GradvizError, match=match):
        tr.TrainConfig(**changes).validate()


def test_config_round_trip():
    cfg = tr.default_config("adding", "lstm").replace(forget_bias=1.0)
    assert tr.TrainConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(GradvizError, match="unknown training setting 'nope'"):
        tr.TrainConfig.from_dict({"nope": 1})


def test_ar_model_and_conv1d():
    r = tr.train(tr.default_config("airline", "ar"))
    assert r.model is None and r.iterations == 0 and r.metrics is r.baselines["ar"]
    c = tr.train(tr.default_config("airline", "conv1d").replace(iters=5, lr=1e-2, hidden=8))
    assert c.history.grad_h == [] and math.isfinite(c.metrics.test_rmse)
    assert set(c.model_state_dict()) == {"conv.weight", "conv.bias", "head.weight", "head.bias"}


def test_result_state_round_trip():
    import json
    cfg = tr.default_config("airline", "gru").replace(iters=8, record_every=4, hidden=4)
    r = tr.train(cfg)
    state = json.loads(json.dumps(tr.result_state(r)))
    back = tr.restore_result(state)
    assert back.config == cfg and back.iterations == 8
    assert back.history.arrays().keys() == r.history.arrays().keys()
    for k, v in r.history.arrays().items():
        np.testing.assert_array_equal(back.history.arrays()[k], v, err_msg=k)
    for k, v in r.model_state_dict().items():
        assert torch.equal(back.model_state_dict()[k], v)
    assert back.metrics.test_rmse == r.metrics.test_rmse
    bad = {**state, "weights": {**state["weights"], "rnn.weight_hh_l0": [[1.0]]}}
    with pytest.raises(GradvizError, match="weight 'rnn.weight_hh_l0' has shape"):
        tr.restore_result(bad)
