"""What every cell kind provides (:class:`CellKind`), and what one layer's run records
(:class:`LayerTrace`)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np


@dataclass
class LayerTrace:
    """What one layer and direction did, step by step.

    ``h`` (T+1, Hh) with row 0 = h0; ``c`` (T+1, H) for a kind with a cell state; ``gates``
    name -> (T, H); ``preact`` name -> (T, H); ``dphi`` (T, H) = φ'(a_t) for an RNN.
    """

    h: np.ndarray
    c: np.ndarray | None
    gates: dict[str, np.ndarray] = field(default_factory=dict)
    preact: dict[str, np.ndarray] = field(default_factory=dict)
    dphi: np.ndarray | None = None

    @property
    def steps(self) -> int:
        return self.h.shape[0] - 1


@dataclass(frozen=True)
class CellKind:
    """Everything gradviz knows about one kind of recurrent cell; the rest of gradviz asks this.

    ``gates``: the gate blocks stacked in torch's ``weight_ih``/``weight_hh`` rows, in order
    (an RNN has one unnamed block). ``per_unit``: the per-unit series the Gates view and
    ``plotdata.gates`` show. ``path_gate``: the gate whose product ∏ diag(gate_k) is the kind's
    theory path (LSTM f: the forget-gate path; GRU z: the update-gate path); None means the
    Pascanu bound ∏ max|φ'|·σ_max applies instead. ``bias_field``: the Scene field of the slider
    that sets the effective bias of gate block ``bias_gate``.
    ``run_direction(net, layer, direction, x, h0, c0, forget_clamp) -> (LayerTrace, steps done)``
    runs one layer and direction; ``step_jacobians(trace, layer, direction) -> (T, n, n)`` gives
    J[t-1] = ∂s_t/∂s_{t-1} (s = [h; c] when ``has_cell``).
    """

    name: str
    label: str
    article: str                      # "an" LSTM, "a" GRU (messages)
    torch_class: str                  # the class in torch.nn
    gates: tuple[str, ...]
    per_unit: tuple[str, ...]
    has_cell: bool
    supports_proj: bool
    path_gate: str | None
    path_array: str | None            # its log10 map in trace.npz and plotdata
    path_label: str | None            # e.g. "forget-gate path"
    bias_field: str | None
    bias_gate: int | None
    factor_label: str                 # the status line's per-step factor
    run_direction: Callable = field(repr=False, compare=False)
    step_jacobians: Callable = field(repr=False, compare=False)
    extra_torch_kwargs: Callable = field(repr=False, compare=False, default=lambda spec: {})
    #: ``row_factors(trace, layer, direction, dtype) -> StepFactors | None``: P ↦ P·J[k] from
    #: the run's gates and W_hh without forming J (the window's quick row); None where it
    #: does not apply, and kinds without it use J
    row_factors: Callable | None = field(repr=False, compare=False, default=None)

    @property
    def gate_count(self) -> int:
        return max(1, len(self.gates))

    @property
    def a_label(self) -> str:
        """'an LSTM', 'a GRU' (for messages)."""
        return f"{self.article} {self.label}"


@dataclass(frozen=True)
class CellName:
    """A name ``--cell`` accepts and the cell box lists: a kind and (RNN) its nonlinearity."""

    name: str
    kind: str
    nonlinearity: str
    label: str


def sigmoid(x):
    """The logistic function; exp of a negative argument only, so large |x| never overflows."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


class StepFactors:
    """P ↦ P·J[k] / 2^e[k] for the one-step Jacobians of one layer and direction, from factors
    of J (``_times``), with ``log10_scale[k]`` = e[k]·log10 2 kept apart: the factors of every
    step and W_hh are scaled by powers of two to a largest magnitude in [0.5, 1) in float64
    before the cast (exact), so a float32 product neither over- nor underflows in one step
    (a step's growth is then bounded by ‖W_hh‖'s shape, not its size). Two result buffers in
    turn: a result never overwrites the P it came from (a rescaled P is a new array)."""

    def __init__(self, dtype, log10_scale: np.ndarray):
        self.dtype = np.dtype(dtype)
        self.log10_scale = log10_scale
        self._out: list[np.ndarray] = []

    def times(self, P: np.ndarray, k: int) -> np.ndarray:
        """P·J[k] / 2^e[k], J[k] = ∂s_{k+1}/∂s_k; P (m, n) of this dtype."""
        if P.dtype != self.dtype:
            raise TypeError(f"P is {P.dtype}, the factors {self.dtype}")
        if len(self._out) < 2 or self._out[0].shape != P.shape:
            self._out = [np.empty_like(P), np.empty_like(P)]
        out = self._out[1] if np.shares_memory(P, self._out[0]) else self._out[0]
        self._times(P, k, out)
        return out

    def _times(self, P: np.ndarray, k: int, out: np.ndarray) -> None:
        raise NotImplementedError


def unit_scales(top: np.ndarray | float) -> np.ndarray:
    """Per entry of ``top`` (a largest magnitude, > 0 or exactly 0), the power of two e with
    top / 2^e in [0.5, 1); 0 for an exact zero (a dead step stays exactly zero)."""
    top = np.asarray(top, dtype=np.float64)
    return np.where(top > 0, np.frexp(np.where(top > 0, top, 1.0))[1], 0)


def scaled_steps(arrays: list[np.ndarray], top: np.ndarray):
    """``arrays`` (each (T, ...), per step) scaled per step together by the power of two that
    brings ``top`` (T,), the step's largest entry of J, into [0.5, 1) (see :class:`StepFactors`):
    (scaled arrays, log10 scale per step). None if a factor is not finite (the Jacobians then
    report it)."""
    if not all(np.all(np.isfinite(a)) for a in arrays) or not np.all(np.isfinite(top)):
        return None
    e = unit_scales(top)
    T = e.shape[0]
    out = [np.ldexp(a, -e.reshape((T,) + (1,) * (a.ndim - 1))) for a in arrays]
    return out, e * float(np.log10(2.0))


def step_tops(arrays: list[np.ndarray]) -> np.ndarray:
    """The largest magnitude of each step over ``arrays`` (each (T, ...))."""
    T = arrays[0].shape[0]
    top = np.zeros(T)
    for a in arrays:
        if a.size:
            top = np.maximum(top, np.abs(a).reshape(T, -1).max(axis=1))
    return top
