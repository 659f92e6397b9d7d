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

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from .dynamics import Trace
from .kinds import KINDS

#: log10 of an exactly zero norm: no gradient flows at all (shown, never -inf).
LOG10_ZERO = -999.0


def step_jacobians(trace: Trace, layer: int = 0, direction: int = 0, start: int = 0,
                   stop: int | None = None) -> np.ndarray:
    """J[t-1] = ∂s_t/∂s_{t-1} for t = start+1..stop (default 1..T), float64, shape (·, n, n)."""
    trace.layer(layer, direction)   # a missing layer or direction is a GradvizError
    return KINDS[trace.net.spec.kind].step_jacobians(trace, layer, direction, start, stop)


#: one-step Jacobians are kept whole up to this many bytes, else computed in chunks on demand
EAGER_BYTES = 256 * 2**20
CHUNK_BYTES = 32 * 2**20
#: ... and always computed in aligned pieces of about this many bytes (steps k·p .. k·p + p - 1):
#: a piece stays in cache while it is measured and converted, and step k's numbers are the same
#: whichever range of steps is asked for (batched arithmetic rounds by the batch)
PIECE_BYTES = 2 * 2**20


class StepJacobians:
    """J[t-1] = ∂s_t/∂s_{t-1} for t = 1..T as a read-only sequence of (n, n) float64 arrays.

    Held whole when they fit in :data:`EAGER_BYTES`, computed the first time any is asked for
    (the window's first stage draws states, gates and theory without them: an LSTM's cost
    20 ms at H = 64, T = 200). Otherwise computed from the trace a chunk at a time when asked
    for (a trained LSTM with H = 512 and T = 1000 would need 8 GB for all of them), the last
    chunk kept. Either way in aligned pieces of :data:`PIECE_BYTES`, so that a number never
    depends on which steps were asked for (batched arithmetic rounds by the batch), and the
    window's first row can measure and convert each piece while it is in cache
    (:meth:`normalised_back`) before the whole is ever held.
    Safe to share between the worker and the GUI thread.
    """

    ndim = 3

    def __init__(self, trace: Trace, layer: int = 0, direction: int = 0,
                 eager_bytes: int = EAGER_BYTES):
        trace.layer(layer, direction)
        self.trace, self.layer, self.direction = trace, layer, direction
        n = trace.net.spec.jacobian_size
        T = trace.layer(layer, direction).steps
        self.shape = (T, n, n)
        self.dtype = np.dtype(np.float64)
        self.piece = max(1, PIECE_BYTES // max(1, n * n * 8))
        # a chunk is whole pieces
        self.chunk = max(1, CHUNK_BYTES // max(1, n * n * 8) // self.piece) * self.piece
        self._fits = T * n * n * 8 <= eager_bytes
        self._whole: np.ndarray | None = None
        self._lock = threading.Lock()
        self._cached: tuple[int, np.ndarray] | None = None
        self._cached_piece: tuple[int, np.ndarray] | None = None

    @property
    def eager(self) -> bool:
        """All steps are (or will be, once asked for) held in memory."""
        return self._fits

    def load(self, should_stop=None) -> np.ndarray | None:
        """All steps, computed now if they fit and are not yet (a worker calls this before a
        GUI thread asks for one); None when they are computed in chunks. ``should_stop()`` is
        asked before each piece (raises :class:`Stopped`, nothing kept): an LSTM's at H = 64,
        T = 200 took 7-30 ms, and a drag's next scene waited for them."""
        if not self._fits:
            return None
        with self._lock:
            if self._whole is None:
                self._whole = self._steps(0, self.shape[0], should_stop)
            return self._whole

    @property
    def _all(self) -> np.ndarray | None:
        return self.load()

    def _piece(self, k: int) -> np.ndarray:
        """Steps k·piece .. (k+1)·piece - 1 (fewer at the end), computed from the trace."""
        start = k * self.piece
        return step_jacobians(self.trace, self.layer, self.direction, start,
                              min(start + self.piece, self.shape[0]))

    def _steps(self, start: int, stop: int, should_stop=None) -> np.ndarray:
        """Steps start..stop-1 from the aligned pieces that cover them."""
        n = self.shape[1]
        out = np.empty((max(0, stop - start), n, n))
        if stop <= start:
            return out
        p = self.piece
        for k in range(start // p, (stop - 1) // p + 1):
            if should_stop is not None and should_stop():
                raise Stopped
            a = k * p
            lo, hi = max(a, start), min(a + p, stop)
            out[lo - start:hi - start] = self._piece(k)[lo - a:hi - a]
        return out

    def normalised_back(self, stop: int, dtype=np.float32):
        """(first step, steps, log10 scales) for the steps before ``stop``, latest piece
        first: each piece scaled as :func:`_normalised` scales it and converted to ``dtype``.
        Computed piece by piece from the trace while the whole is not held (no float64 copy
        of all of them: an LSTM's first row at H = 64, T = 200 in 12 ms instead of 23 ms),
        from the whole once it is: the same numbers either way."""
        p = self.piece
        for k in range((stop - 1) // p, -1, -1):
            a, b = k * p, min((k + 1) * p, stop)
            whole = self._whole
            block = whole[a:b] if whole is not None else self._piece(k)[:b - a]
            yield (a, *_normalise_block(block, dtype))

    def __len__(self) -> int:
        return self.shape[0]

    def _chunk_of(self, k: int) -> tuple[int, np.ndarray]:
        start = (k // self.chunk) * self.chunk
        cached = self._cached
        if cached is None or cached[0] != start:
            stop = min(start + self.chunk, self.shape[0])
            cached = self._cached = (start, self._steps(start, stop))
        return cached

    def __getitem__(self, k):
        whole = self._whole
        if self._fits and (whole is not None or isinstance(k, slice)):
            return self._all[k]
        if isinstance(k, slice):
            return self._steps(*k.indices(self.shape[0])[:2])
        k = int(k) + (self.shape[0] if int(k) < 0 else 0)
        if not 0 <= k < self.shape[0]:
            raise IndexError(k)
        if self._fits:   # one step before the whole is held (a view's): its piece only
            cached = self._cached_piece
            if cached is None or cached[0] != k // self.piece:
                cached = self._cached_piece = (k // self.piece, self._piece(k // self.piece))
            return cached[1][k % self.piece]
        start, block = self._chunk_of(k)
        return block[k - start]

    def __iter__(self):
        for _start, block in self.chunks():
            yield from block

    def chunks(self):
        """(first index, array of consecutive Jacobians) in order, each at most a chunk."""
        whole = self._all
        if whole is not None:
            yield 0, whole
            return
        for start in range(0, self.shape[0], self.chunk):
            yield start, self._steps(start, min(start + self.chunk, self.shape[0]))

    def __array__(self, dtype=None, copy=None):
        whole = self._all if self._fits else self._steps(0, self.shape[0])
        return whole if dtype is None else whole.astype(dtype)


#: what the products accept: the (T, n, n) array itself, or the chunked sequence
Jacobians = np.ndarray | StepJacobians


def _log10(values: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        out = np.log10(values)
    return np.where(values > 0, out, LOG10_ZERO)


def _combine(scale: np.ndarray, rel: np.ndarray, dead=False) -> np.ndarray:
    """log10 scale + log10 relative norm; an exact zero (or a dead block) is LOG10_ZERO."""
    return np.where(dead | (rel <= 0), LOG10_ZERO,
                    scale + _log10(np.maximum(rel, np.finfo(np.float64).tiny)))


#: a row is multiplied and measured in pieces of about this many bytes (they stay in cache)
_CHUNK_BYTES = 1 << 20
#: a map's row leaves the zeros of an LSTM's diagonal c-columns out from this state size on
_STACK_DIAGONAL_FROM = 128
#: a row of more numbers than this is shared by two threads (``threads`` 2): below it, handing
#: half to the other thread costs about what it saves
_SPLIT_ABOVE = 1 << 16


def _side_by_side(pool: ThreadPoolExecutor, there, here) -> None:
    """Run ``there()`` on the pool's thread and ``here()`` on this one, and wait for both (an
    exception of either is raised here)."""
    other = pool.submit(there)
    try:
        here()
    finally:
        other.result()


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

    ``part`` "h" or "c" (a state with a cell) keeps only the rows of each block that part
    needs — (∂s_t/∂h_i)ᵀ for ∂h_t/∂h_i, (∂s_t/∂c_i)ᵀ for ∂c_t/∂c_i: each column of a product
    evolves on its own, so either part costs half the flops of both ("all").

    ``threads`` 2 multiplies each long row in two halves side by side (numpy lets go of the
    GIL in its loops; the blocks are independent, so the numbers are the same as with one):
    the window's full map when the slider rests. Call :meth:`close` when done with it.
    """

    def __init__(self, n: int, h_size: int, capacity: int, dtype=np.float64, exact: bool = False,
                 part: str = "all", threads: int = 1):
        self.n, self.h_size, self.capacity = n, h_size, capacity
        self.dtype, self.exact = np.dtype(dtype), exact
        if self.dtype not in _RANGE:
            raise ValueError(f"dtype must be float32 or float64, got {self.dtype}")
        self.has_c = n > h_size
        if part not in ("all", "h", "c") or (part == "c" and not self.has_c):
            raise ValueError(f"part must be 'all', 'h' or (with a cell state) 'c', got {part!r}")
        # the rows of each block kept: (∂s_t/∂s_i)ᵀ restricted to the state i of that part
        self._rows = {"all": slice(0, n), "h": slice(0, h_size), "c": slice(h_size, n)}[part]
        r0, r = self._rows.start, self._rows.stop - self._rows.start
        # where the h and c blocks lie within the kept rows (None: that part is not kept)
        self._h_rows = slice(0, h_size) if r0 == 0 else None
        self._c_rows = (slice(h_size - r0, n - r0) if self.has_c and self._rows.stop == n
                        else None)
        self._bufs = [np.zeros((capacity + 1, r, n), dtype=self.dtype) for _ in range(2)]
        self._current = 0
        self._jt = np.empty((n, n), dtype=self.dtype)
        # an LSTM's c-columns of J are diagonal (see _times_step): then only its h-columns
        # go into the GEMM, and these hold the diagonals (None: J is multiplied whole)
        self._diagonals: tuple[np.ndarray, np.ndarray] | None = None
        self.threads = max(1, min(2, int(threads)))
        self._pool = ThreadPoolExecutor(1, "gradviz-products") if self.threads > 1 else None
        # one scratch per thread for the diagonal part (chunk rows × the c columns)
        per = max(1, _CHUNK_BYTES // (r * n * self.dtype.itemsize))
        diagonal = self.has_c and n == 2 * h_size and n >= _STACK_DIAGONAL_FROM
        self._scratch = ([np.empty((min(per, capacity + 1) * r, n - h_size), dtype=self.dtype)
                          for _ in range(self.threads)] if diagonal else [])
        self._scale = np.zeros(capacity + 1)
        self._dead = np.zeros(capacity + 1, dtype=bool)   # the product is exactly zero
        self._eye = np.eye(n, dtype=self.dtype)[self._rows]
        self.t = -1
        shape = (capacity + 1, capacity + 1)
        has_h, has_c = self._h_rows is not None, self._c_rows is not None
        self.h_fro = np.full(shape, np.nan) if has_h else None
        self.h_2 = np.full(shape, np.nan) if (exact and has_h) else None
        self.c_fro = np.full(shape, np.nan) if has_c else None
        self.c_2 = np.full(shape, np.nan) if (exact and has_c) else None
        self._new_row()

    def _new_row(self):
        """Row t+1's diagonal block: the identity (2-norm 1, Frobenius √size)."""
        self.t += 1
        t, hs = self.t, self.h_size
        self._bufs[self._current][t] = self._eye
        self._scale[t] = 0.0
        self._dead[t] = False
        if self.h_fro is not None:
            self.h_fro[t, t] = 0.5 * np.log10(hs)
        if self.h_2 is not None:
            self.h_2[t, t] = 0.0
        if self.c_fro is not None:
            self.c_fro[t, t] = 0.5 * np.log10(self.n - hs)
        if self.c_2 is not None:
            self.c_2[t, t] = 0.0

    def append(self, jacobian: np.ndarray, log10_scale: float = 0.0) -> None:
        """Extend by one step: ``jacobian`` = ∂s_{t+1}/∂s_t, shape (n, n), times 10^log10_scale
        (a renormalised product of several steps, see :func:`coarse_map`)."""
        t = self.t
        if t >= self.capacity:
            raise IndexError("JacobianProducts is full")
        src, dst = self._bufs[self._current], self._bufs[1 - self._current]
        jacobian, extra = _normalised(jacobian, self.dtype)
        diagonals = _diagonal_c_columns(jacobian, self.h_size, smallest=_STACK_DIAGONAL_FROM)
        if diagonals is None:
            np.copyto(self._jt, jacobian.T, casting="same_kind")
            self._diagonals = None
        else:   # only J's h-columns go into the GEMM, (∂s_{t+1}/∂h_t)ᵀ: half the flops
            np.copyto(self._jt[:self.h_size], jacobian[:, :self.h_size].T, casting="same_kind")
            self._diagonals = (diagonals[0].astype(self.dtype), diagonals[1].astype(self.dtype))
        self._advance(src, dst, t + 1, log10_scale + extra)
        self._current = 1 - self._current
        self._new_row()

    def close(self) -> None:
        """Let the second thread go (``threads`` 2); the products stay readable."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def _advance(self, src: np.ndarray, dst: np.ndarray, blocks: int, log10_scale: float) -> None:
        """The next row's blocks: dst = src @ Jᵀ, their norms and rescaling, in pieces of about
        _CHUNK_BYTES, so that the norms read what the GEMM has just written from cache; with
        two threads, the row's first half on the second thread."""
        n, r = self.n, self._rows.stop - self._rows.start
        most = max(1, _CHUNK_BYTES // (r * n * self.dtype.itemsize))
        # an even number of equal pieces, whatever the threads: the same GEMMs either way, so
        # one thread or two give the same numbers, bit for bit
        pieces = 2 * -(-blocks // (2 * most)) if blocks > 1 else 1
        per = -(-blocks // pieces)
        if self._pool is None or blocks * r * n < _SPLIT_ABOVE or pieces < 2:
            self._advance_blocks(src, dst, 0, blocks, per, log10_scale, 0)
            return
        half = min(blocks, per * (pieces // 2))
        _side_by_side(self._pool,
                      lambda: self._advance_blocks(src, dst, 0, half, per, log10_scale, 1),
                      lambda: self._advance_blocks(src, dst, half, blocks, per, log10_scale, 0))

    def _advance_blocks(self, src: np.ndarray, dst: np.ndarray, first: int, stop: int, per: int,
                        log10_scale: float, thread: int) -> None:
        """Blocks first..stop-1 of :meth:`_advance`, ``per`` at a time (``thread`` picks the
        scratch: 0 the caller's, 1 the second thread's)."""
        n, hs, r = self.n, self.h_size, self._rows.stop - self._rows.start
        for a in range(first, stop, per):
            b = min(stop, a + per)
            rows, out = src[a:b].reshape((b - a) * r, n), dst[a:b].reshape((b - a) * r, n)
            if self._diagonals is None:
                np.matmul(rows, self._jt, out=out)
            else:
                # [X Y] Jᵀ with Jᵀ = [[Aᵀ Bᵀ], [D₁ D₂]] (D diagonal): X·[Aᵀ Bᵀ], then Y·D₁, Y·D₂
                d_top, d_bottom = self._diagonals
                x, y = rows[:, :hs], rows[:, hs:]
                np.matmul(x, self._jt[:hs], out=out)
                scratch = self._scratch[thread][:out.shape[0]]
                out[:, :hs] += np.multiply(y, d_top, out=scratch)
                out[:, hs:] += np.multiply(y, d_bottom, out=scratch)
            self._norms(dst[a:b], a, b, log10_scale)

    def _norms(self, blocks: np.ndarray, a: int, b: int, log10_scale: float) -> None:
        """Row t+1's entries a..b-1 from their fresh blocks (rescaled when out of range)."""
        hs, h_rows, c_rows = self.h_size, self._h_rows, self._c_rows
        scale = self._scale[a:b]
        scale += log10_scale
        sq_h = sq_c = None
        if self.has_c:    # block i is (∂s_t/∂s_i)ᵀ: h part [:hs, :hs], c part [hs:, hs:]
            left, right = blocks[:, :, :hs], blocks[:, :, hs:]
            sq_left = np.einsum("ijk,ijk->ij", left, left).astype(np.float64)
            sq_right = np.einsum("ijk,ijk->ij", right, right).astype(np.float64)
            if h_rows is not None:
                sq_h = sq_left[:, h_rows].sum(1)
            if c_rows is not None:
                sq_c = sq_right[:, c_rows].sum(1)
            sq_all = sq_left.sum(1) + sq_right.sum(1)
        else:
            flat = blocks.reshape(b - a, -1)
            sq_all = np.einsum("ij,ij->i", flat, flat).astype(np.float64)
            sq_h = sq_all
        lo, hi = _RANGE[self.dtype]
        dead = self._dead[a:b]
        dead |= sq_all <= 0
        off = np.flatnonzero(~dead & ((sq_all < lo * lo) | (sq_all > hi * hi)))
        if off.size:
            norm = np.sqrt(sq_all[off])
            blocks[off] *= (1.0 / norm).astype(self.dtype)[:, None, None]
            scale[off] += np.log10(norm)
            if sq_h is not None:
                sq_h = sq_h.copy()
                sq_h[off] /= norm * norm
            if sq_c is not None:
                sq_c = sq_c.copy()
                sq_c[off] /= norm * norm
        row = self.t + 1
        if sq_h is not None and self.h_fro is not None:
            self.h_fro[row, a:b] = _combine(scale, np.sqrt(sq_h), dead)
        if sq_c is not None and self.c_fro is not None:
            self.c_fro[row, a:b] = _combine(scale, np.sqrt(sq_c), dead)
        if self.h_2 is not None:
            self.h_2[row, a:b] = _combine(scale, _largest_sv(blocks[:, h_rows, :hs]), dead)
        if self.c_2 is not None:
            self.c_2[row, a:b] = _combine(scale, _largest_sv(blocks[:, c_rows, hs:]), dead)

    def current_row(self) -> np.ndarray:
        """log10 ‖∂h_t/∂h_i‖_F for i = 0..t of the latest row t (part "all" or "h")."""
        if self.h_fro is None:
            raise ValueError("these products hold the c part only")
        return self.h_fro[self.t, :self.t + 1]


def _normalised(matrix, dtype=np.float64) -> tuple[np.ndarray, float]:
    """(matrix / 10^e, e): a float64 matrix whose largest entry lies in the dtype's safe range
    scaled to 1 (e = 0 when it already does), so that huge weights (σ_max = 1e200) neither
    overflow a product of two blocks nor a float32 cast."""
    a = np.asarray(matrix, dtype=np.float64)
    lo, hi = _RANGE[np.dtype(dtype)]
    top = float(np.max(np.abs(a))) if a.size else 0.0
    if top == 0.0 or lo <= top <= hi / max(1, a.shape[-1]):
        return a, 0.0
    if not np.isfinite(top):
        raise FloatingPointError("a one-step Jacobian is not finite")
    exponent = int(np.frexp(top)[1])   # a power of two: the scaling itself is exact
    return np.ldexp(a, -exponent), exponent * float(np.log10(2.0))


#: steps converted at once by :func:`_normalised_steps`, in bytes of float64
_WINDOW_BYTES = 16 << 20


def _normalised_steps(jacobians: Jacobians, start: int, stop: int,
                      dtype=np.float64) -> tuple[np.ndarray, np.ndarray]:
    """Steps start..stop-1 as one (k, n, n) array in ``dtype``, each scaled exactly as
    :func:`_normalised` scales it, and their log10 scales: two numpy calls, not four per step."""
    return _normalise_block(np.asarray(jacobians[start:stop], dtype=np.float64), dtype)


def _normalised_back(jacobians: Jacobians, stop: int, dtype):
    """:meth:`StepJacobians.normalised_back` for any Jacobians (an array: in windows)."""
    if isinstance(jacobians, StepJacobians):
        yield from jacobians.normalised_back(stop, dtype)
        return
    n = jacobians.shape[1]
    window = max(1, _WINDOW_BYTES // (n * n * 8))
    for b in range(stop, 0, -window):
        a = max(0, b - window)
        yield (a, *_normalised_steps(jacobians, a, b, dtype))


def _normalise_block(a: np.ndarray, dtype) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_normalised_steps` of the float64 steps ``a`` (k, n, n)."""
    lo, hi = _RANGE[np.dtype(dtype)]
    # max |a| per step from two reductions: no (k, n, n) temporary (fresh memory costs page
    # faults here: 20-50 ms for an LSTM's 26 MB at H = 64, T = 200, more than the reductions)
    top = (np.maximum(a.max(axis=(1, 2)), -a.min(axis=(1, 2))) if a.size
           else np.zeros(a.shape[0]))
    ok = (top == 0.0) | ((lo <= top) & (top <= hi / max(1, a.shape[-1])))
    if ok.all():
        return a.astype(dtype), np.zeros(a.shape[0])
    if not np.all(np.isfinite(top[~ok])):
        raise FloatingPointError("a one-step Jacobian is not finite")
    exponents = np.where(ok, 0, np.frexp(top)[1])   # powers of two: the scaling is exact
    return (np.ldexp(a, -exponents[:, None, None]).astype(dtype),
            exponents * float(np.log10(2.0)))


def _largest_sv(stack: np.ndarray) -> np.ndarray:
    """Largest singular value of each block of a (k, a, b) stack, in float64.

    Blocks up to :data:`SVD_SIZE` wide go through one batched SVD; larger ones (a trained model's
    512×512) through Lanczos on BᵀB (ARPACK, scipy's ``eigsh``, to 1e-14), each started from
    the previous block's vector (consecutive blocks of a row are alike): about 4 ms for a
    512×512 block here, 12× less than its SVD; the SVD if ARPACK does not converge.
    """
    stack = np.asarray(stack, dtype=np.float64)
    if stack.shape[1] == 1 or stack.shape[2] == 1:
        return np.sqrt(np.einsum("iac,iac->i", stack, stack))
    if min(stack.shape[1:]) <= SVD_SIZE:
        return np.linalg.svd(stack, compute_uv=False)[:, 0]
    out = np.empty(stack.shape[0])
    v = None
    for k, block in enumerate(stack):
        out[k], v = _lanczos_sv(block, v)
    return out


#: blocks at most this wide get an SVD; wider ones Lanczos
SVD_SIZE = 128


def _lanczos_sv(block: np.ndarray, v: np.ndarray | None) -> tuple[float, np.ndarray | None]:
    """(σ_max(block), its right singular vector), Lanczos on BᵀB started from ``v``."""
    from scipy.sparse.linalg import ArpackNoConvergence, LinearOperator, eigsh
    if not np.any(block):
        return 0.0, v
    b = block.shape[1]
    op = LinearOperator((b, b), matvec=lambda x: block.T @ (block @ x), dtype=np.float64)
    start = v if v is not None and np.all(np.isfinite(v)) and np.any(v) else np.ones(b)
    try:
        w, vec = eigsh(op, k=1, which="LA", v0=start, tol=1e-14)
    except ArpackNoConvergence:
        return float(np.linalg.norm(block, 2)), None
    return float(np.sqrt(max(float(w[0]), 0.0))), vec[:, 0]


@dataclass
class JacobianMap:
    """log10 norms of ∂h_t/∂h_i (and ∂c_t/∂c_i for LSTM) for every 0 ≤ i ≤ t ≤ T.

    Entry [t, i]; NaN above the diagonal (i > t). ``h`` and ``c`` are 2-norms (largest
    singular value), None when only Frobenius norms were asked for. A coarse map
    (``stride`` s > 1) holds the pairs (a·s, b·s) only, each exact: entry [a, b] is
    log10 ‖∂h_{a·s}/∂h_{b·s}‖.
    """

    h_fro: np.ndarray
    h: np.ndarray | None = None
    c_fro: np.ndarray | None = None
    c: np.ndarray | None = None
    stride: int = 1

    @property
    def full(self) -> bool:
        return self.stride == 1


def _returned(generator):
    """What a generator of partial results returns once run to its end (the parts dropped)."""
    while True:
        try:
            next(generator)
        except StopIteration as done:
            return done.value


def jacobian_map(jacobians: Jacobians, h_size: int, exact: bool = True,
                 dtype=np.float64, threads: int = 1) -> JacobianMap:
    """All pairs from the one-step Jacobians (T, n, n) (``threads``: see JacobianProducts)."""
    return _returned(jacobian_map_steps(jacobians, h_size, exact=exact, dtype=dtype,
                                        threads=threads))


def jacobian_map_steps(jacobians: Jacobians, h_size: int, exact: bool = False,
                       dtype=np.float32, every: int = 16, h_first: bool = False,
                       threads: int = 1):
    """:func:`jacobian_map` as a generator: yields the rows done every ``every`` steps (so a
    worker can abandon it when the scene changes) and returns the map.

    A state with a cell is done in two passes, ∂h_t/∂h_i then ∂c_t/∂c_i, each half the cost
    of both at once (the same numbers whichever way they are asked for); ``h_first`` also
    yields the h map between the two (a :class:`JacobianMap` without c: what the window
    shows first). ``threads`` 2: each row on two threads (see :class:`JacobianProducts`).
    """
    T, n = jacobians.shape[0], jacobians.shape[1]
    parts = ("h", "c") if n > h_size else ("all",)
    norms: dict[str, np.ndarray] = {}
    for part in parts:
        prods = JacobianProducts(n, h_size, T, dtype=dtype, exact=exact, part=part,
                                 threads=threads)
        try:
            for k, J in enumerate(jacobians, start=1):
                prods.append(J)
                if k % every == 0:
                    yield k
        finally:
            prods.close()
        # the norms only: the pass's product buffers go before the next pass allocates its own
        norms.update({k: v for k, v in (("h_fro", prods.h_fro), ("h", prods.h_2),
                                        ("c_fro", prods.c_fro), ("c", prods.c_2)) if v is not None})
        del prods
        if part == "h" and h_first:
            yield JacobianMap(h_fro=norms["h_fro"], h=norms.get("h"))
    return JacobianMap(h_fro=norms["h_fro"], h=norms.get("h"), c_fro=norms.get("c_fro"),
                       c=norms.get("c"))


def _steps_between(jacobians: Jacobians, a: int, b: int):
    """J[a], …, J[b-1], fetched a piece-aligned window at a time: two threads never share
    (and overwrite each other's) one cached chunk of a StepJacobians too large to hold."""
    per = jacobians.piece if isinstance(jacobians, StepJacobians) else max(1, b - a)
    lo = a
    while lo < b:
        hi = min(b, (lo // per + 1) * per)
        yield from jacobians[lo:hi]
        lo = hi


def block_products(jacobians: Jacobians, stride: int, should_stop=None,
                   threads: int = 1, factors=None) -> tuple[np.ndarray, np.ndarray]:
    """Products of ``stride`` consecutive one-step Jacobians, renormalised: (Q, log10 scale).

    Q[k-1]·10^scale[k-1] = J_{k·s} ··· J_{(k-1)·s+1} for k = 1..T//s (the last steps that do
    not fill a block are left out). Each product is exact up to rounding, so a map built from
    them is exact at the pairs (a·s, b·s). ``threads`` 2: the first half of the blocks on a
    second thread (each block is on its own: the same numbers). ``factors``, one
    :class:`~gradviz.core.kinds.base.StepFactors` per thread (they keep buffers): each block
    multiplied from the identity back through its steps by the factors, in their dtype, no
    Jacobian formed (a trained LSTM's: half the flops of J's products, and no J to build).
    """
    T, n = jacobians.shape[0], jacobians.shape[1]
    m = T // stride
    Q = np.empty((m, n, n), dtype=np.float64 if factors is None else factors[0].dtype)
    scale = np.zeros(m)

    def factored(first: int, stop: int, f) -> None:
        lo, hi = _RANGE[f.dtype]
        lo, hi = lo * lo, hi * hi
        for k in range(first, stop):
            if should_stop is not None and should_stop():
                raise Stopped
            P, s = np.eye(n, dtype=f.dtype), 0.0
            for j in range((k + 1) * stride - 1, k * stride - 1, -1):   # P ← P·J_j, back
                if should_stop is not None and j % 8 == 0 and should_stop():
                    raise Stopped       # (a trained LSTM's block of 62 steps took 1 s)
                P = f.times(P, j)
                s += f.log10_scale[j]
                flat = P.reshape(-1)
                sq = float(np.dot(flat, flat))
                if sq > 0 and not lo < sq < hi:
                    norm = np.sqrt(sq)
                    P = (P / norm).astype(f.dtype, copy=False)
                    s += float(np.log10(norm))
            norm = float(np.sqrt(np.sum(P * P, dtype=np.float64)))
            if norm > 0:
                Q[k] = P / norm
                s += float(np.log10(norm))
            else:
                Q[k] = P
            scale[k] = s

    if factors is not None:
        if threads < 2 or m < 2 or len(factors) < 2:
            factored(0, m, factors[0])
            return Q, scale
        with ThreadPoolExecutor(1, "gradviz-blocks") as pool:
            _side_by_side(pool, lambda: factored(0, m // 2, factors[1]),
                          lambda: factored(m // 2, m, factors[0]))
        return Q, scale

    def blocks(first: int, stop: int) -> None:
        for k in range(first, stop):
            if should_stop is not None and should_stop():
                raise Stopped
            steps = _steps_between(jacobians, k * stride, (k + 1) * stride)
            P, s = _normalised(next(steps))
            P = P.copy()
            for Jk in steps:
                Jj, e = _normalised(Jk)
                P = _step_times(Jj, P)
                s += e
                norm = float(np.sqrt(np.sum(P * P)))
                if norm > 0 and not 1e-30 < norm < 1e30:
                    P /= norm
                    s += float(np.log10(norm))
            norm = float(np.sqrt(np.sum(P * P)))
            if norm > 0:
                P /= norm
                s += float(np.log10(norm))
            Q[k], scale[k] = P, s

    if threads < 2 or m < 2:
        blocks(0, m)
        return Q, scale
    with ThreadPoolExecutor(1, "gradviz-blocks") as pool:
        _side_by_side(pool, lambda: blocks(0, m // 2), lambda: blocks(m // 2, m))
    return Q, scale


def coarse_map(jacobians: Jacobians, h_size: int, stride: int, exact: bool = False,
               dtype=np.float64, should_stop=None, threads: int = 1,
               factors=None) -> JacobianMap:
    """The map at every ``stride``-th step only, exact there: [a, b] = log10 ‖∂h_{a·s}/∂h_{b·s}‖.

    Costs T/s² of the full map's products: what the window shows first while a slider moves,
    and what a large model gets when the full map does not fit the machine. ``should_stop()``
    is asked before each block and each row of their products (raises :class:`Stopped`).
    ``threads`` 2 shares the work with a second thread (the same numbers; see
    :class:`JacobianProducts`); ``factors``: the blocks by step factors (see
    :func:`block_products`).
    """
    if stride <= 1:
        return jacobian_map(jacobians, h_size, exact=exact, dtype=dtype, threads=threads)
    Q, scale = block_products(jacobians, stride, should_stop, threads=threads, factors=factors)
    n = jacobians.shape[1]
    prods = JacobianProducts(n, h_size, Q.shape[0], dtype=dtype, exact=exact, threads=threads)
    try:
        for q, s in zip(Q, scale):
            # asked between the products too: at H = 64, T = 200 they took 20-25 ms, and a
            # drag's next scene waited for them (an RNN's longest gap was 64 ms instead of 33)
            if should_stop is not None and should_stop():
                raise Stopped
            prods.append(q, log10_scale=s)
    finally:
        prods.close()
    assert prods.h_fro is not None        # part "all" keeps both
    return JacobianMap(h_fro=prods.h_fro, h=prods.h_2, c_fro=prods.c_fro, c=prods.c_2,
                       stride=stride)


@dataclass
class RowNorms:
    """log10 norms of ∂h_t/∂h_i (and ∂c_t/∂c_i) for one t and every i = 0..t.

    ``h``/``c`` are 2-norms, None when only the Frobenius norms were computed (the quick row a
    slider move shows first).
    """

    t: int
    h: np.ndarray | None
    h_fro: np.ndarray
    c: np.ndarray | None = None
    c_fro: np.ndarray | None = None
    #: the smallest i computed so far: a partial row (``first > 0``, shown while a large row is
    #: computed, nearest lags first) holds NaN for i < first; a complete row has ``first == 0``
    first: int = 0

    @property
    def exact(self) -> bool:
        return self.h is not None

    @property
    def complete(self) -> bool:
        return self.first == 0


#: bytes of blocks whose 2-norms are taken together (a row's memory is a batch, not t blocks;
#: a batch is one uninterrupted numpy call, about 10 ms at 2 MB: a newer scene waits no longer)
_SVD_BATCH_BYTES = 2 * 2**20


class Stopped(Exception):
    """A long computation was asked to stop (a newer scene, the window closing)."""


def row_norms(jacobians: Jacobians, t: int, h_size: int, exact: bool = True,
              should_stop=None, dtype=np.float64, factors=None) -> RowNorms:
    """Frobenius (and with ``exact`` 2-) norms of one row, by the backward product.

    ∂s_t/∂s_{i-1} = (∂s_t/∂s_i) J_i, renormalised every step: t GEMMs of n×n, the norms taken
    as the product goes (2-norms in batches of SVDs), so memory stays a few blocks whatever t.
    ``dtype`` float32 (Frobenius norms only) is the window's quick row: half the time;
    ``factors`` (a kind's :class:`~gradviz.core.kinds.base.StepFactors` in ``dtype``, in a
    tuple: see :func:`frobenius_row_steps`) then multiply each step without forming its
    Jacobian.
    """
    if not exact:
        return _returned(frobenius_row_steps(jacobians, t, h_size, should_stop, dtype, factors))
    return _returned(row_norms_steps(jacobians, t, h_size, exact, should_stop))


def row_norms_steps(jacobians: Jacobians, t: int, h_size: int, exact: bool = True,
                    should_stop=None, every: float | None = None):
    """:func:`row_norms` as a generator: about every ``every`` seconds it yields the row so
    far (a partial :class:`RowNorms`, exact for i = first..t: the nearest lags first); it
    returns the complete row. ``every=None`` never yields."""
    n = jacobians.shape[1] if jacobians.ndim == 3 else h_size
    hs, has_c = h_size, n > h_size
    scale = np.zeros(t + 1)
    dead = np.zeros(t + 1, dtype=bool)
    rel_h, rel_c = np.zeros(t + 1), np.zeros(t + 1)
    sv_h = np.zeros(t + 1) if exact else None
    sv_c = np.zeros(t + 1) if exact and has_c else None
    batch_h: list[np.ndarray] = []
    batch_c: list[np.ndarray] = []
    batch_i: list[int] = []

    def flush():
        if batch_i:
            idx = np.array(batch_i)
            sv_h[idx] = _largest_sv(np.stack(batch_h))
            if sv_c is not None:
                sv_c[idx] = _largest_sv(np.stack(batch_c))
            batch_h.clear(), batch_c.clear(), batch_i.clear()

    def result(first: int) -> RowNorms:
        if exact:
            flush()

        def known(values):
            out = _combine(scale, values, dead)
            out[:first] = np.nan
            return out
        out = RowNorms(t=t, h=None if sv_h is None else known(sv_h), h_fro=known(rel_h),
                       first=first)
        if has_c:
            out.c = None if sv_c is None else known(sv_c)
            out.c_fro = known(rel_c)
        return out

    P = np.eye(n)
    s, is_dead = 0.0, False
    last = time.perf_counter()
    for i in range(t, -1, -1):
        scale[i], dead[i] = s, is_dead
        hb = P[:hs, :hs]
        rel_h[i] = np.sqrt(np.sum(hb * hb))
        if has_c:
            cb = P[hs:, hs:]
            rel_c[i] = np.sqrt(np.sum(cb * cb))
        if exact and not is_dead:
            batch_h.append(hb.copy())
            if has_c:
                batch_c.append(cb.copy())
            batch_i.append(i)
            if len(batch_i) * n * n * 8 >= _SVD_BATCH_BYTES:
                flush()
        if i == 0:
            break
        if should_stop is not None and should_stop():
            raise Stopped
        if every is not None and time.perf_counter() - last >= every:
            yield result(i)
            last = time.perf_counter()
        if not is_dead:
            Ji, e = _normalised(jacobians[i - 1])
            P = _times_step(P, Ji, hs)
            s += e
            norm = float(np.sqrt(np.sum(P * P)))
            if norm > 0:
                P /= norm
                s += float(np.log10(norm))
            else:
                is_dead = True
    return result(0)


class _RowPart:
    """Some rows of the backward product ∂s_t/∂s_i of a Frobenius row, with their own log10
    scale: all of them, or (a row split over two threads) those of h_t or of c_t: each row of
    the product evolves on its own, so the halves need neither each other nor one scale."""

    def __init__(self, rows: slice, blocks: dict, n: int, hs: int, t: int, dtype, factors):
        self.P = np.eye(n, dtype=dtype)[rows]
        self.hs, self.dtype = hs, np.dtype(dtype)
        lo, hi = _RANGE[self.dtype]
        self.lo, self.hi = lo * lo, hi * hi   # of the squared norm
        self.blocks = blocks          # name → (rows, columns) of P whose norm is that part
        self.whole = list(blocks.values()) == [(slice(None), slice(None))]   # one: all of P
        self.factors = factors
        self.s = 0.0
        self.scale = np.zeros(t + 1)
        self.dead = np.zeros(t + 1, dtype=bool)
        self.rel = {name: np.zeros(t + 1) for name in blocks}
        for name, (r, c) in blocks.items():
            self.rel[name][t] = np.sqrt(float(np.count_nonzero(self.P[r, c])))
        self.done = False

    def step(self, i: int, step_jacobian=None) -> None:
        """P ← P·J[i-1] (by the factors, or ``step_jacobian`` (J, log10 scale)), its norms."""
        if self.done:
            return
        if step_jacobian is None:
            self.P = self.factors.times(self.P, i - 1)
            self.s += self.factors.log10_scale[i - 1]
        else:
            J, e = step_jacobian
            self.P = _times_step(self.P, J, self.hs)
            self.s += e
        P = self.P
        flat = P.reshape(-1)
        sq_all = float(np.dot(flat, flat))
        if sq_all <= 0.0:            # an exact zero: every earlier lag is zero too
            self.dead[:i] = True
            self.done = True
            return
        if self.whole:
            sq = dict.fromkeys(self.blocks, sq_all)
        else:
            sq = {name: float(np.einsum("ij,ij->", P[r, c], P[r, c]))
                  for name, (r, c) in self.blocks.items()}
        if not self.lo < sq_all < self.hi:     # back to norm 1, the scale kept apart
            norm = np.sqrt(sq_all)
            self.P = (P / norm).astype(self.dtype, copy=False)
            self.s += float(np.log10(norm))
            sq = {name: v / sq_all for name, v in sq.items()}
        self.scale[i - 1] = self.s
        for name, v in sq.items():
            self.rel[name][i - 1] = np.sqrt(v)


def frobenius_row_steps(jacobians: Jacobians, t: int, h_size: int, should_stop=None,
                        dtype=np.float64, factors=None, every: float | None = None,
                        threads: int = 1):
    """Frobenius norms of the row t (no 2-norms) as a generator: about every ``every`` seconds
    a partial :class:`RowNorms` (exact for i = first..t, the nearest lags first); returns the
    complete row. ``every=None`` never yields.

    Few numpy calls per step: the product is rescaled only when its norm leaves the dtype's
    safe range, its log10 scale kept apart in float64, as in :class:`JacobianProducts`.
    ``factors`` (a kind's StepFactors in ``dtype``, one per thread in a tuple: they keep
    buffers) multiply each step without forming its Jacobian (an LSTM's first row at H = 64,
    T = 200: 12 ms instead of 58). With a cell state, ``threads`` 2 and two factors, the rows
    of h_t and of c_t are multiplied side by side, each with its own scale (a trained LSTM's
    row at H = 512, T = 1000 in about half the time).
    """
    n = jacobians.shape[1] if jacobians.ndim == 3 else h_size
    hs, has_c = h_size, n > h_size
    everything = (slice(None), slice(None))
    split = has_c and threads > 1 and factors is not None and len(factors) > 1
    if split:
        parts = [_RowPart(slice(0, hs), {"h": (slice(None), slice(0, hs))}, n, hs, t, dtype,
                          factors[0]),
                 _RowPart(slice(hs, n), {"c": (slice(None), slice(hs, n))}, n, hs, t, dtype,
                          factors[1])]
    else:
        blocks = ({"h": (slice(0, hs), slice(0, hs)), "c": (slice(hs, n), slice(hs, n))}
                  if has_c else {"h": everything})
        parts = [_RowPart(slice(None), blocks, n, hs, t, dtype,
                          None if factors is None else factors[0])]

    def result(first: int) -> RowNorms:
        out: dict[str, np.ndarray] = {}
        for part in parts:
            for name, rel in part.rel.items():
                values = _combine(part.scale, rel, part.dead)
                values[:first] = np.nan
                out[name] = values
        return RowNorms(t=t, h=None, h_fro=out["h"], c_fro=out.get("c"), first=first)

    # the steps back, a piece at a time (or their factors)
    pieces = _normalised_back(jacobians, t, dtype) if factors is None else None
    begin, steps, exps = t, np.empty((0, n, n), dtype=dtype), np.empty(0)
    pool = ThreadPoolExecutor(1, "gradviz-row") if split else None
    last = time.perf_counter()
    try:
        for i in range(t, 0, -1):
            if should_stop is not None and i % 16 == 0 and should_stop():
                raise Stopped
            if every is not None and i < t and time.perf_counter() - last >= every:
                yield result(i)
                last = time.perf_counter()
            if pieces is not None:
                if i == begin:
                    begin, steps, exps = next(pieces)
                parts[0].step(i, (steps[i - 1 - begin], exps[i - 1 - begin]))
            elif pool is not None:
                _side_by_side(pool, lambda i=i: parts[1].step(i), lambda i=i: parts[0].step(i))
            else:
                parts[0].step(i)
            if all(part.done for part in parts):
                break
    finally:
        if pool is not None:
            pool.shutdown()
    return result(0)


def _diagonal_c_columns(J: np.ndarray, hs: int,
                        smallest: int = 256) -> tuple[np.ndarray, np.ndarray] | None:
    """The diagonals of J's two c-column blocks when both are diagonal (an LSTM without
    projection, n = 2·hs ≥ ``smallest``), else None. One product P·J of n×n blocks gains
    from it from n = 256 on, a stack of them (a map's row) from n = 128 (measured: 12 % at
    H = 64, 16 % at H = 128; at H ≤ 32 the extra passes cost more than the flops saved)."""
    n = J.shape[0]
    if n != 2 * hs or n < smallest:
        return None
    top, bottom = J[:hs, hs:], J[hs:, hs:]
    d_top, d_bottom = np.diagonal(top), np.diagonal(bottom)
    if (np.count_nonzero(top) != np.count_nonzero(d_top)
            or np.count_nonzero(bottom) != np.count_nonzero(d_bottom)):
        return None
    return d_top, d_bottom


def _step_times(J: np.ndarray, P: np.ndarray) -> np.ndarray:
    """J @ P, with half the flops when J's c-columns are diagonal (see :func:`_times_step`)."""
    hs = J.shape[0] // 2
    diagonals = _diagonal_c_columns(J, hs)
    if diagonals is None:
        return J @ P
    d_top, d_bottom = diagonals
    out = J[:, :hs] @ P[:hs]
    out[:hs] += d_top[:, None] * P[hs:]
    out[hs:] += d_bottom[:, None] * P[hs:]
    return out


def _times_step(P: np.ndarray, J: np.ndarray, hs: int) -> np.ndarray:
    """P @ J, with half the flops when J's columns for c are diagonal blocks (an LSTM without
    projection: ∂h_t/∂c_{t-1} = diag(o·tanh′(c)·f), ∂c_t/∂c_{t-1} = diag(f)): only the
    h-columns need a GEMM; the same products, the zeros left out."""
    diagonals = _diagonal_c_columns(J, hs)
    if diagonals is None:
        return P @ J
    d_top, d_bottom = diagonals
    out = np.empty_like(P)
    np.matmul(P, J[:, :hs], out=out[:, :hs])
    np.multiply(P[:, :hs], d_top, out=out[:, hs:])
    out[:, hs:] += P[:, hs:] * d_bottom
    return out
