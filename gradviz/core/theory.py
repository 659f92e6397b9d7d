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

__all__ = ["GAMMA", "gate_path", "rnn_bound", "rnn_step_factor", "running_sum", "sigma_power"]


def _pair_map(step_logs: np.ndarray) -> np.ndarray:
    """[t, i] = max_j Σ_{k=i+1..t} step_logs[k-1, j], exact zeros kept as LOG10_ZERO.

    ``step_logs`` (T, m) holds log10 of each step's factor per unit (LOG10_ZERO for a 0).
    """
    T = step_logs.shape[0]
    zero = step_logs <= LOG10_ZERO
    cum = np.vstack([np.zeros(step_logs.shape[1]), np.cumsum(np.where(zero, 0.0, step_logs), 0)])
    zeros = np.vstack([np.zeros(step_logs.shape[1], int), np.cumsum(zero, 0)])
    out = np.full((T + 1, T + 1), np.nan)
    for t in range(T + 1):
        diff = cum[t][None, :] - cum[:t + 1]
        diff = np.where(zeros[t][None, :] - zeros[:t + 1] > 0, LOG10_ZERO, diff)
        out[t, :t + 1] = diff.max(axis=1)
    return out


def gate_path(gate: np.ndarray) -> np.ndarray:
    """log10 ‖∏_{k=i+1..t} diag(gate_k)‖₂ = log10 max_j ∏ gate_k[j] (forget or update path)."""
    return _pair_map(_log10(np.asarray(gate, dtype=np.float64)))


def rnn_step_factor(dphi: np.ndarray, w_hh: np.ndarray) -> np.ndarray:
    """log10(max_j |φ'(a_k)_j| · σ_max(W_hh)) for each step k, shape (T,)."""
    return _log10(np.abs(dphi).max(axis=1) * sigma_max(w_hh))


def rnn_bound(dphi: np.ndarray, w_hh: np.ndarray) -> np.ndarray:
    """The Pascanu bound Σ_{k=i+1..t} log10(max_j|φ'(a_k)_j| · σ_max(W_hh)) for every pair."""
    return _pair_map(rnn_step_factor(dphi, w_hh)[:, None])


def sigma_power(w_hh: np.ndarray, steps: int) -> np.ndarray:
    """(t - i) · log10 σ_max(W_hh) against the lag t - i = 0..steps: the line with φ' = 1."""
    return np.arange(steps + 1) * float(_log10(np.array(sigma_max(w_hh))))


def running_sum(step_logs: np.ndarray) -> np.ndarray:
    """Σ_{k=1..t} of per-step log10 factors for t = 0..T; once a factor is 0, LOG10_ZERO."""
    logs = np.asarray(step_logs, dtype=np.float64)
    out = np.concatenate([[0.0], np.cumsum(np.where(logs <= LOG10_ZERO, 0.0, logs))])
    dead = np.concatenate([[False], np.cumsum(logs <= LOG10_ZERO) > 0])
    return np.where(dead, LOG10_ZERO, out)
