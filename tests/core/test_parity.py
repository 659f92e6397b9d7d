"""The core against torch.nn modules and torch.autograd, in float64."""
import itertools

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from gradviz.core.cells import CellSpec, init_net, scale_recurrent
from gradviz.core.dynamics import run
from gradviz.core.jacobians import jacobian_map, row_norms, step_jacobians



@pytest.fixture(autouse=True)
def float64_default():
    """Every tensor of these tests is float64; the default is restored for the other tests."""
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(before)


def torch_forward(net, x, h0=0.0):
    module = net.to_torch()
    spec = net.spec
    xt = torch.from_numpy(x)[:, None, :]            # (T, 1, in)
    if spec.batch_first:
        xt = xt.transpose(0, 1)
    L = spec.num_layers * spec.directions
    h = torch.full((L, 1, spec.state_size), float(h0))
    with torch.no_grad():
        if spec.kind == "lstm":
            c = torch.full((L, 1, spec.hidden_size), float(h0))
            out, (hn, _cn) = module(xt, (h, c))
        else:
            out, hn = module(xt, h)
    if spec.batch_first:
        out = out.transpose(0, 1)
    return out[:, 0, :].numpy(), hn[:, 0, :].numpy()


CONFIGS = [
    dict(kind=k, nonlinearity=nl, num_layers=L, bidirectional=bd, bias=b, proj_size=p, batch_first=bf)
    for k, nl in [("rnn", "tanh"), ("rnn", "relu"), ("lstm", "tanh"), ("gru", "tanh")]
    for L, bd, b, bf in itertools.product([1, 2], [False, True], [True, False], [False, True])
    for p in ([0, 3] if k == "lstm" else [0])
]


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: "-".join(str(v) for v in c.values()))
def test_forward_equals_torch(cfg):
    spec = CellSpec(input_size=3, hidden_size=5, dropout=0.3 if cfg["num_layers"] > 1 else 0.0, **cfg)
    net = init_net(spec, seed=1)
    x = np.random.default_rng(2).normal(size=(9, 3))
    trace = run(net, x, h0=0.1, c0=0.1)
    out, hn = torch_forward(net, x, h0=0.1)
    np.testing.assert_allclose(trace.output, out, atol=1e-10, rtol=0)
    D = spec.directions
    for layer in range(spec.num_layers):
        for d in range(D):
            np.testing.assert_allclose(trace.layer(layer, d).h[-1], hn[layer * D + d], atol=1e-10)


def test_gates_recorded_equal_torch_cell():
    spec = CellSpec(kind="lstm", input_size=2, hidden_size=4)
    net = init_net(spec, seed=3)
    x = np.random.default_rng(0).normal(size=(5, 2))
    trace = run(net, x)
    lt = trace.layer()
    p = net.layer_params(0, 0)
    # recompute step 3's gates from torch's fused pre-activation
    a = torch.from_numpy(p["w_ih"] @ x[2] + p["b_ih"] + p["w_hh"] @ lt.h[2] + p["b_hh"])
    i, f, g, o = a.chunk(4)
    np.testing.assert_allclose(lt.gates["i"][2], torch.sigmoid(i).numpy(), atol=1e-12)
    np.testing.assert_allclose(lt.gates["f"][2], torch.sigmoid(f).numpy(), atol=1e-12)
    np.testing.assert_allclose(lt.gates["g"][2], torch.tanh(g).numpy(), atol=1e-12)
    np.testing.assert_allclose(lt.gates["o"][2], torch.sigmoid(o).numpy(), atol=1e-12)


def autograd_step_jacobian(net, x_t, state, layer=0, direction=0):
    """∂s_t/∂s_{t-1} of one torch cell step via torch.func.jacrev."""
    from torch.func import jacrev
    spec = net.spec
    module = net.to_torch()
    sfx = f"_l{layer}" + ("_reverse" if direction else "")
    W = {k: getattr(module, k + sfx) for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
         if hasattr(module, k + sfx)}
    x = torch.from_numpy(x_t)
    Hh = spec.state_size

    def step(s):
        h = s[:Hh]
        if spec.kind == "rnn":
            a = torch.nn.functional.linear(x, W["weight_ih"], W.get("bias_ih")) + \
                torch.nn.functional.linear(h, W["weight_hh"], W.get("bias_hh"))
            return {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid}[spec.nonlinearity](a)
        if spec.kind == "gru":
            return torch._VF.gru_cell(x[None], h[None], W["weight_ih"], W["weight_hh"],
                                      W.get("bias_ih"), W.get("bias_hh"))[0]
        c = s[Hh:]
        _, (hc, cc) = module(x[None, None], (h[None, None], c[None, None]))
        return torch.cat([hc[0, 0], cc[0, 0]])

    if spec.kind == "lstm":   # the whole nn.LSTM step (projection included), by autograd
        return torch.autograd.functional.jacobian(step, torch.from_numpy(state)).numpy()
    return jacrev(step)(torch.from_numpy(state)).detach().numpy()


@pytest.mark.parametrize("kind,nl,proj", [("rnn", "tanh", 0), ("rnn", "relu", 0), ("rnn", "sigmoid", 0),
                                         ("lstm", "tanh", 0), ("lstm", "tanh", 2), ("gru", "tanh", 0)])
def test_step_jacobians_equal_autograd(kind, nl, proj):
    spec = CellSpec(kind=kind, nonlinearity=nl, input_size=2, hidden_size=4, proj_size=proj)
    net = init_net(spec, seed=5)
    x = np.random.default_rng(1).normal(size=(6, 2))
    trace = run(net, x, h0=0.2, c0=-0.3)
    J = step_jacobians(trace)
    lt = trace.layer()
    for t in range(1, 7):
        state = lt.h[t - 1] if lt.c is None else np.concatenate([lt.h[t - 1], lt.c[t - 1]])
        np.testing.assert_allclose(J[t - 1], autograd_step_jacobian(net, x[t - 1], state), atol=1e-10)


def test_jacobian_products_equal_autograd_through_the_whole_sequence():
    """‖∂h_t/∂h_i‖ from the map equals autograd of h_t w.r.t. h_i through torch.nn.LSTM steps."""
    spec = CellSpec(kind="lstm", input_size=1, hidden_size=3)
    net = init_net(spec, seed=2)
    x = np.random.default_rng(3).normal(size=(8, 1))
    trace = run(net, x)
    J = step_jacobians(trace)
    m = jacobian_map(J, spec.state_size, exact=True)
    module = net.to_torch()
    xt = torch.from_numpy(x)
    lt = trace.layer()
    for i in (0, 3):
        def from_state(s, i=i):
            h, c = s[:3], s[3:]
            for k in range(i, 8):
                _, (h1, c1) = module(xt[k:k + 1, None, :], (h[None, None], c[None, None]))
                h, c = h1[0, 0], c1[0, 0]
            return torch.cat([h, c])
        full = torch.autograd.functional.jacobian(
            from_state, torch.from_numpy(np.concatenate([lt.h[i], lt.c[i]])))
        full = full.numpy()
        assert m.h[8, i] == pytest.approx(np.log10(np.linalg.norm(full[:3, :3], 2)), abs=1e-9)
        assert m.h_fro[8, i] == pytest.approx(np.log10(np.linalg.norm(full[:3, :3])), abs=1e-9)
        assert m.c[8, i] == pytest.approx(np.log10(np.linalg.norm(full[3:, 3:], 2)), abs=1e-9)


def lstm_autograd_norms(net, x, trace, i):
    """log10 of the 2- and Frobenius norms of ∂h_T/∂h_i and ∂c_T/∂c_i, by torch.autograd
    through the steps i+1..T of net's torch.nn.LSTM: (h_2, h_fro, c_2, c_fro)."""
    H, T = net.spec.hidden_size, x.shape[0]
    module, xt, lt = net.to_torch(), torch.from_numpy(x), trace.layer()

    def from_state(s):
        h, c = s[:H], s[H:]
        for k in range(i, T):
            _, (h1, c1) = module(xt[k:k + 1, None, :], (h[None, None], c[None, None]))
            h, c = h1[0, 0], c1[0, 0]
        return torch.cat([h, c])
    full = torch.autograd.functional.jacobian(
        from_state, torch.from_numpy(np.concatenate([lt.h[i], lt.c[i]]))).numpy()
    h, c = full[:H, :H], full[H:, H:]
    return tuple(float(np.log10(np.linalg.norm(m, o))) for m in (h, c) for o in (2, None))


def test_a_wide_lstm_row_by_its_structured_product_equals_autograd():
    """H = 128 (the state [h; c] is 256 wide): the cursor row multiplies only the h-columns of
    each step (the c-columns are diagonal); its norms equal autograd through torch.nn.LSTM."""
    H, T = 128, 6
    net = init_net(CellSpec(kind="lstm", input_size=1, hidden_size=H), seed=4)
    x = np.random.default_rng(5).normal(size=(T, 1))
    trace = run(net, x, h0=0.3, c0=-0.2)
    row = row_norms(step_jacobians(trace), T, H)
    for i in (0, 2):
        want = lstm_autograd_norms(net, x, trace, i)
        got = (row.h[i], row.h_fro[i], row.c[i], row.c_fro[i])
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)


def test_a_wide_lstm_map_without_the_diagonals_zeros_equals_autograd():
    """H = 64 (the state [h; c] is 128 wide): each row of the map multiplies only the
    h-columns of a step (its c-columns are diagonal, added apart), on one thread or two; every
    pair's norms equal autograd through torch.nn.LSTM, in float64."""
    H, T = 64, 5
    net = init_net(CellSpec(kind="lstm", input_size=1, hidden_size=H), seed=6)
    x = np.random.default_rng(7).normal(size=(T, 1))
    trace = run(net, x, h0=0.2, c0=0.4)
    J = step_jacobians(trace)
    maps = [jacobian_map(J, H, exact=True, threads=k) for k in (1, 2)]
    for i in range(T):
        want = lstm_autograd_norms(net, x, trace, i)
        for m in maps:
            got = (m.h[T, i], m.h_fro[T, i], m.c[T, i], m.c_fro[T, i])
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)


@settings(max_examples=25, deadline=None)
@given(kind=st.sampled_from(["rnn", "lstm", "gru"]), hidden=st.integers(1, 6),
       steps=st.integers(1, 12), seed=st.integers(0, 10_000), scale=st.floats(0.2, 3.0))
def test_map_equals_direct_products(kind, hidden, steps, seed, scale):
    """Every pair of the renormalised map equals the plain float64 product's norm."""
    net = scale_recurrent(init_net(CellSpec(kind=kind, hidden_size=hidden, input_size=2), seed=seed), scale)
    x = np.random.default_rng(seed).normal(size=(steps, 2))
    trace = run(net, x)
    J = step_jacobians(trace)
    m = jacobian_map(J, net.spec.state_size, exact=True)
    Hh = net.spec.state_size
    for t in range(steps + 1):
        P = np.eye(J.shape[1])
        for i in range(t, -1, -1):
            hb = P[:Hh, :Hh]
            if np.linalg.norm(hb) > 1e-250:
                assert m.h[t, i] == pytest.approx(np.log10(np.linalg.norm(hb, 2)), abs=1e-8)
                assert m.h_fro[t, i] == pytest.approx(np.log10(np.linalg.norm(hb)), abs=1e-8)
            if i:
                P = P @ J[i - 1]
        assert np.all(np.isnan(m.h[t, t + 1:]))
    row = row_norms(J, steps, Hh)
    np.testing.assert_allclose(row.h, m.h[steps, :steps + 1], atol=1e-8)
    np.testing.assert_allclose(row.h_fro, m.h_fro[steps, :steps + 1], atol=1e-8)


@pytest.mark.parametrize("kind,nl", [("rnn", "tanh"), ("rnn", "relu"), ("rnn", "sigmoid"),
                                     ("lstm", "tanh")])
def test_the_quick_row_by_step_factors_equals_autograd(kind, nl):
    """The window's first row multiplies each step from the run's gates and W_hh (no J
    formed); in float64 its Frobenius norms equal autograd of h_T (and c_T) w.r.t. the state
    at i, through torch.nn's steps."""
    from gradviz.core.scene import analyse

    spec = CellSpec(kind=kind, nonlinearity=nl, input_size=2, hidden_size=5)
    net = scale_recurrent(init_net(spec, seed=3), 1.4)
    T = 9
    x = np.random.default_rng(4).normal(size=(T, 2))
    trace = run(net, x, h0=0.3, c0=-0.2)
    a = analyse(trace, exact=False)
    assert spec.cell_kind.row_factors(trace, 0, 0, np.float64) is not None
    row = a.row(T, exact=False, dtype=np.float64)
    lt = trace.layer()
    for i in range(T):
        if kind == "lstm":
            want = lstm_autograd_norms(net, x, trace, i)
            np.testing.assert_allclose((row.h_fro[i], row.c_fro[i]), (want[1], want[3]),
                                       rtol=0, atol=1e-9)
            continue
        product = np.eye(5)          # ∂h_T/∂h_i as the product of autograd's steps
        for k in range(T, i, -1):
            product = product @ autograd_step_jacobian(net, x[k - 1], lt.h[k - 1])
        assert row.h_fro[i] == pytest.approx(np.log10(np.linalg.norm(product)), abs=1e-9)
