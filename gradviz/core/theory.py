r"""What theory predicts for ‖∂h_t/∂h_i‖, and the per-step factors behind the product argument.

RNN (Pascanu, Mikolov & Bengio 2013): ‖∂h_t/∂h_i‖₂ ≤ ∏_{k=i+1..t} max_j|φ'(a_k)_j| · σ_max(W_hh).
LSTM: the forget-gate path ∏_{k=i+1..t} diag(f_k), 2-norm max_j ∏ f_k[j].
GRU: the update-gate path ∏_{k=i+1..t} diag(z_k) (torch's z: the fraction of the old state kept).
Every map is (T+1, T+1), entry [t, i] in log10, 0 on the diagonal, NaN above it.
"""
from __future__ import annotations

import numpy as np

from .cells import sigma_max
from .jacobians import LOG10_ZERO, _log10
from .kinds import GAMMA

__all__ = ["GAMMA", "from_start", "gate_logs", "gate_path", "lag_power", "pair_row", "rnn_bound",
           "rnn_step_factor", "row_of", "running_sum", "sigma_power", "start_column",
           "unit_running_sums"]


def unit_running_sums(step_logs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Running sums of per-unit log10 factors (exact zeros apart) and running counts of zeros:
    what :func:`row_of` and :func:`start_column` read (an analysis keeps them, so every row of
    its theory comes from one pass over the steps)."""
    zero = step_logs <= LOG10_ZERO
    m = step_logs.shape[1]
    cum = np.vstack([np.zeros(m), np.cumsum(np.where(zero, 0.0, step_logs), 0)])
    zeros = np.vstack([np.zeros(m, int), np.cumsum(zero, 0)])
    return cum, zeros


def _rows(cum, zeros, t: int, cols: np.ndarray) -> np.ndarray:
    """max_j Σ_{k=i+1..t} for each i in ``cols`` (LOG10_ZERO where a factor is exactly 0)."""
    diff = cum[t][None, :] - cum[cols]
    diff = np.where(zeros[t][None, :] - zeros[cols] > 0, LOG10_ZERO, diff)
    return diff.max(axis=1)


def _pair_map(step_logs: np.ndarray, stride: int = 1) -> np.ndarray:
    """[t, i] = max_j Σ_{k=i+1..t} step_logs[k-1, j], exact zeros kept as LOG10_ZERO.

    ``step_logs`` (T, m) holds log10 of each step's factor per unit (LOG10_ZERO for a 0). With
    ``stride`` s > 1 only the pairs (a·s, b·s) are computed: entry [a, b] (as a coarse
    :class:`~gradviz.core.jacobians.JacobianMap`).
    """
    T = step_logs.shape[0]
    cum, zeros = unit_running_sums(step_logs)
    grid = np.arange(T // stride + 1) * stride
    out = np.full((grid.size, grid.size), np.nan)
    for a, t in enumerate(grid):
        out[a, :a + 1] = _rows(cum, zeros, int(t), grid[:a + 1])
    return out


def pair_row(step_logs: np.ndarray, t: int) -> np.ndarray:
    """Row t of :func:`_pair_map` (i = 0..t) without the whole map."""
    return row_of(unit_running_sums(step_logs[:t]), t)


def from_start(step_logs: np.ndarray) -> np.ndarray:
    """Column i = 0 of :func:`_pair_map` (t = 0..T): max_j Σ_{k≤t}, without the whole map."""
    return start_column(unit_running_sums(step_logs))


def row_of(sums: tuple[np.ndarray, np.ndarray], t: int) -> np.ndarray:
    """:func:`pair_row` from :func:`unit_running_sums` of the steps (any steps from t on)."""
    cum, zeros = sums
    return _rows(cum, zeros, t, np.arange(t + 1))


def start_column(sums: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """:func:`from_start` from :func:`unit_running_sums` of the steps."""
    cum, zeros = sums
    return np.where(zeros > 0, LOG10_ZERO, cum).max(axis=1)


def gate_logs(gate: np.ndarray) -> np.ndarray:
    """log10 of each gate value (the per-unit factors of the path ∏ diag(gate_k))."""
    return _log10(np.asarray(gate, dtype=np.float64))


def gate_path(gate: np.ndarray, stride: int = 1) -> np.ndarray:
    """log10 ‖∏_{k=i+1..t} diag(gate_k)‖₂ = log10 max_j ∏ gate_k[j] (forget or update path)."""
    return _pair_map(gate_logs(gate), stride)


def rnn_step_factor(dphi: np.ndarray, w_hh: np.ndarray) -> np.ndarray:
    """log10(max_j |φ'(a_k)_j| · σ_max(W_hh)) for each step k, shape (T,)."""
    return _log10(np.abs(dphi).max(axis=1) * sigma_max(w_hh))


def rnn_bound(dphi: np.ndarray, w_hh: np.ndarray, stride: int = 1) -> np.ndarray:
    """The Pascanu bound Σ_{k=i+1..t} log10(max_j|φ'(a_k)_j| · σ_max(W_hh)) for every pair."""
    return _pair_map(rnn_step_factor(dphi, w_hh)[:, None], stride)


def sigma_power(w_hh: np.ndarray, steps: int) -> np.ndarray:
    """(t - i) · log10 σ_max(W_hh) against the lag t - i = 0..steps: the line with φ' = 1."""
    return lag_power(sigma_max(w_hh), steps)


def lag_power(sigma: float, steps: int) -> np.ndarray:
    """(t - i) · log10 σ against the lag t - i = 0..steps (:func:`sigma_power` of a known σ)."""
    return np.arange(steps + 1) * float(_log10(np.array(sigma)))


def running_sum(step_logs: np.ndarray) -> np.ndarray:
    """Σ_{k=1..t} of per-step log10 factors for t = 0..T; once a factor is 0, LOG10_ZERO."""
    logs = np.asarray(step_logs, dtype=np.float64)
    out = np.concatenate([[0.0], np.cumsum(np.where(logs <= LOG10_ZERO, 0.0, logs))])
    dead = np.concatenate([[False], np.cumsum(logs <= LOG10_ZERO) > 0])
    return np.where(dead, LOG10_ZERO, out)
