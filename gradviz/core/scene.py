"""A scene: every setting that decides what gradviz shows, and the pipeline from it to numbers.

``Scene`` is plain data (what a session file and a preset store, what the window's controls
edit, what ``gradviz export`` parses its options into). ``simulate`` turns it into a
:class:`~gradviz.core.dynamics.Trace`, ``analyse`` a trace into every plotted quantity. The
window and the export call these same functions.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields, replace

import numpy as np

from . import theory
from .cells import INITS, CellSpec, RecurrentNet, init_net, load_state_dict_file, scale_recurrent
from .cells import set_forget_bias, set_update_bias, sigma_max
from .dynamics import Trace, run
from .errors import GradvizError
from .inputs import SIGNALS, make_signal, read_csv
from .jacobians import JacobianMap, RowNorms, jacobian_map, row_norms, step_jacobians

#: the names ``--cell`` accepts: (kind, nonlinearity)
CELLS = {"rnn": ("rnn", "tanh"), "rnn-relu": ("rnn", "relu"), "rnn-sigmoid": ("rnn", "sigmoid"),
         "lstm": ("lstm", "tanh"), "gru": ("gru", "tanh")}


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

    @property
    def cell_name(self) -> str:
        """The ``--cell`` name: rnn, rnn-relu, rnn-sigmoid, lstm or gru."""
        if self.cell == "rnn" and self.nonlinearity != "tanh":
            return f"rnn-{self.nonlinearity}"
        return self.cell

    def spec(self) -> CellSpec:
        return CellSpec(kind=self.cell, input_size=self.input_size, hidden_size=self.hidden_size,
                        num_layers=self.num_layers, nonlinearity=self.nonlinearity,
                        bidirectional=self.bidirectional, proj_size=self.proj_size)

    def replace(self, **changes) -> "Scene":
        return replace(self, **changes)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict, source: str = "scene") -> "Scene":
        """A scene from plain data; unknown keys or wrong types are a :class:`GradvizError`."""
        if not isinstance(data, dict):
            raise GradvizError(f"{source}: expected an object of scene settings")
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise GradvizError(f"{source}: unknown setting {unknown[0]!r}")
        values = {}
        for name, value in data.items():
            kind = _FIELD_TYPES[name]
            if value is None:
                if name not in _OPTIONAL:
                    raise GradvizError(f"{source}: {name} must be set, got null")
            elif kind is bool and not isinstance(value, bool):
                raise GradvizError(f"{source}: {name} must be true or false, got {value!r}")
            elif kind is int and (isinstance(value, bool) or not isinstance(value, int)):
                raise GradvizError(f"{source}: {name} must be an integer, got {value!r}")
            elif kind is float and (isinstance(value, bool) or not isinstance(value, (int, float))):
                raise GradvizError(f"{source}: {name} must be a number, got {value!r}")
            elif kind is str and not isinstance(value, str):
                raise GradvizError(f"{source}: {name} must be text, got {value!r}")
            values[name] = float(value) if kind is float and value is not None else value
        scene = cls(**values)
        scene.validate()
        return scene

    def validate(self) -> None:
        """Raise a :class:`GradvizError` naming the first setting that cannot work."""
        for name, top in _LIMITS.items():
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or not 1 <= v <= top:
                raise GradvizError(f"{name.replace('_', ' ')} must be an integer from 1 to {top}, "
                                   f"got {v!r}")
        if not 0 <= self.proj_size < self.hidden_size:
            raise GradvizError(f"proj size must lie in [0, hidden size), got {self.proj_size}")
        self.spec()   # kind, nonlinearity, projection
        if self.init not in INITS:
            raise GradvizError(f"unknown init {self.init!r}: expected one of {', '.join(INITS)}")
        if self.input not in SIGNALS:
            raise GradvizError(f"unknown input {self.input!r}: expected one of {', '.join(SIGNALS)}")
        for name in ("wr_scale", "forget_bias", "forget_clamp", "update_bias", "amplitude", "h0"):
            v = getattr(self, name)
            if v is not None and not math.isfinite(v):
                raise GradvizError(f"{name} must be a finite number, got {v}")
        if self.forget_clamp is not None and not 0.0 <= self.forget_clamp <= 1.0:
            raise GradvizError(f"forget clamp must lie in [0, 1], got {self.forget_clamp}")
        if not 0 <= self.layer < self.num_layers:
            raise GradvizError(f"layer {self.layer} does not exist: the cell has "
                               f"{self.num_layers} layer(s)")
        if not 0 <= self.direction < (2 if self.bidirectional else 1):
            raise GradvizError(f"direction {self.direction} does not exist: the cell is "
                               f"{'bi' if self.bidirectional else 'uni'}directional")


#: upper limits that keep a scene computable on a laptop (the map is (T+1)² pairs)
_LIMITS = {"hidden_size": 1024, "input_size": 1024, "num_layers": 16, "steps": 20_000}
_FIELD_TYPES = {"cell": str, "nonlinearity": str, "hidden_size": int, "input_size": int,
                "num_layers": int, "bidirectional": bool, "proj_size": int, "steps": int,
                "seed": int, "init": str, "wr_scale": float, "forget_bias": float,
                "forget_clamp": float, "update_bias": float, "input": str, "amplitude": float,
                "h0": float, "layer": int, "direction": int, "state_dict_path": str,
                "inputs_path": str}
_OPTIONAL = {"wr_scale", "forget_bias", "forget_clamp", "update_bias", "state_dict_path",
             "inputs_path"}


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
    if net.spec.kind == "rnn" and net.spec.nonlinearity != scene.nonlinearity:
        net = net.with_spec(nonlinearity=scene.nonlinearity)
    if scene.wr_scale is not None:
        net = scale_recurrent(net, scene.wr_scale)
    if scene.forget_bias is not None and net.spec.kind == "lstm":
        net = set_forget_bias(net, scene.forget_bias)
    if scene.update_bias is not None and net.spec.kind == "gru":
        net = set_update_bias(net, scene.update_bias)
    return net


def scene_inputs(scene: Scene) -> np.ndarray:
    """x (T, input_size): A times the CSV file if one is set (it decides T), else A times the
    chosen signal (A = amplitude)."""
    if scene.inputs_path:
        return scene.amplitude * read_csv(scene.inputs_path, expected_width=scene.input_size)
    return make_signal(scene.input, scene.steps, scene.input_size, scene.amplitude, scene.seed)


def simulate(scene: Scene, base: RecurrentNet | None = None, inputs: np.ndarray | None = None) -> Trace:
    """Run the scene's cell over its inputs. ``base``/``inputs`` skip reloading files."""
    scene.validate()
    base = base if base is not None else load_base_net(scene)
    net = apply_sliders(base, scene)
    x = inputs if inputs is not None else scene_inputs(scene)
    clamp = scene.forget_clamp if net.spec.kind == "lstm" else None
    return run(net, x, h0=scene.h0, forget_clamp=clamp)


@dataclass
class Analysis:
    """Every plotted quantity for one layer and direction of a trace (log10, [t, i] maps)."""

    trace: Trace
    layer: int
    direction: int
    jacobians: np.ndarray            # (T, n, n): J[t-1] = ∂s_t/∂s_{t-1}, s = h or [h; c]
    jac: JacobianMap                 # ∂h_t/∂h_i (and ∂c_t/∂c_i) for every pair
    sigma_max: float                 # σ_max(W_hh) of this layer and direction
    bound_h: np.ndarray | None = None        # RNN: Pascanu bound map
    step_factor: np.ndarray | None = None    # RNN: log10 max|φ'(a_k)|·σ_max, (T,)
    forget_path: np.ndarray | None = None    # LSTM: log10 max_j ∏ f_k[j] map
    update_path: np.ndarray | None = None    # GRU: log10 max_j ∏ z_k[j] map
    gate_stats: dict[str, np.ndarray] = field(default_factory=dict)  # per-step means / maxima

    @property
    def steps(self) -> int:
        return self.jacobians.shape[0]

    @property
    def h_size(self) -> int:
        return self.trace.net.spec.state_size

    def row(self, t: int) -> RowNorms:
        """Exact 2-norms (and Frobenius) of ∂h_t/∂h_i for i = 0..t."""
        return row_norms(self.jacobians, t, self.h_size)

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays of ``trace.npz`` (see README): states, output, gates, log10 maps."""
        lt = self.trace.layer(self.layer, self.direction)
        kind = self.trace.net.spec.kind
        out = {"h": lt.h, "output": self.trace.output, "inputs": self.trace.inputs}
        if lt.c is not None:
            out["c"] = lt.c
        for name, values in lt.gates.items():
            out[f"gate_{name}"] = values
        for name, values in lt.preact.items():
            out[f"preact_{name}"] = values
        if lt.dphi is not None:
            out["dphi"] = lt.dphi
        jac = self.jac
        out["log10_jac_h_fro"] = jac.h_fro
        if jac.h is not None:
            out["log10_jac_h"] = jac.h
        if kind == "lstm":
            out["log10_jac_c"] = jac.c if jac.c is not None else jac.c_fro
            out["log10_jac_c_fro"] = jac.c_fro
            out["log10_forget_path"] = self.forget_path
        elif kind == "gru":
            out["log10_update_path"] = self.update_path
        else:
            out["log10_bound_h"] = self.bound_h
            out["log10_step_factor"] = self.step_factor
        out["sigma_max_whh"] = np.array(self.sigma_max)
        out["overflow_step"] = np.array(self.trace.overflow_step or 0)
        return out


def analyse(trace: Trace, layer: int = 0, direction: int = 0, exact: bool = True,
            dtype=np.float64) -> Analysis:
    """Jacobian products and theory for one layer and direction.

    ``exact`` adds 2-norms of every pair (what the export writes); without it only Frobenius
    norms are computed, which is what the window redraws on every slider tick (``dtype``
    float32 there).
    """
    spec = trace.net.spec
    lt = trace.layer(layer, direction)
    J = step_jacobians(trace, layer, direction)
    w_hh = trace.net.layer_params(layer, direction)["w_hh"]
    a = Analysis(trace=trace, layer=layer, direction=direction, jacobians=J,
                 jac=jacobian_map(J, spec.state_size, exact=exact, dtype=dtype),
                 sigma_max=sigma_max(w_hh))
    if spec.kind == "rnn":
        a.step_factor = theory.rnn_step_factor(lt.dphi, w_hh)
        a.bound_h = theory.rnn_bound(lt.dphi, w_hh)
    elif spec.kind == "lstm":
        a.forget_path = theory.gate_path(lt.gates["f"])
        a.gate_stats = {"f_mean": lt.gates["f"].mean(axis=1), "f_max": lt.gates["f"].max(axis=1)}
    else:
        a.update_path = theory.gate_path(lt.gates["z"])
        a.gate_stats = {"z_mean": lt.gates["z"].mean(axis=1)}
    return a


def trace_arrays(analysis) -> dict:
    """The arrays of ``trace.npz``: ``Analysis.arrays()`` with every float array in float64."""
    arrays = dict(analysis.arrays())
    out = {}
    for name, value in arrays.items():
        if value is None:
            continue
        a = np.asarray(value)
        out[name] = a.astype(np.float64) if a.dtype.kind == "f" else a
    return out
