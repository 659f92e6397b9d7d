"""How much a scene costs before anything large is allocated, and what resolution fits.

The expensive part of gradviz is the map of ‖∂h_t/∂h_i‖ over every pair: a row-by-row
product of n×n blocks (n = Hh, or Hh + H for an LSTM) costing about T²·n³ flops and two
buffers of (T+1)·n² numbers. A coarse map at every s-th step (exact at its points) costs the
block products T·2n³ plus (T/s)²·n³. :func:`plan_map` picks the finest stride that fits a
budget of memory and time; :func:`check_scene` refuses, in one line that says what to reduce,
a scene whose run alone would not fit this machine.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass

from .errors import GradvizError
from .i18n import _

#: float32 flops per second one core sustains in the products (measured on the 2-core
#: development machine, idle: ~100 GF/s per core; kept conservative)
FLOPS_PER_SECOND = 3e10
#: memory the window and the export may use for one scene's numbers
MEMORY_BUDGET = 1.5 * 2**30


@dataclass(frozen=True)
class MapPlan:
    """The map a scene gets: its stride (1 = every pair), and what it costs."""

    stride: int
    bytes: int
    flops: float

    @property
    def seconds(self) -> float:
        return self.flops / FLOPS_PER_SECOND


def map_cost(n: int, h_size: int, steps: int, stride: int, exact: bool = False,
             itemsize: int = 4) -> tuple[int, float]:
    """(bytes, flops) of the map at ``stride`` for state size n over T = ``steps``."""
    m = steps // max(1, stride)
    maps = (2 if n > h_size else 1) * (2 if exact else 1)
    nbytes = 2 * (m + 1) * n * n * itemsize + maps * (m + 1) ** 2 * 8
    flops = m * (m + 1) * float(n) ** 3
    if stride > 1:
        nbytes += m * n * n * 8
        flops += 2.0 * steps * float(n) ** 3
    if exact:
        flops += m * (m + 1) / 2 * 10.0 * float(h_size) ** 3   # SVDs of every pair
    return int(nbytes), flops


def plan_map(n: int, h_size: int, steps: int, seconds: float, memory: float = MEMORY_BUDGET,
             exact: bool = False, itemsize: int = 4) -> MapPlan | None:
    """The finest stride whose map fits ``seconds`` and ``memory``; None if even the coarsest
    useful one (about 16 rows) does not."""
    coarsest = max(1, steps // 16)
    stride = 1
    while True:
        nbytes, flops = map_cost(n, h_size, steps, stride, exact, itemsize)
        if nbytes <= memory and flops <= seconds * FLOPS_PER_SECOND:
            return MapPlan(stride, nbytes, flops)
        if stride >= coarsest:
            return None
        stride = min(coarsest, max(stride + 1, math.ceil(stride * 1.5)))


def row_cost(n: int, t: int) -> float:
    """flops of one exact row ∂h_t/∂h_i, i = 0..t (t products of n×n)."""
    return 2.0 * t * float(n) ** 3


def trace_bytes(num_layers: int, directions: int, hidden: int, gates: int, steps: int) -> int:
    """Bytes of a run's record: states, gates and pre-activations of every layer and direction."""
    return int(num_layers * directions * steps * hidden * (2 * gates + 3) * 8)


def check_scene(kind_gates: int, hidden: int, proj: int, num_layers: int, directions: int,
                steps: int, input_size: int) -> None:
    """Refuse a scene whose forward run alone would not fit this machine (one line: what to
    reduce). The map is planned separately (:func:`plan_map`), coarser when it must be."""
    g = max(1, kind_gates)
    weights = num_layers * directions * g * hidden * (hidden + input_size + 2) * 8
    need = trace_bytes(num_layers, directions, hidden, g, steps) + weights
    if need > MEMORY_BUDGET:
        per_step = need / steps
        fit = int(MEMORY_BUDGET // per_step)
        raise GradvizError(_("this scene needs about {value:.1f} GB to run ({num_layers} layer(s), H = "
                             "{hidden}, T = {steps}); reduce the steps to at most {fit} or the hidden size")
                           .format(value=need / 2**30, num_layers=num_layers, hidden=hidden, steps=steps,
                                   fit=fit))
    # one exact cursor row must be possible within a few minutes
    n = (proj or hidden) + (hidden if kind_gates == 4 else 0)
    if row_cost(n, steps) > 300 * FLOPS_PER_SECOND * max(1, os.cpu_count() or 1):
        raise GradvizError(_("one row of ‖∂h_t/∂h_i‖ would take more than 5 minutes here (state size {n}, T "
                             "= {steps}); reduce the steps or the hidden size")
                           .format(n=n, steps=steps))
