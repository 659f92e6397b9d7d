"""Lyapunov exponents against torch.autograd's explicit product, random tanh RNNs against
ln g and the mean-field rate, the mean field against scipy's quadrature."""
import math

import numpy as np
import pytest
import torch
from scipy import integrate, optimize

from gradviz.core.cells import CellSpec, init_net, scale_recurrent
from gradviz.core.dynamics import run
from gradviz.core.errors import GradvizError
from gradviz.core.jacobians import step_jacobians
from gradviz.core.lyapunov import (_orthonormal, default_transient, lambda1, log_growth,
                                   lyapunov, mean_field_q, mean_field_rate)
from gradviz.core.scene import Scene, apply_sliders, load_base_net, simulate

torch.set_num_threads(1)


def torch_product(net, x, h0, c0=None):
    """∂s_T/∂s_0 of the torch module in float64 (s = h, or [h; c] for an LSTM)."""
    module = net.to_torch()
    xt = torch.from_numpy(x)[:, None, :]
    H = net.spec.hidden_size
    if net.spec.kind == "lstm":
        def f(s0):
            _, (h, c) = module(xt, (s0[:H].reshape(1, 1, H), s0[H:].reshape(1, 1, H)))
            return torch.cat([h.reshape(H), c.reshape(H)])
        s0 = torch.from_numpy(np.concatenate([h0, c0]))
    else:
        def f(s0):
            _, h = module(xt, s0.reshape(1, 1, H))
            return h.reshape(H)
        s0 = torch.from_numpy(h0)
    return torch.autograd.functional.jacobian(f, s0).numpy()


def case(kind, H, T, sigma, seed=0, amplitude=1.0):
    net = scale_recurrent(init_net(CellSpec(kind=kind, input_size=2, hidden_size=H), seed=seed),
                          sigma)
    rng = np.random.default_rng(seed + 1)
    x = amplitude * rng.normal(size=(T, 2))
    h0 = 0.3 * rng.normal(size=H)
    c0 = 0.3 * rng.normal(size=H) if kind == "lstm" else None
    trace = run(net, x, h0=h0[None], c0=None if c0 is None else c0[None])
    return step_jacobians(trace), torch_product(net, x, h0, c0)


@pytest.mark.parametrize("kind,H,T", [("rnn", 5, 12), ("lstm", 3, 5), ("gru", 4, 12)])
def test_qr_sums_are_the_log_volumes_of_torchs_explicit_product(kind, H, T):
    """Σ_t Σ_{i≤k} ln|R_t[i,i]| = ln vol_k(P Q_0[:, :k]) exactly, P = ∂s_T/∂s_0 from
    torch.autograd (float64); for k = n that is Σ ln σ_i(P) = ln|det P|. The explicit product
    resolves its smallest singular value only to about ε·σ_1, hence the tolerance."""
    J, P = case(kind, H, T=T, sigma=1.2, amplitude=0.3)
    n = J.shape[1]
    assert P.shape == (n, n)
    for k in range(1, n + 1):
        total = log_growth(J, k=k, seed=3).sum(axis=0)
        sv = np.linalg.svd(P @ _orthonormal(n, k, 3), compute_uv=False)
        assert sv[-1] / sv[0] > 1e-10
        assert total.sum() == pytest.approx(np.log(sv).sum(), abs=1e-13 * sv[0] / sv[-1] + 1e-12)
    sv_p = np.linalg.svd(P, compute_uv=False)
    assert log_growth(J, k=n, seed=3).sum() == pytest.approx(
        np.log(sv_p).sum(), abs=1e-13 * sv_p[0] / sv_p[-1] + 1e-12)
    # the top exponent alone: ln ‖P v0‖ for the start vector v0
    v0 = _orthonormal(n, 1, 5)[:, 0]
    assert log_growth(J, k=1, seed=5).sum() == pytest.approx(math.log(np.linalg.norm(P @ v0)),
                                                            abs=1e-12)


@pytest.mark.parametrize("kind,H", [("rnn", 5), ("lstm", 3), ("gru", 4)])
def test_lambda1_is_the_growth_rate_of_torchs_product(kind, H):
    """λ₁ vs (1/T) ln ‖∂s_T/∂s_0‖₂ from torch.autograd at T = 60, no transient: equal up to
    the O(1/T) alignment of the start vector (here within 0.03)."""
    J, P = case(kind, H, T=60, sigma=1.2, amplitude=0.3)
    result = lyapunov(J, transient=0, seed=1)
    assert result.full and result.exponents.shape == (J.shape[1],)
    assert np.all(np.diff(result.exponents) <= 1e-12)   # descending
    assert result.lambda1 == pytest.approx(math.log(np.linalg.norm(P, 2)) / 60, abs=0.03)


def test_qr_spectrum_of_a_product_with_known_singular_values():
    """J_t = O_t D O_{t-1}ᵀ (O_t random orthogonal): the product is O_T Dᵀ O_0ᵀ, singular
    values d_i^T exactly; the spectrum converges to ln d_i."""
    d = np.array([1.3, 1.0, 0.7, 0.4])
    rng = np.random.default_rng(0)
    Os = [np.linalg.qr(rng.normal(size=(4, 4)))[0] for _ in range(301)]
    J = np.stack([Os[t + 1] @ np.diag(d) @ Os[t].T for t in range(300)])
    r = lyapunov(J, transient=20, seed=2)
    np.testing.assert_allclose(r.exponents, np.log(d), atol=0.01)
    top = lyapunov(J, transient=20, seed=2, k=1)
    assert top.lambda1 == pytest.approx(r.lambda1, abs=1e-12)


def test_running_estimates_and_block_errors():
    J, _ = case("rnn", 6, T=12, sigma=1.0, amplitude=0.3)
    J = np.concatenate([J] * 20)     # 240 steps
    r = lyapunov(J, transient=40, seed=0, blocks=10)
    logs = log_growth(J, k=6, seed=0)[40:]
    assert r.measured == 200 and r.t[0] == 41 and r.t[-1] == 240
    np.testing.assert_allclose(r.running[-1], r.exponents)
    np.testing.assert_allclose(r.running[9], logs[:10].mean(axis=0))
    means = logs.reshape(10, 20, 6).mean(axis=1)
    np.testing.assert_allclose(r.stderr, means.std(axis=0, ddof=1) / math.sqrt(10))
    assert np.all(np.isnan(r.running_err[:39])) and np.all(np.isfinite(r.running_err[39:]))
    np.testing.assert_allclose(r.running_err[59], means[:3].std(axis=0, ddof=1) / math.sqrt(3))
    np.testing.assert_allclose(r.running_err[-1], r.stderr)
    assert lambda1(J, transient=40, seed=0)[0] == pytest.approx(r.lambda1, abs=1e-12)
    assert default_transient(500) == 100
    with pytest.raises(GradvizError, match="transient"):
        lyapunov(J, transient=240)
    with pytest.raises(GradvizError, match="exponents"):
        log_growth(J, k=7)


def test_a_dead_relu_layer_gives_a_finite_very_negative_rate():
    J = np.zeros((30, 4, 4))
    r = lyapunov(J, transient=5)
    assert np.all(np.isfinite(r.exponents)) and r.lambda1 < -700


def test_gain_gives_gaussian_entries_of_variance_g2_over_h():
    H, g = 256, 2.0
    scene = Scene(hidden_size=H, init="gaussian", wr_scale=None, gain=g)
    w = apply_sliders(load_base_net(scene), scene).params["weight_hh_l0"]
    assert w.std() == pytest.approx(g / math.sqrt(H), rel=0.01)
    assert np.abs(np.linalg.eigvals(w)).max() == pytest.approx(g, rel=0.05)   # circular law
    assert np.linalg.norm(w, 2) == pytest.approx(2 * g, rel=0.05)
    # a set wr_scale (the σ_max slider) wins over the gain
    both = scene.replace(wr_scale=0.9)
    w2 = apply_sliders(load_base_net(both), both).params["weight_hh_l0"]
    assert np.linalg.norm(w2, 2) == pytest.approx(0.9)
    with pytest.raises(GradvizError, match="gain"):
        Scene(gain=0.0).validate()
    assert Scene.from_dict(scene.to_dict()) == scene


def test_mean_field_against_scipy_quadrature():
    def expect(f, q):
        return integrate.quad(lambda z: f(math.sqrt(q) * z) * math.exp(-z * z / 2)
                              / math.sqrt(2 * math.pi), -12, 12, limit=200, epsabs=1e-14, epsrel=1e-13)[0]
    for g in (1.1, 2.0, 4.0):
        q_ref = optimize.brentq(lambda q, g=g: g * g * expect(lambda a: math.tanh(a) ** 2, q) - q,
                                1e-9, g * g, xtol=1e-15)
        assert mean_field_q(g) == pytest.approx(q_ref, rel=1e-10)
        rate = 0.5 * math.log(g * g * expect(lambda a: 1 / math.cosh(a) ** 4, q_ref))
        assert mean_field_rate(g) == pytest.approx(rate, abs=1e-10)
    for g in (0.3, 0.5, 1.0):
        assert mean_field_q(g) == 0.0
        assert mean_field_rate(g) == pytest.approx(math.log(g), abs=1e-12)
    np.testing.assert_allclose(mean_field_rate(np.array([0.5, 2.0])),
                               [math.log(0.5), mean_field_rate(2.0)])
    assert mean_field_rate(2.0) == pytest.approx(0.155, abs=0.001)   # the numbers
    assert mean_field_rate(3.0) == pytest.approx(0.310, abs=0.001)
    with pytest.raises(GradvizError):
        mean_field_q(-1.0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_tanh_rnns_at_h256_follow_ln_g_and_the_mean_field(seed):
    """Zero input, Gaussian W_hh of gain g, H = 256, 100 transient + 400 measured steps,
    started off the fixed point (h0 = 0.5 on every unit)."""
    def lam(g):
        scene = Scene(hidden_size=256, init="gaussian", wr_scale=None, gain=g, input="zeros",
                      h0=0.5, steps=500, seed=seed)
        return lambda1(step_jacobians(simulate(scene)), transient=100, seed=seed)[0]
    assert abs(lam(0.5) - math.log(0.5)) < 0.1
    assert abs(lam(2.0) - mean_field_rate(2.0)) < 0.05
    assert abs(lam(3.0) - mean_field_rate(3.0)) < 0.05


def test_chunked_step_jacobians_give_the_same_exponents():
    """The window's analysis may hold its Jacobians chunked (StepJacobians): read step by step."""
    from gradviz.core.jacobians import StepJacobians
    trace = simulate(Scene(cell="lstm", hidden_size=6, steps=80, init="gaussian", wr_scale=None,
                           gain=1.5))
    chunked = StepJacobians(trace, eager_bytes=0)
    assert not chunked.eager
    a, b = lyapunov(chunked, seed=2), lyapunov(step_jacobians(trace), seed=2)
    np.testing.assert_allclose(a.exponents, b.exponents, rtol=0, atol=1e-12)
    assert lambda1(chunked, seed=2)[0] == pytest.approx(b.lambda1, abs=1e-12)
