"""The step-by-step forward: what is recorded, overflow, initial states, bad input."""
import math

import numpy as np
import pytest
import torch

from gradviz.core.cells import CellSpec, RecurrentNet, init_net
from gradviz.core.dynamics import run
from gradviz.core.errors import GradvizError
from gradviz.core.jacobians import jacobian_map, step_jacobians
from gradviz.core.scene import analyse


def doubling_relu(H=2):
    """A relu RNN with W_hh = 4·I, W_ih = 1, no bias: h_t = 4 h_{t-1} + x_t, so h_t = (4^t - 1)/3
    for x = 1. 4^513 / 3 exceeds the largest float64: the state overflows at step 513."""
    spec = CellSpec(kind="rnn", nonlinearity="relu", input_size=1, hidden_size=H)
    return RecurrentNet(spec, {"weight_ih_l0": np.ones((H, 1)), "weight_hh_l0": 4.0 * np.eye(H),
                               "bias_ih_l0": np.zeros(H), "bias_hh_l0": np.zeros(H)})


def test_relu_overflow_stops_at_the_step_and_keeps_everything_before():
    net = doubling_relu()
    x = np.ones((700, 1))
    trace = run(net, x)
    assert trace.overflow_step == 513
    assert trace.steps == 512
    lt = trace.layer()
    assert lt.h.shape == (513, 2) and lt.dphi.shape == (512, 2) and lt.preact["a"].shape == (512, 2)
    assert np.all(np.isfinite(lt.h))
    assert lt.h[512, 0] == pytest.approx(float((4 ** 512 - 1) // 3), rel=1e-12)
    # what is kept equals torch on the truncated input
    with torch.no_grad():
        out, _ = net.to_torch()(torch.from_numpy(x[:512])[:, None, :])
    np.testing.assert_array_equal(trace.output, out[:, 0].numpy())
    # and nothing downstream sees NaN or inf
    a = analyse(trace)
    for name, m in a.arrays().items():
        if name.startswith("log10_") and m.ndim == 2:
            assert np.all(np.isfinite(m[np.tril_indices(m.shape[0])])), name
    assert a.jac.h[512, 0] == pytest.approx(512 * math.log10(4.0), abs=1e-9)


def test_overflow_in_a_lower_layer_truncates_every_layer():
    H = 2
    spec = CellSpec(kind="rnn", nonlinearity="relu", input_size=1, hidden_size=H, num_layers=2,
                    bidirectional=True)
    net = init_net(spec, seed=0, init="identity")
    net.params["weight_hh_l0"] = 4.0 * np.eye(H)
    net.params["weight_ih_l0"] = np.ones((H, 1))
    trace = run(net, np.ones((600, 1)))
    assert trace.overflow_step is not None and trace.overflow_step <= 513
    for layer in trace.layers:
        for lt in layer:
            assert lt.steps == trace.steps == trace.overflow_step - 1
            assert np.all(np.isfinite(lt.h))


def test_overflow_at_the_first_step_is_an_error():
    net = doubling_relu(1)
    with pytest.raises(GradvizError, match="overflows float64 at step 1"):
        run(net, np.full((3, 1), np.finfo(float).max), h0=np.finfo(float).max)


def test_lstm_and_gru_states_stay_bounded():
    for kind in ("lstm", "gru"):
        net = init_net(CellSpec(kind=kind, hidden_size=3), seed=0)
        trace = run(net, np.full((50, 1), 1e6))
        assert trace.overflow_step is None
        assert np.all(np.abs(trace.layer().h) <= 1.0 + 1e-12)


@pytest.mark.parametrize("nl,deriv", [("tanh", lambda a, h: 1 - h * h),
                                      ("sigmoid", lambda a, h: h * (1 - h)),
                                      ("relu", lambda a, h: (a > 0).astype(float))])
def test_rnn_records_preactivation_and_derivative(nl, deriv):
    net = init_net(CellSpec(nonlinearity=nl, input_size=2, hidden_size=4), seed=1)
    x = np.random.default_rng(0).normal(size=(10, 2))
    lt = run(net, x, h0=0.3).layer()
    p = net.layer_params(0, 0)
    a = x @ p["w_ih"].T + p["b_ih"] + lt.h[:-1] @ p["w_hh"].T + p["b_hh"]
    np.testing.assert_allclose(lt.preact["a"], a, atol=1e-14)
    np.testing.assert_allclose(lt.dphi, deriv(a, lt.h[1:]), atol=1e-14)


def test_initial_states_scalar_or_per_layer():
    spec = CellSpec(kind="lstm", hidden_size=3, num_layers=2, bidirectional=True)
    net = init_net(spec, seed=0)
    x = np.zeros((4, 1))
    trace = run(net, x, h0=0.25, c0=-0.5)
    for layer in trace.layers:
        for lt in layer:
            assert np.all(lt.h[0] == 0.25) and np.all(lt.c[0] == -0.5)
    h0 = np.arange(12.0).reshape(4, 3) / 10
    trace = run(net, x, h0=h0)
    np.testing.assert_array_equal(trace.layer(1, 1).h[0], h0[3])
    with pytest.raises(GradvizError, match="h0 has shape"):
        run(net, x, h0=np.zeros((2, 3)))


def test_dropout_is_accepted_and_never_applied():
    spec = CellSpec(kind="gru", hidden_size=3, num_layers=2, dropout=0.9)
    net = init_net(spec, seed=0)
    x = np.random.default_rng(1).normal(size=(6, 1))
    a, b = run(net, x), run(net, x)
    np.testing.assert_array_equal(a.output, b.output)
    with torch.no_grad():
        out, _ = net.to_torch()(torch.from_numpy(x)[:, None, :])   # eval mode
    np.testing.assert_allclose(a.output, out[:, 0].numpy(), atol=1e-12)


@pytest.mark.parametrize("x,message", [
    (np.zeros((5, 2)), r"inputs have shape \(5, 2\), expected \(T, 1\)"),
    (np.zeros((0, 1)), "at least one step"),
    (np.array([[1.0], [np.nan]]), "NaN or inf"),
])
def test_bad_inputs(x, message):
    with pytest.raises(GradvizError, match=message):
        run(init_net(CellSpec()), x)


def test_notebook_api_gives_the_trace_the_export_uses():
    """Build, run, analyse with no display: the objects the window and the export use."""
    from gradviz.core.scene import Scene, simulate
    scene = Scene(cell="gru", hidden_size=5, steps=20)
    trace = simulate(scene)
    assert trace.steps == 20 and trace.layer().h.shape == (21, 5)
    assert set(trace.layer().gates) == {"r", "z", "n"}
    J = step_jacobians(trace)
    assert J.shape == (20, 5, 5)
    m = jacobian_map(J, 5)
    np.testing.assert_array_equal(m.h, analyse(trace).jac.h)
