r"""Recurrent cells with ``torch.nn``'s exact parameter layout, held as float64 numpy arrays.

A :class:`RecurrentNet` is a :class:`CellSpec` (kind, sizes, layers, directions) plus a dict
of parameters named and shaped exactly as ``torch.nn.RNN/LSTM/GRU.state_dict()``:

    weight_ih_l{l}[_reverse]  (G*H, in_l)      in_0 = input_size, in_l = D*Hh for l > 0
    weight_hh_l{l}[_reverse]  (G*H, Hh)
    bias_ih_l{l}[_reverse]    (G*H,)           when bias=True
    bias_hh_l{l}[_reverse]    (G*H,)
    weight_hr_l{l}[_reverse]  (P, H)           LSTM with proj_size P > 0

G = 1 (RNN), 4 (LSTM, gate order i, f, g, o), 3 (GRU, gate order r, z, n); H = hidden_size,
Hh = proj_size if proj_size > 0 else hidden_size, D = 2 if bidirectional else 1.

torch has no sigmoid RNN; gradviz adds ``nonlinearity='sigmoid'`` for the γ = 1/4 comparison
(its weights still load into a torch RNN, but torch will apply tanh).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .errors import GradvizError
from .i18n import _
from .kinds import KINDS, NONLINEARITIES, CellKind

INITS = ("default", "gaussian", "orthogonal", "identity")


@dataclass(frozen=True)
class CellSpec:
    """What a recurrent module is, as in ``torch.nn.RNN/LSTM/GRU``'s constructor."""

    kind: str = "rnn"
    input_size: int = 1
    hidden_size: int = 16
    num_layers: int = 1
    nonlinearity: str = "tanh"
    bias: bool = True
    batch_first: bool = False
    dropout: float = 0.0
    bidirectional: bool = False
    proj_size: int = 0

    def __post_init__(self):
        if self.kind not in KINDS:
            raise GradvizError(_("unknown cell kind {kind}: expected one of {kinds}")
                               .format(kind=_short(self.kind), kinds=", ".join(KINDS)))
        if self.nonlinearity not in NONLINEARITIES:
            raise GradvizError(_("unknown nonlinearity {value}: expected one of {names}")
                               .format(value=_short(self.nonlinearity),
                                       names=", ".join(NONLINEARITIES)))
        for name in ("input_size", "hidden_size", "num_layers"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or value <= 0:
                raise GradvizError(_("{value} must be a positive integer, got {value2}")
                                   .format(value=name.replace('_', ' '), value2=value))
        if self.proj_size < 0 or (self.proj_size and not KINDS[self.kind].supports_proj):
            raise GradvizError(_("proj_size must be 0, or positive for an LSTM only"))
        if self.proj_size >= self.hidden_size and self.proj_size:
            raise GradvizError(_("proj_size must be smaller than hidden_size (as in torch)"))
        if not 0.0 <= self.dropout <= 1.0:
            raise GradvizError(_("dropout must lie in [0, 1], got {dropout}").format(dropout=self.dropout))

    @property
    def cell_kind(self) -> CellKind:
        """This kind's entry in the registry (:mod:`gradviz.core.kinds`)."""
        return KINDS[self.kind]

    @property
    def gate_count(self) -> int:
        return self.cell_kind.gate_count

    @property
    def gates(self) -> tuple[str, ...]:
        return self.cell_kind.gates

    @property
    def directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def state_size(self) -> int:
        """Size Hh of h (proj_size for a projected LSTM, else hidden_size)."""
        return self.proj_size or self.hidden_size

    @property
    def jacobian_size(self) -> int:
        """Size of the recurrent state whose Jacobians are multiplied: [h; c] for LSTM."""
        return self.state_size + (self.hidden_size if self.cell_kind.has_cell else 0)

    def layer_input_size(self, layer: int) -> int:
        return self.input_size if layer == 0 else self.directions * self.state_size

    def param_names(self, layer: int, direction: int) -> dict[str, str]:
        """Short role -> torch key for one layer and direction."""
        sfx = f"_l{layer}" + ("_reverse" if direction else "")
        names = {"w_ih": "weight_ih" + sfx, "w_hh": "weight_hh" + sfx}
        if self.bias:
            names.update(b_ih="bias_ih" + sfx, b_hh="bias_hh" + sfx)
        if self.proj_size:
            names["w_hr"] = "weight_hr" + sfx
        return names

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        """Every torch key with its shape, in torch's order."""
        shapes: dict[str, tuple[int, ...]] = {}
        G, H, Hh = self.gate_count, self.hidden_size, self.state_size
        for layer in range(self.num_layers):
            for d in range(self.directions):
                n = self.param_names(layer, d)
                shapes[n["w_ih"]] = (G * H, self.layer_input_size(layer))
                shapes[n["w_hh"]] = (G * H, Hh)
                if self.bias:
                    shapes[n["b_ih"]] = (G * H,)
                    shapes[n["b_hh"]] = (G * H,)
                if self.proj_size:
                    shapes[n["w_hr"]] = (self.proj_size, H)
        return shapes

    def torch_kwargs(self) -> dict:
        kw = dict(input_size=self.input_size, hidden_size=self.hidden_size,
                  num_layers=self.num_layers, bias=self.bias, batch_first=self.batch_first,
                  dropout=self.dropout, bidirectional=self.bidirectional)
        kw.update(self.cell_kind.extra_torch_kwargs(self))
        return kw


@dataclass
class RecurrentNet:
    """A spec and its parameters (float64, torch names and shapes)."""

    spec: CellSpec
    params: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self):
        expected = self.spec.param_shapes()
        missing = [k for k in expected if k not in self.params]
        if missing:
            raise GradvizError(_("parameters missing: {value}").format(value=', '.join(missing)))
        for k, shape in expected.items():
            a = np.asarray(self.params[k], dtype=np.float64)
            if a.shape != shape:
                raise GradvizError(_("parameter {k} has shape {value}, expected {shape}")
                                   .format(k=k, value=tuple(a.shape), shape=shape))
            if not np.all(np.isfinite(a)):
                raise GradvizError(_("parameter {k} contains NaN or inf").format(k=k))
            self.params[k] = a

    def layer_params(self, layer: int, direction: int) -> dict[str, np.ndarray]:
        """Role -> array for one layer and direction; missing biases come back as zeros."""
        names = self.spec.param_names(layer, direction)
        out = {role: self.params[key] for role, key in names.items()}
        G, H = self.spec.gate_count, self.spec.hidden_size
        out.setdefault("b_ih", np.zeros(G * H))
        out.setdefault("b_hh", np.zeros(G * H))
        return out

    def copy(self) -> RecurrentNet:
        return RecurrentNet(self.spec, {k: v.copy() for k, v in self.params.items()})

    def with_spec(self, **changes) -> RecurrentNet:
        """Same weights under a changed spec (only nonlinearity / dropout / batch_first)."""
        return RecurrentNet(replace(self.spec, **changes), {k: v.copy() for k, v in self.params.items()})

    def state_dict(self):
        """The parameters as a torch ``state_dict`` (float64 tensors)."""
        import torch
        return {k: torch.from_numpy(v.copy()) for k, v in self.params.items()}

    def to_torch(self):
        """An equivalent ``torch.nn`` module (float64, eval mode) for parity checks."""
        import torch
        cls = getattr(torch.nn, self.spec.cell_kind.torch_class)
        module = cls(**self.spec.torch_kwargs()).double()
        module.load_state_dict(self.state_dict())
        return module.eval()


# ---------------------------------------------------------------- construction

def init_net(spec: CellSpec, seed: int = 0, init: str = "default") -> RecurrentNet:
    """Parameters from a seed and an init scheme.

    default     torch's: every parameter U(-1/sqrt(H), 1/sqrt(H)).
    gaussian    weights N(0, 1/fan_in), biases 0.
    orthogonal  each gate block of W_hh a random orthogonal matrix, W_ih as default, biases 0.
    identity    IRNN (Le, Jaitly & Hinton 2015): each gate block of W_hh the identity,
                W_ih N(0, 0.001²), biases 0.
    """
    if init not in INITS:
        raise GradvizError(_("unknown init {init!r}: expected one of {value}")
                           .format(init=init, value=', '.join(INITS)))
    rng = np.random.default_rng(seed)
    H, G = spec.hidden_size, spec.gate_count
    k = 1.0 / math.sqrt(H)
    params = {}
    for key, shape in spec.param_shapes().items():
        role = key.split("_l")[0]
        if init == "default":
            params[key] = rng.uniform(-k, k, size=shape)
        elif role.startswith("bias"):
            params[key] = np.zeros(shape)
        elif init == "gaussian" or role == "weight_hr":
            params[key] = rng.normal(0.0, 1.0 / math.sqrt(shape[1]), size=shape)
        elif role == "weight_ih":
            params[key] = (rng.normal(0.0, 1e-3, size=shape) if init == "identity"
                           else rng.uniform(-k, k, size=shape))
        else:  # weight_hh: G blocks of (H, Hh)
            blocks = []
            for _block in range(G):
                if init == "identity":
                    blocks.append(np.eye(H, shape[1]))
                else:
                    q, r = np.linalg.qr(rng.normal(size=(max(H, shape[1]),) * 2))
                    q = q * np.sign(np.diag(r))
                    blocks.append(q[:H, :shape[1]])
            params[key] = np.vstack(blocks)
    return RecurrentNet(spec, params)


_KEY_PARTS = ("weight_ih_l", "weight_hh_l", "bias_ih_l", "bias_hh_l", "weight_hr_l")


def spec_from_state_dict(sd: dict, nonlinearity: str = "tanh", source: str = "state_dict") -> CellSpec:
    """Infer kind, sizes, layers, directions and projection from torch keys and shapes."""
    layers = set()
    bidirectional = False
    for key in sd:
        if not isinstance(key, str):
            raise GradvizError(_("{source}: a key is {type} {key}, expected torch's parameter "
                                 "names (weight_ih_l0, ...)")
                               .format(source=source, type=type(key).__name__, key=_short(key)))
        if not any(key.startswith(p) for p in _KEY_PARTS):
            raise GradvizError(_("{source}: unexpected key {key!r}; expected the state_dict of an nn.RNN, "
                                 "nn.LSTM or nn.GRU")
                               .format(source=source, key=key))
        rest = key.split("_l", 1)[1]
        num, _sep, suffix = rest.partition("_")
        if not num.isdigit() or suffix not in ("", "reverse"):
            raise GradvizError(_("{source}: unexpected key {key!r}").format(source=source, key=key))
        layers.add(int(num))
        bidirectional |= suffix == "reverse"
    if "weight_hh_l0" not in sd or "weight_ih_l0" not in sd:
        raise GradvizError(_("{source}: no weight_ih_l0/weight_hh_l0: not the state_dict of an nn.RNN, "
                             "nn.LSTM or nn.GRU")
                           .format(source=source))
    if layers != set(range(len(layers))):
        raise GradvizError(_("{source}: layers {layers} are not numbered 0..{last}")
                           .format(source=source, layers=sorted(layers), last=len(layers) - 1))
    for key, value in sd.items():
        _check_value(key, value, source)
    w_hh = sd["weight_hh_l0"]
    w_ih = sd["weight_ih_l0"]
    if len(w_hh.shape) != 2 or len(w_ih.shape) != 2:
        raise GradvizError(_("{source}: weight_hh_l0 and weight_ih_l0 must be matrices")
                           .format(source=source))
    rows, hh = int(w_hh.shape[0]), int(w_hh.shape[1])
    if min(rows, hh, int(w_ih.shape[0]), int(w_ih.shape[1])) < 1:
        raise GradvizError(_("{source}: weight_hh_l0 and weight_ih_l0 must not be empty")
                           .format(source=source))
    proj = int(sd["weight_hr_l0"].shape[0]) if "weight_hr_l0" in sd else 0
    # the kind is the one whose gate blocks stack to weight_hh's rows
    found: CellKind | None
    if proj:
        found = next(k for k in KINDS.values() if k.supports_proj)
        if rows % found.gate_count:
            raise GradvizError(_("{source}: weight_hh_l0 has {rows} rows, not a multiple of {gate_count}")
                               .format(source=source, rows=rows, gate_count=found.gate_count))
    else:
        found = next((k for k in KINDS.values() if rows == k.gate_count * hh), None)
        if found is None:
            by_count = sorted(KINDS.values(), key=lambda k: k.gate_count)
            counts = [str(k.gate_count) for k in by_count]
            raise GradvizError(_("{source}: weight_hh_l0 has shape {shape}: rows must be {counts} or "
                                 "{last} times its columns ({labels})")
                               .format(source=source, shape=tuple(w_hh.shape),
                                       counts=", ".join(counts[:-1]), last=counts[-1],
                                       labels=", ".join(k.label for k in by_count)))
    kind, hidden = found.name, rows // found.gate_count
    spec = CellSpec(kind=kind, input_size=int(w_ih.shape[1]), hidden_size=hidden,
                    num_layers=len(layers),
                    nonlinearity=nonlinearity if not KINDS[kind].gates else "tanh",
                    bias="bias_ih_l0" in sd, bidirectional=bidirectional, proj_size=proj)
    expected = spec.param_shapes()
    extra = sorted(set(sd) - set(expected))
    if extra:
        raise GradvizError(_("{source}: unexpected key {value!r} for {a_label} with {value2} layer(s)")
                           .format(source=source, value=extra[0], a_label=KINDS[kind].a_label,
                                   value2=len(layers)))
    return spec


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 24 else text[:20] + "…"


def _check_value(key: str, value, source: str) -> None:
    """A parameter must be a dense tensor (or array) of real numbers, checked without reading
    its storage: sparse, quantised, complex or boolean values are refused by name."""
    layout = getattr(value, "layout", None)
    if layout is not None and str(layout) != "torch.strided":
        raise GradvizError(_("{source}: {key} is a {layout} tensor; expected a dense one (save "
                             "model.state_dict() of an nn.RNN/LSTM/GRU)")
                           .format(source=source, key=key,
                                   layout=str(layout).replace("torch.", "")))
    if getattr(value, "is_quantized", False):
        raise GradvizError(_("{source}: {key} is quantised; expected floating-point numbers")
                           .format(source=source, key=key))
    dtype = getattr(value, "dtype", None)
    name = str(dtype)
    if getattr(value, "is_complex", lambda: False)() or "complex" in name:
        raise GradvizError(_("{source}: {key} holds complex numbers; expected real ones")
                           .format(source=source, key=key))
    if "bool" in name:
        raise GradvizError(_("{source}: {key} holds true/false values; expected numbers")
                           .format(source=source, key=key))
    shape = getattr(value, "shape", None)
    try:
        dims = tuple(int(d) for d in shape) if shape is not None else None
    except (TypeError, ValueError):
        dims = None
    if dims is None:
        raise GradvizError(_("{source}: {key} has no shape; expected a tensor")
                           .format(source=source, key=key)) from None
    if any(d < 0 for d in dims):
        raise GradvizError(_("{source}: {key} has shape {shape}; expected sizes ≥ 0")
                           .format(source=source, key=key, shape=dims))


def net_from_state_dict(sd: dict, nonlinearity: str = "tanh", source: str = "state_dict") -> RecurrentNet:
    """A :class:`RecurrentNet` from a torch ``state_dict`` (tensors or arrays).

    Kind, sizes and every shape are checked, and the float64 copy is planned against this
    machine's memory (:func:`gradviz.core.plan.check_weights`), before any value is read: a
    tiny file of stride-0 expanded tensors cannot make gradviz allocate gigabytes."""
    import warnings

    from .plan import check_weights

    spec = spec_from_state_dict(sd, nonlinearity, source)
    shapes = spec.param_shapes()
    for key, shape in shapes.items():
        value = sd.get(key)
        if value is None:
            raise GradvizError(_("{source}: key {key!r} is missing").format(source=source, key=key))
        if tuple(int(d) for d in value.shape) != shape:
            raise GradvizError(_("{source}: {key} has shape {shape}, expected {expected}")
                               .format(source=source, key=key, shape=tuple(value.shape),
                                       expected=shape))
    check_weights(sum(math.prod(s) for s in shapes.values()) * 8, source, spec.hidden_size)
    params = {}
    for key in shapes:
        value = sd[key]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                arr = (value.detach().cpu().double().numpy() if hasattr(value, "detach")
                       else np.asarray(value, dtype=np.float64))
            except (TypeError, ValueError, RuntimeError, OverflowError):
                raise GradvizError(_("{source}: {key} cannot be read as real numbers")
                                   .format(source=source, key=key)) from None
        if not np.all(np.isfinite(arr)):
            raise GradvizError(_("{source}: {key} contains NaN or inf").format(source=source, key=key))
        params[key] = np.array(arr, dtype=np.float64)
    return RecurrentNet(spec, params)


def load_state_dict_file(path, nonlinearity: str = "tanh") -> RecurrentNet:
    """Read a torch ``state_dict`` file safely (``weights_only=True``: data, never code)."""
    import pickle
    import zipfile

    import torch

    path = Path(path)
    if not path.is_file():
        raise GradvizError(_("{path}: no such file").format(path=path))
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        # torch names the blocked class or function as "GLOBAL module.name"; anything else
        # (an unknown opcode, a truncated stream) means the bytes are not a checkpoint at all
        if "GLOBAL" in str(exc):
            raise GradvizError(_("{path}: refused: the checkpoint holds objects beyond tensors (it could "
                                 "run code); save model.state_dict() instead")
                               .format(path=path)) from None
        raise GradvizError(_("{path}: not a torch checkpoint").format(path=path)) from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError, AttributeError,
            TypeError, KeyError, IndexError, UnicodeDecodeError):
        raise GradvizError(_("{path}: not a torch checkpoint").format(path=path)) from None
    if hasattr(obj, "state_dict") and not isinstance(obj, dict):
        obj = obj.state_dict()
    if not isinstance(obj, dict) or not obj or not all(hasattr(v, "shape") for v in obj.values()):
        raise GradvizError(_("{path}: expected a state_dict (a dict of tensors) of an nn.RNN, nn.LSTM or "
                             "nn.GRU")
                           .format(path=path))
    return net_from_state_dict(obj, nonlinearity, source=str(path))


# ---------------------------------------------------------------- what the sliders drive

def sigma_max(matrix: np.ndarray) -> float:
    """Largest singular value."""
    return float(np.linalg.norm(matrix, 2)) if matrix.size else 0.0


def scale_recurrent(net: RecurrentNet, target: float) -> RecurrentNet:
    """Scale every W_hh so its largest singular value is ``target`` (a copy).

    For hidden size 1 the (RNN) weight w is set to ``target`` itself, negative allowed; an
    LSTM/GRU with H = 1 gets each gate's weight scaled by |target| / max|w|.
    """
    out = net.copy()
    spec = net.spec
    for layer in range(spec.num_layers):
        for d in range(spec.directions):
            key = spec.param_names(layer, d)["w_hh"]
            w = out.params[key]
            if w.size == 1:
                out.params[key] = np.full_like(w, target)
                continue
            s = sigma_max(w)
            if s == 0.0:
                continue
            out.params[key] = w * (abs(target) / s)
    return out


def multiply_recurrent(net: RecurrentNet, gain: float) -> RecurrentNet:
    """Every W_hh multiplied by ``gain`` (a copy): with ``init="gaussian"`` (entries
    N(0, 1/H)) the entries become N(0, g²/H), the random network of gain g of mean-field
    theory (spectral radius ≈ g, σ_max ≈ 2g for large H)."""
    out = net.copy()
    spec = net.spec
    for layer in range(spec.num_layers):
        for d in range(spec.directions):
            key = spec.param_names(layer, d)["w_hh"]
            out.params[key] = out.params[key] * float(gain)
    return out


def set_gate_bias(net: RecurrentNet, field: str, value: float) -> RecurrentNet:
    """Make the *effective* bias of the gate a kind's slider ``field`` sets equal ``value`` (a copy).

    torch adds ``bias_ih`` and ``bias_hh``; gradviz puts ``value`` in ``bias_ih`` and 0 in
    ``bias_hh`` of that gate's rows, so a forget bias of 1 means b_if + b_hf = 1, not 2.
    """
    spec = net.spec
    kind = spec.cell_kind
    if kind.bias_field != field:
        owner = next((k for k in KINDS.values() if k.bias_field == field), None)
        raise GradvizError(_("the {value} applies to {value2} only")
                           .format(value=field.replace('_', ' '),
                                   value2=owner.a_label if owner else _("no cell")))
    if not spec.bias:
        raise GradvizError(_("this cell has no biases (bias=False): a gate bias cannot be set"))
    out = net.copy()
    H, gate = spec.hidden_size, kind.bias_gate
    assert gate is not None, f"{kind.name} names a bias slider without its gate"
    rows = slice(gate * H, (gate + 1) * H)
    for layer in range(spec.num_layers):
        for d in range(spec.directions):
            names = spec.param_names(layer, d)
            out.params[names["b_ih"]][rows] = value
            out.params[names["b_hh"]][rows] = 0.0
    return out


def set_forget_bias(net: RecurrentNet, value: float) -> RecurrentNet:
    """The LSTM's effective forget-gate bias b_if + b_hf = ``value`` (b_hf = 0)."""
    return set_gate_bias(net, "forget_bias", value)


def set_update_bias(net: RecurrentNet, value: float) -> RecurrentNet:
    """The GRU's effective update-gate (z) bias b_iz + b_hz = ``value`` (b_hz = 0)."""
    return set_gate_bias(net, "update_bias", value)
