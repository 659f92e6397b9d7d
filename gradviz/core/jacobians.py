r"""One-step Jacobians and the norms of their products ∂h_t/∂h_i, carried in log10.

For a layer and direction with state s (s = h for RNN/GRU, s = [h; c] for LSTM), the one-step
Jacobian J_t = ∂s_t/∂s_{t-1} (shape (T, n, n), J[t-1] is step t) is built analytically from the
recorded trace (equations in ``docs``/cell-math: RNN diag(φ'(a_t)) W_hh; LSTM the [h; c] blocks;
GRU diag(z) + diag(h - n) dz + diag(1 - z) ∂n/∂h). Products ∂s_t/∂s_i = J_t ··· J_{i+1} are
renormalised after every multiplication, their log10 scale kept apart in float64, so that
0.5^1200 comes out as 10^-361.24 instead of 0. An exactly zero product (a relu layer whose
units are all off) is reported as :data:`LOG10_ZERO`, never as -inf or NaN.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .dynamics import Trace
from .kinds import KINDS

#: log10 of an exactly zero norm: no gradient flows at all (shown, never -inf).
LOG10_ZERO = -999.0


def step_jacobians(trace: Trace, layer: int = 0, direction: int = 0) -> np.ndarray:
    """J[t-1] = ∂s_t/∂s_{t-1} for t = 1..T, float64, shape (T, n, n) (the kind's own formula)."""
    trace.layer(layer, direction)   # a missing layer or direction is a GradvizError
    return KINDS[trace.net.spec.kind].step_jacobians(trace, layer, direction)


def _log10(values: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        out = np.log10(values)
    return np.where(values > 0, out, LOG10_ZERO)


def _combine(scale: np.ndarray, rel: np.ndarray, dead=False) -> np.ndarray:
    """log10 scale + log10 relative norm; an exact zero (or a dead block) is LOG10_ZERO."""
    return np.where(dead | (rel <= 0), LOG10_ZERO,
                    scale + _log10(np.maximum(rel, np.finfo(np.float64).tiny)))


#: blocks are rescaled (their log10 scale kept apart) once their norm leaves this range;
#: relative rounding does not depend on magnitude, so rescaling lazily costs no accuracy, and
#: the range keeps squares far from under- and overflow.
_RANGE = {np.dtype(np.float32): (1e-6, 1e6), np.dtype(np.float64): (1e-30, 1e30)}


class JacobianProducts:
    """The lower-triangular map of ‖∂h_t/∂h_i‖, grown one step (one row) at a time.

    The current row's products ∂s_t/∂s_i (i = 0..t), transposed, are stacked as contiguous
    (n, n) blocks of one (capacity+1, n, n) buffer, so appending step t+1 is a single GEMM
    ``buffer[:t+1] @ J_{t+1}ᵀ`` written into a second buffer (no per-step allocation of the
    stack). Each block's log10 scale is kept apart in float64; a block is rescaled to norm 1
    whenever its norm leaves a safe range, so 0.5^1200 stays 10^-361.24. ``dtype`` float32 is
    what the window uses (see benchmarks for the error); the export uses float64.
    ``exact=True`` also computes 2-norms (largest singular values) of every pair.
    """

    def __init__(self, n: int, h_size: int, capacity: int, dtype=np.float64, exact: bool = False):
        self.n, self.h_size, self.capacity = n, h_size, capacity
        self.dtype, self.exact = np.dtype(dtype), exact
        if self.dtype not in _RANGE:
            raise ValueError(f"dtype must be float32 or float64, got {self.dtype}")
        self.has_c = n > h_size
        self._bufs = [np.zeros((capacity + 1, n, n), dtype=self.dtype) for _ in range(2)]
        self._current = 0
        self._jt = np.empty((n, n), dtype=self.dtype)
        self._scale = np.zeros(capacity + 1)
        self._dead = np.zeros(capacity + 1, dtype=bool)   # the product is exactly zero
        self._eye = np.eye(n, dtype=self.dtype)
        self.t = -1
        shape = (capacity + 1, capacity + 1)
        self.h_fro = np.full(shape, np.nan)
        self.h_2 = np.full(shape, np.nan) if exact else None
        self.c_fro = np.full(shape, np.nan) if self.has_c else None
        self.c_2 = np.full(shape, np.nan) if (exact and self.has_c) else None
        self._new_row()

    def _new_row(self):
        """Row t+1's diagonal block: the identity (2-norm 1, Frobenius √size)."""
        self.t += 1
        t, hs = self.t, self.h_size
        self._bufs[self._current][t] = self._eye
        self._scale[t] = 0.0
        self._dead[t] = False
        self.h_fro[t, t] = 0.5 * np.log10(hs)
        if self.exact:
            self.h_2[t, t] = 0.0
        if self.has_c:
            self.c_fro[t, t] = 0.5 * np.log10(self.n - hs)
            if self.exact:
                self.c_2[t, t] = 0.0

    def append(self, jacobian: np.ndarray) -> None:
        """Extend by one step: ``jacobian`` = ∂s_{t+1}/∂s_t, shape (n, n)."""
        t, n, hs = self.t, self.n, self.h_size
        if t >= self.capacity:
            raise IndexError("JacobianProducts is full")
        src, dst = self._bufs[self._current], self._bufs[1 - self._current]
        np.copyto(self._jt, np.asarray(jacobian).T, casting="same_kind")
        np.matmul(src[:t + 1].reshape((t + 1) * n, n), self._jt,
                  out=dst[:t + 1].reshape((t + 1) * n, n))
        self._current = 1 - self._current
        blocks = dst[:t + 1]
        scale = self._scale[:t + 1]
        if self.has_c:    # block i is (∂s_t/∂s_i)ᵀ: h part [:hs, :hs], c part [hs:, hs:]
            left, right = blocks[:, :, :hs], blocks[:, :, hs:]
            sq_left = np.einsum("ijk,ijk->ij", left, left).astype(np.float64)
            sq_right = np.einsum("ijk,ijk->ij", right, right).astype(np.float64)
            sq_h, sq_c = sq_left[:, :hs].sum(1), sq_right[:, hs:].sum(1)
            sq_all = sq_left.sum(1) + sq_right.sum(1)
        else:
            flat = blocks.reshape(t + 1, n * n)
            sq_all = np.einsum("ij,ij->i", flat, flat).astype(np.float64)
            sq_h, sq_c = sq_all, None
        lo, hi = _RANGE[self.dtype]
        dead = self._dead[:t + 1]
        dead |= sq_all <= 0
        off = np.flatnonzero(~dead & ((sq_all < lo * lo) | (sq_all > hi * hi)))
        if off.size:
            norm = np.sqrt(sq_all[off])
            blocks[off] *= (1.0 / norm).astype(self.dtype)[:, None, None]
            scale[off] += np.log10(norm)
            sq_h = sq_h.copy()
            sq_h[off] /= norm * norm
            if sq_c is not None:
                sq_c = sq_c.copy()
                sq_c[off] /= norm * norm
        row = t + 1
        self.h_fro[row, :t + 1] = _combine(scale, np.sqrt(sq_h), dead)
        if self.c_fro is not None and sq_c is not None:
            self.c_fro[row, :t + 1] = _combine(scale, np.sqrt(sq_c), dead)
        if self.h_2 is not None:
            self.h_2[row, :t + 1] = _combine(scale, _largest_sv(blocks[:, :hs, :hs]), dead)
        if self.c_2 is not None:
            self.c_2[row, :t + 1] = _combine(scale, _largest_sv(blocks[:, hs:, hs:]), dead)
        self._new_row()

    def current_row(self) -> np.ndarray:
        """log10 ‖∂h_t/∂h_i‖_F for i = 0..t of the latest row t."""
        return self.h_fro[self.t, :self.t + 1]


def _largest_sv(stack: np.ndarray) -> np.ndarray:
    """Largest singular value of each block of a (k, a, b) stack, in float64."""
    stack = np.asarray(stack, dtype=np.float64)
    if stack.shape[1] == 1 or stack.shape[2] == 1:
        return np.sqrt(np.einsum("iac,iac->i", stack, stack))
    return np.linalg.svd(stack, compute_uv=False)[:, 0]


@dataclass
class JacobianMap:
    """log10 norms of ∂h_t/∂h_i (and ∂c_t/∂c_i for LSTM) for every 0 ≤ i ≤ t ≤ T.

    Entry [t, i]; NaN above the diagonal (i > t). ``h`` and ``c`` are 2-norms (largest
    singular value), None when only Frobenius norms were asked for.
    """

    h_fro: np.ndarray
    h: np.ndarray | None = None
    c_fro: np.ndarray | None = None
    c: np.ndarray | None = None


def jacobian_map(jacobians: np.ndarray, h_size: int, exact: bool = True,
                 dtype=np.float64) -> JacobianMap:
    """All pairs from the one-step Jacobians (T, n, n)."""
    T, n = jacobians.shape[0], jacobians.shape[1]
    prods = JacobianProducts(n, h_size, T, dtype=dtype, exact=exact)
    for J in jacobians:
        prods.append(J)
    return JacobianMap(h_fro=prods.h_fro, h=prods.h_2, c_fro=prods.c_fro, c=prods.c_2)


@dataclass
class RowNorms:
    """log10 norms of ∂h_t/∂h_i (and ∂c_t/∂c_i) for one t and every i = 0..t."""

    t: int
    h: np.ndarray
    h_fro: np.ndarray
    c: np.ndarray | None = None
    c_fro: np.ndarray | None = None


def row_norms(jacobians: np.ndarray, t: int, h_size: int) -> RowNorms:
    """Exact 2-norms and Frobenius norms of one row, by the backward product.

    ∂s_t/∂s_{i-1} = (∂s_t/∂s_i) J_i, renormalised every step: t GEMMs of n×n and a batched
    SVD, cheap enough to run for the selected step on every slider move.
    """
    n = jacobians.shape[1] if jacobians.ndim == 3 else h_size
    has_c = n > h_size
    blocks = np.zeros((t + 1, n, n))
    scale = np.zeros(t + 1)
    dead = np.zeros(t + 1, dtype=bool)
    P = np.eye(n)
    s, is_dead = 0.0, False
    for i in range(t, -1, -1):
        blocks[i], scale[i], dead[i] = P, s, is_dead
        if i == 0:
            break
        if not is_dead:
            P = P @ jacobians[i - 1]
            norm = float(np.sqrt(np.sum(P * P)))
            if norm > 0:
                P /= norm
                s += float(np.log10(norm))
            else:
                is_dead = True
    hs = h_size
    hb = blocks[:, :hs, :hs]
    out = RowNorms(t=t, h=_combine(scale, _largest_sv(hb), dead),
                   h_fro=_combine(scale, np.sqrt(np.einsum("iac,iac->i", hb, hb)), dead))
    if has_c:
        cb = blocks[:, hs:, hs:]
        out.c = _combine(scale, _largest_sv(cb), dead)
        out.c_fro = _combine(scale, np.sqrt(np.einsum("iac,iac->i", cb, cb)), dead)
    return out
