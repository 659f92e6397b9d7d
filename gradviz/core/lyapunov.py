r"""Lyapunov exponents of the product of one-step Jacobians, and the mean-field rate.

The growth rate of gradients is a number: for the one-step Jacobians J_t = ∂s_t/∂s_{t-1}
(s = h, or [h; c] for LSTM; see :func:`gradviz.core.jacobians.step_jacobians`)

    λ₁ = lim (1/t) ln ‖J_t ··· J_1‖ = lim (1/t) ln ‖∂s_t/∂s_0‖      (per step, natural log)

is negative when gradients vanish and positive when they explode; ‖∂h_t/∂h_0‖ ≈ e^{λ₁ t}.
The whole spectrum λ₁ ≥ λ₂ ≥ … ≥ λ_k comes from the QR method (Benettin et al. 1980):
Q_0 random orthonormal (n × k); for every step Z = J_t Q_{t-1} = Q_t R_t, and
λ_i = (1/m) Σ_t ln |R_t[i, i]| over the m measured steps. The first column is the power
iteration, so λ₁ is the same number with k = 1 (what the phase diagram uses).

The rate is that of the trajectory on its attractor: the first ``transient`` steps are run
but not measured (their Jacobians are multiplied into Q so it has aligned when measuring
starts). Uncertainty: the measured steps are cut into blocks of equal length; the standard
error of the block means is reported (a running version of it against t, too).

Mean-field theory (Poole et al. 2016; Schoenholz et al. 2017) for a tanh RNN with zero input,
zero biases and W_hh entries N(0, g²/H), H → ∞: the pre-activation variance q settles at the
fixed point q* of q = g² E[tanh²(√q z)], z ~ N(0, 1), and the rate is
½ ln(g² E[sech⁴(√q* z)]) — which is ln g for g ≤ 1, where q* = 0. Expectations by
Gauss–Hermite quadrature.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .errors import GradvizError
from .i18n import _

#: the QR method computes the whole spectrum up to this state size, the top exponent beyond
SPECTRUM_MAX = 256
#: ln of the smallest positive float64: the rate of a step whose Jacobian kills the vector
LN_ZERO = math.log(np.finfo(np.float64).tiny)


def default_transient(steps: int) -> int:
    """Steps run but not measured: a fifth of the run (100 of 500)."""
    return int(steps) // 5


@dataclass
class Lyapunov:
    """Lyapunov exponents (natural log per step) of one run, with running estimates.

    ``running[j]`` is the estimate after the measured steps transient+1 .. ``t[j]``;
    ``running_err[j]`` its block standard error (NaN until two blocks are complete).
    """

    exponents: np.ndarray      # (k,) descending
    stderr: np.ndarray         # (k,) standard error of the block means (NaN if < 2 blocks)
    t: np.ndarray              # (m,) step of each running entry: transient+1 .. T
    running: np.ndarray        # (m, k)
    running_err: np.ndarray    # (m, k)
    transient: int
    n: int                     # state size of the Jacobians

    @property
    def lambda1(self) -> float:
        return float(self.exponents[0])

    @property
    def lambda1_err(self) -> float:
        return float(self.stderr[0])

    @property
    def full(self) -> bool:
        """The whole spectrum (k = n) rather than the top exponent only."""
        return self.exponents.shape[0] == self.n

    @property
    def measured(self) -> int:
        return int(self.t.shape[0])

    def columns(self) -> dict[str, np.ndarray]:
        """What the Lyapunov view plots, as CSV columns: t, the running λ_i(t) and λ₁'s
        error, then the final spectrum (i, λ_i, its error; shorter columns end early)."""
        out = {"t": self.t.astype(np.float64)}
        for i in range(self.exponents.shape[0]):
            out[f"lambda{i + 1}_running"] = self.running[:, i]
        out["lambda1_running_err"] = self.running_err[:, 0]
        out["i"] = np.arange(1, self.exponents.shape[0] + 1, dtype=np.float64)
        out["lambda_i"] = self.exponents
        out["lambda_i_err"] = self.stderr
        return out


def _orthonormal(n: int, k: int, seed: int) -> np.ndarray:
    """Q_0: k random orthonormal columns; column 0 is the same for every k (so the top
    exponent of the spectrum and of the power iteration start from the same vector)."""
    q, r = np.linalg.qr(np.random.default_rng(seed).normal(size=(k, n)).T)
    return q * np.sign(np.where(np.diag(r) == 0, 1.0, np.diag(r)))


def log_growth(jacobians: np.ndarray, k: int = 1, seed: int = 0) -> np.ndarray:
    """ln |R_t[i, i]| of the QR method for every step, shape (T, k) (float64).

    Row t is step t+1's contribution: Σ over rows of column i is ln of the volume growth in
    direction i. A step that maps the vector to exactly 0 gives :data:`LN_ZERO` (finite).
    """
    # an array, or core.jacobians.StepJacobians (read a step at a time: chunked when large)
    J = jacobians if hasattr(jacobians, "chunks") else np.asarray(jacobians, dtype=np.float64)
    shape = tuple(J.shape)
    if len(shape) != 3 or shape[1] != shape[2]:
        raise GradvizError(_("one-step Jacobians must have shape (T, n, n), got {shape}").format(shape=shape))
    T, n = shape[0], shape[1]
    if not 1 <= k <= n:
        raise GradvizError(_("number of exponents must lie in 1..{n}, got {k}").format(n=n, k=k))
    out = np.empty((T, k))
    Q = _orthonormal(n, k, seed)
    if k == 1:
        v = Q[:, 0]
        for t in range(T):
            w = J[t] @ v
            norm = math.sqrt(float(w @ w))
            if norm > 0 and math.isfinite(norm):
                out[t, 0] = math.log(norm)
                v = w / norm
            else:   # the vector died (relu units all off): restart from a fresh direction
                out[t, 0] = LN_ZERO
                v = _orthonormal(n, 1, seed + t + 1)[:, 0]
        return out
    for t in range(T):
        Q, R = np.linalg.qr(J[t] @ Q)
        d = np.abs(np.diag(R))
        with np.errstate(divide="ignore"):
            out[t] = np.where(d > 0, np.log(np.maximum(d, np.finfo(np.float64).tiny)), LN_ZERO)
    return out


def _block_stats(x: np.ndarray, blocks: int) -> tuple[np.ndarray, np.ndarray]:
    """Final and running standard errors of the block means of ``x`` (m, k)."""
    m, k = x.shape
    size = max(1, m // blocks)
    nb_all = m // size
    means = x[:nb_all * size].reshape(nb_all, size, k).mean(axis=1)
    means = means - means.mean(axis=0)   # shifted: the running sums below do not cancel
    s1 = np.vstack([np.zeros(k), np.cumsum(means, axis=0)])
    s2 = np.vstack([np.zeros(k), np.cumsum(means * means, axis=0)])

    def sem(nb):
        nb = np.asarray(nb)
        ok = nb >= 2
        safe = np.where(ok, nb, 2)
        mean = s1[safe] / safe[..., None]
        var = np.maximum(s2[safe] - safe[..., None] * mean * mean, 0.0) / (safe[..., None] - 1)
        return np.where(ok[..., None], np.sqrt(var / safe[..., None]), np.nan)

    final = sem(np.array([nb_all]))[0]
    running = sem(np.minimum(np.arange(1, m + 1) // size, nb_all))
    return final, running


def lyapunov(jacobians: np.ndarray, transient: int | None = None, k: int | None = None,
             seed: int = 0, blocks: int = 10) -> Lyapunov:
    """The exponents of the product of ``jacobians`` (T, n, n) by the QR method.

    ``transient``: steps multiplied in but not measured (default :func:`default_transient`);
    ``k``: how many exponents (default the whole spectrum for n ≤ :data:`SPECTRUM_MAX`, else
    the top one); ``seed``: the random start Q_0; ``blocks``: for the standard error.
    """
    J = jacobians if hasattr(jacobians, "chunks") else np.asarray(jacobians, dtype=np.float64)
    T, n = J.shape[0], J.shape[1] if len(J.shape) == 3 else 0
    transient = default_transient(T) if transient is None else int(transient)
    if not 0 <= transient < T:
        raise GradvizError(_("the transient must leave at least one measured step: 0 ≤ transient < {T}, got "
                             "{transient}")
                           .format(T=T, transient=transient))
    k = (n if n <= SPECTRUM_MAX else 1) if k is None else int(k)
    logs = log_growth(J, k=k, seed=seed)[transient:]
    m = logs.shape[0]
    running = np.cumsum(logs, axis=0) / np.arange(1, m + 1)[:, None]
    stderr, running_err = _block_stats(logs, blocks)
    return Lyapunov(exponents=running[-1].copy(), stderr=stderr,
                    t=np.arange(transient + 1, T + 1), running=running,
                    running_err=running_err, transient=transient, n=n)


def lambda1(jacobians: np.ndarray, transient: int | None = None, seed: int = 0,
            blocks: int = 10) -> tuple[float, float]:
    """(λ₁, its block standard error): the top exponent only (power iteration)."""
    result = lyapunov(jacobians, transient=transient, k=1, seed=seed, blocks=blocks)
    return result.lambda1, result.lambda1_err


# ---------------------------------------------------------------- mean-field theory

#: E[f(z)], z ~ N(0, 1), by the trapezoidal rule on [-10, 10] with step 0.01: exponentially
#: accurate for these integrands (analytic in a strip of half-width π/(2√q)); Gauss–Hermite
#: converges too slowly at large q (200 nodes are 1.6·10⁻³ off the rate at g = 4).
_NODES = np.linspace(-10.0, 10.0, 2001)
_WEIGHTS = np.full(_NODES.shape, _NODES[1] - _NODES[0]) * np.exp(-0.5 * _NODES ** 2) \
    / math.sqrt(2.0 * math.pi)
_WEIGHTS[[0, -1]] *= 0.5


def gaussian_mean(f, q) -> np.ndarray | float:
    """E[f(√q z)], z ~ N(0, 1), for a number or an array of variances q."""
    qs = np.sqrt(np.maximum(np.asarray(q, dtype=np.float64), 0.0))
    out = f(qs[..., None] * _NODES) @ _WEIGHTS
    return float(out) if np.ndim(q) == 0 else out


def _tanh2(a):
    return np.tanh(a) ** 2


def _sech4(a):
    return 1.0 / np.cosh(np.minimum(np.abs(a), 300.0)) ** 4


def mean_field_q(g) -> np.ndarray | float:
    """q*, the stable fixed point of q = g² E[tanh²(√q z)] (0 for g ≤ 1), by bisection
    (for a number or an array of gains)."""
    gs = np.asarray(g, dtype=np.float64)
    if not np.all(np.isfinite(gs) & (gs > 0)):
        raise GradvizError(_("gain g must be a positive number, got {g}").format(g=g))
    g2 = np.atleast_1d(gs * gs)
    lo, hi = np.full(g2.shape, 1e-12), g2.copy()   # excess > 0 near 0 when g > 1, < 0 at g²
    for _it in range(60):
        mid = 0.5 * (lo + hi)
        up = g2 * gaussian_mean(_tanh2, mid) - mid > 0
        lo, hi = np.where(up, mid, lo), np.where(up, hi, mid)
    q = np.where(g2 > 1.0, 0.5 * (lo + hi), 0.0)
    return float(q[0]) if gs.ndim == 0 else q.reshape(gs.shape)


def mean_field_rate(g) -> np.ndarray | float:
    """½ ln(g² E[sech⁴(√q* z)]): the mean-field λ₁ of a zero-input tanh RNN of gain g
    (= ln g for g ≤ 1). Accepts a number or an array of gains."""
    gs = np.asarray(g, dtype=np.float64)
    q = np.atleast_1d(mean_field_q(gs))
    g2 = np.atleast_1d(gs * gs)
    rate = 0.5 * np.log(g2 * gaussian_mean(_sech4, q))
    rate = np.where(q > 0, rate, np.log(np.atleast_1d(gs)))
    return float(rate[0]) if gs.ndim == 0 else rate.reshape(gs.shape)
