r"""Every scene as one runnable, readable torch script ("show me the code", issue 12).

:func:`generate_script` turns a scene (its base weights, sliders and inputs, as
:func:`~gradviz.core.scene.simulate` uses them) into the text of ONE Python file that imports
only torch and numpy and, top to bottom:

1. sets the scene's constants and rebuilds its weights (torch's ``state_dict`` layout, the
   sliders already applied) and inputs x_1..x_T: embedded at the end of the file as literal
   lists when small, else a ``.pt`` state_dict (and an ``_inputs.csv``) beside it;
2. runs (a) the cell written by hand in plain torch, one formula per line in the notes'
   ``x @ W`` layout, and (b) ``torch.nn.RNN/LSTM/GRU`` on the same weights, and asserts they
   agree;
3. computes ‖∂h_t/∂h_0‖₂ for the cursor step with ``torch.autograd`` directly, and every
   ‖∂h_t/∂h_i‖ of that row as the product of one-step Jacobians (autograd, carried in log10);
4. prints the numbers gradviz shows (states, gates, log10 norms) in the line format its
   docstring documents (:data:`RECORDS`; :func:`parse_output` reads it back).

Where the notes and torch differ (x @ W against W @ x, two biases, the GRU's z and reset, the
projection, the sigmoid RNN and the forget clamp torch does not have) the script says so.
"""
from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import GradvizError
from .i18n import _
from .files import TargetExistsError, atomic_path
from .inputs import make_signal
from .scene import Scene, apply_sliders, load_base_net, resolve, simulate

#: weights (or inputs) with more numbers than this go to files beside the script
EMBED_LIMIT = 4096

#: signals the script computes itself (exactly as gradviz.core.inputs.make_signal)
_FORMULA_SIGNALS = {
    "zeros": ("np.zeros(T)", "x_t = 0"),
    "impulse": ("(t == 1).astype(np.float64)", "x_1 = A, x_t = 0 after"),
    "step": ("np.ones(T)", "x_t = A for every t ≥ 1"),
    "sine": ("np.sin(2 * math.pi * t / 25.0)", "x_t = A · sin(2π t / 25)"),
}

#: the records the script prints, one per line: name -> what follows it (the format)
RECORDS = {
    "steps": "T",
    "cursor": "t",
    "analysed": "layer direction",
    "x": "t x_t[0] ... (t = 1..T, the inputs)",
    "h": "t h_t[0] ... h_t[Hh-1] (t = 0..T; row 0 = h_0)",
    "c": "t c_t[0] ... (LSTM, t = 0..T)",
    "a": "t a_t[0] ... (RNN pre-activation, t = 1..T)",
    "dphi": "t φ'(a_t)[0] ... (RNN, t = 1..T)",
    "gate": "name t values ... (LSTM i f g o, GRU r z n; t = 1..T)",
    "sigma_max": "σ_max(W_hh)",
    "factor": "name t value (the status line's step factor at the cursor, t ≥ 1)",
    "log10_jac_h": "t i log10 ‖∂h_t/∂h_i‖₂ (i = 0..t at the cursor t)",
    "log10_jac_h_fro": "t i log10 ‖∂h_t/∂h_i‖_F",
    "log10_jac_c": "t i log10 ‖∂c_t/∂c_i‖₂ (LSTM)",
    "log10_autograd": "t log10 ‖∂h_t/∂h_0‖₂ straight from torch.autograd, or out-of-range",
    "check": "name max|difference| (hand vs torch.nn, autograd vs product, formula vs autograd)",
}


@dataclass
class GeneratedScript:
    """The script's text and the data files it reads (None: everything is embedded)."""

    text: str
    state_dict: dict[str, np.ndarray] | None = None    # written as NAME.pt beside the script
    inputs: np.ndarray | None = None                   # written as NAME_inputs.csv
    steps: int = 0
    cursor: int = 0
    notes: list[str] = field(default_factory=list)


def weights_file(script_path) -> Path:
    return Path(script_path).with_suffix(".pt")


def inputs_file(script_path) -> Path:
    p = Path(script_path)
    return p.with_name(p.stem + "_inputs.csv")


# ---------------------------------------------------------------- formatting helpers

def _num(v) -> str:
    """A float as Python reads it back exactly (repr), finite by construction."""
    return repr(float(v))


def _wrap(items: list[str], indent: str, width: int = 99) -> list[str]:
    """``items`` joined by ", " into lines no wider than ``width`` (each line ends with ',')."""
    text = ", ".join(items) + ","
    return textwrap.wrap(text, width=width, initial_indent=indent, subsequent_indent=indent,
                         break_long_words=False, break_on_hyphens=False)


def _literal(array: np.ndarray, indent: str) -> list[str]:
    """Lines of a nested Python list for a 1-D or 2-D array."""
    a = np.asarray(array, dtype=np.float64)
    if a.ndim == 1:
        return [indent + "["] + _wrap([_num(v) for v in a], indent + "    ") + [indent + "]"]
    lines = [indent + "["]
    for row in a:
        body = _wrap([_num(v) for v in row], indent + "     ")
        body[0] = indent + "    [" + body[0].lstrip()
        body[-1] = body[-1][:-1] + "],"
        lines += body
    return lines + [indent + "]"]


def _role_comment(key: str, shape, kind: str, H: int) -> str:
    role = key.split("_l")[0]
    gates = {"lstm": "i, f, g, o", "gru": "r, z, n"}.get(kind)
    if role in ("weight_ih", "weight_hh", "bias_ih", "bias_hh") and gates:
        return f"{tuple(shape)}: gates {gates} stacked, gate k in rows [k·{H}, (k+1)·{H})"
    if role == "weight_hr":
        return f"{tuple(shape)}: the projection h = W_hr m (proj_size)"
    if role in ("weight_ih", "weight_hh"):
        notes = "W_xh" if role == "weight_ih" else "W_hh"
        return f"{tuple(shape)}: the notes' {notes} transposed"
    return f"{tuple(shape)}"


# ---------------------------------------------------------------- the generator

def generate_script(scene: Scene, base=None, inputs: np.ndarray | None = None,
                    step: int | None = None, name: str = "gradviz_scene",
                    title: str | None = None, embed_limit: int = EMBED_LIMIT) -> GeneratedScript:
    """The script for ``scene`` (``base``/``inputs`` as for :func:`simulate`; ``step`` the
    cursor, default T). ``name`` is the script's file stem (names its data files)."""
    scene.validate()
    given_inputs = inputs is not None
    if given_inputs:
        base = base if base is not None else load_base_net(scene)
    else:   # the scene's files or signal, the scene made to agree with them
        resolved = resolve(scene, base)
        scene, base, inputs = resolved.scene, resolved.base, resolved.inputs
    net = apply_sliders(base, scene)
    spec = net.spec
    x = np.asarray(inputs, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    trace = simulate(scene, base=base, inputs=x)   # only to know T (a state may overflow)
    T = trace.steps
    cursor = T if step is None else max(0, min(int(step), T))
    notes = []
    if trace.overflow_step is not None:
        notes.append(f"the state overflows float64 at step {trace.overflow_step}: the script "
                     f"runs steps 1..{T}, as gradviz does")

    kind, H, Hh, P = spec.kind, spec.hidden_size, spec.state_size, spec.proj_size
    n_weights = sum(v.size for v in net.params.values())
    sd_file = n_weights > embed_limit
    # a synthetic signal is written as its formula (when the inputs are exactly that signal)
    formula = (not scene.inputs_path and scene.input in _FORMULA_SIGNALS and np.array_equal(
        x, make_signal(scene.input, scene.steps, scene.input_size, scene.amplitude, scene.seed)))
    x_file = not formula and x.size > embed_limit
    gen = GeneratedScript(text="", steps=T, cursor=cursor, notes=notes,
                          state_dict=dict(net.params) if sd_file else None,
                          inputs=x if x_file else None)

    torch_name = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}[kind]
    cell_label = (f"{scene.nonlinearity} RNN" if kind == "rnn" else torch_name)
    settings = " ".join(f"{k}={v!r}" for k, v in scene.to_dict().items())
    sliders = _slider_lines(scene, kind)
    out: list[str] = []
    w = out.append

    # ------------------------------------------------------------ docstring
    w('#!/usr/bin/env python3')
    w('"""' + (title or f"gradviz scene: a {cell_label}, H = {H}, T = {T}, as plain torch code."))
    w("")
    w("Generated by gradviz from the scene (its settings, as a session file stores them):")
    out.extend(_wrap_text(settings, "    "))
    w("")
    w(f"Run it with plain torch and numpy:   python {name}.py")
    if sd_file or x_file:
        files = [f for f, on in ((f"{name}.pt", sd_file), (f"{name}_inputs.csv", x_file)) if on]
        w(f"It reads {' and '.join(files)} from its own folder (written beside it).")
    w("")
    w("Top to bottom:")
    w("  1. the scene's constants, its weights (torch's state_dict layout, the sliders already")
    w("     applied) and its inputs x_1..x_T (the data itself sits at the end of the file);")
    w("  2. (a) the cell written by hand, one formula per line, in the notes' layout x @ W;")
    w(f"     (b) torch.nn.{torch_name} with the same weights; the two must agree;")
    w("  3. ∂h_t/∂h_i for the cursor step t: straight from torch.autograd for i = 0, and for")
    w("     every i as the product of one-step Jacobians J_k = ∂s_k/∂s_{k-1} (autograd), its")
    w("     norm carried in log10 so that 10^-400 does not become 0;")
    w("  4. the numbers gradviz shows, printed one record per line.")
    w("")
    w("Output format: one record per line, fields separated by single spaces, every number")
    w("as Python's repr of a float (17 significant digits: it reads back exactly). An exactly")
    w("zero norm prints as log10 = -999.0, as in gradviz. Records:")
    for key, what in RECORDS.items():
        if (key == "c" and kind != "lstm") or (key == "log10_jac_c" and kind != "lstm"):
            continue
        if (key in ("a", "dphi") and kind != "rnn") or (key == "gate" and kind == "rnn"):
            continue
        w(f"    {key:<16} {what}")
    w('"""')
    w("import math")
    w("from pathlib import Path")
    w("")
    w("import numpy as np")
    w("import torch")
    w("")
    w("torch.set_default_dtype(torch.float64)   # gradviz computes everything in float64")
    w("torch.set_num_threads(1)")
    w("HERE = Path(__file__).resolve().parent")
    w("")
    # ------------------------------------------------------------ constants
    w("# ======================================================================= 1. the scene")
    def const(code: str, comment: str = "") -> None:
        out.append(f"{code:<26}# {comment}" if comment else code)

    const(f'CELL = "{kind}"', "rnn | lstm | gru")
    if kind == "rnn":
        const(f'NONLINEARITY = "{spec.nonlinearity}"', "φ: tanh | relu | sigmoid")
    const(f"INPUT_SIZE = {spec.input_size}")
    const(f"HIDDEN_SIZE = {H}", "H")
    if kind == "lstm":
        const(f"PROJ_SIZE = {P}", "P: with P > 0, h = W_hr m has P numbers, C has H")
    const(f"HH = {Hh}", "Hh: the size of h")
    const(f"NUM_LAYERS = {spec.num_layers}")
    const(f"DIRECTIONS = {spec.directions}", "2 = bidirectional: direction 1 reads the inputs "
          "backwards")
    const(f"BIAS = {spec.bias}")
    const(f"T = {T}", "steps run" + (f" (the scene asks for {x.shape[0]}: the state "
          f"overflows float64 at step {trace.overflow_step})" if x.shape[0] > T else ""))
    const(f"H0 = {_num(scene.h0)}", "every unit of every h_0" + ("; C_0 = 0" if kind == "lstm"
                                                                  else ""))
    if kind == "lstm":
        clamp = None if trace.forget_clamp is None else _num(trace.forget_clamp)
        const(f"FORGET_CLAMP = {clamp}", "gradviz's clamp: f_t forced to this constant "
              "(None: off)")
    const(f"LAYER, DIRECTION = {scene.layer}, {scene.direction}", "the layer and direction "
          "gradviz analyses")
    const(f"CURSOR = {cursor}", "the step t selected in gradviz")
    w("")
    for line in sliders:
        w(line)
    w("")
    w(_body(kind, spec.nonlinearity, torch_name))
    # ------------------------------------------------------------ data
    w("# ======================================================================= 6. the data")
    w("def load_weights():")
    w(f'    """torch\'s state_dict of nn.{torch_name}: name -> float64 tensor (the sliders applied)."""')
    if sd_file:
        w(f'    return torch.load(HERE / "{name}.pt", weights_only=True)   # data only, never code')
    else:
        w("    return {")
        for key, value in net.params.items():
            w(f"        # {_role_comment(key, value.shape, kind, H)}")
            lines = _literal(value, "        ")
            lines[0] = f'        "{key}": torch.tensor(' + lines[0].lstrip()
            lines[-1] = lines[-1] + "),"
            out.extend(lines)
        w("    }")
    w("")
    w("")
    w("def load_inputs():")
    w('    """x: (T, INPUT_SIZE), one row per step t = 1..T."""')
    if formula:
        code, words = _FORMULA_SIGNALS[scene.input]
        w(f"    # the {scene.input!r} signal: {words}, A = {_num(scene.amplitude)}, on every "
          "input unit")
        w(f"    t = np.arange(1, {x.shape[0]} + 1, dtype=np.float64)")
        w(f"    column = {code}")
        w(f"    x = {_num(scene.amplitude)} * np.repeat(column[:, None], INPUT_SIZE, axis=1)")
        w("    return torch.from_numpy(x[:T])")
    elif x_file:
        what = _inputs_origin(scene, given_inputs)
        w(f"    # {what}")
        w(f'    x = np.loadtxt(HERE / "{name}_inputs.csv", delimiter=",", ndmin=2)')
        w("    return torch.from_numpy(x[:T])")
    else:
        w(f"    # {_inputs_origin(scene, given_inputs)}")
        lines = _literal(x[:T], "    ")
        lines[0] = "    x = " + lines[0].lstrip()
        out.extend(lines)
        w("    return torch.tensor(x)")
    w("")
    w("")
    w('if __name__ == "__main__":')
    w("    main()")
    gen.text = "\n".join(out) + "\n"
    return gen


def _wrap_text(text: str, indent: str) -> list[str]:
    return textwrap.wrap(text, width=95, initial_indent=indent, subsequent_indent=indent,
                         break_long_words=False, break_on_hyphens=False)


def _inputs_origin(scene: Scene, given: bool) -> str:
    if scene.inputs_path:
        return (f"from the CSV file {Path(scene.inputs_path).name}, times the amplitude "
                f"A = {_num(scene.amplitude)}")
    if scene.input == "noise":
        return (f"the 'noise' signal: A · N(0, 1) with A = {_num(scene.amplitude)}, drawn by "
                "gradviz from the seed")
    if scene.input == "airline":
        return (f"the 'airline' signal: monthly airline passengers 1949–1960 scaled to [0, 1], "
                f"times A = {_num(scene.amplitude)}")
    return "the inputs gradviz ran, number for number"


def _slider_lines(scene: Scene, kind: str) -> list[str]:
    """Comments saying what gradviz's sliders did to the weights written below."""
    lines = ["# The weights in load_weights() are the ones gradviz runs: "]
    lines[0] += ("a torch state_dict file" if scene.state_dict_path else
                 f"init {scene.init!r} from seed {scene.seed}") + ", then"
    done = False
    if scene.wr_scale is not None:
        lines.append(f"#   every weight_hh (all gate blocks stacked) scaled so that "
                     f"σ_max(W_hh) = {_num(abs(scene.wr_scale))}"
                     + (" (H = 1: w itself)" if scene.hidden_size == 1 else ""))
        done = True
    if kind == "lstm" and scene.forget_bias is not None:
        lines.append(f"#   forget bias: bias_ih[H:2H] = {_num(scene.forget_bias)}, bias_hh[H:2H] "
                     "= 0 (torch adds both: b_f = their sum)")
        done = True
    if kind == "gru" and scene.update_bias is not None:
        lines.append(f"#   update bias: bias_ih[H:2H] = {_num(scene.update_bias)}, bias_hh[H:2H] "
                     "= 0 (torch adds both: b_z = their sum)")
        done = True
    if not done:
        lines.append("#   nothing else (no slider changes them)")
    return lines


def write_script(path, scene: Scene, base=None, inputs=None, step: int | None = None,
                 overwrite: bool = False, title: str | None = None) -> list[Path]:
    """Write the script (and its ``.pt`` / ``_inputs.csv`` when large) atomically.

    Either every file is written or none is changed; an existing file is replaced only with
    ``overwrite``. Returns the paths written, the script first.
    """
    path = Path(path)
    if path.suffix != ".py":
        raise GradvizError(_("{path}: a Python script needs the suffix .py").format(path=path))
    gen = generate_script(scene, base, inputs, step, name=path.stem, title=title)
    extra = []
    if gen.state_dict is not None:
        extra.append(weights_file(path))
    if gen.inputs is not None:
        extra.append(inputs_file(path))
    for target in [path, *extra]:
        if target.exists() and not overwrite:
            raise TargetExistsError(target)
    written: list[Path] = []
    try:
        for target in extra:
            with atomic_path(target, overwrite=overwrite) as tmp:
                if target.suffix == ".pt" and gen.state_dict is not None:
                    import torch
                    torch.save({k: torch.from_numpy(np.array(v)) for k, v in gen.state_dict.items()},
                               tmp)
                elif gen.inputs is not None:
                    rows = [",".join(_num(v) for v in row) for row in gen.inputs[:gen.steps]]
                    tmp.write_text("\n".join(rows) + "\n", encoding="utf-8")
            written.append(target)
        with atomic_path(path, overwrite=overwrite) as tmp:
            tmp.write_text(gen.text, encoding="utf-8")
        written.insert(0, path)
    except BaseException:
        for target in written:   # the companions of a script that was not written
            if target != path:
                target.unlink(missing_ok=True)
        raise
    return written


# ---------------------------------------------------------------- reading the output back

@dataclass
class ScriptOutput:
    """What a generated script printed (see :data:`RECORDS`)."""

    steps: int = 0
    cursor: int = 0
    layer: int = 0
    direction: int = 0
    sigma_max: float = math.nan
    x: np.ndarray | None = None
    h: np.ndarray | None = None
    c: np.ndarray | None = None
    a: np.ndarray | None = None
    dphi: np.ndarray | None = None
    gates: dict[str, np.ndarray] = field(default_factory=dict)
    factor: tuple[str, int, float] | None = None
    log10_jac_h: np.ndarray | None = None       # (t+1,) for i = 0..t at the cursor
    log10_jac_h_fro: np.ndarray | None = None
    log10_jac_c: np.ndarray | None = None
    log10_autograd: float | None = None         # None when out of float64's range
    checks: dict[str, float] = field(default_factory=dict)


def parse_output(text: str) -> ScriptOutput:
    """The records of a generated script's stdout; an unknown record is a GradvizError."""
    out = ScriptOutput()
    series: dict[str, dict[int, list[float]]] = {}
    rows: dict[str, dict[int, float]] = {}
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        key, *rest = line.split()
        if key == "steps":
            out.steps = int(rest[0])
        elif key == "cursor":
            out.cursor = int(rest[0])
        elif key == "analysed":
            out.layer, out.direction = int(rest[0]), int(rest[1])
        elif key == "sigma_max":
            out.sigma_max = float(rest[0])
        elif key in ("x", "h", "c", "a", "dphi"):
            series.setdefault(key, {})[int(rest[0])] = [float(v) for v in rest[1:]]
        elif key == "gate":
            series.setdefault("gate_" + rest[0], {})[int(rest[1])] = [float(v) for v in rest[2:]]
        elif key == "factor":
            out.factor = (rest[0], int(rest[1]), float(rest[2]))
        elif key in ("log10_jac_h", "log10_jac_h_fro", "log10_jac_c"):
            rows.setdefault(key, {})[int(rest[1])] = float(rest[2])
        elif key == "log10_autograd":
            out.log10_autograd = None if rest[1] == "out-of-range" else float(rest[1])
        elif key == "check":
            out.checks[rest[0]] = float(rest[1])
        else:
            raise GradvizError(_("script output line {line}: unknown record {key!r}")
                               .format(line=lineno, key=key))
    for key, by_t in series.items():
        array = np.array([by_t[t] for t in sorted(by_t)], dtype=np.float64)
        if key.startswith("gate_"):
            out.gates[key[5:]] = array
        else:
            setattr(out, key, array)
    for key, by_i in rows.items():
        setattr(out, key, np.array([by_i[i] for i in sorted(by_i)], dtype=np.float64))
    return out


# ---------------------------------------------------------------- the script's body

_HEADER_NOTES = '''\
# ============================================================ 2. the notes' layout vs torch's
# The notes write row vectors and x @ W, with W of shape (input_dim, hidden):
#     h = torch.tanh(x_t @ W_xh + h @ W_hh + b_h)
# torch.nn stores the transposes and computes W @ x: weight_ih_l0 has shape (G·H, input_size)
# and weight_hh_l0 (G·H, Hh), the G gate blocks stacked row-wise (@@GATES@@).
# torch also has TWO biases, bias_ih and bias_hh, which are simply added: b = bias_ih + bias_hh
# (only their sum matters@@GRU_BIAS@@).
# notes_weights() cuts torch's matrices into the notes' names and transposes them.
@@LAYER_NOTE@@'''

#: the end of the scripts whose state is h alone (RNN, GRU)
_H_STATE = '''\


def state_step(w, x_t, s):
    """s_{t-1} -> s_t (the state whose Jacobians are multiplied: h; also rows of several)."""
    return cell_step(w, x_t, s)[0]


def split_state(s):
    return s, None


def first_state():
    return torch.full((HH,), H0)
'''

_RNN = '''\
GATES = ()


def notes_weights(sd, layer, direction):
    """torch's parameters of one layer and direction, in the notes' names and layout."""
    sfx = f"_l{layer}" + ("_reverse" if direction else "")
    W_ih, W_hh = sd["weight_ih" + sfx], sd["weight_hh" + sfx]     # (H, in), (H, H)
    b = sd["bias_ih" + sfx] + sd["bias_hh" + sfx] if BIAS else torch.zeros(HIDDEN_SIZE)
    return {"W_xh": W_ih.T, "W_hh": W_hh.T, "b_h": b}               # (in, H), (H, H), (H,)


def phi(a):
    """The nonlinearity φ."""
    if NONLINEARITY == "tanh":
        return torch.tanh(a)
    if NONLINEARITY == "relu":
        return torch.relu(a)
    # torch.nn.RNN has no sigmoid: gradviz adds it for the γ = 1/4 comparison, and only the
    # hand-written loop below can run it.
    return torch.sigmoid(a)


def dphi(a, h):
    """φ'(a) from the notes: tanh' = 1 - h², relu' = 1[a > 0], sigmoid' = h (1 - h)."""
    if NONLINEARITY == "tanh":
        return 1 - h * h
    if NONLINEARITY == "relu":
        return (a > 0).to(a.dtype)
    return h * (1 - h)


# ======================================================================= 3. the cell by hand
def cell_step(w, x_t, h):
    """One step of the Elman RNN, as in the notes. Returns h_t and a_t."""
    a_t = x_t @ w["W_xh"] + h @ w["W_hh"] + w["b_h"]   # pre-activation
    h = phi(a_t)                                       # h_t = φ(a_t)
    return h, {"a": a_t}
''' + _H_STATE

_LSTM = '''\
GATES = ("i", "f", "g", "o")   # torch's order; the notes call g the candidate C~


def notes_weights(sd, layer, direction):
    """torch's parameters of one layer and direction, in the notes' names and layout."""
    sfx = f"_l{layer}" + ("_reverse" if direction else "")
    W_ih, W_hh = sd["weight_ih" + sfx], sd["weight_hh" + sfx]     # (4H, in), (4H, Hh)
    b = sd["bias_ih" + sfx] + sd["bias_hh" + sfx] if BIAS else torch.zeros(4 * HIDDEN_SIZE)
    H, w = HIDDEN_SIZE, {}
    for k, gate in enumerate(GATES):               # gate k = rows [k·H, (k+1)·H) of torch's
        rows = slice(k * H, (k + 1) * H)
        w["W_x" + gate] = W_ih[rows].T             # (in, H)   e.g. W_xf = weight_ih[H:2H].T
        w["W_h" + gate] = W_hh[rows].T             # (Hh, H)   e.g. W_hf = weight_hh[H:2H].T
        w["b_" + gate] = b[rows]                   # (H,)      b_f = bias_ih[H:2H] + bias_hh[H:2H]
    if PROJ_SIZE:
        # proj_size (not in the notes): torch.nn.LSTM then returns h = W_hr m with
        # m = o ⊙ tanh(c), weight_hr_l0 of shape (P, H); h has P numbers, c keeps H.
        w["W_proj"] = sd["weight_hr" + sfx].T      # (H, P)
    return w


# ======================================================================= 3. the cell by hand
def cell_step(w, x_t, h, C):
    """One LSTM step as in the notes (+ torch's projection)."""
    # input gate, forget gate
    i_t = torch.sigmoid(h @ w["W_hi"] + x_t @ w["W_xi"] + w["b_i"])
    f_t = torch.sigmoid(h @ w["W_hf"] + x_t @ w["W_xf"] + w["b_f"])
    if FORGET_CLAMP is not None:
        # gradviz's clamp (not in torch, not in the notes):
        # f_t = constant, so that ∂C_t/∂C_{t-1} = f·I exactly
        f_t = torch.full_like(f_t, FORGET_CLAMP)
    # the candidate C~_t (torch calls it g) and the output gate
    candidate_C = torch.tanh(h @ w["W_hg"] + x_t @ w["W_xg"] + w["b_g"])
    o_t = torch.sigmoid(h @ w["W_ho"] + x_t @ w["W_xo"] + w["b_o"])
    C = f_t * C + i_t * candidate_C          # the cell state
    h = o_t * torch.tanh(C)
    if PROJ_SIZE:
        h = h @ w["W_proj"]                  # torch: h = W_hr m
    return h, C, {"i": i_t, "f": f_t, "g": candidate_C, "o": o_t}


def state_step(w, x_t, s):
    """s_{t-1} -> s_t for the state s = [h; C] whose Jacobians are multiplied (also rows of
    several states at once)."""
    h, C = s[..., :HH], s[..., HH:]
    h, C, _ = cell_step(w, x_t, h, C)
    return torch.cat([h, C], dim=-1)


def split_state(s):
    return s[..., :HH], s[..., HH:]


def first_state():
    return torch.cat([torch.full((HH,), H0), torch.zeros(HIDDEN_SIZE)])
'''

_GRU = '''\
GATES = ("r", "z", "n")   # torch's order; the notes call n the candidate h~


def notes_weights(sd, layer, direction):
    """torch's parameters of one layer and direction, in the notes' names and layout."""
    sfx = f"_l{layer}" + ("_reverse" if direction else "")
    W_ih, W_hh = sd["weight_ih" + sfx], sd["weight_hh" + sfx]     # (3H, in), (3H, H)
    zeros = torch.zeros(3 * HIDDEN_SIZE)
    b_ih = sd["bias_ih" + sfx] if BIAS else zeros
    b_hh = sd["bias_hh" + sfx] if BIAS else zeros
    H, w = HIDDEN_SIZE, {}
    for k, gate in enumerate(GATES):               # gate k = rows [k·H, (k+1)·H) of torch's
        rows = slice(k * H, (k + 1) * H)
        w["W_x" + gate] = W_ih[rows].T             # (in, H)
        w["W_h" + gate] = W_hh[rows].T             # (H, H)
        w["b_x" + gate] = b_ih[rows]
        w["b_h" + gate] = b_hh[rows]
    # r and z: only the sum of the two biases matters
    w["b_r"], w["b_z"] = w["b_xr"] + w["b_hr"], w["b_xz"] + w["b_hz"]
    return w


# ======================================================================= 3. the cell by hand
def cell_step(w, x_t, h):
    """One GRU step as torch computes it (the notes' lines in comments)."""
    # reset gate, update gate
    r_t = torch.sigmoid(h @ w["W_hr"] + x_t @ w["W_xr"] + w["b_r"])
    z_t = torch.sigmoid(h @ w["W_hz"] + x_t @ w["W_xz"] + w["b_z"])
    # notes: candidate_h = torch.tanh((r_t * h) @ W_hh + x_t @ W_xh + b_h)
    # torch resets AFTER the matrix; its 2nd bias b_hn sits inside the reset:
    n_t = torch.tanh(x_t @ w["W_xn"] + w["b_xn"]
                     + r_t * (h @ w["W_hn"] + w["b_hn"]))
    # notes: h = (1 - z_t) * h + z_t * candidate_h
    #        (z = the share of the NEW state)
    # torch: z = the share of the OLD state kept (the same cell, z <-> 1 - z)
    h = (1 - z_t) * n_t + z_t * h
    return h, {"r": r_t, "z": z_t, "n": n_t}
''' + _H_STATE

_COMMON = '''\


def run_direction(w, xs):
    """Drive one layer and direction over xs (T, in), already in processing order.

    Returns the states s_0..s_T (T+1, n) and, per step t = 1..T, what the step recorded.
    """
    s = first_state()
    states, recorded = [s], []
    for x_t in xs:
        h, C = split_state(s)
        result = cell_step(w, x_t, h) if C is None else cell_step(w, x_t, h, C)
        s = result[0] if C is None else torch.cat([result[0], result[1]])
        states.append(s)
        recorded.append(result[-1])
    record = {k: torch.stack([r[k] for r in recorded]) for k in (recorded[0] if recorded else {})}
    return torch.stack(states), record


def run_by_hand(sd, x):
    """Every layer and direction by hand; layer l > 0 reads the outputs of layer l - 1
    (both directions concatenated, as torch does). Returns {(layer, direction): (states,
    record)}, the weights in the notes' layout and the last layer's output (T, D·Hh)."""
    runs, weights, layer_in = {}, {}, x
    for layer in range(NUM_LAYERS):
        outs = []
        for d in range(DIRECTIONS):
            w = weights[layer, d] = notes_weights(sd, layer, d)
            xs = layer_in if d == 0 else layer_in.flip(0)   # direction 1 reads backwards
            states, record = run_direction(w, xs)
            runs[layer, d] = (states, record)
            h = states[1:, :HH]
            outs.append(h if d == 0 else h.flip(0))          # back in time order
        layer_in = torch.cat(outs, dim=1)
    return runs, weights, layer_in


# ======================================================================= 4. torch.nn
def run_torch_nn(sd, x):
    """The same weights in torch.nn.@@TORCH@@ (eval mode, float64): (output, h_n[, c_n])."""
@@NN_BODY@@


def norm2(m):
    """The 2-norm (largest singular value) of a matrix."""
    return float(torch.linalg.matrix_norm(m, ord=2)) if m.numel() else 0.0


# ======================================================================= 5. ∂h_t/∂h_i
def one_step_jacobians(w, xs, states):
    """J_k = ∂s_k/∂s_{k-1} for k = 1..T from torch.autograd, shape (T, n, n).

    The row-vector formulas of cell_step work on a batch of rows, so every step is taken at
    once: row k of s_prev is s_{k-1}, row k of s_next is s_k. Step k depends only on its own
    row, so the gradient of the column sum s_next[:, j].sum() is, in row k, ∂s_k[j]/∂s_{k-1}:
    n backward passes give every J_k.
    """
    s_prev = states[:-1].detach().clone().requires_grad_(True)
    s_next = state_step(w, xs, s_prev)
    n = s_next.shape[1]
    rows = [torch.autograd.grad(s_next[:, j].sum(), s_prev, retain_graph=True)[0]
            for j in range(n)]
    return torch.stack(rows, dim=1)


def row_of_products(J, t):
    """log10 of ‖∂h_t/∂h_i‖₂, ‖∂h_t/∂h_i‖_F (and ‖∂c_t/∂c_i‖₂ for an LSTM), i = 0..t.

    ∂s_t/∂s_i = J_t J_{t-1} ··· J_{i+1}: the gradient at step t flowing back to step i.
    Going back one step multiplies on the right by J_{i+1}. The product is rescaled to norm 1
    after every multiplication and log10 of the scale kept apart, so 0.5^1200 stays 10^-361.
    For an LSTM, ∂h_t/∂h_i is the (h, h) block of ∂s_t/∂s_i: c_i held fixed.
    """
    n = J.shape[-1]
    P, scale, dead = torch.eye(n), 0.0, False
    rows = {"h": [0.0] * (t + 1), "h_fro": [0.0] * (t + 1), "c": [0.0] * (t + 1)}
    for i in range(t, -1, -1):
        if i < t:
            P = P @ J[i]                  # J[i] is J_{i+1} = ∂s_{i+1}/∂s_i
            size = float(torch.linalg.matrix_norm(P))
            if size == 0.0:
                dead = True
            else:
                P, scale = P / size, scale + math.log10(size)
        hh, cc = P[:HH, :HH], P[HH:, HH:]
        for key, value in (("h", norm2(hh)), ("h_fro", float(torch.linalg.matrix_norm(hh))),
                           ("c", norm2(cc))):
            rows[key][i] = -999.0 if dead or value == 0.0 else scale + math.log10(value)
    return rows


def autograd_norm(w, xs, t):
    """‖∂h_t/∂h_0‖₂ straight from torch.autograd: h_t as a function of h_0, through the whole
    loop (for an LSTM c_0 held fixed). Plain float64: a norm beyond 10^±300 under- or
    overflows here, which is why gradviz (and row_of_products) carry the product in log10."""
    s0 = first_state()

    def h_t_of_h_0(h0):
        s = torch.cat([h0, s0[HH:]])
        for x_k in xs[:t]:
            s = state_step(w, x_k, s)
        return s[:HH]

    jac = torch.autograd.functional.jacobian(h_t_of_h_0, s0[:HH])
    if not bool(torch.isfinite(jac).all()):
        return math.inf                       # overflowed float64
    return norm2(jac)


def say(*fields):
    print(" ".join(str(f) for f in fields))


def say_row(name, t, values):
    say(name, t, *[repr(float(v)) for v in values])


def main():
    sd = load_weights()
    x = load_inputs()                         # (T, INPUT_SIZE)
    assert x.shape == (T, INPUT_SIZE), x.shape

    # (a) by hand
    runs, weights, output = run_by_hand(sd, x)
    # (b) torch.nn, and the check that both agree (states can be huge: compare relatively)
    nn_result = run_torch_nn(sd, x)
    if nn_result is not None:
        nn_output, nn_finals = nn_result
        finals = [runs[l, d][0][-1] for l in range(NUM_LAYERS) for d in range(DIRECTIONS)]
        diff = 0.0
        for ours, theirs in [(output, nn_output)] + list(zip(finals, nn_finals)):
            assert torch.allclose(ours, theirs, rtol=1e-10, atol=1e-10), "hand != torch.nn"
            diff = max(diff, float((ours - theirs).abs().max()) if ours.numel() else 0.0)
        say("check", "hand_vs_torch_nn", repr(diff))

    states, record = runs[LAYER, DIRECTION]
    w = weights[LAYER, DIRECTION]
    # the input this layer and direction read, in its processing order
    layer_in = x if LAYER == 0 else torch.cat(
        [runs[LAYER - 1, d][0][1:, :HH] if d == 0 else runs[LAYER - 1, d][0][1:, :HH].flip(0)
         for d in range(DIRECTIONS)], dim=1)
    xs = layer_in if DIRECTION == 0 else layer_in.flip(0)

    say("steps", T)
    say("cursor", CURSOR)
    say("analysed", LAYER, DIRECTION)
    for t in range(1, T + 1):
        say_row("x", t, x[t - 1])
    for t in range(T + 1):
        say_row("h", t, states[t, :HH])
@@PRINT_BODY@@
    # the one-step Jacobians and the row of products at the cursor
    J = one_step_jacobians(w, xs, states)
@@JAC_CHECK@@
    rows = row_of_products(J, CURSOR)
    for i in range(CURSOR + 1):
        say("log10_jac_h", CURSOR, i, repr(rows["h"][i]))
    for i in range(CURSOR + 1):
        say("log10_jac_h_fro", CURSOR, i, repr(rows["h_fro"][i]))
@@C_ROW@@
    direct = autograd_norm(w, xs, CURSOR)
    if 1e-300 < direct < 1e300:
        say("log10_autograd", CURSOR, repr(math.log10(direct)))
        say("check", "autograd_vs_product", repr(abs(math.log10(direct) - rows["h"][0])))
        assert abs(math.log10(direct) - rows["h"][0]) < 1e-8, "autograd != product of J_k"
    else:
        say("log10_autograd", CURSOR, "out-of-range")   # use the log10 product above
'''

_NN = {
    "rnn": '''\
    if NONLINEARITY == "sigmoid":
        print("# torch.nn.RNN has no sigmoid nonlinearity: only the hand-written loop runs it")
        return None
    module = torch.nn.RNN(INPUT_SIZE, HIDDEN_SIZE, NUM_LAYERS, nonlinearity=NONLINEARITY,
                          bias=BIAS, bidirectional=DIRECTIONS == 2).double().eval()
    module.load_state_dict(sd)
    h0 = torch.full((NUM_LAYERS * DIRECTIONS, HH), H0)   # unbatched: (L·D, Hh)
    with torch.no_grad():
        output, h_n = module(x, h0)                        # x unbatched: (T, in)
    return output, list(h_n)''',
    "gru": '''\
    module = torch.nn.GRU(INPUT_SIZE, HIDDEN_SIZE, NUM_LAYERS, bias=BIAS,
                          bidirectional=DIRECTIONS == 2).double().eval()
    module.load_state_dict(sd)
    h0 = torch.full((NUM_LAYERS * DIRECTIONS, HH), H0)   # unbatched: (L·D, Hh)
    with torch.no_grad():
        output, h_n = module(x, h0)                        # x unbatched: (T, in)
    return output, list(h_n)''',
    "lstm": '''\
    sd = dict(sd)
    if FORGET_CLAMP is not None and not BIAS:
        print("# torch.nn.LSTM cannot clamp f_t without biases: only the hand loop runs it")
        return None
    if FORGET_CLAMP is not None:
        # torch has no forget clamp. The same f_t = FORGET_CLAMP comes out of torch.nn.LSTM when
        # W_if = W_hf = 0 and b_if + b_hf = logit(FORGET_CLAMP) (equal to the last bit or so).
        H = HIDDEN_SIZE
        logit = (math.inf if FORGET_CLAMP == 1 else -math.inf if FORGET_CLAMP == 0
                 else math.log(FORGET_CLAMP / (1 - FORGET_CLAMP)))
        for key in list(sd):
            if key.startswith(("weight_ih", "weight_hh", "bias_ih", "bias_hh")):
                sd[key] = sd[key].clone()
                sd[key][H:2 * H] = logit if key.startswith("bias_ih") else 0.0
    module = torch.nn.LSTM(INPUT_SIZE, HIDDEN_SIZE, NUM_LAYERS, bias=BIAS,
                           bidirectional=DIRECTIONS == 2, proj_size=PROJ_SIZE).double().eval()
    module.load_state_dict(sd)
    h0 = torch.full((NUM_LAYERS * DIRECTIONS, HH), H0)            # (L·D, Hh)
    c0 = torch.zeros(NUM_LAYERS * DIRECTIONS, HIDDEN_SIZE)        # (L·D, H)
    with torch.no_grad():
        output, (h_n, c_n) = module(x, (h0, c0))
    # compare h_T and c_T of every layer and direction: the states [h; c]
    return output, [torch.cat([h, c]) for h, c in zip(h_n, c_n)]''',
}

_PRINT = {
    "rnn": '''\
    for t in range(1, T + 1):
        say_row("a", t, record["a"][t - 1])
    for t in range(1, T + 1):
        say_row("dphi", t, dphi(record["a"][t - 1], states[t]))
    sigma = norm2(sd[f"weight_hh_l{LAYER}" + ("_reverse" if DIRECTION else "")])
    say("sigma_max", repr(sigma))
    if CURSOR >= 1:   # the status line: max_j |φ'(a_t)_j| · σ_max(W_hh)
        d = dphi(record["a"][CURSOR - 1], states[CURSOR])
        say("factor", "max|φ′(a_t)|·σ_max", CURSOR, repr(float(d.abs().max()) * sigma))''',
    "lstm": '''\
    for t in range(T + 1):
        say_row("c", t, states[t, HH:])
    for gate in GATES:
        for t in range(1, T + 1):
            say("gate", gate, t, *[repr(float(v)) for v in record[gate][t - 1]])
    say("sigma_max", repr(norm2(sd[f"weight_hh_l{LAYER}" + ("_reverse" if DIRECTION else "")])))
    if CURSOR >= 1:   # the status line: the mean forget gate
        say("factor", "mean_f_t", CURSOR, repr(float(record["f"][CURSOR - 1].mean())))''',
    "gru": '''\
    for gate in GATES:
        for t in range(1, T + 1):
            say("gate", gate, t, *[repr(float(v)) for v in record[gate][t - 1]])
    say("sigma_max", repr(norm2(sd[f"weight_hh_l{LAYER}" + ("_reverse" if DIRECTION else "")])))
    if CURSOR >= 1:   # the status line: the mean update gate (torch's z: the old state kept)
        say("factor", "mean_z_t", CURSOR, repr(float(record["z"][CURSOR - 1].mean())))''',
}

_JAC_CHECK = {
    "rnn": '''\
    # the notes' formula: ∂h_k/∂h_{k-1} = diag(φ'(a_k)) · W_R, with W_R torch's weight_hh
    # (the notes' W_hh transposed, because they write h @ W_hh)
    W_R = w["W_hh"].T
    formula = dphi(record["a"], states[1:])[:, :, None] * W_R
    say("check", "formula_vs_autograd_J", repr(float((formula - J).abs().max())))
    assert torch.allclose(formula, J, rtol=1e-12, atol=1e-12), "J_k != diag(φ'(a_k)) W_R"''',
    "lstm": '''\
    # the forget-gate path: the (C, C) block of J_k is ∂C_k/∂C_{k-1} = diag(f_k)
    cc = J[:, HH:, HH:]
    formula = torch.diag_embed(record["f"])
    say("check", "dC_dC_is_diag_f", repr(float((cc - formula).abs().max())))
    assert torch.allclose(cc, formula, rtol=1e-12, atol=1e-12), "∂C_k/∂C_{k-1} != diag(f_k)"''',
    "gru": '''\
    # the GRU's one-step Jacobian by hand (torch's convention, W_* in torch's layout):
    #   ∂h_k/∂h_{k-1} = diag(z) + diag(h_{k-1} - n) dz + diag(1 - z) diag(1 - n²) ∂a_n/∂h
    #   ∂a_n/∂h = diag(W_hn h_{k-1} + b_hn) dr + diag(r) W_hn,
    #   dr = diag(r (1 - r)) W_hr,   dz = diag(z (1 - z)) W_hz
    r, z, n, h_prev = record["r"], record["z"], record["n"], states[:-1]
    W_r, W_z, W_n = w["W_hr"].T, w["W_hz"].T, w["W_hn"].T
    hn = h_prev @ w["W_hn"] + w["b_hn"]
    dr = (r * (1 - r))[:, :, None] * W_r
    dz = (z * (1 - z))[:, :, None] * W_z
    da_n = hn[:, :, None] * dr + r[:, :, None] * W_n
    formula = (torch.diag_embed(z) + (h_prev - n)[:, :, None] * dz
               + ((1 - z) * (1 - n * n))[:, :, None] * da_n)
    say("check", "formula_vs_autograd_J", repr(float((formula - J).abs().max())))
    assert torch.allclose(formula, J, rtol=1e-12, atol=1e-12), "GRU J_k formula != autograd"''',
}

_C_ROW = {
    "lstm": '''\
    for i in range(CURSOR + 1):
        say("log10_jac_c", CURSOR, i, repr(rows["c"][i]))''',
}


def _body(kind: str, nonlinearity: str, torch_name: str) -> str:
    gates = {"rnn": "one block: G = 1", "lstm": "G = 4 in the order i, f, g, o",
             "gru": "G = 3 in the order r, z, n"}[kind]
    gru_bias = (" for r and z; for the candidate n, b_hn is multiplied by r, see below"
                if kind == "gru" else "")
    layer_note = ("# Layer l > 0 reads the previous layer's outputs; direction 1 reads the "
                  "sequence backwards and its\n# states are numbered in its processing order "
                  "(its step 1 reads x_T), as in gradviz.\n")
    text = _HEADER_NOTES.replace("@@GATES@@", gates).replace("@@GRU_BIAS@@", gru_bias)
    text = text.replace("@@LAYER_NOTE@@", layer_note)
    text += {"rnn": _RNN, "lstm": _LSTM, "gru": _GRU}[kind]
    common = _COMMON.replace("@@TORCH@@", torch_name).replace("@@NN_BODY@@", _NN[kind])
    common = common.replace("@@PRINT_BODY@@", _PRINT[kind])
    common = common.replace("@@JAC_CHECK@@", _JAC_CHECK[kind])
    common = common.replace("@@C_ROW@@", _C_ROW.get(kind, ""))
    return text + common + "\n"
