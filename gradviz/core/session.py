"""Session files: a scene plus what the window was showing, as human-readable JSON.

A session file reproduces the numbers bit for bit on any machine. Layout (version 1)::

    {
      "format": "gradviz-session",
      "version": 1,
      "scene": {...every Scene setting...},
      "step": 42,                  # the selected step t, or null (= the last step)
      "compare": false,            # RNN vs LSTM vs GRU side by side
      "preset": "tanh-vanishing",  # the preset it started from, or null
      "view_layout": null,         # opaque text from the window (e.g. base64 of saveState)
      "weights": null | {"source": "...", "params": [{"key": "weight_hh_l0",
                                   "shape": [16, 16], "values": [[...], ...]}, ...]},
      "inputs": null | {"source": "...", "values": [[x_1], [x_2], ...]},
      "training": null | {"config": {...TrainConfig...} | null,
                          "result": null | {"config": {...}, "history": {"loss": [...], ...},
                                            "iterations": 30, "stopped_nonfinite": null,
                                            "cancelled": false, "elapsed": 1.2,
                                            "weights": {"rnn.weight_hh_l0": [[...], ...], ...}}}
    }

``weights`` holds the torch ``state_dict`` when the scene's weights came from a file
(``scene.state_dict_path``); ``inputs`` the CSV's numbers (before the amplitude slider) when
they came from ``scene.inputs_path``. Floats are written with Python's ``repr``, which reads
back to the same float64. On load the embedded copies are used, never the paths (which stay
in the scene only to say where the data came from): pass :func:`session_base_net` and
:func:`session_inputs` to :func:`~gradviz.core.scene.simulate`.

``training`` is the training lab's setup and last run: the run's history and its trained
weights (every tensor of the model's ``state_dict``, head included) as plain numbers, never
pickled code; :func:`gradviz.core.training.check_lab_state` checks it on load (no torch) and
:func:`gradviz.core.training.restore_lab_state` rebuilds the trained model from it.
"""
from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .cells import RecurrentNet, load_state_dict_file, net_from_state_dict
from .errors import GradvizError
from .files import atomic_write_text, read_user_text
from .i18n import _
from .inputs import read_csv
from .scene import Scene, _short

FORMAT = "gradviz-session"
VERSION = 1
SUFFIX = ".gradviz.json"
_KEYS = ("format", "version", "scene", "step", "compare", "preset", "view_layout", "weights",
         "inputs", "training")


@dataclass
class Session:
    """Everything a session file holds (see the module docstring for the file layout)."""

    scene: Scene = field(default_factory=Scene)
    step: int | None = None
    compare: bool = False
    preset: str | None = None
    view_layout: str | None = None
    weights: dict[str, np.ndarray] | None = None   # torch key -> float64 array
    inputs: np.ndarray | None = None              # (T, input_size), before the amplitude
    training: dict | None = None                  # the training lab: {"config", "result"}
    version: int = VERSION

    def with_scene(self, scene: Scene) -> Session:
        """The same session on a changed scene; embedded data kept only if its file is the same.

        (A scene whose ``state_dict_path`` changed gets its weights read anew at save time.)
        """
        keep_w = self.weights is not None and scene.state_dict_path == self.scene.state_dict_path
        keep_x = self.inputs is not None and scene.inputs_path == self.scene.inputs_path
        return Session(scene=scene, step=self.step, compare=self.compare, preset=self.preset,
                       view_layout=self.view_layout, weights=self.weights if keep_w else None,
                       inputs=self.inputs if keep_x else None, training=self.training)


# ---------------------------------------------------------------- what simulate() needs

def session_base_net(session: Session) -> RecurrentNet | None:
    """The embedded weights as a net, or None (then ``simulate`` builds them from the scene)."""
    if session.weights is None:
        return None
    return net_from_state_dict(session.weights, session.scene.nonlinearity,
                               source=_("session weights"))


def session_inputs(session: Session) -> np.ndarray | None:
    """The embedded inputs times the amplitude (as ``scene_inputs`` computes), or None."""
    if session.inputs is None:
        return None
    return session.scene.amplitude * session.inputs


# ---------------------------------------------------------------- saving

def embed_files(session: Session) -> Session:
    """A copy whose weights/inputs are embedded when the scene names files for them.

    Reads ``scene.state_dict_path`` / ``scene.inputs_path`` only when nothing is embedded
    yet (the window passes ``weights=base.params`` to skip reloading a file it holds).
    Embedded data for a scene without such a path is dropped.
    """
    scene = session.scene
    weights, inputs = session.weights, session.inputs
    if not scene.state_dict_path:
        weights = None
    elif weights is None:
        weights = load_state_dict_file(scene.state_dict_path, scene.nonlinearity).params
    if not scene.inputs_path:
        inputs = None
    elif inputs is None:
        inputs = read_csv(scene.inputs_path, expected_width=scene.input_size,
                          columns=scene.inputs_columns, time=scene.inputs_time)
    return Session(scene=scene, step=session.step, compare=session.compare,
                   preset=session.preset, view_layout=session.view_layout,
                   weights=weights, inputs=inputs, training=session.training)


def session_to_json(session: Session) -> str:
    """The file's text: indented JSON, each innermost row of numbers on one line."""
    s = embed_files(session)
    rows: list[str] = []

    def inline(value) -> str:
        """A placeholder for ``value``, dumped on one line after the indented dump."""
        rows.append(json.dumps(value, allow_nan=False))
        return f"\0{len(rows) - 1}\0"

    def packed(array: np.ndarray):
        """Nested lists whose innermost rows are placeholders."""
        a = np.asarray(array, dtype=np.float64)
        if a.ndim <= 1:
            return inline(a.tolist() if a.ndim else float(a))
        return [packed(sub) for sub in a]

    data = {
        "format": FORMAT,
        "version": VERSION,
        "scene": s.scene.to_dict(),
        "step": s.step,
        "compare": s.compare,
        "preset": s.preset,
        "view_layout": s.view_layout,
        "weights": None if s.weights is None else {
            "source": Path(s.scene.state_dict_path or "").name,
            "params": [{"key": k, "shape": inline(list(np.shape(v))), "values": packed(v)}
                       for k, v in s.weights.items()]},
        "inputs": None if s.inputs is None else {
            "source": Path(s.scene.inputs_path or "").name, "values": packed(s.inputs)},
        "training": None if s.training is None else _training_json(s.training, inline, packed),
    }
    text = json.dumps(data, indent=1, ensure_ascii=False, allow_nan=False)
    return re.sub(r'"\\u0000(\d+)\\u0000"', lambda m: rows[int(m.group(1))], text) + "\n"


def _training_json(training: dict, inline, packed) -> dict:
    """The lab's state with each history list and each weight row on one line."""
    result = training.get("result")
    if result is not None:
        result = dict(result)
        result["history"] = {k: [inline(list(map(float, row))) for row in v]
                             if k in ("grad_h", "whh_contrib") else inline(list(v))
                             for k, v in (result.get("history") or {}).items()}
        if result.get("weights") is not None:
            result["weights"] = {k: packed(v) for k, v in result["weights"].items()}
    return {"config": training.get("config"), "result": result}


def save_session(path, session: Session, overwrite: bool = False) -> Path:
    """Write ``session`` to ``path`` atomically (weights and inputs files embedded)."""
    return atomic_write_text(path, session_to_json(session), overwrite=overwrite)


# ---------------------------------------------------------------- loading

def _number_array(value, shape, where: str) -> np.ndarray:
    try:
        a = np.array(value, dtype=np.float64)
    except (ValueError, TypeError, RecursionError):
        raise GradvizError(_("{where}: expected nested lists of numbers").format(where=where)) from None
    except OverflowError:
        raise GradvizError(_("{where}: a number is too large for float64").format(where=where)) from None
    if value is not None and _has_bool(value):
        raise GradvizError(_("{where}: expected numbers, found true/false").format(where=where))
    if shape is not None and a.shape != tuple(shape):
        raise GradvizError(_("{where}: has shape {shape}, expected {value}")
                           .format(where=where, shape=a.shape, value=tuple(shape)))
    if not np.all(np.isfinite(a)):
        raise GradvizError(_("{where}: contains NaN or inf").format(where=where))
    return a


def _has_bool(value) -> bool:
    if isinstance(value, bool):
        return True
    if isinstance(value, list):
        return any(_has_bool(v) for v in value)
    return False


def session_from_dict(data, name: str = "session") -> Session:
    """A :class:`Session` from parsed JSON; anything wrong is a :class:`GradvizError`."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise GradvizError(_('{name}: not a gradviz session file (no "format": "{FORMAT}")')
                           .format(name=name, FORMAT=FORMAT))
    version = data.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise GradvizError(_('{name}: "version" must be an integer, got {value}')
                           .format(name=name, value=_short(version)))
    if version > VERSION:
        raise GradvizError(_("{name}: written by a newer gradviz (session version {value}; "
                             "this one reads up to {VERSION})")
                           .format(name=name, value=_short(version), VERSION=VERSION))
    if version < 1:
        raise GradvizError(_("{name}: unknown session version {value}")
                           .format(name=name, value=_short(version)))
    unknown = sorted(set(data) - set(_KEYS))
    if unknown:
        raise GradvizError(_("{name}: unknown key {key}").format(name=name, key=_short(unknown[0])))
    if "scene" not in data:
        raise GradvizError(_("{name}: missing key 'scene'").format(name=name))
    try:
        scene = Scene.from_dict(data["scene"], source=f"{name}: scene")
    except GradvizError as exc:
        msg = str(exc)
        raise GradvizError(msg if msg.startswith(name) else _("{name}: scene: {message}")
                           .format(name=name, message=msg)) from None
    except (TypeError, ValueError, OverflowError):   # e.g. null where a number is required
        raise GradvizError(_("{name}: scene: a setting has the wrong type (null or text where a number is "
                             "expected)")
                           .format(name=name)) from None
    for key in ("state_dict_path", "inputs_path"):
        if getattr(scene, key) is not None and not isinstance(getattr(scene, key), str):
            raise GradvizError(_("{name}: scene: {key} must be a file path (text) or null")
                               .format(name=name, key=key))
    step = data.get("step")
    if step is not None and (isinstance(step, bool) or not isinstance(step, int) or step < 0):
        raise GradvizError(_('{name}: "step" must be a step number ≥ 0 or null, got {value}')
                           .format(name=name, value=_short(step)))
    compare = data.get("compare", False)
    if not isinstance(compare, bool):
        raise GradvizError(_('{name}: "compare" must be true or false, got {value}')
                           .format(name=name, value=_short(compare)))
    for key in ("preset", "view_layout"):
        if data.get(key) is not None and not isinstance(data[key], str):
            raise GradvizError(_('{name}: "{key}" must be text or null').format(name=name, key=key))
    session = Session(scene=scene, step=step, compare=compare, preset=data.get("preset"),
                      view_layout=data.get("view_layout"), version=version)
    if data.get("training") is not None:
        from .training import check_lab_state
        try:
            session.training = check_lab_state(data["training"], source=f"{name}: training")
        except GradvizError as exc:
            msg = str(exc)
            raise GradvizError(msg if msg.startswith(name) else f"{name}: training: {msg}") from None

    weights = data.get("weights")
    if weights is not None:
        if not scene.state_dict_path:
            raise GradvizError(_('{name}: "weights" are embedded but the scene names no state_dict_path '
                                 'they came from')
                               .format(name=name))
        params = weights.get("params") if isinstance(weights, dict) else None
        if not isinstance(params, list) or not params:
            raise GradvizError(_('{name}: "weights" must hold a list "params" of {{key, shape, values}}')
                               .format(name=name))
        sd = {}
        for n, p in enumerate(params):
            if not isinstance(p, dict) or not isinstance(p.get("key"), str) \
                    or not isinstance(p.get("shape"), list) or "values" not in p \
                    or not all(isinstance(d, int) and not isinstance(d, bool) and 0 <= d <= 2**31
                               for d in p["shape"]):
                raise GradvizError(_("{name}: weights entry {n} must have key, shape (sizes) "
                                     "and values").format(name=name, n=n))
            sd[p["key"]] = _number_array(p["values"], p["shape"], f"{name}: weights {p['key']}")
        net = net_from_state_dict(sd, scene.nonlinearity, source=f"{name}: weights")
        fields = ("kind", "input_size", "hidden_size", "num_layers", "bidirectional", "proj_size")
        if [getattr(net.spec, f) for f in fields] != [getattr(scene.spec(), f) for f in fields]:
            raise GradvizError(_("{name}: the embedded weights ({value}) do not match the scene ({value2})")
                               .format(name=name, value=_describe(net.spec), value2=_describe(scene.spec())))
        session.weights = net.params

    inputs = data.get("inputs")
    if inputs is not None:
        if not scene.inputs_path:
            raise GradvizError(_('{name}: "inputs" are embedded but the scene names no inputs_path they '
                                 'came from')
                               .format(name=name))
        if not isinstance(inputs, dict) or "values" not in inputs:
            raise GradvizError(_('{name}: "inputs" must hold "values" (rows of numbers)').format(name=name))
        x = _number_array(inputs["values"], None, f"{name}: inputs")
        if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] != scene.input_size:
            raise GradvizError(_("{name}: inputs must be T rows of {input_size} number(s), got shape {shape}")
                               .format(name=name, input_size=scene.input_size, shape=x.shape))
        session.inputs = x
    return session


def _describe(spec) -> str:
    return (_("{label} with input size {input_size}, hidden size {hidden_size}, {layers} layer(s)")
            .format(label=spec.cell_kind.label, input_size=spec.input_size,
                    hidden_size=spec.hidden_size, layers=spec.num_layers)
            + (_(", bidirectional") if spec.bidirectional else "")
            + (_(", proj_size {proj_size}").format(proj_size=spec.proj_size) if spec.proj_size else ""))


class OutsideFileError(GradvizError):
    """A session names a file to read outside its own folder (the window asks first)."""

    def __init__(self, session_path: Path, key: str, target: Path):
        self.session_path, self.key, self.target = session_path, key, target
        super().__init__(_("{name}: {key} names a file outside the session's "
                           "folder ({target}); not read (copy it next to the session)")
                         .format(name=session_path.name, key=key, target=target))


def load_session(path, allow_outside: bool = False) -> Session:
    """Read a session file; a malformed or foreign file is a :class:`GradvizError`.

    UTF-8 with or without a BOM (as CSV files). Relative ``state_dict_path``/``inputs_path``
    resolve against the session's folder (made absolute here); a file that would actually be
    read (not embedded) must lie inside that folder unless ``allow_outside`` (the window asks
    the user first): :class:`OutsideFileError`.
    """
    path = Path(path)
    text = read_user_text(path, _("text"), encoding="utf-8-sig")
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise GradvizError(_("{name}: not JSON (line {lineno}: {msg})")
                           .format(name=path.name, lineno=exc.lineno, msg=exc.msg)) from None
    except ValueError as exc:
        raise GradvizError(f"{path.name}: {str(exc)[:120]}") from None
    except RecursionError:
        raise GradvizError(_("{name}: nested too deeply to be a session file")
                           .format(name=path.name)) from None
    try:
        session = session_from_dict(data, name=path.name)
    except RecursionError:
        raise GradvizError(_("{name}: nested too deeply to be a session file")
                           .format(name=path.name)) from None
    return _resolve_paths(session, path, allow_outside)


def _resolve_paths(session: Session, path: Path, allow_outside: bool) -> Session:
    folder = path.resolve().parent
    changes = {}
    for key, embedded in (("state_dict_path", session.weights is not None),
                          ("inputs_path", session.inputs is not None)):
        value = getattr(session.scene, key)
        if not value:
            continue
        target = Path(value) if Path(value).is_absolute() else folder / value
        target = Path(os.path.normpath(target))
        changes[key] = str(target)
        if embedded or allow_outside:
            continue
        try:
            target.resolve().relative_to(folder)
        except (ValueError, OSError):
            raise OutsideFileError(path, key, target) from None
    if changes:
        session.scene = session.scene.replace(**changes)
    _resolve_training_csv(session, path, folder, allow_outside)
    return session


def _resolve_training_csv(session: Session, path: Path, folder: Path, allow_outside: bool) -> None:
    """A training CSV named relative to the session resolves against its folder; the one a
    saved run is rebuilt from (read on open) must lie inside it unless ``allow_outside``."""
    t = session.training
    if not t:
        return
    for key, cfg in (("training setup csv_path", t.get("config")),
                     ("training result csv_path", (t.get("result") or {}).get("config"))):
        value = cfg.get("csv_path") if cfg else None
        if not value or cfg is None:
            continue
        target = Path(value) if Path(value).is_absolute() else folder / value
        target = Path(os.path.normpath(target))
        cfg["csv_path"] = str(target)
        if allow_outside or key.startswith("training setup"):
            continue   # the setup's file is read only when the user trains again
        try:
            target.resolve().relative_to(folder)
        except (ValueError, OSError):
            raise OutsideFileError(path, key, target) from None


def _reject_constant(name):
    raise ValueError(_("{name} is not a valid number in a session file").format(name=name))


# ---------------------------------------------------------------- autosave

def data_dir() -> Path:
    """Where gradviz keeps user data: $GRADVIZ_DATA_DIR, else the platform's user data folder."""
    env = os.environ.get("GRADVIZ_DATA_DIR")
    if env:
        return Path(env)
    home = Path.home()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or home / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = home / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or home / ".local" / "share")
    return base / "gradviz"


def autosave_path() -> Path:
    return data_dir() / f"autosave{SUFFIX}"


def write_autosave(session: Session) -> Path:
    """Save ``session`` as the autosave (replacing the previous one, atomically)."""
    path = autosave_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GradvizError(_("{parent}: cannot create the data folder ({strerror})")
                           .format(parent=path.parent, strerror=exc.strerror)) from None
    return save_session(path, session, overwrite=True)


def read_autosave() -> Session | None:
    """The autosaved session, or None if there is none (a broken one is a GradvizError)."""
    path = autosave_path()
    if not path.is_file():
        return None
    return load_session(path)


def clear_autosave() -> None:
    """Remove the autosave (after a clean quit)."""
    try:
        autosave_path().unlink()
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise GradvizError(_("{value}: cannot remove ({strerror})")
                           .format(value=autosave_path(), strerror=exc.strerror)) from None
