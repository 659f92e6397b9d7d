"""The ``gradviz`` command: the window, and ``gradviz export`` (headless, same code path).

    gradviz [--preset NAME | --session FILE]     open the window
    gradviz --list-presets                      list the presets
    gradviz export [options] --out DIR          write DIR/trace.npz and one PNG per view
    gradviz export [options] --script FILE.py   write the scene as one runnable torch script

Bad input (a file, a row, an option) ends with one short line on stderr and exit status 1
(2 for a malformed command line); an export never leaves a half-written folder behind.
"""
from __future__ import annotations

import argparse
import contextlib
import math
import os
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .core import i18n
from .core.argparse_text import localize_argparse
from .core.errors import GradvizError
from .core.i18n import _

PROG = "gradviz"
_window_lang: str | None = None   # --lang as given (the window also weighs its remembered choice)
EXIT_ERROR, EXIT_USAGE, EXIT_INTERNAL, EXIT_INTERRUPTED = 1, 2, 3, 130



class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage block): ``gradviz export: error: ...``."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # "-1e3", "-.5", "-1E-3" are values (argparse only knows "-1" and "-1.5"); no option
        # of gradviz looks like a number, so this is never ambiguous
        self._negative_number_matcher = re.compile(
            r"^-(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")

    def error(self, message):
        raise _UsageError(_("{prog}: error: {message}").format(prog=self.prog, message=message))


class _UsageError(Exception):
    pass


# ---------------------------------------------------------------- option value types

def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(_("expected a positive integer, got {text!r}")
                                         .format(text=text)) from None
    if value <= 0:
        raise argparse.ArgumentTypeError(_("expected a positive integer, got {text!r}").format(text=text))
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(_("expected an integer ≥ 0, got {text!r}")
                                         .format(text=text)) from None
    if value < 0:
        raise argparse.ArgumentTypeError(_("expected an integer ≥ 0, got {text!r}").format(text=text))
    return value


def _seed(text: str) -> int:
    from .core.scene import SEED_MAX
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= SEED_MAX:
        raise argparse.ArgumentTypeError(_("expected an integer from 0 to {top}, got {text!r}")
                                         .format(top=SEED_MAX, text=text))
    return value


def _finite(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(_("expected a number, got {text!r}").format(text=text)) from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(_("expected a finite number, got {text!r}").format(text=text))
    return value


def _unit_interval(text: str) -> float:
    value = _finite(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(_("expected a number in [0, 1], got {text!r}").format(text=text))
    return value


def _text(text: str) -> str:
    """A name or path: an empty one is refused (``--out ""`` would mean the current folder)."""
    if not text.strip():
        raise argparse.ArgumentTypeError(_("expected a name, got an empty string"))
    return text


def _sigma_or_none(text: str) -> float | str:
    if text.strip().lower() == "none":
        return "none"
    return _finite(text)


# ---------------------------------------------------------------- parsers

def _window_parser() -> _Parser:
    p = _Parser(prog=PROG, description=_("Watch the gradient dynamics of RNN, LSTM and GRU cells "
                "live. `gradviz export --help` for the headless export."))
    group = p.add_mutually_exclusive_group()
    group.add_argument("--preset", metavar="NAME", type=_text, help=_("open on a preset scene"))
    group.add_argument("--session", metavar="FILE", type=_text, help=_("open a saved session"))
    p.add_argument("--list-presets", action="store_true", help=_("list the presets and exit"))
    p.add_argument("--lang", metavar="LANG", choices=list(i18n.LANGUAGES),
                   help=_("language of the window and the messages: zh_CN or en (default: $GRADVIZ_LANG, "
                          "the last choice, the system locale)"))
    return p


def export_parser() -> _Parser:
    """The options of ``gradviz export`` (each default None: "not given")."""
    from .core.cells import INITS
    from .core.inputs import SIGNALS
    from .core.kinds import CELL_NAMES

    p = _Parser(prog=f"{PROG} export",
                description=_("Simulate a cell headlessly and write DIR/trace.npz (float64: states, "
                "gates, log10 Jacobian-product maps) plus one PNG per view."),
                epilog=_("With --state-dict, kind and sizes come from the file: --cell may only "
                "choose the RNN nonlinearity (the file does not store it), and --hidden, "
                "--input-size, --num-layers, --bidirectional, --proj-size or --init that "
                "contradict the file are an error. W_hh is used as stored unless --wr-scale "
                "is given. --inputs sets T (and the input size unless the weights fix it); its numbers are "
                "used as they are unless --amplitude is given."))
    p.add_argument("--out", metavar="DIR", type=_text,
                   help=_("output folder (created; same-named files in it are replaced)"))
    p.add_argument("--script", metavar="FILE.py", type=_text,
                   help=_("also (or instead of --out) write the scene as one runnable torch "
                   "script (hand-written loop, torch.nn check, autograd norms; replaced if it "
                   "exists)"))
    src = p.add_mutually_exclusive_group()
    src.add_argument("--preset", metavar="NAME", type=_text, help=_("start from a preset scene"))
    src.add_argument("--session", metavar="FILE", type=_text, help=_("start from a saved session"))
    p.add_argument("--cell", choices=list(CELL_NAMES), help=_("cell and nonlinearity (default rnn = tanh "
                                                              "RNN)"))
    p.add_argument("--hidden", type=_positive_int, metavar="N", help=_("hidden size H (default 16)"))
    p.add_argument("--input-size", type=_positive_int, metavar="N", help=_("input size (default 1)"))
    p.add_argument("--num-layers", type=_positive_int, metavar="N", help=_("stacked layers (default 1)"))
    p.add_argument("--bidirectional", action="store_const", const=True, default=None,
                   help=_("two directions, as torch's bidirectional=True"))
    p.add_argument("--proj-size", type=_count, metavar="P", help=_("LSTM projection size (default 0)"))
    p.add_argument("--steps", type=_positive_int, metavar="T", help=_("number of steps T (default 100)"))
    p.add_argument("--seed", type=_seed, metavar="S", help=_("seed of the weights and the noise input"))
    p.add_argument("--init", choices=INITS, help=_("init scheme of the weights (default: torch's)"))
    p.add_argument("--wr-scale", type=_sigma_or_none, metavar="X",
                   help=_("scale W_hh to largest singular value X (H = 1: w = X); 'none' keeps it"))
    p.add_argument("--forget-bias", type=_finite, metavar="B",
                   help=_("LSTM effective forget-gate bias b_if + b_hf"))
    p.add_argument("--forget-clamp", type=_unit_interval, metavar="F",
                   help=_("LSTM: force every forget gate f_t to F"))
    p.add_argument("--update-bias", type=_finite, metavar="B", help=_("GRU effective update-gate bias"))
    p.add_argument("--input", choices=SIGNALS, help=_("input signal (default sine)"))
    p.add_argument("--amplitude", type=_finite, metavar="A", help=_("input amplitude (default 1)"))
    p.add_argument("--h0", type=_finite, metavar="V", help=_("initial state value of every unit"))
    p.add_argument("--state-dict", metavar="FILE", type=_text,
                   help=_("torch state_dict of an nn.RNN/LSTM/GRU"))
    p.add_argument("--inputs", metavar="FILE.csv", type=_text,
                   help=_("inputs: T rows × input_size numbers, header optional (sets T); UTF-8 "
                        "with or without BOM, UTF-16 or GBK/GB18030 as Excel writes it"))
    p.add_argument("--columns", metavar="NAMES", type=_text,
                   help=_("--inputs columns that drive the cell, by header name or 1-based number, "
                        "comma-separated (default: every column of numbers; dates and text "
                        "are left out)"))
    p.add_argument("--time-column", metavar="NAME", type=_text,
                   help=_("--inputs column that labels the steps (not an input); rows follow its "
                        "order when it holds numbers or year-first dates"))
    p.add_argument("--layer", type=_count, metavar="L", help=_("layer to analyse (default 0)"))
    p.add_argument("--direction", type=int, choices=(0, 1),
                   help=_("direction to analyse (1: the reverse one, in processing order)"))
    p.add_argument("--scale", type=int, choices=(1, 2, 3), default=1,
                   help=_("PNG resolution: 1×, 2× or 3× the on-screen pixel size"))
    return p


# ---------------------------------------------------------------- building the scene

@dataclass
class ExportPlan:
    """What an export will compute: the scene, and weights/inputs already read from files."""

    scene: object
    base: object = None          # RecurrentNet or None (built from seed + init)
    inputs: object = None        # (T, input_size) array or None (the scene's signal)
    step: int | None = None      # the step the figures show (a preset's or session's); None = T
    notes: list[str] = field(default_factory=list)


_SIZE_FLAGS = (("hidden", "hidden_size", "--hidden"), ("input_size", "input_size", "--input-size"),
               ("num_layers", "num_layers", "--num-layers"),
               ("bidirectional", "bidirectional", "--bidirectional"),
               ("proj_size", "proj_size", "--proj-size"))


def plan_export(args: argparse.Namespace) -> ExportPlan:
    """Turn parsed options into a scene plus loaded files; every contradiction is an error."""
    from .core.cells import load_state_dict_file
    from .core.kinds import CELL_NAMES
    from .core.scene import Scene, resolve, scene_from_net

    base = inputs = step = None
    if args.session:
        from .core.session import load_session, session_base_net
        session = load_session(args.session)
        scene, step = session.scene, session.step
        base = session_base_net(session)
        inputs = session.inputs            # before the amplitude; scaled below
    elif args.preset:
        scene, step = _preset_scene(args.preset)
    else:
        scene = Scene()

    changes = {}
    if args.cell:
        changes["cell"] = CELL_NAMES[args.cell].kind
        changes["nonlinearity"] = CELL_NAMES[args.cell].nonlinearity
    for flag, name, _kind in _SIZE_FLAGS:
        if getattr(args, flag) is not None:
            changes[name] = getattr(args, flag)
    for flag in ("steps", "seed", "init", "forget_bias", "forget_clamp", "update_bias",
                 "input", "amplitude", "h0", "layer", "direction"):
        if getattr(args, flag) is not None:
            changes[flag] = getattr(args, flag)
    if args.wr_scale is not None:
        changes["wr_scale"] = None if args.wr_scale == "none" else args.wr_scale
    if args.state_dict:
        changes["state_dict_path"] = args.state_dict
        base = None
        if args.wr_scale is None:
            changes["wr_scale"] = None     # a loaded network keeps its own W_hh
    if args.inputs:
        if args.input:
            raise GradvizError(_("--input and --inputs: choose one (a signal or a CSV file)"))
        changes["inputs_path"] = args.inputs
        changes["inputs_columns"] = args.columns
        changes["inputs_time"] = args.time_column
        inputs = None
        if args.amplitude is None:
            changes["amplitude"] = 1.0     # a file's numbers are used as they are
    elif args.input and scene.inputs_path:
        changes["inputs_path"] = None      # a signal replaces the session's CSV
        changes["inputs_columns"] = changes["inputs_time"] = None
        inputs = None
    if (args.columns or args.time_column) and not args.inputs:
        raise GradvizError(_("--columns and --time-column choose columns of --inputs FILE.csv"))
    scene = scene.replace(**changes)

    if scene.state_dict_path and base is None:
        if args.init:
            raise GradvizError(_("--init {init} contradicts --state-dict: the weights come from "
                                 "{state_dict_path}")
                               .format(init=args.init, state_dict_path=scene.state_dict_path))
        base = load_state_dict_file(scene.state_dict_path, scene.nonlinearity)
    if base is not None:
        spec = base.spec
        source = scene.state_dict_path or _("the session's weights")
        try:
            scene_from_net(scene, base).validate()   # too large for this machine: name the file
        except GradvizError as exc:
            raise GradvizError(f"{source}: {exc}") from None
        if args.cell and CELL_NAMES[args.cell].kind != spec.kind:
            raise GradvizError(_("--cell {cell} contradicts {source}: it holds {a_label}")
                               .format(cell=args.cell, source=source, a_label=spec.cell_kind.a_label))
        for flag, name, option in _SIZE_FLAGS:
            given = getattr(args, flag)
            if given is not None and given != getattr(spec, name):
                raise GradvizError(_("{option} {given} contradicts {source}: its {value} is {value2}")
                                   .format(option=option, given=given, source=source,
                                           value=name.replace('_', ' '), value2=getattr(spec, name)))
        _check_layer(scene, spec.num_layers, spec.directions)
    if base is None:
        _check_layer(scene, scene.num_layers, 2 if scene.bidirectional else 1)
        scene.validate()   # before any weights are built from it
        if getattr(args, "out", None) is not None and not scene.inputs_path:
            map_stride(ExportPlan(scene=scene))   # a map that cannot fit: refused before any work
    resolved = resolve(scene, base=base, raw_inputs=inputs,
                       csv_sets_input_size=args.input_size is None)
    scene = resolved.scene
    _check_cell_options(args, scene)
    if resolved.raw_inputs is not None and args.steps is not None and args.steps != scene.steps:
        raise GradvizError(_("--steps {steps} contradicts {value}: it has {steps2} rows (the CSV sets T)")
                           .format(steps=args.steps, value=scene.inputs_path or _("the inputs"),
                                   steps2=scene.steps))
    _check_layer(scene, scene.num_layers, 2 if scene.bidirectional else 1)   # names the option
    scene.validate()
    return ExportPlan(scene=scene, base=resolved.base, inputs=resolved.inputs, step=step)


def _preset_scene(name: str):
    """(scene, selected step or None) of a preset."""
    from .core.presets import load_preset
    preset = load_preset(name)
    return preset.scene, preset.step


def _check_layer(scene, num_layers: int, directions: int) -> None:
    if not 0 <= scene.layer < num_layers:
        raise GradvizError(_("--layer {layer} is out of range: the cell has {num_layers} layer(s), numbered "
                             "from 0")
                           .format(layer=scene.layer, num_layers=num_layers))
    if not 0 <= scene.direction < directions:
        raise GradvizError((_("--direction {direction} is out of range: the cell is bidirectional")
                            if directions == 2 else
                            _("--direction {direction} is out of range: the cell is unidirectional"))
                           .format(direction=scene.direction))


def _check_cell_options(args, scene) -> None:
    """Slider options that do not apply to the chosen cell are an error, not ignored."""
    from .core.kinds import KINDS

    def owner(test):
        return next(k for k in KINDS.values() if test(k))

    for flag, option, kind in (
            ("forget_bias", "--forget-bias", owner(lambda k: k.bias_field == "forget_bias")),
            ("forget_clamp", "--forget-clamp", owner(lambda k: k.has_cell)),
            ("update_bias", "--update-bias", owner(lambda k: k.bias_field == "update_bias"))):
        if getattr(args, flag) is not None and scene.cell != kind.name:
            raise GradvizError(_("{option} applies to {a_label} only (the cell is {cell_name})")
                               .format(option=option, a_label=kind.a_label, cell_name=scene.cell_name))


# ---------------------------------------------------------------- export

def map_stride(plan: ExportPlan) -> int:
    """The map's stride for this machine (1: every pair), planned from the sizes alone before
    anything large is allocated; a map that fits at no stride is refused (what to reduce)."""
    from .core.plan import export_map

    spec = plan.scene.spec()
    return export_map(spec.jacobian_size, spec.state_size, plan.scene.steps).stride


def compute(plan: ExportPlan, stride: int | None = None):
    """Simulate and analyse (float64, exact 2-norms): every pair, or every ``stride``-th step
    when the full map does not fit this machine (:func:`map_stride`; a note says so)."""
    import numpy as np

    from .core.plan import ordinal
    from .core.scene import analyse, simulate

    stride = map_stride(plan) if stride is None else stride
    trace = simulate(plan.scene, base=plan.base, inputs=plan.inputs)
    if trace.overflow_step is not None:
        plan.notes.append(_("note: the state overflows float64 at step {step}; exported steps "
                            "1..{steps} (everything before it)")
                          .format(step=trace.overflow_step, steps=trace.steps))
    if stride > 1:
        plan.notes.append(_("note: wrote the map at every {nth} step (the full map does not fit "
                            "this machine's memory or a minute of work); map_stride in trace.npz "
                            "says so").format(nth=ordinal(stride)))
    # both cores: the export has nothing else to serve (the numbers are the same as on one)
    return analyse(trace, plan.scene.layer, plan.scene.direction, exact=True, dtype=np.float64,
                   stride=stride, threads=2)


def write_export(plan: ExportPlan, analysis, out_dir, scale: int = 1) -> list[Path]:
    """Write trace.npz and the PNGs into a temp folder beside ``out_dir``, then move them in.

    Whole or nothing: ``out_dir`` is left as it was unless every file was written and moved
    (a name taken by a folder is refused before anything moves; a replaced file is restored
    if a later move fails). Returns the final paths.
    """
    import numpy as np

    from .core.scene import trace_arrays

    out = Path(out_dir)
    _check_out(out)
    created = _make_parents(out.parent)
    tmp, done = None, False
    try:
        try:
            tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
            arrays = trace_arrays(analysis)
            _check_in_the_way(out, ["trace.npz"])
            with open(tmp / "trace.npz", "wb") as f:
                np.savez(f, **arrays)
        except OSError as exc:
            raise GradvizError(_("--out {out}: cannot write trace.npz ({why})").format(
                out=out, why=exc.strerror or type(exc).__name__)) from None
        render = _renderer()
        if render is not None:
            kw = {}
            if plan.step is not None and 0 <= plan.step <= analysis.steps:
                kw["step"] = plan.step
            try:
                with _quiet_stderr():   # "libpng error: ..." and Qt's chatter
                    render(plan.scene, analysis, tmp, scale=scale, **kw)
            except GradvizError as exc:   # named in --out, never the hidden temp folder
                raise GradvizError(str(exc).replace(str(tmp), str(out))) from None
            except OSError as exc:
                raise GradvizError(_("--out {out}: cannot write the figures ({why})").format(
                    out=out, why=exc.strerror or _("disk full or not writable?"))) from None
        names = sorted(p.name for p in tmp.iterdir())
        _check_in_the_way(out, names)
        try:
            _ordinary_permissions(tmp, names)
            if not out.exists():
                os.rename(tmp, out)
                tmp = None
            else:
                _move_all(tmp, out, names)
        except OSError as exc:
            raise GradvizError(_("--out {out}: cannot write ({value})")
                               .format(out=out, value=exc.strerror or exc)) from None
        done = True
        return [out / name for name in names]
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        if not done:
            for parent in created:   # innermost first; only the folders this export made
                try:
                    parent.rmdir()
                except OSError:
                    break


def _check_in_the_way(out: Path, names: list[str]) -> None:
    """Refuse, before anything moves, a file name in ``out`` taken by something not a file."""
    for name in names:
        target = out / name
        if target.is_symlink() or (target.exists() and not target.is_file()):
            what = _("a link") if target.is_symlink() else _("a folder")
            raise GradvizError(_("--out {out}: {name} is {what} there; expected a file or "
                                 "nothing (move it away or choose another --out)")
                               .format(out=out, name=name, what=what))


def _move_all(tmp: Path, out: Path, names: list[str]) -> None:
    """Move every file of ``tmp`` into ``out``; on any failure put back what was there."""
    backup = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".old", dir=out))
    saved: list[str] = []
    moved: list[str] = []
    try:
        for name in names:
            if (out / name).exists():
                os.rename(out / name, backup / name)
                saved.append(name)
        for name in names:
            os.rename(tmp / name, out / name)
            moved.append(name)
    except OSError:
        for name in moved:
            with contextlib.suppress(OSError):
                os.unlink(out / name)
        for name in saved:
            with contextlib.suppress(OSError):
                os.rename(backup / name, out / name)
        raise
    finally:
        shutil.rmtree(backup, ignore_errors=True)


@contextlib.contextmanager
def _quiet_stderr():
    """Silence what C libraries (libpng, Qt) print on file descriptor 2 for the moment; the
    failure itself comes back as an exception and becomes the one error line."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        yield
        return
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _check_out(out: Path) -> None:
    p = out
    while not p.exists() and p.parent != p:
        p = p.parent
    if p.exists() and not p.is_dir():
        raise GradvizError(_("--out {out}: {value} a file, expected a folder")
                           .format(out=out, value='is' if p == out else f'{p} is'))


def _ordinary_permissions(folder: Path, names: list[str]) -> None:
    """Temp files and folders are private (0600/0700); give the results the usual modes."""
    from .core.files import process_umask

    mask = process_umask()
    for name in names:
        os.chmod(folder / name, 0o666 & ~mask)
    os.chmod(folder, 0o777 & ~mask)


def _make_parents(folder: Path) -> list[Path]:
    """Create ``folder`` and missing parents; return those created, innermost first."""
    missing = []
    p = folder
    while not p.exists():
        missing.append(p)
        if p.parent == p:
            break
        p = p.parent
    if p.exists() and not p.is_dir():
        raise GradvizError(_("--out: {p} is a file, expected a folder").format(p=p))
    try:
        for q in reversed(missing):
            q.mkdir()
    except OSError as exc:
        raise GradvizError(_("--out: cannot create {folder} ({value})")
                           .format(folder=folder, value=exc.strerror or exc)) from None
    return missing


def _renderer():
    """``gui.render.render_views``, or None with a note when figures cannot be drawn here."""
    from .core.display import offscreen_without_display

    offscreen_without_display()
    if os.environ.get("QT_QPA_PLATFORM") == "offscreen":   # its size-hint warnings are noise here
        os.environ.setdefault("QT_LOGGING_RULES", "default.warning=false")
    try:
        from .gui.render import render_views
    except ImportError as exc:
        print(_("{PROG} export: note: PNG figures skipped ({exc}); trace.npz written")
              .format(PROG=PROG, exc=exc),
              file=sys.stderr)
        return None
    return render_views


def run_export(argv: list[str]) -> int:
    args = export_parser().parse_args(argv)
    if args.out is None and args.script is None:
        raise _UsageError(_("{PROG} export: error: one of the arguments --out --script is required")
                          .format(PROG=PROG))
    if args.out is not None:
        _check_out(Path(args.out))    # before any work: a wrong --out fails fast
    plan = plan_export(args)
    stride = map_stride(plan) if args.out is not None else 1   # refuse before any work
    if args.script is not None:
        from .core.codegen import write_script
        for path in write_script(args.script, plan.scene, plan.base, plan.inputs, plan.step,
                                 overwrite=True):
            print(f"wrote {path}")
        if args.out is None:
            return 0
    analysis = compute(plan, stride)
    paths = write_export(plan, analysis, args.out, scale=args.scale)
    for note in plan.notes:
        print(_("{PROG} export: {note}").format(PROG=PROG, note=note), file=sys.stderr)
    print(f"wrote {len(paths)} file(s) to {args.out}")
    return 0


# ---------------------------------------------------------------- window

def run_window(argv: list[str]) -> int:
    args, qt_args = _window_parser().parse_known_args(argv)
    unknown = [a for a in qt_args if a.startswith("--")]
    if unknown:
        raise _UsageError(_("{PROG}: error: unrecognized argument {value} (did you mean `gradviz export "
                            "...`?)")
                          .format(PROG=PROG, value=unknown[0]))
    if args.list_presets:
        from .core.presets import list_presets
        for preset in list_presets():
            title = preset.title_text() if hasattr(preset, "title_text") else preset.title
            print(f"{preset.name:<24} {title}")
        return 0
    kwargs = {}
    if args.preset:
        kwargs["preset"] = args.preset   # its step and compare mode too
    elif args.session:
        from .core.session import load_session
        load_session(args.session)       # fails early, before any window opens
        kwargs["session"] = args.session  # the path: Save writes back to it, Recent lists it
    from .gui.app import run_app
    if _window_lang is not None:
        kwargs["lang"] = _window_lang
    return int(run_app([sys.argv[0] if sys.argv else PROG, *qt_args], **kwargs) or 0)


# ---------------------------------------------------------------- entry point

#: headless subcommands: name -> module whose ``run(argv) -> int`` handles it (``export`` is here)
SUBCOMMANDS = {"export": None, "train": "gradviz.commands.train", "phase": "gradviz.commands.phase"}


def _run_subcommand(command: str, argv: list[str]) -> int:
    if SUBCOMMANDS[command] is None:
        return run_export(argv)
    import importlib
    return int(importlib.import_module(SUBCOMMANDS[command]).run(argv) or 0)


def _take_lang(argv: list[str]) -> tuple[list[str], str | None]:
    """``--lang zh_CN`` / ``--lang=en`` anywhere on the command line (for every subcommand):
    the other arguments and the language asked for (None: not given)."""
    rest, lang, k = [], None, 0
    while k < len(argv):
        arg = argv[k]
        if arg == "--lang" and k + 1 < len(argv):
            lang, k = argv[k + 1], k + 2
            continue
        if arg.startswith("--lang="):
            lang = arg.split("=", 1)[1]
        else:
            rest.append(arg)
        k += 1
    return rest, lang


def main(argv: list[str] | None = None) -> int:
    """``gradviz`` and ``python -m gradviz``: returns the exit status. ``--lang zh_CN|en``
    (else $GRADVIZ_LANG, else the system locale) sets the language of every message."""
    argv = list(sys.argv[1:] if argv is None else argv)
    argv, lang = _take_lang(argv)
    global _window_lang
    _window_lang = lang
    if lang is not None and i18n.normalize(lang) is None:
        print(_("{prog}: error: --lang: expected one of {choices}, got {value!r}").format(
            prog=PROG, choices=", ".join(i18n.LANGUAGES), value=lang), file=sys.stderr)
        return EXIT_USAGE
    i18n.set_language(i18n.choose_language(lang))
    localize_argparse()
    command = argv[0] if argv[:1] and argv[0] in SUBCOMMANDS else None
    name = f"{PROG} {command}" if command else PROG
    try:
        with _warnings_silenced(command is not None):
            if command:
                return _run_subcommand(command, argv[1:])
            return run_window(argv)
    except _UsageError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    except GradvizError as exc:
        print(_("{name}: error: {value}").format(name=name, value=_one_line(str(exc))), file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(_("{name}: interrupted").format(name=name), file=sys.stderr)
        return EXIT_INTERRUPTED
    except MemoryError:
        print(_("{name}: error: not enough memory (fewer --steps or a smaller --hidden?)").format(name=name),
              file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:   # a bug: still one line, unless GRADVIZ_DEBUG asks for the traceback
        if os.environ.get("GRADVIZ_DEBUG"):
            raise
        print(_("{name}: internal error: {name2}: {value} (set GRADVIZ_DEBUG=1 for details)")
              .format(name=name, name2=type(exc).__name__, value=_one_line(str(exc))), file=sys.stderr)
        return EXIT_INTERNAL


@contextlib.contextmanager
def _warnings_silenced(enabled: bool):
    """numpy's RuntimeWarnings and torch's UserWarnings would be more lines on stderr: a
    headless command's only line is its result or its one error (the numbers are checked
    finite where they are written)."""
    if not enabled:
        yield
        return
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _one_line(text: str) -> str:
    return " ".join(text.split()) or "failed"


if __name__ == "__main__":
    sys.exit(main())
