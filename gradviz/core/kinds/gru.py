r"""GRU (``torch.nn.GRU``), gate order in the stacked weights r, z, n.

    [r z] = σ(W_i[rz] x_t + b_i[rz] + W_h[rz] h_{t-1} + b_h[rz])
    n = tanh(W_in x_t + b_in + r ⊙ (W_hn h_{t-1} + b_hn)),   h_t = (1 - z) ⊙ n + z ⊙ h_{t-1}

torch's z is the fraction of the OLD state kept (textbooks' z is 1 − z). The theory path is the
update-gate path ∏ diag(z_k).
"""
from __future__ import annotations

import numpy as np

from ..i18n import N_
from .base import CellKind, LayerTrace, sigmoid


def run_direction(net, layer, direction, x, h0, c0, forget_clamp):
    """One layer and direction over x (T, in) in processing order: (trace, steps completed)."""
    p = net.layer_params(layer, direction)
    T, H = x.shape[0], net.spec.hidden_size
    w_hh = p["w_hh"]
    h = np.zeros((T + 1, H))
    h[0] = h0
    pre = np.zeros((T, 3 * H))
    gates = np.zeros((T, 3 * H))
    b_hh = p["b_hh"]
    with np.errstate(over="ignore", invalid="ignore"):
        xin = x @ p["w_ih"].T + p["b_ih"]
        # whole-vector calls written in place (one sigmoid for r and z); a state that left
        # float64 is found once, after the loop
        for t in range(T):
            hh = w_hh @ h[t]
            hh += b_hh
            pt, gt = pre[t], gates[t]
            np.add(xin[t, :2 * H], hh[:2 * H], out=pt[:2 * H])
            gt[:2 * H] = sigmoid(pt[:2 * H])
            r, z = gt[:H], gt[H:2 * H]
            np.add(xin[t, 2 * H:], r * hh[2 * H:], out=pt[2 * H:])
            n = np.tanh(pt[2 * H:], out=gt[2 * H:])
            h[t + 1] = (1.0 - z) * n + z * h[t]
        bad = ~np.isfinite(h[1:]).all(axis=1)
        stop = int(np.argmax(bad)) if bad.any() else T
    lt = LayerTrace(h=h[:stop + 1], c=None)
    for k, name in enumerate("rzn"):
        lt.gates[name] = gates[:stop, k * H:(k + 1) * H]
        lt.preact[name] = pre[:stop, k * H:(k + 1) * H]
    return lt, stop


def step_jacobians(trace, layer, direction, start=0, stop=None):
    """J[t-1] = diag(z) + diag(h - n) dz + diag(1 - z) ∂n/∂h for t = start+1..stop."""
    lt = trace.layer(layer, direction)
    p = trace.net.layer_params(layer, direction)
    H = trace.net.spec.hidden_size
    w_hh = p["w_hh"]
    stop = lt.steps if stop is None else stop
    r, z, n = (lt.gates[k][start:stop] for k in "rzn")
    h_prev = lt.h[start:stop]
    w_r, w_z, w_n = w_hh[:H], w_hh[H:2 * H], w_hh[2 * H:]
    hn = h_prev @ w_n.T + p["b_hh"][2 * H:]
    # J = (h - n) ∂z/∂h + (1 - z) ∂n/∂h with ∂z/∂h = diag(z(1-z)) W_hz and
    # ∂n/∂h = diag(1 - n²) (diag(hn) ∂r/∂h + diag(r) W_hn), ∂r/∂h = diag(r(1-r)) W_hr:
    # row j of J[t] = Σ_k a_k[t, j] · W_k[j], one matmul with K = 3 written straight into J
    # (the (T, H, H) temporaries of the plain expression cost more than the products)
    u = (1 - z) * (1 - n * n)
    coef = np.stack([(h_prev - n) * (z * (1 - z)), u * hn * (r * (1 - r)), u * r], axis=-1)
    weights = np.stack([w_z, w_r, w_n], axis=1)                    # (H, 3, H)
    J = np.empty((h_prev.shape[0], H, H))
    np.matmul(coef.transpose(1, 0, 2), weights, out=J.transpose(1, 0, 2))
    J[:, np.arange(H), np.arange(H)] += z
    return J


KIND = CellKind(
    name="gru", label="GRU", article="a", torch_class="GRU", gates=("r", "z", "n"),
    per_unit=("r", "z", "n"), has_cell=False, supports_proj=False, path_gate="z",
    path_array="log10_update_path", path_label=N_("update-gate path"), bias_field="update_bias",
    bias_gate=1, factor_label=N_("mean z_t"), run_direction=run_direction,
    step_jacobians=step_jacobians)
