r"""The phase diagram: λ₁ over a grid of the recurrent gain × a second setting.

Every grid point is a :class:`~gradviz.core.scene.Scene` (:func:`point_scene`): the base scene
with the gain and the second setting replaced, so a point of the diagram opens as a scene
with the same numbers. The horizontal axis is the gain g of a Gaussian W_hh (entries
N(0, g²/H), ``Scene.gain``) when the base scene's init is ``gaussian``, else the target
σ_max(W_hh) (``Scene.wr_scale``). The vertical axis is one of :data:`Y_AXES`.

λ₁ of a point is the top Lyapunov exponent of its run (:func:`gradviz.core.lyapunov.lambda1`,
the first :func:`~gradviz.core.lyapunov.default_transient` steps discarded), averaged over
``seeds`` seeds (seed, seed+1, …). ``lambda1_std`` is the standard deviation over the seeds
(ddof = 1) when there are two or more, else the block standard error of the single run.

:func:`compute_phase` fills the grid coarse to fine (every 8th point of each axis, then every
4th, …, then all), calls ``progress`` with the partial result, stops when ``cancel()`` says so,
and keeps every point's value in a :class:`PhaseCache` (a range changed later reuses them).
The window and ``gradviz phase`` call this same function.
"""
from __future__ import annotations

import json
import math
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import GradvizError
from .i18n import N_, _
from .kinds.base import sigmoid as _sigmoid
from .kinds.rnn import PHI as _PHI
from .jacobians import step_jacobians
from .lyapunov import LN_ZERO, _block_stats, _orthonormal, default_transient, lambda1
from .lyapunov import mean_field_rate
from .scene import Scene, apply_sliders, load_base_net, resolve, simulate

#: second axis -> (Scene field, cells it applies to)
Y_AXES = {"amplitude": ("amplitude", ("rnn", "lstm", "gru")),
          "forget_bias": ("forget_bias", ("lstm",)),
          "update_bias": ("update_bias", ("gru",))}
#: axis labels (formula symbols stay as they are)
Y_LABELS = {"amplitude": N_("input amplitude A"), "forget_bias": N_("forget bias b_f"),
            "update_bias": N_("update bias b_z")}


def x_kind(scene: Scene) -> str:
    """``"gain"`` (g of a Gaussian W_hh) for init gaussian, else ``"sigma_max"``."""
    return "gain" if scene.init == "gaussian" and not scene.state_dict_path else "sigma_max"


def x_label(scene: Scene) -> str:
    return (_("gain g (W_hh entries N(0, g²/H))") if x_kind(scene) == "gain"
            else _("target σ_max(W_hh)"))


def default_y_axis(cell: str) -> str:
    return {"lstm": "forget_bias", "gru": "update_bias"}.get(cell, "amplitude")


def log_range(lo: float, hi: float, n: int) -> tuple[float, ...]:
    """n values from lo to hi, evenly spaced in log (the gain axis)."""
    if not (lo > 0 and hi > lo and n >= 1):
        raise GradvizError(_("a log range needs 0 < A < B and N ≥ 1, got {lo}:{hi}:{n}")
                           .format(lo=lo, hi=hi, n=n))
    return tuple(float(v) for v in np.geomspace(lo, hi, n))


def lin_range(lo: float, hi: float, n: int) -> tuple[float, ...]:
    if not (hi >= lo and n >= 1):
        raise GradvizError(_("a range needs A ≤ B and N ≥ 1, got {lo}:{hi}:{n}").format(lo=lo, hi=hi, n=n))
    return tuple(float(v) for v in np.linspace(lo, hi, n))


@dataclass(frozen=True)
class PhaseSpec:
    """What to compute: the base scene, the gain values, the second axis and its values."""

    scene: Scene
    g: tuple[float, ...]
    y_axis: str
    y: tuple[float, ...]
    seeds: int = 1
    transient: int | None = None     # None: default_transient(scene.steps)

    def validate(self) -> None:
        self.scene.validate()
        if self.y_axis not in Y_AXES:
            raise GradvizError(_("unknown second axis {y_axis!r}: expected one of {value}")
                               .format(y_axis=self.y_axis, value=', '.join(Y_AXES)))
        cells = Y_AXES[self.y_axis][1]
        if self.scene.cell not in cells:
            raise GradvizError(_("the axis {y_axis} applies to {value}, not to a {upper}")
                               .format(y_axis=self.y_axis, value='/'.join(c.upper() for c in cells),
                                       upper=self.scene.cell.upper()))
        if not self.g or not self.y:
            raise GradvizError(_("the grid needs at least one value on each axis"))
        if any(not (math.isfinite(v) and v > 0) for v in self.g):
            raise GradvizError(_("gain values must be positive finite numbers"))
        if any(not math.isfinite(v) for v in self.y):
            raise GradvizError(_("{y_axis} values must be finite numbers").format(y_axis=self.y_axis))
        if not 1 <= self.seeds <= 100:
            raise GradvizError(_("seeds must be an integer from 1 to 100, got {seeds}")
                               .format(seeds=self.seeds))
        t = self.measure_from
        if not 0 <= t < self.scene.steps:
            raise GradvizError(_("the transient ({t}) must be smaller than the steps ({steps})")
                               .format(t=t, steps=self.scene.steps))

    @property
    def measure_from(self) -> int:
        return default_transient(self.scene.steps) if self.transient is None else self.transient

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.y), len(self.g)


def point_scene(spec: PhaseSpec, ix: int, iy: int, seed_offset: int = 0) -> Scene:
    """The scene of grid point (g[ix], y[iy]) (what a click on the diagram opens)."""
    s = spec.scene
    gv = spec.g[ix]
    xs = {"gain": gv, "wr_scale": None} if x_kind(s) == "gain" else {"wr_scale": gv}
    return s.replace(**xs, **{Y_AXES[spec.y_axis][0]: spec.y[iy]}, seed=s.seed + seed_offset)


def nearest_point(spec: PhaseSpec, g: float, y: float) -> tuple[int, int]:
    """Index (ix, iy) of the grid point nearest to (g, y): log distance along g."""
    ix = int(np.argmin(np.abs(np.log(np.asarray(spec.g)) - math.log(max(g, 1e-300)))))
    iy = int(np.argmin(np.abs(np.asarray(spec.y) - y)))
    return ix, iy


class PhaseCache:
    """λ₁ and its block error per (point scene, transient), least recently used dropped."""

    def __init__(self, capacity: int = 100_000):
        self.capacity = capacity
        self._data: OrderedDict[str, tuple[float, float]] = OrderedDict()

    @staticmethod
    def key(scene: Scene, transient: int) -> str:
        return json.dumps([scene.to_dict(), transient], sort_keys=True)

    def get(self, key: str):
        value = self._data.get(key)
        if value is not None:
            self._data.move_to_end(key)
        return value

    def put(self, key: str, value: tuple[float, float]) -> None:
        self._data[key] = value
        self._data.move_to_end(key)
        while len(self._data) > self.capacity:
            self._data.popitem(last=False)

    def __len__(self) -> int:
        return len(self._data)


@dataclass
class PhaseResult:
    """λ₁ on the grid, rows = y, columns = g; NaN where not computed yet."""

    spec: PhaseSpec
    lambda1: np.ndarray          # (len(y), len(g))
    lambda1_std: np.ndarray      # (len(y), len(g))
    done: np.ndarray             # (len(y), len(g)) bool
    complete: bool = False
    seconds: float = 0.0
    cached: int = 0              # points served from the cache

    def filled(self) -> np.ndarray:
        """λ₁ with every missing point set to its nearest computed one (for drawing; all
        finite, 0 when nothing is computed yet)."""
        out = self.lambda1.copy()
        if self.done.all():
            return out
        if not self.done.any():
            return np.zeros_like(out)
        have = np.argwhere(self.done)
        miss = np.argwhere(~self.done)
        d = ((miss[:, None, :] - have[None, :, :]) ** 2).sum(-1)
        near = have[np.argmin(d, axis=1)]
        out[miss[:, 0], miss[:, 1]] = self.lambda1[near[:, 0], near[:, 1]]
        return out

    def display(self, limit: float | None = None) -> tuple[np.ndarray, float]:
        """(values, limit) to draw with levels ±limit: :meth:`filled`, a point that overflowed
        float64 (NaN: it exploded) at +limit, everything clipped to ±limit. ``limit`` defaults
        to max |λ₁|, at least 0.05 and at most 1: strong vanishing saturates, so the edge
        keeps its contrast (and a dead relu point's −708 cannot wash out the rest)."""
        values = self.filled()
        finite = values[np.isfinite(values)]
        if limit is None:
            limit = float(np.clip(np.abs(finite).max() if finite.size else 0.0, 0.05, 1.0))
        values = np.where(np.isfinite(values), values, limit)
        return np.clip(values, -limit, limit), limit

    def snapshot(self) -> PhaseResult:
        """A copy (what a progress report hands to another thread)."""
        return PhaseResult(spec=self.spec, lambda1=self.lambda1.copy(),
                           lambda1_std=self.lambda1_std.copy(), done=self.done.copy(),
                           complete=self.complete, seconds=self.seconds, cached=self.cached)

    def columns(self) -> dict[str, np.ndarray]:
        """The grid as long CSV columns: one row per point (g, y, λ₁, its std, computed)."""
        gg, yy = np.meshgrid(np.asarray(self.spec.g), np.asarray(self.spec.y))
        return {"g": gg.ravel(), "y": yy.ravel(), "lambda1": self.lambda1.ravel(),
                "lambda1_std": self.lambda1_std.ravel(),
                "computed": self.done.ravel().astype(np.float64)}

    def arrays(self) -> dict[str, np.ndarray]:
        """What ``phase.npz`` holds (float64)."""
        return {"g": np.asarray(self.spec.g, dtype=np.float64),
                "y": np.asarray(self.spec.y, dtype=np.float64),
                "lambda1": self.lambda1.astype(np.float64),
                "lambda1_std": self.lambda1_std.astype(np.float64)}


def refinement_order(nx: int, ny: int) -> list[list[tuple[int, int]]]:
    """Grid points (ix, iy) in levels: every 8th point of each axis, then every 4th, 2nd, all
    (each point once; the last index of each axis in the first level)."""
    seen: set[tuple[int, int]] = set()
    levels = []
    for stride in (8, 4, 2, 1):
        xs = sorted(set(range(0, nx, stride)) | {nx - 1})
        ys = sorted(set(range(0, ny, stride)) | {ny - 1})
        level = [(ix, iy) for iy in ys for ix in xs if (ix, iy) not in seen]
        seen.update(level)
        if level:
            levels.append(level)
    return levels


def point_lambda1(scene: Scene, transient: int, base=None, cache: PhaseCache | None = None
                  ) -> tuple[float, float]:
    """(λ₁, block standard error) of one scene's run (layer and direction of the scene)."""
    key = PhaseCache.key(scene, transient)
    hit = cache.get(key) if cache is not None else None
    if hit is not None:
        return hit
    trace = simulate(scene, base=base)
    if trace.steps <= transient:
        value = (math.nan, math.nan)     # overflowed before measuring: no rate
    else:
        J = step_jacobians(trace, scene.layer, scene.direction)
        value = lambda1(J, transient=transient, seed=scene.seed)
    if cache is not None:
        cache.put(key, value)
    return value


def batchable(scene: Scene) -> bool:
    """Points of this scene can run batched (one layer, one direction, no projection)."""
    return scene.num_layers == 1 and not scene.bidirectional and scene.proj_size == 0


def batch_lambda1(scenes: list[Scene], transient: int, base) -> list[tuple[float, float]]:
    """(λ₁, block standard error) of many scenes that share ``base`` weights and a seed, run
    side by side: one batched forward step and one tangent step v ← J_t v per time step
    (the product J_t v from the cell's structure, never forming J_t).

    The same numbers as :func:`point_lambda1` (same start vector, same transient, same
    blocks), checked against it in the tests; it only saves the per-point overhead.
    """
    if not scenes:
        return []
    first = scenes[0]
    if not batchable(first) or any(s.seed != first.seed or s.cell != first.cell for s in scenes):
        raise GradvizError(_("batch_lambda1: scenes must share cell and seed, one layer"))
    nets = [apply_sliders(base, s) for s in scenes]
    spec = nets[0].spec
    kind, H = spec.kind, spec.hidden_size
    params = [n.layer_params(0, 0) for n in nets]
    W = np.stack([p["w_hh"] for p in params])                         # (B, G·H, H)
    raw = resolve(first, base=base).raw_inputs     # a CSV read once (None for a signal)
    x = np.stack([resolve(s, base=base, raw_inputs=raw).inputs for s in scenes])   # (B, T, in)
    xin = np.einsum("bti,bgi->btg", x, np.stack([p["w_ih"] for p in params]))
    xin += np.stack([p["b_ih"] for p in params])[:, None, :]
    b_hh = np.stack([p["b_hh"] for p in params])                       # (B, G·H)
    B, T = x.shape[0], x.shape[1]
    n = 2 * H if kind == "lstm" else H
    v = np.repeat(_orthonormal(n, 1, first.seed)[:, 0][None], B, axis=0)
    h = np.full((B, H), float(first.h0))
    c = np.zeros((B, H)) if kind == "lstm" else None   # run(): c0 = 0, h0 = scene.h0
    clamp = first.forget_clamp if kind == "lstm" else None
    logs = np.empty((T, B))
    alive = np.ones(B, bool)
    mv = lambda M, u: np.matmul(M, u[:, :, None])[:, :, 0]

    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(T):
            if kind == "rnn":
                phi: Any
                dphi: Any
                phi, dphi = _PHI[first.nonlinearity]
                a = xin[:, t] + b_hh + mv(W, h)
                h = phi(a)
                v = dphi(a, h) * mv(W, v)
            elif kind == "lstm":
                a = xin[:, t] + b_hh + mv(W, h)
                i, f, o = _sigmoid(a[:, :H]), _sigmoid(a[:, H:2 * H]), _sigmoid(a[:, 3 * H:])
                if clamp is not None:
                    f = np.full_like(f, float(clamp))
                g = np.tanh(a[:, 2 * H:3 * H])
                c_new = f * c + i * g
                tc = np.tanh(c_new)
                dh, dc = v[:, :H], v[:, H:]
                da = mv(W, dh)
                dc_new = f * dc + g * (i * (1 - i)) * da[:, :H] + i * (1 - g * g) * da[:, 2 * H:3 * H]
                if clamp is None:
                    dc_new += c * (f * (1 - f)) * da[:, H:2 * H]
                dh_new = tc * (o * (1 - o)) * da[:, 3 * H:] + o * (1 - tc * tc) * dc_new
                v = np.concatenate([dh_new, dc_new], axis=1)
                c, h = c_new, o * tc
            else:   # gru
                hh = mv(W, h) + b_hh
                r = _sigmoid(xin[:, t, :H] + hh[:, :H])
                z = _sigmoid(xin[:, t, H:2 * H] + hh[:, H:2 * H])
                nn = np.tanh(xin[:, t, 2 * H:] + r * hh[:, 2 * H:])
                dhh = mv(W, v)
                dr = r * (1 - r) * dhh[:, :H]
                dz = z * (1 - z) * dhh[:, H:2 * H]
                dn = (1 - nn * nn) * (dr * hh[:, 2 * H:] + r * dhh[:, 2 * H:])
                v = (h - nn) * dz + (1 - z) * dn + z * v
                h = (1 - z) * nn + z * h
            norm = np.sqrt(np.einsum("bi,bi->b", v, v))
            alive &= np.isfinite(h).all(axis=1) & np.isfinite(norm)
            if c is not None:
                alive &= np.isfinite(c).all(axis=1)
            ok = alive & (norm > 0)
            logs[t] = np.where(ok, np.log(np.where(ok, norm, 1.0)), LN_ZERO)
            v = np.where(ok[:, None], v / np.where(ok, norm, 1.0)[:, None], v)
            dead = alive & ~(norm > 0)
            if dead.any():   # as log_growth: restart a killed vector from a fresh direction
                v[dead] = _orthonormal(n, 1, first.seed + t + 1)[:, 0]
            if not alive.any():
                break
    out = []
    measured = logs[transient:]
    if measured.shape[0] == 0:
        return [(math.nan, math.nan)] * B
    lam = measured.mean(axis=0)
    err, _blocks = _block_stats(measured, 10)
    for b in range(B):
        out.append((float(lam[b]), float(err[b])) if alive[b] else (math.nan, math.nan))
    return out


def compute_phase(spec: PhaseSpec, progress=None, cancel=None, cache: PhaseCache | None = None,
                  interval: float = 0.25) -> PhaseResult:
    """λ₁ on ``spec``'s grid, coarse to fine (see module docstring).

    ``progress(result, done, total)`` is called with a snapshot after each level and at most
    every ``interval`` seconds in between; ``cancel()`` returning True stops early (the result
    then has ``complete=False``). A point whose state overflows float64 before the transient
    ends is NaN (relu only).
    """
    steps = iter_phase(spec, cancel=cancel, cache=cache, interval=interval)
    while True:
        try:
            snapshot = next(steps)
        except StopIteration as stop:
            return stop.value
        if progress is not None:
            progress(snapshot, int(snapshot.done.sum()), snapshot.done.size)


def iter_phase(spec: PhaseSpec, cancel=None, cache: PhaseCache | None = None,
               interval: float = 0.25):
    """:func:`compute_phase` as a generator (a worker's job): yields snapshots of the partial
    result (after each level, at most every ``interval`` s in between) and returns the last."""
    spec.validate()
    ny, nx = spec.shape
    result = PhaseResult(spec=spec, lambda1=np.full((ny, nx), np.nan),
                         lambda1_std=np.full((ny, nx), np.nan), done=np.zeros((ny, nx), bool))
    transient = spec.measure_from
    bases: dict[int, object] = {}
    start = last = time.perf_counter()
    total, count = nx * ny, 0
    cached_before = 0
    batched = batchable(spec.scene)
    chunk = 64

    def record(points, per_seed):
        nonlocal count
        for k, (ix, iy) in enumerate(points):
            values = [per_seed[s][k] for s in range(spec.seeds)]
            lam = np.array([v[0] for v in values])
            ok = np.flatnonzero(np.isfinite(lam))
            if ok.size:
                result.lambda1[iy, ix] = float(lam[ok].mean())
                result.lambda1_std[iy, ix] = (float(lam[ok].std(ddof=1)) if ok.size >= 2
                                              else float(values[ok[0]][1]))
            result.done[iy, ix] = True
            count += 1

    for level in refinement_order(nx, ny):
        step = chunk if batched else 1
        for at in range(0, len(level), step):
            if cancel is not None and cancel():
                result.seconds = time.perf_counter() - start
                result.cached = cached_before
                return result
            points = level[at:at + step]
            per_seed = []
            for s in range(spec.seeds):
                scenes = [point_scene(spec, ix, iy, s) for ix, iy in points]
                keys = [PhaseCache.key(sc, transient) for sc in scenes]
                values = [cache.get(k) if cache is not None else None for k in keys]
                todo = [k for k, v in enumerate(values) if v is None]
                cached_before += len(points) - len(todo)
                if todo:
                    if s not in bases:
                        bases[s] = load_base_net(scenes[todo[0]])
                    if batched:
                        fresh = batch_lambda1([scenes[k] for k in todo], transient, bases[s])
                    else:
                        fresh = [point_lambda1(scenes[k], transient, base=bases[s]) for k in todo]
                    for k, value in zip(todo, fresh):
                        values[k] = value
                        if cache is not None:
                            cache.put(keys[k], value)
                per_seed.append(values)
            record(points, per_seed)
            now = time.perf_counter()
            if now - last >= interval and count < total:
                last = now
                result.seconds, result.cached = now - start, cached_before
                yield result.snapshot()
        last = time.perf_counter()
        result.seconds, result.cached = last - start, cached_before
        yield result.snapshot()
    result.complete = True
    result.seconds = time.perf_counter() - start
    result.cached = cached_before
    return result


def theory_curve(spec: PhaseSpec, points: int = 200) -> tuple[np.ndarray, np.ndarray] | None:
    """(g, mean-field λ) over the gain range for a tanh RNN with Gaussian W_hh, else None.

    The theory holds at zero input and zero biases (the diagram's row y = 0 of the amplitude
    axis, or input "zeros"); the finite-H deviation is λ₁ − this.
    """
    s = spec.scene
    if not (s.cell == "rnn" and s.nonlinearity == "tanh" and x_kind(s) == "gain"):
        return None
    lo, hi = min(spec.g), max(spec.g)
    g = np.geomspace(lo, hi, points) if hi > lo else np.array([lo])
    return g, np.asarray(mean_field_rate(g))


def scene_point(spec: PhaseSpec, scene: Scene) -> tuple[float, float] | None:
    """Where ``scene`` sits on ``spec``'s axes (gain or σ_max, y), or None when it is not a
    scene of this diagram (another cell, a σ_max scene on a gain diagram, ...)."""
    base = spec.scene
    if scene.cell != base.cell or scene.hidden_size != base.hidden_size:
        return None
    if x_kind(base) == "gain":
        if scene.init != "gaussian" or scene.wr_scale is not None or scene.state_dict_path:
            return None
        x = 1.0 if scene.gain is None else scene.gain
    else:
        if scene.wr_scale is None:
            return None
        x = scene.wr_scale
    y = getattr(scene, Y_AXES[spec.y_axis][0])
    if y is None:     # a gate bias "as initialised": 0 unless torch's default init drew it
        if scene.init == "default":
            return None
        y = 0.0
    return float(x), float(y)


def scene_mean_field(scene: Scene) -> float | None:
    """The mean-field λ of ``scene`` when the theory applies to it (a one-layer tanh RNN with
    Gaussian W_hh of gain g, zero biases, zero input), else None."""
    zero_input = scene.input == "zeros" or scene.amplitude == 0.0
    if (scene.cell == "rnn" and scene.nonlinearity == "tanh" and scene.init == "gaussian"
            and scene.wr_scale is None and not scene.state_dict_path and scene.num_layers == 1
            and zero_input and not scene.inputs_path):
        return float(mean_field_rate(1.0 if scene.gain is None else scene.gain))
    return None


def scene_lyapunov(scene: Scene, jacobians: np.ndarray):
    """(core.lyapunov.Lyapunov, mean-field λ or None) of a scene's run: what the Lyapunov view
    and the status line show (the transient as in the phase diagram, start vector from the
    scene's seed, so a point opened from the diagram shows the diagram's λ₁)."""
    from .lyapunov import lyapunov
    T = jacobians.shape[0]
    return (lyapunov(jacobians, transient=default_transient(T), seed=scene.seed),
            scene_mean_field(scene))
