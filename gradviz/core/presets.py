"""Presets: the claims of the lecture notes as scenes, one file each in ``assets/presets``.

A preset file ``NN_name.json`` (NN orders the gallery) holds::

    {
      "name": "tanh-vanishing",          # the slug for --preset NAME (the file's name after NN_)
      "title": "tanh RNN, σ_max(W_R) < 1: the gradient vanishes",
      "explanation": "2–4 sentences: the formula, what to look at, the claim in words",
      "scene": {...Scene settings...},
      "compare": false,                  # optional: open in RNN vs LSTM vs GRU compare mode
      "step": null,                      # optional: the step t to select on opening
      "claim": {...} or [{...}, ...]     # what the test checks (all conditions must hold)
    }

Paths in the scene (``state_dict_path``, ``inputs_path``) that are relative resolve against
the folder of the preset file (``assets/presets``), so ``"nonnormal_rnn.pt"`` is
``assets/presets/nonnormal_rnn.pt``; :func:`load_preset` makes them absolute.

Two presets need weights no seed gives; they sit beside the JSON as torch state_dicts:
``nonnormal_rnn.pt`` (tanh RNN, H = 8: W_hh = 0.8·(I + N), N ones on the superdiagonal,
W_ih uniform in ±0.35, zero biases) and ``lstm_input_gate_shut.pt`` (``init_net`` of an LSTM
with H = 16, seed 0, default init, then bias_ih[0:16] = −6 and bias_hh[0:16] = 0).

A claim condition::

    {"quantity": "log10_jac_h", "t": "T", "i": 0, "below": -5,
     "statement": "‖∂h_T/∂h_0‖₂ < 10⁻⁵"}

``quantity`` is one of :data:`QUANTITIES`. Maps are indexed by ``t`` and ``i`` (0 ≤ i ≤ t ≤ T),
per-step series by ``step`` (1..T), scalars by nothing. An index is an integer, ``"T"`` or
``"T-k"`` (T = the steps actually run, fewer when the state overflowed), ``"all"``, or an
inclusive range ``[a, b]``; a missing index means ``"all"``. When more than one entry is
selected, ``reduce`` (max, min, mean, maxabs) makes one number. The condition holds when the
number is strictly ``below`` and/or ``above`` the thresholds. ``scene`` (optional) gives
settings that override the preset's scene for this condition (e.g. ``{"cell": "lstm"}`` in a
compare preset). ``statement`` is the condition in words; it must appear verbatim in the
explanation, so that the text and the test say the same thing.
"""
from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import GradvizError
from .assets import asset
from .jacobians import LOG10_ZERO, Jacobians
from .scene import Analysis, Scene, analyse, simulate
from .i18n import _, language

PRESETS_DIR = asset("presets")

#: claim quantities -> index names (maps [t, i], series [step], scalars [])
QUANTITIES = {
    "log10_jac_h": ("t", "i"),        # log10 ‖∂h_t/∂h_i‖₂
    "log10_jac_h_fro": ("t", "i"),    # log10 ‖∂h_t/∂h_i‖_F
    "log10_jac_c": ("t", "i"),        # LSTM: log10 ‖∂c_t/∂c_i‖₂
    "log10_bound_h": ("t", "i"),      # RNN: the Pascanu bound
    "bound_gap_h": ("t", "i"),        # RNN: bound − measured (≥ 0 when the bound holds)
    "log10_forget_path": ("t", "i"),  # LSTM: log10 max_j ∏ f_k[j]
    "log10_update_path": ("t", "i"),  # GRU: log10 max_j ∏ z_k[j]
    "log10_step_factor": ("step",),   # RNN: log10 max_j|φ'(a_k)_j| σ_max(W_R)
    "f_mean": ("step",),              # LSTM: mean forget gate at step k
    "z_mean": ("step",),              # GRU: mean update gate at step k
    "sigma_max_whh": (),
    "spectral_radius_whh": (),
    "overflow_step": (),              # 0 when the state never left float64
    "steps": (),
    "lyapunov_lambda1": (),           # λ₁ per step: top Lyapunov exponent (core.lyapunov)
}
REDUCE: dict[str, Callable[[np.ndarray], float]] = {
    "max": np.max, "min": np.min, "mean": np.mean, "maxabs": lambda v: np.max(np.abs(v))}
_NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_FILE = re.compile(r"^(\d\d)_([a-z0-9-]+)\.json$")


@dataclass
class Preset:
    """One gallery entry (see the module docstring for the file format)."""

    name: str
    title: str
    explanation: str
    scene: Scene
    compare: bool = False
    step: int | None = None
    claim: list[dict] = field(default_factory=list)
    path: Path | None = None
    title_zh: str | None = None
    explanation_zh: str | None = None

    def title_text(self) -> str:
        """The title in the current language (``title_zh`` in Chinese when the file has one)."""
        return localized(self.title, self.title_zh)

    def explanation_text(self) -> str:
        return localized(self.explanation, self.explanation_zh)

    def statements(self) -> list[str]:
        """The claims' statements in the current language (each stated in that explanation)."""
        return list(dict.fromkeys(claim_statement(c) for c in self.claim if c.get("statement")))


def localized(english: str, chinese: str | None) -> str:
    """``chinese`` while the language is zh_CN and it exists, else ``english``."""
    return chinese if chinese and language() == "zh_CN" else english


def claim_statement(cond: dict) -> str:
    """A claim's statement in the current language (``statement_zh`` in Chinese, if given)."""
    return localized(cond.get("statement", ""), cond.get("statement_zh"))


# ---------------------------------------------------------------- reading

def _resolve(value: str | None, folder: Path, source: str = "preset") -> str | None:
    """A preset's file path, against the presets' folder; it must lie inside that folder (a
    preset never makes gradviz read a file the user did not choose)."""
    if not value:
        return value
    p = Path(value)
    target = (Path(folder) / p).resolve()
    try:
        target.relative_to(Path(folder).resolve())
    except ValueError:
        raise GradvizError(_("{source}: a preset's files must lie in its folder ({folder}/); "
                             "got a path outside it")
                           .format(source=source, folder=Path(folder).name)) from None
    return str(target)


def _check_condition(cond, where: str) -> None:
    if not isinstance(cond, dict):
        raise GradvizError(_("{where}: each claim must be an object").format(where=where))
    q = cond.get("quantity")
    if q not in QUANTITIES:
        raise GradvizError(_("{where}: unknown claim quantity {q!r}").format(where=where, q=q))
    allowed = {"quantity", "reduce", "below", "above", "scene", "statement", "statement_zh",
               *QUANTITIES[q]}
    extra = sorted(set(cond) - allowed)
    if extra:
        raise GradvizError(_("{where}: claim on {q} has unknown key {value!r}")
                           .format(where=where, q=q, value=extra[0]))
    if "below" not in cond and "above" not in cond:
        raise GradvizError(_("{where}: claim on {q} needs 'below' and/or 'above'").format(where=where, q=q))
    for key in ("below", "above"):
        v = cond.get(key)
        if key in cond and (isinstance(v, bool) or not isinstance(v, (int, float))):
            raise GradvizError(_("{where}: claim {key} must be a number").format(where=where, key=key))
    if cond.get("reduce", "max") not in REDUCE:
        raise GradvizError(_("{where}: reduce must be one of {value}")
                           .format(where=where, value=', '.join(REDUCE)))
    if not isinstance(cond.get("statement", ""), str) or not isinstance(cond.get("statement_zh", ""), str):
        raise GradvizError(_("{where}: claim statement must be text").format(where=where))


def preset_from_dict(data, source: str = "preset", folder: Path = PRESETS_DIR) -> Preset:
    """A :class:`Preset` from parsed JSON; anything wrong is a :class:`GradvizError`."""
    if not isinstance(data, dict):
        raise GradvizError(_("{source}: expected an object").format(source=source))
    for key in ("name", "title", "explanation", "scene"):
        if key not in data:
            raise GradvizError(_("{source}: missing key {key!r}").format(source=source, key=key))
    extra = sorted(set(data) - {"name", "title", "explanation", "scene", "compare", "step", "claim",
                                "title_zh", "explanation_zh"})
    if extra:
        raise GradvizError(_("{source}: unknown key {value!r}").format(source=source, value=extra[0]))
    name = data["name"]
    if not isinstance(name, str) or not _NAME.match(name):
        raise GradvizError(_("{source}: name must be a slug like 'tanh-vanishing', got {name!r}")
                           .format(source=source, name=name))
    for key in ("title", "explanation", "title_zh", "explanation_zh"):
        if key not in data and key.endswith("_zh"):
            continue
        if not isinstance(data[key], str) or not data[key].strip():
            raise GradvizError(_("{source}: {key} must be non-empty text").format(source=source, key=key))
    scene_data = dict(data["scene"]) if isinstance(data["scene"], dict) else data["scene"]
    if isinstance(scene_data, dict):
        for key in ("state_dict_path", "inputs_path"):
            if isinstance(scene_data.get(key), str):
                scene_data[key] = _resolve(scene_data[key], folder, source)
    try:
        scene = Scene.from_dict(scene_data, source=f"{source}: scene")
    except (TypeError, ValueError, OverflowError):
        raise GradvizError(_("{source}: scene: a setting has the wrong type").format(source=source)) from None
    compare = data.get("compare", False)
    if not isinstance(compare, bool):
        raise GradvizError(_("{source}: compare must be true or false").format(source=source))
    step = data.get("step")
    if step is not None and (isinstance(step, bool) or not isinstance(step, int) or step < 0):
        raise GradvizError(_("{source}: step must be a step number ≥ 0 or null").format(source=source))
    claim = data.get("claim", [])
    claim = [claim] if isinstance(claim, dict) else claim
    if not isinstance(claim, list):
        raise GradvizError(_("{source}: claim must be an object or a list of objects").format(source=source))
    for cond in claim:
        _check_condition(cond, source)
        if cond.get("scene") is not None:
            if not isinstance(cond["scene"], dict):
                raise GradvizError(_("{source}: claim scene must be an object of settings")
                                   .format(source=source))
            Scene.from_dict({**scene.to_dict(), **cond["scene"]},
                            source=_("{source}: claim scene").format(source=source))
    return Preset(name=name, title=data["title"], explanation=data["explanation"], scene=scene,
                  compare=compare, step=step, claim=claim, title_zh=data.get("title_zh"),
                  explanation_zh=data.get("explanation_zh"))


def _read(path: Path) -> Preset:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise GradvizError(_("{name}: cannot be read ({name2})")
                           .format(name=path.name, name2=type(exc).__name__)) from None
    except json.JSONDecodeError as exc:
        raise GradvizError(_("{name}: not JSON (line {lineno}: {msg})")
                           .format(name=path.name, lineno=exc.lineno, msg=exc.msg)) from None
    preset = preset_from_dict(data, source=path.name, folder=path.parent)
    preset.path = path
    return preset


def preset_files(folder: Path = PRESETS_DIR) -> list[Path]:
    """The ``NN_name.json`` files, in gallery order."""
    return sorted(p for p in Path(folder).glob("*.json") if _FILE.match(p.name))


def list_presets(folder: Path = PRESETS_DIR) -> list[Preset]:
    """Every preset, in gallery order."""
    return [_read(p) for p in preset_files(folder)]


def _slug(path: Path) -> str:
    """'tanh-vanishing' of 01_tanh-vanishing.json (a file :func:`preset_files` listed)."""
    m = _FILE.match(path.name)
    assert m is not None, path
    return m.group(2)


def preset_names(folder: Path = PRESETS_DIR) -> list[str]:
    """The slugs ``--preset`` accepts, in gallery order (without parsing the files)."""
    return [_slug(p) for p in preset_files(folder)]


def load_preset(name: str, folder: Path = PRESETS_DIR) -> Preset:
    """The preset called ``name`` (its slug, or its file name ``NN_name``)."""
    for path in preset_files(folder):
        if name in (_slug(path), path.stem):
            return _read(path)
    names = preset_names(folder)
    raise GradvizError(_("unknown preset {name!r}: expected one of {value}")
                       .format(name=name, value=', '.join(names)))


# ---------------------------------------------------------------- checking claims

def _log10_norm2(scale: float, block: np.ndarray) -> float:
    """scale + log10 of the block's largest singular value; an exact zero is LOG10_ZERO."""
    if scale <= LOG10_ZERO:
        return LOG10_ZERO
    sv = float(np.linalg.norm(block, 2)) if block.size > 1 else abs(float(block.flat[0]))
    return scale + math.log10(sv) if sv > 0 else LOG10_ZERO


def _column(jacobians: Jacobians, i: int, h_size: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Exact log10 2-norms of ∂h_t/∂h_i (and ∂c_t/∂c_i) for t = 0..T (NaN for t < i).

    One forward product per column, renormalised every step with its log10 scale kept apart
    (T small SVDs; the whole exact map would need T²/2).
    """
    T, n = jacobians.shape[0], jacobians.shape[1]
    has_c = n > h_size
    out_h = np.full(T + 1, np.nan)
    out_c = np.full(T + 1, np.nan) if has_c else None
    P, scale = np.eye(n), 0.0
    for t in range(i, T + 1):
        if t > i and scale > LOG10_ZERO:
            P = jacobians[t - 1] @ P
            norm = float(np.sqrt(np.sum(P * P)))
            if norm > 0:
                P /= norm
                scale += math.log10(norm)
            else:
                scale = LOG10_ZERO
        out_h[t] = _log10_norm2(scale, P[:h_size, :h_size])
        if out_c is not None:
            out_c[t] = _log10_norm2(scale, P[h_size:, h_size:])
    return out_h, out_c


def _indices(spec, T: int, lo: int, hi: int, what: str) -> list[int]:
    """Resolve an index spec to a list of integers within [lo, hi]."""
    def one(v):
        if isinstance(v, bool):
            raise GradvizError(_("claim index {what}: {v!r} is not a step").format(what=what, v=v))
        if isinstance(v, int):
            return v
        if isinstance(v, str):
            m = re.fullmatch(r"T(?:-(\d+))?", v.replace(" ", ""))
            if m:
                return T - int(m.group(1) or 0)
        raise GradvizError(_("claim index {what}: {v!r} is not an integer, 'T', 'T-k' or 'all'")
                           .format(what=what, v=v))
    if spec is None or spec == "all":
        idx = list(range(lo, hi + 1))
    elif isinstance(spec, list) and len(spec) == 2:
        idx = list(range(one(spec[0]), one(spec[1]) + 1))
    else:
        idx = [one(spec)]
    bad = [k for k in idx if not lo <= k <= hi]
    if bad or not idx:
        raise GradvizError(_("claim index {what}={spec!r} is outside {lo}..{hi}")
                           .format(what=what, spec=spec, lo=lo, hi=hi))
    return idx


class _Measure:
    """Quantities of one simulated scene, computed lazily (exact columns only where asked)."""

    def __init__(self, scene: Scene):
        self.scene = scene
        self.trace = simulate(scene)
        self.T = self.trace.steps
        self._analysis: Analysis | None = None
        self._columns: dict[int, tuple] = {}

    @property
    def analysis(self) -> Analysis:
        """The Frobenius maps and theory, computed when a claim first needs them."""
        if self._analysis is None:
            s = self.scene
            self._analysis = analyse(self.trace, s.layer, s.direction, exact=False)
        return self._analysis

    def column(self, i: int):
        if i not in self._columns:
            a = self.analysis
            self._columns[i] = _column(a.jacobians, i, a.h_size)
        return self._columns[i]

    def lambda1(self) -> float:
        """λ₁ as the Lyapunov view shows it (transient T/5, start vector from the seed)."""
        from .jacobians import step_jacobians
        from .lyapunov import default_transient, lambda1
        J = step_jacobians(self.trace, self.scene.layer, self.scene.direction)
        return lambda1(J, transient=default_transient(J.shape[0]), seed=self.scene.seed)[0]

    def map_entry(self, q: str, t: int, i: int) -> float:
        a = self.analysis
        if q == "log10_jac_h":
            return float(self.column(i)[0][t])
        if q == "log10_jac_c":
            col = self.column(i)[1]
            if col is None:
                raise GradvizError(_("claim log10_jac_c needs an LSTM"))
            return float(col[t])
        if q == "bound_gap_h":
            return self.map_entry("log10_bound_h", t, i) - self.map_entry("log10_jac_h", t, i)
        assert a.jac is not None, "claims are measured on the full map"
        m = {"log10_jac_h_fro": a.jac.h_fro, "log10_bound_h": a.bound_h,
             "log10_forget_path": a.forget_path, "log10_update_path": a.update_path}[q]
        if m is None:
            raise GradvizError(_("claim {q} does not apply to {a_label}").format(q=q, a_label=a.kind.a_label))
        return float(m[t, i])

    def values(self, cond: dict) -> np.ndarray:
        q, T = cond["quantity"], self.T
        axes = QUANTITIES[q]
        if q == "lyapunov_lambda1":     # needs the one-step Jacobians only, not the maps
            return np.array([self.lambda1()])
        a = self.analysis
        if axes == ("t", "i"):
            ts = _indices(cond.get("t"), T, 0, T, "t")
            is_ = _indices(cond.get("i"), T, 0, T, "i")
            vals = [self.map_entry(q, t, i) for i in is_ for t in ts if i <= t]
        elif axes == ("step",):
            steps = _indices(cond.get("step"), T, 1, T, "step")
            series = {"log10_step_factor": a.step_factor, "f_mean": a.gate_stats.get("f_mean"),
                      "z_mean": a.gate_stats.get("z_mean")}[q]
            if series is None:
                raise GradvizError(_("claim {q} does not apply to {a_label}")
                                   .format(q=q, a_label=a.kind.a_label))
            vals = [float(series[k - 1]) for k in steps]
        else:
            w_hh = a.trace.net.layer_params(a.layer, a.direction)["w_hh"]
            vals = [{"sigma_max_whh": lambda: a.sigma_max,
                     "spectral_radius_whh": lambda: _spectral_radius(w_hh),
                     "overflow_step": lambda: float(a.trace.overflow_step or 0),
                     "steps": lambda: float(T)}[q]()]
        if not vals:
            raise GradvizError(_("claim on {q}: no entries selected").format(q=q))
        return np.array(vals, dtype=np.float64)


def _spectral_radius(w_hh: np.ndarray) -> float:
    """max |eigenvalue| of each square gate block of W_hh (the largest over blocks)."""
    cols = w_hh.shape[1]
    blocks = [w_hh[k:k + cols] for k in range(0, w_hh.shape[0], cols)]
    return float(max(np.abs(np.linalg.eigvals(b)).max() for b in blocks))


def measure_condition(cond: dict, measure: _Measure) -> float:
    vals = measure.values(cond)
    if len(vals) > 1 and "reduce" not in cond:
        raise GradvizError(_("claim on {quantity} selects {value} entries: give 'reduce' (max, min, mean or "
                             "maxabs)")
                           .format(quantity=cond['quantity'], value=len(vals)))
    return float(REDUCE[cond.get("reduce", "max")](vals))


def condition_holds(cond: dict, value: float) -> bool:
    ok = math.isfinite(value)
    if "below" in cond:
        ok = ok and value < cond["below"]
    if "above" in cond:
        ok = ok and value > cond["above"]
    return ok


def check_claim(preset: Preset):
    """(every condition holds, measured) for ``preset``'s claim.

    ``measured`` is one float for a single condition, else a list of floats in claim order.
    """
    cache: dict[str, _Measure] = {}
    values, ok = [], True
    for cond in preset.claim:
        overrides = cond.get("scene") or {}
        key = json.dumps(overrides, sort_keys=True)
        if key not in cache:
            scene = preset.scene.replace(**overrides) if overrides else preset.scene
            cache[key] = _Measure(scene)
        value = measure_condition(cond, cache[key])
        values.append(value)
        ok = ok and condition_holds(cond, value)
    return ok, (values[0] if len(values) == 1 else values)
