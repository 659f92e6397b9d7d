r"""Exactly the arrays each view of the window plots, computed from an :class:`Analysis`.

Qt-free: the window's views call these and only draw; ``gradviz export`` can write the same
dicts as CSV (keys are column headers; :func:`unit_columns` spreads a per-unit (N, H) array
into ``name_0 .. name_{H-1}`` columns, :func:`pair_table` turns [t, i] maps into long rows).

Conventions: time index ``t`` counts steps (h_0 is the initial state, step t consumes x_t);
per-step quantities (gates, one-step factors) exist for t = 1..T; states for t = 0..T. Every
log10 quantity may hold :data:`~gradviz.core.jacobians.LOG10_ZERO` for an exactly zero norm.
``step=None`` means the whole run; a step restricts the arrays to t ≤ step (what a view
shows while playing).
"""
from __future__ import annotations

import numpy as np

from . import theory
from .jacobians import LOG10_ZERO
from .kinds import KINDS

#: per-unit quantities by cell kind, in drawing order (the registry's ``per_unit``)
GATE_NAMES = {name: kind.per_unit for name, kind in KINDS.items()}


def _layer(analysis):
    return analysis.trace.layer(analysis.layer, analysis.direction)


def _kind(analysis):
    return analysis.trace.net.spec.cell_kind


def _w_hh(analysis) -> np.ndarray:
    return analysis.trace.net.layer_params(analysis.layer, analysis.direction)["w_hh"]


def _last(analysis, step: int | None) -> int:
    """The step a view shows up to: ``step`` clipped to 0..T (None = T)."""
    T = analysis.steps
    return T if step is None else max(0, min(int(step), T))


def states(analysis, step: int | None = None) -> dict[str, np.ndarray]:
    """h_t (and c_t for LSTM) for t = 0..step: 't' (n,), 'h' (n, Hh), 'c' (n, H)."""
    lt = _layer(analysis)
    n = _last(analysis, step) + 1
    out = {"t": np.arange(n, dtype=np.float64), "h": lt.h[:n]}
    if lt.c is not None:
        out["c"] = lt.c[:n]
    return out


def gates(analysis, step: int | None = None) -> dict[str, np.ndarray]:
    """Per-unit gate values for t = 1..step, and their mean, min and max over units.

    LSTM i, f, g, o; GRU r, z, n (torch's z: the fraction of the old state kept); RNN the
    pre-activation 'a' and 'dphi' = φ'(a_t). Keys: 't' (n,), name (n, H), name_mean,
    name_min, name_max (n,).
    """
    lt = _layer(analysis)
    n = _last(analysis, step)
    kind = _kind(analysis)
    source = lt.gates if kind.gates else {"a": lt.preact.get("a"), "dphi": lt.dphi}
    out = {"t": np.arange(1, n + 1, dtype=np.float64)}
    for name in kind.per_unit:
        values = source[name][:n]
        out[name] = values
        if n:
            out[f"{name}_mean"] = _mean_over_units(values)
            out[f"{name}_min"] = values.min(axis=1)
            out[f"{name}_max"] = values.max(axis=1)
        else:
            out[f"{name}_mean"] = out[f"{name}_min"] = out[f"{name}_max"] = np.zeros(0)
    return out


def _mean_over_units(values: np.ndarray) -> np.ndarray:
    """Row means that cannot overflow: a relu state near the float64 limit (1e307 in several
    units) has a finite mean, but the plain sum of its units does not."""
    scale = np.abs(values).max(axis=1, keepdims=True)
    scale = np.where(scale > 0, scale, 1.0)
    return (values / scale).mean(axis=1) * scale[:, 0]


def _from_log10(values: np.ndarray) -> np.ndarray:
    """10**values with LOG10_ZERO mapped to an exact 0."""
    values = np.asarray(values, dtype=np.float64)
    return np.where(values <= LOG10_ZERO, 0.0, 10.0 ** np.maximum(values, -300.0))


def step_factors(analysis, step: int | None = None) -> dict[str, np.ndarray]:
    """The per-step factor behind the product argument, for t = 1..step, and its product.

    RNN: 'step_factor' = max_j|φ'(a_t)_j|·σ_max(W_hh) (and 'log10_step_factor'), and
    'log10_running_product' = Σ_{k≤t} log10 factor = the Pascanu bound on ‖∂h_t/∂h_0‖₂.
    LSTM: 'f_mean', 'f_max' over units, and 'log10_forget_path' = log10 max_j ∏_{k≤t} f_k[j].
    GRU: 'z_mean', 'z_max', and 'log10_update_path' = log10 max_j ∏_{k≤t} z_k[j].
    """
    kind = _kind(analysis)
    n = _last(analysis, step)
    out = {"t": np.arange(1, n + 1, dtype=np.float64)}
    gate = kind.path_gate
    if gate is None:
        logs = analysis.step_factor[:n]
        out["step_factor"] = _from_log10(logs)
        out["log10_step_factor"] = logs
        out["log10_running_product"] = theory.running_sum(analysis.step_factor)[1:n + 1]
    else:
        out[f"{gate}_mean"] = analysis.gate_stats[f"{gate}_mean"][:n]
        out[f"{gate}_max"] = analysis.gate_stats[f"{gate}_max"][:n]
        out[kind.path_array] = analysis.theory_from_start()[1:n + 1]
    return out


def _by_lag(row: np.ndarray) -> np.ndarray:
    """A map row indexed by i = 0..t, reordered by lag t - i = 0..t."""
    return np.ascontiguousarray(np.asarray(row, dtype=np.float64)[::-1])


def gradient_flow(analysis, step: int, row=None) -> dict[str, np.ndarray]:
    """log10 ‖∂h_t/∂h_i‖ against the lag t - i = 0..t for t = ``step``, with theory overlays.

    ``row`` (a :class:`~gradviz.core.jacobians.RowNorms` for this t) gives exact 2-norms; without
    it the analysis' own maps are used (2-norms when the map was computed exactly, else only
    Frobenius). A partial row (still being computed) gives its arrays for lags 0..t - first
    only, shorter than 'lag'. Keys: 'lag'; 'log10_jac_h' (when known), 'log10_jac_h_fro'; LSTM
    'log10_jac_c' (when known), 'log10_jac_c_fro', 'log10_forget_path'; GRU
    'log10_update_path'; RNN 'log10_bound_h' (Pascanu) and 'log10_sigma_power' ((t-i)·log10 σ_max).
    """
    t = _last(analysis, step)
    jac = analysis.jac
    if row is not None and row.t != t:
        raise ValueError(f"row is for step {row.t}, not {t}")
    out = {"lag": np.arange(t + 1, dtype=np.float64)}
    kind = _kind(analysis)
    if row is not None:   # exact norms of this row (2-norms once computed)
        known = t - row.first + 1   # a partial row: lags 0..t - first so far

        def by_lag(values):
            return _by_lag(values)[:known]
        if row.h is not None:
            out["log10_jac_h"] = by_lag(row.h)
        out["log10_jac_h_fro"] = by_lag(row.h_fro)
        if row.c_fro is not None:
            if row.c is not None:
                out["log10_jac_c"] = by_lag(row.c)
            out["log10_jac_c_fro"] = by_lag(row.c_fro)
    elif jac is not None and jac.full:   # the row of the full map
        if jac.h is not None:
            out["log10_jac_h"] = _by_lag(jac.h[t, :t + 1])
        out["log10_jac_h_fro"] = _by_lag(jac.h_fro[t, :t + 1])
        if jac.c_fro is not None:
            if jac.c is not None:
                out["log10_jac_c"] = _by_lag(jac.c[t, :t + 1])
            out["log10_jac_c_fro"] = _by_lag(jac.c_fro[t, :t + 1])
    # (no row and no full map: the norms of this row are still being computed)
    theory_row = _by_lag(analysis.theory_row(t))
    if kind.path_gate:
        out[kind.path_array] = theory_row
    else:
        out["log10_bound_h"] = theory_row
        # σ_max(W_hh) as the analysis computed it (off the GUI thread), not an SVD per redraw
        out["log10_sigma_power"] = theory.lag_power(analysis.sigma_max, t)
    return out


def jacobian_at_step(analysis, t: int) -> dict[str, np.ndarray]:
    """The one-step Jacobian ∂h_t/∂h_{t-1} (its h-block for LSTM) and its singular values.

    Keys: 'jacobian' (Hh, Hh), rows = units of h_t, columns = units of h_{t-1};
    'singular_values' (descending) and 'index' (1..Hh). For Hh = 2 also the eigenvalues of
    that Jacobian ('eig_jac_real', 'eig_jac_imag') and, for an RNN, of W_hh ('eig_whh_real',
    'eig_whh_imag'): the linearised map whose powers decide vanishing or exploding.
    """
    T = analysis.steps
    if not 1 <= t <= T:
        raise ValueError(f"step {t} has no one-step Jacobian: expected 1..{T}")
    hs = analysis.h_size
    block = analysis.jacobians[t - 1][:hs, :hs]
    sv = np.linalg.svd(block, compute_uv=False)
    out = {"jacobian": block, "index": np.arange(1, hs + 1, dtype=np.float64),
           "singular_values": sv}
    if hs == 2:
        eig = np.linalg.eigvals(block)
        out["eig_jac_real"], out["eig_jac_imag"] = eig.real, eig.imag
        w = _w_hh(analysis)
        if w.shape[0] == w.shape[1]:
            eig = np.linalg.eigvals(w)
            out["eig_whh_real"], out["eig_whh_imag"] = eig.real, eig.imag
    return out


def jacobian_extent(analysis) -> float:
    """max |entry| of every one-step Jacobian's h-block: fixed colour levels for a whole run."""
    hs = analysis.h_size
    if analysis.steps == 0:
        return 0.0
    return max(float(np.abs(block[:, :hs, :hs]).max()) for _, block in analysis.jacobians.chunks())


def jacobian_map(analysis) -> dict[str, np.ndarray]:
    """The maps [t, i] (NaN above the diagonal) a map view can show, at the map's stride
    (entry [a, b] is the pair (a·s, b·s)); the theory alone while the map is computed.

    'log10_jac_h_fro' always, 'log10_jac_h' when exact; LSTM 'log10_jac_c_fro'
    (and 'log10_jac_c'), 'log10_forget_path'; GRU 'log10_update_path'; RNN 'log10_bound_h'.
    """
    jac = analysis.jac
    out = {}
    if jac is not None:
        out["log10_jac_h_fro"] = jac.h_fro
        if jac.h is not None:
            out["log10_jac_h"] = jac.h
        if jac.c_fro is not None:
            out["log10_jac_c_fro"] = jac.c_fro
            if jac.c is not None:
                out["log10_jac_c"] = jac.c
    kind = _kind(analysis)
    theory_map = analysis.theory_map(map_stride(analysis))
    out[kind.path_array if kind.path_gate else "log10_bound_h"] = theory_map
    return out


def map_stride(analysis) -> int:
    """The step between the map's rows: 1 for the full map, s for a coarse one (or none yet)."""
    return 1 if analysis.jac is None else analysis.jac.stride


def finite_extent(*arrays, floor: float = LOG10_ZERO) -> tuple[float, float] | None:
    """(min, max) over the finite values above ``floor`` of all arrays, None if there are none.

    Used for axis ranges: NaN (unused map cells) and LOG10_ZERO (exact zeros) never stretch them.
    """
    lo, hi = np.inf, -np.inf
    for a in arrays:
        if a is None:
            continue
        a = np.asarray(a, dtype=np.float64)
        ok = a[np.isfinite(a) & (a > floor)]
        if ok.size:
            lo, hi = min(lo, float(ok.min())), max(hi, float(ok.max()))
    return None if lo > hi else (lo, hi)


def unit_columns(data: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """1-D columns from a view's dict: an (n, H) array ``x`` becomes ``x_0 .. x_{H-1}``."""
    out = {}
    for name, values in data.items():
        values = np.asarray(values)
        if values.ndim == 2:
            for j in range(values.shape[1]):
                out[f"{name}_{j}"] = values[:, j]
        else:
            out[name] = values
    return out


def pair_table(maps: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Long rows (t, i, value per map) of the lower triangle i ≤ t of same-sized [t, i] maps."""
    first = next(iter(maps.values()))
    t, i = np.tril_indices(first.shape[0])
    out = {"t": t, "i": i}
    for name, values in maps.items():
        out[name] = values[t, i]
    return out


# ---------------------------------------------------------------- what a plot's axes show

#: the floor (in decades below the lowest real value) where exact zeros (LOG10_ZERO) are drawn
ZERO_MARGIN = 1.0


def floor_for(extent: tuple[float, float] | None, default: tuple[float, float] = (-1.0, 1.0)):
    """y-range (lo, hi) for log10 curves with a floor one margin below the lowest real value."""
    lo, hi = extent if extent is not None else default
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    span = max(hi - lo, 1.0)
    pad = 0.06 * span
    return lo - ZERO_MARGIN * max(pad, 0.5), hi + pad


#: a y-range on screen stays while the data still fit in it and fill at least this share of it
STEADY_FILL = 0.7
#: headroom (a share of the data's span) added on the side where data leave the range
STEADY_ROOM = 0.15


def steady_range(shown: tuple[float, float] | None, wanted: tuple[float, float],
                 fill: float = STEADY_FILL) -> tuple[float, float]:
    """The y-range to show for data that want ``wanted`` while ``shown`` is on screen.

    ``shown`` stays if it holds ``wanted`` and ``wanted`` spans at least ``fill`` of it. Data
    that leave it get :data:`STEADY_ROOM` headroom on the side they leave by (the next ticks of
    a drag the same way then fit); the other side stays where it was unless the data would then
    fill less than ``fill``; data that shrink well inside get exactly ``wanted``. While a slider
    drags, an axis stands still (readable, and pyqtgraph keeps its drawn ticks) instead of
    following every tick. No data is ever drawn outside the range.
    """
    lo, hi = float(wanted[0]), float(wanted[1])
    if shown is None:
        return lo, hi
    s_lo, s_hi = float(shown[0]), float(shown[1])
    if s_lo <= lo and hi <= s_hi and (hi - lo) >= fill * (s_hi - s_lo):
        return s_lo, s_hi
    room = STEADY_ROOM * (hi - lo)
    grown = (lo - room if lo < s_lo else lo, hi + room if hi > s_hi else hi)
    kept = (min(grown[0], s_lo), max(grown[1], s_hi))
    return kept if (hi - lo) >= fill * (kept[1] - kept[0]) else grown


def clip_floor(values: np.ndarray, floor: float) -> np.ndarray:
    """Display copy with exact zeros (LOG10_ZERO) and anything below ``floor`` drawn at it."""
    return np.maximum(values, floor)


#: values this large are drawn in units of 10^k (pyqtgraph views end at ±1e307)
BIG = 1e6


def display_exponent(*arrays) -> int:
    """k such that values / 10^k stay readable and drawable: 0 unless some |value| ≥ BIG."""
    m = max((float(np.abs(a[np.isfinite(a)]).max()) for a in arrays
             if a is not None and np.isfinite(a).any()), default=0.0)
    return int(np.floor(np.log10(m))) if m >= BIG else 0


def all_finite(*arrays) -> bool:
    return all(a is None or bool(np.all(np.isfinite(a))) for a in arrays)
