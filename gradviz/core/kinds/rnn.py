r"""Elman RNN (``torch.nn.RNN``), φ ∈ {tanh, relu, sigmoid}.

    a_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh,   h_t = φ(a_t)
    J_t = ∂h_t/∂h_{t-1} = diag(φ'(a_t)) W_hh

Theory: the Pascanu bound ‖∂h_t/∂h_i‖₂ ≤ ∏ max_j|φ'(a_k)_j|·σ_max(W_hh). torch has no sigmoid
RNN; gradviz adds it for the γ = 1/4 comparison (its weights load into a torch RNN, which
applies tanh).
"""
from __future__ import annotations

import numpy as np

from ..i18n import N_
from .base import CellKind, LayerTrace, StepFactors, scaled_steps, sigmoid, step_tops, unit_scales

PHI = {
    "tanh": (np.tanh, lambda a, h: 1.0 - h * h),
    "relu": (lambda a: np.maximum(a, 0.0), lambda a, h: (a > 0).astype(np.float64)),
    "sigmoid": (sigmoid, lambda a, h: h * (1.0 - h)),
}
#: γ = max φ': σ_max(W_hh) < 1/γ is sufficient for vanishing
GAMMA = {"tanh": 1.0, "relu": 1.0, "sigmoid": 0.25}


def run_direction(net, layer, direction, x, h0, c0, forget_clamp):
    """One layer and direction over x (T, in) in processing order: (trace, steps completed)."""
    p = net.layer_params(layer, direction)
    T, H = x.shape[0], net.spec.hidden_size
    w_hh = p["w_hh"]
    h = np.zeros((T + 1, H))
    h[0] = h0
    phi, dphi = PHI[net.spec.nonlinearity]
    a_all, d_all = np.zeros((T, H)), np.zeros((T, H))
    with np.errstate(over="ignore", invalid="ignore"):
        xb = x @ p["w_ih"].T + p["b_ih"]   # input part of every pre-activation
        xb += p["b_hh"]
        for t in range(T):
            a = a_all[t]
            np.add(xb[t], w_hh @ h[t], out=a)
            h[t + 1] = phi(a)
        # a state that left float64 (relu, σ_max > 1): the run stops before that step
        bad = ~(np.isfinite(a_all).all(axis=1) & np.isfinite(h[1:]).all(axis=1))
        stop = int(np.argmax(bad)) if bad.any() else T
        d_all[:stop] = dphi(a_all[:stop], h[1:stop + 1])
    return LayerTrace(h=h[:stop + 1], c=None, preact={"a": a_all[:stop]}, dphi=d_all[:stop]), stop


def step_jacobians(trace, layer, direction, start=0, stop=None):
    """J[t-1] = diag(φ'(a_t)) W_hh for t = start+1..stop, shape (stop - start, H, H)."""
    lt = trace.layer(layer, direction)
    w_hh = trace.net.layer_params(layer, direction)["w_hh"]
    return lt.dphi[start:stop, :, None] * w_hh[None]


class _RnnFactors(StepFactors):
    """P·diag(φ'(a_k)) W_hh = (P ⊙ φ'(a_k)) W_hh: one scaling and one GEMM, no J."""

    def __init__(self, dphi, w_hh, log10_scale, dtype):
        super().__init__(dtype, log10_scale)
        self.dphi = np.ascontiguousarray(dphi, dtype=dtype)
        self.w = np.ascontiguousarray(w_hh, dtype=dtype)
        self._scaled = np.empty((0, 0), dtype=dtype)

    def _times(self, P, k, out):
        if self._scaled.shape != P.shape:
            self._scaled = np.empty_like(P)
        np.multiply(P, self.dphi[k], out=self._scaled)
        np.matmul(self._scaled, self.w, out=out)


def row_factors(trace, layer, direction, dtype):
    """:class:`StepFactors` of diag(φ'(a_t)) W_hh (None if a factor is not finite)."""
    lt = trace.layer(layer, direction)
    w_hh = trace.net.layer_params(layer, direction)["w_hh"]
    if not np.all(np.isfinite(w_hh)):
        return None
    # J = diag(φ') W_hh: φ' scaled per step and W_hh once, each to a largest entry in [0.5, 1)
    e_w = int(unit_scales(np.abs(w_hh).max() if w_hh.size else 0.0))
    scaled = scaled_steps([lt.dphi], step_tops([lt.dphi]))
    if scaled is None:
        return None
    (dphi,), log10_scale = scaled
    return _RnnFactors(dphi, np.ldexp(w_hh, -e_w), log10_scale + e_w * float(np.log10(2.0)),
                       dtype)


def _torch_kwargs(spec):
    return {"nonlinearity": "relu" if spec.nonlinearity == "relu" else "tanh"}


KIND = CellKind(
    name="rnn", label="RNN", article="an", torch_class="RNN", gates=(), per_unit=("a", "dphi"),
    has_cell=False, supports_proj=False, path_gate=None, path_array=None, path_label=None,
    bias_field=None, bias_gate=None, factor_label=N_("max|φ′(a_t)|·σ_max"),
    run_direction=run_direction, step_jacobians=step_jacobians, extra_torch_kwargs=_torch_kwargs,
    row_factors=row_factors)
