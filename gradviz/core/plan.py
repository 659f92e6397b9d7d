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
from .i18n import N_, _

#: float32 flops per second one core sustains in the products (measured on the 2-core
#: development machine, idle: ~100 GF/s per core; kept conservative)
FLOPS_PER_SECOND = 3e10
#: memory the window and the export may use for one scene's numbers (at most; less when this
#: machine has less free, see :func:`memory_budget`)
MEMORY_BUDGET = 1.5 * 2**30
#: seconds of estimated work an export's map may take before a coarser stride is chosen
EXPORT_SECONDS = 60.0
#: a size beyond any machine: checked before any arithmetic on it (a session may hold 10**400)
SIZE_CAP = 2**31 - 1


def available_memory() -> float | None:
    """Bytes this machine can still give (MemAvailable, or the cgroup's limit), None if unknown."""
    found = []
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    found.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    for name in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            with open(name, encoding="ascii") as f:
                text = f.read().strip()
            if text.isdigit() and int(text) < 2**60:
                found.append(int(text))
        except OSError:
            continue
    return float(min(found)) if found else None


def memory_budget() -> float:
    """What one scene may use: :data:`MEMORY_BUDGET`, or half of what this machine has free."""
    free = available_memory()
    return MEMORY_BUDGET if free is None else min(MEMORY_BUDGET, 0.5 * free)


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
             itemsize: int = 4, factored: bool = False) -> tuple[int, float]:
    """(bytes, flops) of the map at ``stride`` for state size n over T = ``steps``;
    ``factored``: its blocks by step factors (an LSTM's: H of the 2H columns a step)."""
    m = steps // max(1, stride)
    maps = (2 if n > h_size else 1) * (2 if exact else 1)
    nbytes = 2 * (m + 1) * n * n * itemsize + maps * (m + 1) ** 2 * 8
    flops = m * (m + 1) * float(n) ** 3
    if stride > 1:
        nbytes += m * n * n * 8
        flops += (2.0 * n * h_size if factored else 2.0 * n * n) * steps * float(n)
    if exact:
        flops += m * (m + 1) / 2 * svd_flops(h_size) * (2 if n > h_size else 1)
    return int(nbytes), flops


def svd_flops(size: int) -> float:
    """What one 2-norm of a size×size block costs, in flops at :data:`FLOPS_PER_SECOND`: a
    batched LAPACK SVD takes 40-160 µs for 16×16 here, by load (the call, not the arithmetic, dominates)."""
    return 2.4e6 + 30.0 * float(size) ** 3


def plan_map(n: int, h_size: int, steps: int, seconds: float, memory: float | None = None,
             exact: bool = False, itemsize: int = 4, factored: bool = False) -> MapPlan | None:
    """The finest stride whose map fits ``seconds`` and ``memory`` (default
    :func:`memory_budget`); None if even the coarsest useful one (about 16 rows) does not."""
    memory = memory_budget() if memory is None else memory
    coarsest = max(1, steps // 16)
    stride = 1
    while True:
        nbytes, flops = map_cost(n, h_size, steps, stride, exact, itemsize, factored)
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


def weight_bytes(kind_gates: int, hidden: int, proj: int, num_layers: int, directions: int,
                 input_size: int) -> int:
    """Bytes of the parameters in float64 (torch layout, see :mod:`gradviz.core.cells`)."""
    g, hh = max(1, kind_gates), proj or hidden
    per = g * hidden * (hh + 2) + (proj * hidden if proj else 0)
    first = g * hidden * input_size
    later = g * hidden * directions * hh
    return int(directions * (num_layers * per + first + (num_layers - 1) * later) * 8)


def check_weights(nbytes: int, source: str, hidden: int) -> None:
    """Refuse weights that would not fit this machine before any of them is read."""
    budget = memory_budget()
    if nbytes > budget:
        raise GradvizError(_("{source}: its weights need {need:.1f} GB in float64 (hidden size "
                             "{hidden}); this machine allows {budget:.1f} GB: use a smaller "
                             "hidden size").format(source=source, need=nbytes / 2**30,
                                                   hidden=hidden, budget=budget / 2**30))


def check_scene(kind_gates: int, hidden: int, proj: int, num_layers: int, directions: int,
                steps: int, input_size: int, budget: float | None = None) -> None:
    """Refuse a scene whose forward run alone would not fit this machine (one line: what to
    reduce). The map is planned separately (:func:`plan_map`), coarser when it must be.
    ``budget``: bytes allowed (default :func:`memory_budget`)."""
    for name, value in ((N_("hidden size"), hidden), (N_("steps"), steps),
                        (N_("input size"), input_size), (N_("layers"), num_layers),
                        (N_("proj size"), proj)):
        if value > SIZE_CAP:
            if len(str(value)) <= 40:
                raise GradvizError(_("{name} {value} is beyond what any machine can run; reduce it")
                                   .format(name=_(name), value=value))
            raise GradvizError(_("{name} of {digits} digits is beyond what any machine can run; "
                                 "reduce it").format(name=_(name), digits=len(str(value))))
    g = max(1, kind_gates)
    budget = memory_budget() if budget is None else budget
    weights = weight_bytes(kind_gates, hidden, proj, num_layers, directions, input_size)
    inputs = steps * input_size * 8 * 2
    need = trace_bytes(num_layers, directions, hidden, g, steps) + weights + inputs
    if need > budget:
        fixed = weights
        per_step = (need - fixed) / steps
        fit = int((budget - fixed) // per_step) if budget > fixed else 0
        what = (_("reduce the steps to at most {fit} or the hidden size").format(fit=fit)
                if fit >= 1 else _("reduce the hidden size, the input size or the layers"))
        raise GradvizError(_("this scene needs about {need:.1f} GB to run ({layers} layer(s), "
                             "H = {hidden}, T = {steps}) and this machine allows {budget:.1f} GB; "
                             "{what}").format(need=need / 2**30, layers=num_layers, hidden=hidden,
                                              steps=steps, budget=budget / 2**30, what=what))
    # one exact cursor row must be possible within a few minutes
    n = (proj or hidden) + (hidden if kind_gates == 4 else 0)
    if row_cost(n, steps) > 300 * FLOPS_PER_SECOND * max(1, os.cpu_count() or 1):
        raise GradvizError(_("one row of ‖∂h_t/∂h_i‖ would take more than 5 minutes here (state "
                             "size {n}, T = {steps}); reduce the steps or the hidden size")
                           .format(n=n, steps=steps))


#: the sizes :func:`largest` finds a limit for, as :func:`check_scene` names its arguments
LIMITED = ("hidden", "steps", "input_size")


def largest(name: str, kind_gates: int, hidden: int, proj: int, num_layers: int,
            directions: int, steps: int, input_size: int, cap: int = SIZE_CAP) -> int:
    """The largest ``name`` (one of :data:`LIMITED`) that :func:`check_scene` accepts with the
    other sizes as given, at most ``cap``; 0 when even the smallest is refused. What the
    window's spin boxes allow: the same plan that refuses a scene in the CLI (every check is
    monotonic in each size, so a bisection finds the edge)."""
    if name not in LIMITED:
        raise ValueError(name)
    sizes = {"hidden": hidden, "steps": steps, "input_size": input_size}
    budget = memory_budget()

    def fits(value: int) -> bool:
        try:
            check_scene(kind_gates, **{**sizes, name: value}, proj=proj, num_layers=num_layers,
                        directions=directions, budget=budget)
        except GradvizError:
            return False
        return True

    lo = proj + 1 if name == "hidden" else 1
    if not fits(lo):
        return 0
    hi = cap
    if fits(hi):
        return hi
    while hi - lo > 1:   # fits(lo), not fits(hi)
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if fits(mid) else (lo, mid)
    return lo


def ordinal(n: int) -> str:
    """``n`` as an ordinal in the current language: 1st, 2nd, 3rd, 8th, 93rd (Chinese: the number,
    the sentence says 每 n 步)."""
    if 10 <= n % 100 <= 20 or n % 10 not in (1, 2, 3):
        return _("{n}th").format(n=n)
    return {1: _("{n}st"), 2: _("{n}nd"), 3: _("{n}rd")}[n % 10].format(n=n)


def export_map(n: int, h_size: int, steps: int, seconds: float | None = None) -> MapPlan:
    """The export's map (float64, 2-norms of every pair): the finest stride that fits this
    machine's memory and ``seconds``, or a one-line refusal saying what to reduce."""
    seconds = EXPORT_SECONDS if seconds is None else seconds
    plan = plan_map(n, h_size, steps, seconds, exact=True, itemsize=8)
    if plan is None:
        coarsest = max(1, steps // 16)
        raise GradvizError(_("the map of ‖∂h_t/∂h_i‖ would not fit this machine ({seconds:.0f} s, "
                             "{budget:.1f} GB) even at every {nth} step (state size {n}, "
                             "T = {steps}); reduce the hidden size or the steps")
                           .format(seconds=seconds, budget=memory_budget() / 2**30,
                                   nth=ordinal(coarsest), n=n, steps=steps))
    return plan
