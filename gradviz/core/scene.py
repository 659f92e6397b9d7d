"""A scene: every setting that decides what gradviz shows, and the pipeline from it to numbers.

``Scene`` is plain data (what a session file and a preset store, what the window's controls
edit, what ``gradviz export`` parses its options into). ``simulate`` turns it into a
:class:`~gradviz.core.dynamics.Trace`, ``analyse`` a trace into every plotted quantity. The
window and the export call these same functions.
"""
from __future__ import annotations

import math
import types
import typing
from dataclasses import asdict, dataclass, field, fields, replace

import numpy as np

from . import theory
from .cells import INITS, CellSpec, RecurrentNet, init_net, load_state_dict_file, scale_recurrent
from .cells import multiply_recurrent, set_gate_bias, sigma_max
from .dynamics import Trace, run
from .errors import GradvizError
from .inputs import SIGNALS, make_signal, read_csv
from .i18n import N_, _
from .jacobians import (JacobianMap, RowNorms, StepJacobians, coarse_map,
                        frobenius_row_steps, row_norms, row_norms_steps)
from .kinds import CELL_NAMES, cell_name
from .plan import check_scene


@dataclass
class Scene:
    """Everything needed to reproduce what is on screen (weights from a seed or a file)."""

    cell: str = "rnn"                 # rnn | lstm | gru
    nonlinearity: str = "tanh"        # RNN only: tanh | relu | sigmoid
    hidden_size: int = 16
    input_size: int = 1
    num_layers: int = 1
    bidirectional: bool = False
    proj_size: int = 0
    steps: int = 100
    seed: int = 0
    init: str = "orthogonal"
    wr_scale: float | None = 0.9      # target σ_max(W_hh) (the weight w itself when H = 1)
    forget_bias: float | None = None  # LSTM effective b_f (b_if + b_hf); None = as initialised
    forget_clamp: float | None = None # LSTM: force f_t = this constant
    update_bias: float | None = None  # GRU effective b_z
    input: str = "sine"
    amplitude: float = 1.0
    h0: float = 0.0
    layer: int = 0
    direction: int = 0
    state_dict_path: str | None = None
    inputs_path: str | None = None
    inputs_columns: str | None = None  # CSV columns that drive the cell: names or 1-based numbers
    inputs_time: str | None = None     # a CSV column that labels (and orders) the steps
    gain: float | None = None         # W_hh multiplied by g before wr_scale (gaussian init:
                                      # entries N(0, g²/H)); a set wr_scale overrides it

    @property
    def cell_name(self) -> str:
        """The ``--cell`` name: rnn, rnn-relu, rnn-sigmoid, lstm or gru."""
        return cell_name(self.cell, self.nonlinearity)

    def with_cell(self, name: str) -> Scene:
        """The scene with the cell a ``--cell`` name (e.g. ``rnn-relu``) or a kind names."""
        if name in CELL_NAMES:
            c = CELL_NAMES[name]
            return self.replace(cell=c.kind, nonlinearity=c.nonlinearity)
        return self.replace(cell=name)

    def spec(self) -> CellSpec:
        return CellSpec(kind=self.cell, input_size=self.input_size, hidden_size=self.hidden_size,
                        num_layers=self.num_layers, nonlinearity=self.nonlinearity,
                        bidirectional=self.bidirectional, proj_size=self.proj_size)

    def replace(self, **changes) -> Scene:
        return replace(self, **changes)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict, source: str = "scene") -> Scene:
        """A scene from plain data; unknown keys or wrong types are a :class:`GradvizError`."""
        if not isinstance(data, dict):
            raise GradvizError(_("{source}: expected an object of scene settings").format(source=source))
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise GradvizError(_("{source}: unknown setting {value}").format(
                source=source, value=_short(unknown[0])))
        types_, optional = _field_types()
        values: dict[str, typing.Any] = {}
        for name, value in data.items():
            kind = types_[name]
            if value is None:
                if name not in optional:
                    raise GradvizError(_("{source}: {name} must be set, got null")
                                       .format(source=source, name=name))
            elif kind is bool and not isinstance(value, bool):
                raise GradvizError(_("{source}: {name} must be true or false, got {value}")
                                   .format(source=source, name=name, value=_short(value)))
            elif kind is int and (isinstance(value, bool) or not isinstance(value, int)):
                raise GradvizError(_("{source}: {name} must be an integer, got {value}")
                                   .format(source=source, name=name, value=_short(value)))
            elif kind is float and (isinstance(value, bool) or not isinstance(value, (int, float))):
                raise GradvizError(_("{source}: {name} must be a number, got {value}")
                                   .format(source=source, name=name, value=_short(value)))
            elif kind is str and not isinstance(value, str):
                raise GradvizError(_("{source}: {name} must be text, got {value}")
                                   .format(source=source, name=name, value=_short(value)))
            values[name] = float(value) if kind is float and value is not None else value
        scene = cls(**values)
        scene.validate()
        return scene

    def validate(self) -> None:
        """Raise a :class:`GradvizError` naming the first setting that cannot work."""
        for name in _SIZES:
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
                raise GradvizError(_("{name} must be a positive integer, got {value}")
                                   .format(name=_(_FIELD_NAMES[name]), value=_short(v)))
        for name in ("proj_size", "layer", "direction"):
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool):
                raise GradvizError(_("{name} must be an integer, got {value}")
                                   .format(name=_(_FIELD_NAMES[name]), value=_short(v)))
        if not isinstance(self.seed, (int, np.integer)) or isinstance(self.seed, bool) \
                or not 0 <= self.seed <= SEED_MAX:
            raise GradvizError(_("seed must be an integer from 0 to {max}, got {value}")
                               .format(max=SEED_MAX, value=_short(self.seed)))
        if not 0 <= self.proj_size < self.hidden_size:
            raise GradvizError(_("proj size must lie in [0, hidden size), got {value}")
                               .format(value=_short(self.proj_size)))
        self.spec()   # kind, nonlinearity, projection
        if self.init not in INITS:
            raise GradvizError(_("unknown init {value}: expected one of {names}")
                               .format(value=_short(self.init), names=", ".join(INITS)))
        if self.input not in SIGNALS:
            raise GradvizError(_("unknown input {value}: expected one of {names}")
                               .format(value=_short(self.input), names=", ".join(SIGNALS)))
        for name in ("wr_scale", "forget_bias", "forget_clamp", "update_bias", "amplitude", "h0",
                     "gain"):
            v = getattr(self, name)
            if v is not None and not math.isfinite(v):
                raise GradvizError(_("{name} must be a finite number, got {v}").format(name=name, v=v))
        if self.gain is not None and self.gain <= 0:
            raise GradvizError(_("gain must be positive, got {gain}").format(gain=self.gain))
        if self.wr_scale is not None and abs(self.wr_scale) > WR_SCALE_MAX:
            raise GradvizError(_("wr_scale must be at most {max:g} in size (beyond it W_hh·h "
                                 "overflows float64), got {value:g}")
                               .format(max=WR_SCALE_MAX, value=self.wr_scale))
        if self.forget_clamp is not None and not 0.0 <= self.forget_clamp <= 1.0:
            raise GradvizError(_("forget clamp must lie in [0, 1], got {forget_clamp}")
                               .format(forget_clamp=self.forget_clamp))
        if not 0 <= self.layer < self.num_layers:
            raise GradvizError(_("layer {layer} does not exist: the cell has {num_layers} layer(s)")
                               .format(layer=_short(self.layer), num_layers=self.num_layers))
        if not 0 <= self.direction < (2 if self.bidirectional else 1):
            message = (_("direction {direction} does not exist: the cell is bidirectional")
                       if self.bidirectional else
                       _("direction {direction} does not exist: the cell is unidirectional"))
            raise GradvizError(message.format(direction=_short(self.direction)))
        kind = self.spec().cell_kind
        check_scene(kind.gate_count, self.hidden_size, self.proj_size, self.num_layers,
                    2 if self.bidirectional else 1, self.steps, self.input_size)


#: sizes that must be positive; how large they may be is what this machine can run
#: (:func:`gradviz.core.plan.check_scene`), not a fixed table
_SIZES = ("hidden_size", "input_size", "num_layers", "steps")
#: the fields a message names, as it names them
_FIELD_NAMES = {"hidden_size": N_("hidden size"), "input_size": N_("input size"),
                "num_layers": N_("layers"), "steps": N_("steps"), "proj_size": N_("proj size"),
                "layer": N_("layer"), "direction": N_("direction")}
#: seeds as the window's spin box takes them
SEED_MAX = 2**31 - 1
#: |wr_scale| beyond which W_hh·h overflows float64 for any hidden size gradviz can run
WR_SCALE_MAX = 1e300


def _short(value) -> str:
    """A value for an error message, cut short (a session may hold a 400-digit integer)."""
    text = repr(value)
    return text if len(text) <= 24 else text[:20] + "…"


def _field_types() -> tuple[dict[str, type], set[str]]:
    """Each Scene field's type (int, float, bool, str) and the fields that may be None, read
    from the dataclass annotations themselves."""
    hints = typing.get_type_hints(Scene)
    types_, optional = {}, set()
    for name, hint in hints.items():
        args = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
        if type(None) in args:
            optional.add(name)
        types_[name] = next(a for a in args if a is not type(None))
    return types_, optional


def load_base_net(scene: Scene) -> RecurrentNet:
    """The weights before any slider: from ``state_dict_path`` or from seed + init."""
    if scene.state_dict_path:
        return load_state_dict_file(scene.state_dict_path, scene.nonlinearity)
    return init_net(scene.spec(), seed=scene.seed, init=scene.init)


def scene_from_net(scene: Scene, net: RecurrentNet) -> Scene:
    """The scene's sizes made to agree with a loaded net (kind, sizes, layers, projection)."""
    s = net.spec
    return scene.replace(cell=s.kind, input_size=s.input_size, hidden_size=s.hidden_size,
                         num_layers=s.num_layers, bidirectional=s.bidirectional,
                         proj_size=s.proj_size,
                         layer=min(scene.layer, s.num_layers - 1),
                         direction=min(scene.direction, s.directions - 1))


def apply_sliders(net: RecurrentNet, scene: Scene) -> RecurrentNet:
    """The slider settings on top of the base weights (each a copy, torch layout kept)."""
    kind = net.spec.cell_kind
    if not kind.gates and net.spec.nonlinearity != scene.nonlinearity:   # an RNN's φ
        net = net.with_spec(nonlinearity=scene.nonlinearity)
    if scene.gain is not None:
        net = multiply_recurrent(net, scene.gain)
    if scene.wr_scale is not None:
        net = scale_recurrent(net, scene.wr_scale)
    if kind.bias_field and getattr(scene, kind.bias_field) is not None:
        net = set_gate_bias(net, kind.bias_field, getattr(scene, kind.bias_field))
    return net


@dataclass
class Resolved:
    """A scene made to agree with its files, and what it runs on.

    One rule, used by the window, the export and sessions: a state_dict decides the kind and
    sizes; a CSV of inputs decides T (and the input size when nothing else fixes it).
    """

    scene: Scene
    base: RecurrentNet              # the weights before the sliders
    raw_inputs: np.ndarray | None   # the CSV's numbers before the amplitude (None: a signal)
    inputs: np.ndarray              # (T, input_size): what drives the cell


def resolve(scene: Scene, base: RecurrentNet | None = None, raw_inputs: np.ndarray | None = None,
            csv_sets_input_size: bool = False) -> Resolved:
    """Read (or take) the scene's weights and inputs and make the scene agree with them.

    ``base``/``raw_inputs`` skip reading ``state_dict_path``/``inputs_path`` (a cache, or the
    copies embedded in a session). With ``csv_sets_input_size`` (no weights file, no input size
    given) the CSV's width becomes the input size instead of having to match it.
    """
    if scene.state_dict_path:
        if base is None:
            base = load_base_net(scene)
        scene = scene_from_net(scene, base)
    free = csv_sets_input_size and base is None
    scene, raw_inputs, inputs = _inputs(scene, raw_inputs, free)
    if base is None:   # built after the CSV, which may have set the input size
        base = load_base_net(scene)
    return Resolved(scene=scene, base=base, raw_inputs=raw_inputs, inputs=inputs)


def _inputs(scene: Scene, raw: np.ndarray | None, free_width: bool):
    """(scene with T from the CSV, the CSV's numbers or None, amplitude × CSV or the signal)."""
    if not scene.inputs_path:
        return scene, None, make_signal(scene.input, scene.steps, scene.input_size,
                                        scene.amplitude, scene.seed)
    if raw is None:
        raw = read_csv(scene.inputs_path, expected_width=None if free_width else scene.input_size,
                       columns=scene.inputs_columns, time=scene.inputs_time)
    raw = np.asarray(raw, dtype=np.float64)
    scene = scene.replace(steps=int(raw.shape[0]), input_size=int(raw.shape[1]))
    return scene, raw, scene.amplitude * raw


def simulate(scene: Scene, base: RecurrentNet | None = None, inputs: np.ndarray | None = None) -> Trace:
    """Run the scene's cell over its inputs. ``base``/``inputs`` skip reloading files."""
    scene.validate()
    if base is None:
        base = load_base_net(scene)
    if inputs is None:
        sized = scene_from_net(scene, base) if scene.state_dict_path else scene
        inputs = _inputs(sized, None, False)[2]
    net = apply_sliders(base, scene)
    clamp = scene.forget_clamp if net.spec.cell_kind.has_cell else None
    return run(net, inputs, h0=scene.h0, forget_clamp=clamp)


@dataclass
class Analysis:
    """Every plotted quantity for one layer and direction of a trace (log10, [t, i] maps).

    ``jac`` is the map of ‖∂h_t/∂h_i‖ (and ‖∂c_t/∂c_i‖): full (stride 1), coarse (exact at
    every s-th step) or None while the window computes it. The theory (the Pascanu bound for a
    kind without a path gate, else its gate path) is kept as per-step log factors; its rows,
    its column from step 0 and its maps at any stride are computed when asked for.
    """

    trace: Trace
    layer: int
    direction: int
    jacobians: StepJacobians         # J[t-1] = ∂s_t/∂s_{t-1}, s = h or [h; c]
    jac: JacobianMap | None          # ∂h_t/∂h_i (and ∂c_t/∂c_i) for every pair, or None
    sigma_max: float                 # σ_max(W_hh) of this layer and direction
    theory_logs: np.ndarray          # (T, m) per-step log10 factors of the theory path
    step_factor: np.ndarray | None = None    # no path gate (RNN): log10 max|φ'(a_k)|·σ_max, (T,)
    gate_stats: dict[str, np.ndarray] = field(default_factory=dict)  # per-step means / maxima
    rows: dict[int, RowNorms] = field(default_factory=dict, repr=False, compare=False)
    _maps: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def kind(self):
        """The cell kind's registry entry (:class:`~gradviz.core.kinds.CellKind`)."""
        return self.trace.net.spec.cell_kind

    @property
    def steps(self) -> int:
        return self.jacobians.shape[0]

    @property
    def h_size(self) -> int:
        return self.trace.net.spec.state_size

    # the theory ------------------------------------------------------------------------------
    def theory_map(self, stride: int = 1) -> np.ndarray:
        """The theory for every pair (i, t), or at every ``stride``-th step (cached)."""
        if stride not in self._maps:
            self._maps[stride] = theory._pair_map(self.theory_logs, stride)
        return self._maps[stride]

    def theory_row(self, t: int) -> np.ndarray:
        """The theory for (t, i), i = 0..t (from the cached running sums: a redraw's row
        without the cumsums, which cost 2-5 ms on the GUI thread while a slider drags)."""
        return theory.row_of(self._running_sums(), t)

    def theory_from_start(self) -> np.ndarray:
        """The theory for (t, 0), t = 0..T (cached, with the running sums the rows use: the
        worker computes them, the views read them)."""
        if "from_start" not in self._maps:
            self._maps["from_start"] = theory.start_column(self._running_sums())
        return self._maps["from_start"]

    def _running_sums(self) -> tuple[np.ndarray, np.ndarray]:
        if "running_sums" not in self._maps:
            self._maps["running_sums"] = theory.unit_running_sums(self.theory_logs)
        return self._maps["running_sums"]

    @property
    def bound_h(self) -> np.ndarray | None:
        """RNN: the Pascanu bound map (None for kinds with a path gate)."""
        return self.theory_map() if self.kind.path_gate is None else None

    @property
    def gate_path(self) -> np.ndarray | None:
        """The kind's gate path: log10 max_j ∏ gate_k[j] for every pair (None for an RNN)."""
        return self.theory_map() if self.kind.path_gate else None

    @property
    def forget_path(self) -> np.ndarray | None:
        """LSTM: log10 max_j ∏ f_k[j] for every pair (None for other kinds)."""
        return self.gate_path if self.kind.path_gate == "f" else None

    @property
    def update_path(self) -> np.ndarray | None:
        """GRU: log10 max_j ∏ z_k[j] for every pair (None for other kinds)."""
        return self.gate_path if self.kind.path_gate == "z" else None

    # the map and rows --------------------------------------------------------------------------
    def with_map(self, jac: JacobianMap) -> Analysis:
        """The same analysis with another (finer) map; the theory computed so far is shared."""
        return replace(self, jac=jac)

    def row(self, t: int, exact: bool = True, should_stop=None, dtype=np.float64) -> RowNorms:
        """Norms of ∂h_t/∂h_i for i = 0..t: 2-norms and Frobenius (only Frobenius if not exact,
        then in ``dtype``, by the kind's step factors where it has them: no Jacobian formed);
        ``should_stop()`` is asked now and then (raises jacobians.Stopped)."""
        factors = None if exact else self.step_factors(dtype)
        return row_norms(self.jacobians, t, self.h_size, exact=exact, should_stop=should_stop,
                         dtype=dtype, factors=factors)

    def row_steps(self, t: int, exact: bool = True, should_stop=None, every: float = 0.25,
                  dtype=np.float64, threads: int = 1):
        """:meth:`row` as a generator of partial rows (nearest lags first) about every
        ``every`` seconds; returns the complete row (see jacobians.row_norms_steps). Not
        ``exact``: Frobenius norms in ``dtype`` by the kind's step factors where it has them,
        a cell state's h and c rows side by side with ``threads`` 2 (a trained model's first
        row: see jacobians.frobenius_row_steps)."""
        if exact:
            return row_norms_steps(self.jacobians, t, self.h_size, exact=True,
                                   should_stop=should_stop, every=every)
        factors = self.step_factors(dtype, threads if self.kind.has_cell else 1)
        return frobenius_row_steps(self.jacobians, t, self.h_size, should_stop, dtype,
                                   factors, every=every, threads=threads)

    def step_factors(self, dtype, copies: int = 1):
        """``copies`` of the kind's step factors in ``dtype`` (one per thread: they keep
        buffers), or None where the kind has none (see kinds.base.StepFactors)."""
        if self.kind.row_factors is None:
            return None
        made = [self.kind.row_factors(self.trace, self.layer, self.direction, dtype)
                for _ in range(max(1, copies))]
        return None if made[0] is None else tuple(made)

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays of ``trace.npz`` (see README): states, output, gates, log10 maps."""
        lt = self.trace.layer(self.layer, self.direction)
        kind = self.kind
        out: dict[str, np.ndarray] = {"h": lt.h, "output": self.trace.output,
                                      "inputs": self.trace.inputs}
        if lt.c is not None:
            out["c"] = lt.c
        for name, values in lt.gates.items():
            out[f"gate_{name}"] = values
        for name, values in lt.preact.items():
            out[f"preact_{name}"] = values
        if lt.dphi is not None:
            out["dphi"] = lt.dphi
        jac = self.jac
        stride = 1 if jac is None else jac.stride
        if jac is not None:
            out["log10_jac_h_fro"] = jac.h_fro
            if jac.h is not None:
                out["log10_jac_h"] = jac.h
            if jac.c_fro is not None:
                out["log10_jac_c"] = jac.c if jac.c is not None else jac.c_fro
                out["log10_jac_c_fro"] = jac.c_fro
        if kind.path_array is not None:
            out[kind.path_array] = self.theory_map(stride)
        else:
            out["log10_bound_h"] = self.theory_map(stride)
        if self.step_factor is not None:
            out["log10_step_factor"] = self.step_factor
        out["sigma_max_whh"] = np.array(self.sigma_max)
        out["overflow_step"] = np.array(self.trace.overflow_step or 0)
        out["map_stride"] = np.array(float(stride))   # the map holds every stride-th step
        return out


def analyse(trace: Trace, layer: int = 0, direction: int = 0, exact: bool = True,
            dtype=np.float64, stride: int | None = 1, threads: int = 1) -> Analysis:
    """Jacobian products and theory for one layer and direction.

    ``exact`` adds 2-norms of every pair (what the export writes); without it only Frobenius
    norms are computed (``dtype`` float32 in the window). ``stride`` s > 1 computes the map at
    every s-th step only (exact there); None computes no map yet (the window's first stage).
    ``threads`` 2 computes the map on two threads (the same numbers, sooner).
    """
    spec = trace.net.spec
    kind = spec.cell_kind
    lt = trace.layer(layer, direction)
    J = StepJacobians(trace, layer, direction)
    w_hh = trace.net.layer_params(layer, direction)["w_hh"]
    if kind.path_gate is None:
        assert lt.dphi is not None, "a kind without a path gate records φ'(a_t)"
        step_factor = theory.rnn_step_factor(lt.dphi, w_hh)
        logs, stats = step_factor[:, None], {}
    else:
        gate = lt.gates[kind.path_gate]
        step_factor, logs = None, theory.gate_logs(gate)
        name = kind.path_gate
        stats = {f"{name}_mean": gate.mean(axis=1), f"{name}_max": gate.max(axis=1)}
    jac = None if stride is None else coarse_map(J, spec.state_size, stride, exact=exact,
                                                 dtype=dtype, threads=threads)
    return Analysis(trace=trace, layer=layer, direction=direction, jacobians=J, jac=jac,
                    sigma_max=sigma_max(w_hh), theory_logs=logs, step_factor=step_factor,
                    gate_stats=stats)


def trace_arrays(analysis) -> dict:
    """The arrays of ``trace.npz``: ``Analysis.arrays()`` with every float array in float64."""
    arrays = dict(analysis.arrays())
    out = {}
    for name, value in arrays.items():
        if value is None:
            continue
        a = np.asarray(value)
        if a.dtype.kind == "f":
            a = a.astype(np.float64)
            # maps hold NaN above the diagonal (no pair i > t); nothing else may be non-finite
            check = np.tril(a) if a.ndim == 2 and a.shape[0] == a.shape[1] > 1 and \
                name.startswith("log10_") and name != "log10_step_factor" else a
            if not np.all(np.isfinite(check)):
                raise GradvizError(_("{name} would hold NaN or inf: not written (please report "
                                     "the scene: gradviz computes every number in log space)")
                                   .format(name=name))
        out[name] = a
    return out
