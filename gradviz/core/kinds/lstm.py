r"""LSTM (``torch.nn.LSTM``), gate order in the stacked weights i, f, g, o; optional projection.

    [i f g o] = [σ σ tanh σ](W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)
    c_t = f ⊙ c_{t-1} + i ⊙ g,   m_t = o ⊙ tanh(c_t),   h_t = m_t  or  W_hr m_t

The state is s = [h; c]; its one-step Jacobian blocks are in ``docs``/cell-math. The theory path
is the forget-gate path ∏ diag(f_k) (∂c_t/∂c_{t-1} = diag(f_t)).
"""
from __future__ import annotations

import numpy as np

from ..i18n import N_
from .base import CellKind, LayerTrace, StepFactors, scaled_steps, sigmoid, step_tops


def run_direction(net, layer, direction, x, h0, c0, forget_clamp):
    """One layer and direction over x (T, in) in processing order: (trace, steps completed)."""
    spec = net.spec
    p = net.layer_params(layer, direction)
    T, H, Hh = x.shape[0], spec.hidden_size, spec.state_size
    w_hh, w_hr = p["w_hh"], p.get("w_hr")
    h = np.zeros((T + 1, Hh))
    h[0] = h0
    c = np.zeros((T + 1, H))
    c[0] = c0
    pre = np.zeros((T, 4 * H))
    gates = np.zeros((T, 4 * H))
    g_part = slice(2 * H, 3 * H)
    with np.errstate(over="ignore", invalid="ignore"):
        # the input part of every pre-activation, b_hh added as torch does (same rounding)
        xb = x @ p["w_ih"].T + p["b_ih"]
        xb += p["b_hh"]
        # a few whole-vector numpy calls per step (the per-step calls are the cost at H = 64):
        # one sigmoid over [i f g o] (g's slot then overwritten by tanh), the state written in
        # place; a state that left float64 is found once, after the loop
        for t in range(T):
            a = pre[t]
            np.add(xb[t], w_hh @ h[t], out=a)
            gt = gates[t]
            gt[:] = sigmoid(a)
            np.tanh(a[g_part], out=gt[g_part])
            i, f, g, o = gt[:H], gt[H:2 * H], gt[g_part], gt[3 * H:]
            if forget_clamp is not None:
                f[:] = float(forget_clamp)
            ct = c[t + 1]
            np.multiply(f, c[t], out=ct)
            ct += i * g
            m = o * np.tanh(ct)
            h[t + 1] = w_hr @ m if w_hr is not None else m
        bad = ~(np.isfinite(c[1:]).all(axis=1) & np.isfinite(h[1:]).all(axis=1))
        stop = int(np.argmax(bad)) if bad.any() else T
    lt = LayerTrace(h=h[:stop + 1], c=c[:stop + 1])
    for k, name in enumerate("ifgo"):
        lt.gates[name] = gates[:stop, k * H:(k + 1) * H]
        lt.preact[name] = pre[:stop, k * H:(k + 1) * H]
    return lt, stop


def step_jacobians(trace, layer, direction, start=0, stop=None):
    """J[t-1] = ∂[h_t; c_t]/∂[h_{t-1}; c_{t-1}] for t = start+1..stop, shape (·, Hh+H, Hh+H)."""
    spec = trace.net.spec
    lt = trace.layer(layer, direction)
    p = trace.net.layer_params(layer, direction)
    stop = lt.steps if stop is None else stop
    H, Hh, T = spec.hidden_size, spec.state_size, stop - start
    w_hh = p["w_hh"]
    i, f, g, o = (lt.gates[k][start:stop] for k in "ifgo")
    c_prev, c_new = lt.c[start:stop], lt.c[start + 1:stop + 1]
    w_i, w_f, w_g, w_o = (w_hh[k * H:(k + 1) * H] for k in range(4))
    # row j of ∂c_t/∂h_{t-1} and of ∂m_t/∂h_{t-1} is Σ_k a_k[t, j] · W_k[j] over the gates:
    # one small matmul each (K = 3 and 4), written straight into J (the (T, H, Hh)
    # temporaries of the plain expressions cost more memory traffic than a first update)
    diag = np.arange(H)
    tc = np.tanh(c_new)
    u = o * (1 - tc * tc)                                         # ∂m/∂c
    coef = [g * (i * (1 - i)), i * (1 - g * g)]                   # through i and g
    blocks = [w_i, w_g]
    if trace.forget_clamp is None:   # a clamped f does not depend on h
        coef.append(c_prev * (f * (1 - f)))
        blocks.append(w_f)
    a_c, w_c = np.stack(coef, axis=-1), np.stack(blocks, axis=1)  # (T, H, K), (H, K, Hh)
    a_m = np.concatenate([a_c * u[:, :, None], (tc * (o * (1 - o)))[:, :, None]], axis=-1)
    w_m = np.concatenate([w_c, w_o[:, None, :]], axis=1)
    J = np.zeros((T, Hh + H, Hh + H))
    np.matmul(a_c.transpose(1, 0, 2), w_c, out=J[:, Hh:, :Hh].transpose(1, 0, 2))  # ∂c/∂h
    w_hr = p.get("w_hr")
    if w_hr is None:
        np.matmul(a_m.transpose(1, 0, 2), w_m, out=J[:, :Hh, :Hh].transpose(1, 0, 2))
        J[:, diag, Hh + diag] = u * f                        # ∂m_t/∂c_{t-1} = diag(u f)
    else:                                                    # h = W_hr m
        dm_dh = np.empty((T, H, Hh))
        np.matmul(a_m.transpose(1, 0, 2), w_m, out=dm_dh.transpose(1, 0, 2))
        J[:, :Hh, :Hh] = np.matmul(w_hr, dm_dh)
        J[:, :Hh, Hh:] = w_hr[None] * (u * f)[:, None, :]
    J[:, Hh + diag, Hh + diag] = f
    return J


class _LstmFactors(StepFactors):
    """P·J for J = ∂[h_t; c_t]/∂[h_{t-1}; c_{t-1}] (no projection) from J's h-columns only:
    with M = ∂c_t/∂h_{t-1} = Σ diag(a_k) W_k over i, f, g (a_i = g·σ′(i), a_f = c_{t-1}·σ′(f),
    a_g = i·tanh′(g)), u = o·tanh′(c_t) and a_o = tanh(c_t)·σ′(o), the h-columns are
    [diag(a_o) W_o + diag(u) M; M] (2H × H) and the c-columns diag(u f) over diag(f), so

        P·J = [P · hcols,  P_h ⊙ (u f) + P_c ⊙ f]:

    one GEMM of P (m × 2H) with H columns a step, half the work of [V⊙a_i, …, P_h⊙a_o]·W_hh
    (an LSTM's quick row at H = 64, T = 200: 20 → 12 ms on a quiet machine). The h-columns are
    built for a chunk of steps at a time in this dtype (~2 MB). J is linear in (a_i, a_f, a_g,
    a_o, f) together, so a step's scale applies to those, not to u."""

    def __init__(self, coef, a_o, u, f, w_hh, log10_scale, dtype):
        super().__init__(dtype, log10_scale)
        H = self.H = w_hh.shape[1]
        # (T, H, 4): the coefficients of W_i, W_f, W_g, W_o in the rows of ∂h_t/∂h_{t-1} ...
        a_c = np.moveaxis(coef, 1, 2)                                  # (T, H, 3)
        self.a_m = np.concatenate([a_c * u[:, :, None], a_o[:, :, None]], axis=2).astype(dtype)
        # ... and of W_i, W_f, W_g in those of ∂c_t/∂h_{t-1}
        self.a_c = np.ascontiguousarray(a_c, dtype=dtype)
        self.f = np.ascontiguousarray(f, dtype=dtype)
        self.uf = np.ascontiguousarray(u * f, dtype=dtype)
        # unit j's rows of the four gate blocks: w_m[j, k] = W_k[j]  (H, 4, H)
        self.w_m = np.ascontiguousarray(w_hh.reshape(4, H, H).transpose(1, 0, 2), dtype=dtype)
        self.w_c = np.ascontiguousarray(self.w_m[:, :3])
        self.chunk = max(1, CHUNK_BYTES // (2 * H * H * self.dtype.itemsize))
        self._cols = np.empty((0, 2 * H, H), dtype=dtype)
        self._first = 0          # the chunk's first step
        self._tmp = np.empty((0, H), dtype=dtype)

    def _h_columns(self, k: int) -> np.ndarray:
        """J[k]'s h-columns (2H × H), from the chunk of steps that holds k (built when the row,
        going back, first needs a step before the chunk)."""
        first, cols = self._first, self._cols
        if not first <= k < first + cols.shape[0]:
            H = self.H
            first = max(0, k + 1 - self.chunk)
            n = k + 1 - first
            if cols.shape[0] != n:
                cols = self._cols = np.empty((n, 2 * H, H), dtype=self.dtype)
            # row j of each block: Σ_k a[t, j, k] · W_k[j], one small matmul per unit (batched)
            np.matmul(self.a_m[first:k + 1].transpose(1, 0, 2), self.w_m,
                      out=cols[:, :H].transpose(1, 0, 2))
            np.matmul(self.a_c[first:k + 1].transpose(1, 0, 2), self.w_c,
                      out=cols[:, H:].transpose(1, 0, 2))
            self._first = first
        return cols[k - first]

    def _times(self, P, k, out):
        H = self.H
        if self._tmp.shape[0] != P.shape[0]:
            self._tmp = np.empty((P.shape[0], H), dtype=self.dtype)
        np.matmul(P, self._h_columns(k), out=out[:, :H])
        np.multiply(P[:, :H], self.uf[k], out=out[:, H:])
        np.multiply(P[:, H:], self.f[k], out=self._tmp)
        out[:, H:] += self._tmp


#: bytes of J's h-columns built at a time for the quick row
CHUNK_BYTES = 2 * 2**20


def row_factors(trace, layer, direction, dtype):
    """:class:`StepFactors` of the LSTM's one-step Jacobians (None with a projection, or if a
    factor is not finite)."""
    p = trace.net.layer_params(layer, direction)
    if p.get("w_hr") is not None:
        return None
    lt = trace.layer(layer, direction)
    i, f, g, o = (lt.gates[k] for k in "ifgo")
    tc = np.tanh(lt.c[1:])
    u = o * (1 - tc * tc)
    # a clamped f does not depend on h (as in step_jacobians)
    a_f = lt.c[:-1] * (f * (1 - f)) if trace.forget_clamp is None else np.zeros_like(f)
    coef = np.stack([g * (i * (1 - i)), a_f, i * (1 - g * g)], axis=1)   # (T, 3, H): i, f, g
    a_o = tc * (o * (1 - o))
    w_hh = p["w_hh"]
    w_top = float(np.abs(w_hh).max()) if w_hh.size else 0.0
    if not (w_top == 0.0 or 1e-30 < w_top < 1e30) or not np.all(np.isfinite(u)):
        return None              # W_hh itself out of float32's range: the Jacobians scale it
    # the step's largest entry of J: through W_hh (h-columns) or f (c-columns; u ≤ 1)
    top = np.maximum(step_tops([coef, a_o]) * w_top, step_tops([f]))
    scaled = scaled_steps([coef, a_o, f], top)
    if scaled is None:
        return None
    (coef, a_o, f), log10_scale = scaled
    return _LstmFactors(coef, a_o, u, f, w_hh, log10_scale, dtype)


KIND = CellKind(
    name="lstm", label="LSTM", article="an", torch_class="LSTM", gates=("i", "f", "g", "o"),
    per_unit=("i", "f", "g", "o"), has_cell=True, supports_proj=True, path_gate="f",
    path_array="log10_forget_path", path_label=N_("forget-gate path"), bias_field="forget_bias",
    bias_gate=1, factor_label=N_("mean f_t"), run_direction=run_direction,
    step_jacobians=step_jacobians, extra_torch_kwargs=lambda spec: {"proj_size": spec.proj_size},
    row_factors=row_factors)
