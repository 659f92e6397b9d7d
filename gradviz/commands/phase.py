"""``gradviz phase``: the phase diagram λ₁(gain, second axis) headless, the window's code.

    gradviz phase --cell rnn --init gaussian --g-range 0.1:4:32 --y amplitude --y-range 0:3:16
                  --hidden 64 --steps 200 --seeds 1 --out DIR
    gradviz phase --preset edge-of-chaos --out DIR     # a preset's scene as the base

The base scene is a shipped preset's (``--preset NAME``, as ``gradviz export --preset``) or the
defaults below; every option given on the command line overrides it.

writes ``DIR/phase.npz`` (float64: ``g`` (len g), ``y`` (len y), ``lambda1`` and
``lambda1_std`` of shape (len y, len g); ``lambda1_mean_field`` (len g) for a tanh RNN with
Gaussian W_hh) and ``DIR/phase.png`` (the window's phase-diagram plot), both or neither.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

from ..core.errors import GradvizError
from ..core.i18n import N_, _

PROG = "gradviz"


class _Usage(Exception):
    """A malformed command line: one line on stderr, exit status 2 (as ``gradviz export``)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise _Usage(_("{prog}: error: {message}").format(prog=self.prog, message=message))


def _number(kind, test, expected):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(_("expected {expected}, got {text!r}")
                                             .format(expected=_(expected), text=text)) from None
        if not test(value):
            raise argparse.ArgumentTypeError(_("expected {expected}, got {text!r}")
                                             .format(expected=_(expected), text=text))
        return value
    return parse


_positive_int = _number(int, lambda v: v > 0, N_("a positive integer"))
_count = _number(int, lambda v: v >= 0, N_("an integer ≥ 0"))
_int = _number(int, lambda v: True, N_("an integer"))
_finite = _number(float, math.isfinite, N_("a finite number"))


Y_CHOICES = ("amplitude", "forget-bias", "update-bias")


def _name(text: str) -> str:
    """A preset's name: an empty one is refused (it would mean the defaults)."""
    if not text.strip():
        raise argparse.ArgumentTypeError(_("expected a name, got an empty string"))
    return text


def parser() -> _Parser:
    from ..core.cells import INITS
    from ..core.inputs import SIGNALS
    from ..core.kinds import CELL_NAMES
    p = _Parser(prog=f"{PROG} phase",
                description=_("The growth rate λ₁ of ∂h_t/∂h_0 (top Lyapunov exponent, per step) "
                              "over a grid of the recurrent gain × a second setting: writes "
                              "DIR/phase.npz and DIR/phase.png."),
                epilog=_("With --init gaussian the horizontal axis is the gain g (W_hh entries "
                         "N(0, g²/H)); with any other init it is the target σ_max(W_hh). The "
                         "first --transient steps (default T/5) are run but not measured."))
    p.add_argument("--out", metavar="DIR", required=True,
                   help=_("output folder (created; phase.npz and phase.png in it are replaced)"))
    p.add_argument("--preset", metavar="NAME", type=_name, default=None,
                   help=_("start from a preset's scene (`gradviz --list-presets`); the options "
                          "given override it, the defaults below apply without it"))
    p.add_argument("--cell", choices=list(CELL_NAMES), default=None, help=_("cell (default rnn = tanh)"))
    p.add_argument("--init", choices=INITS, default=None,
                   help=_("weight init (default gaussian: the axis is the gain g)"))
    p.add_argument("--g-range", metavar="A:B:N", default="0.1:4:32",
                   help=_("gain or σ_max values, N of them log-spaced from A to B (default 0.1:4:32)"))
    p.add_argument("--y", choices=Y_CHOICES, default=None,
                   help=_("second axis (default: amplitude for RNN, forget-bias for LSTM, "
                          "update-bias for GRU)"))
    p.add_argument("--y-range", metavar="A:B:N", default=None,
                   help=_("second-axis values, N evenly spaced from A to B (default 0:3:16 for "
                          "amplitude, -3:3:16 for a bias)"))
    p.add_argument("--hidden", type=_positive_int, default=None, metavar="H",
                   help=_("hidden size (default 64)"))
    p.add_argument("--input-size", type=_positive_int, default=None, metavar="N",
                   help=_("input size (default 1)"))
    p.add_argument("--steps", type=_positive_int, default=None, metavar="T",
                   help=_("steps per run, transient included (default 200)"))
    p.add_argument("--transient", type=_count, default=None, metavar="K",
                   help=_("steps run but not measured (default T/5)"))
    p.add_argument("--seeds", type=_positive_int, default=1, metavar="K",
                   help=_("seeds per point, averaged; λ₁ std over them (default 1)"))
    p.add_argument("--seed", type=_int, default=None, metavar="S", help=_("first seed (default 0)"))
    p.add_argument("--input", choices=SIGNALS, default=None,
                   help=_("input signal (default sine)"))
    p.add_argument("--amplitude", type=_finite, default=None, metavar="A",
                   help=_("input amplitude when it is not the second axis (default 1)"))
    p.add_argument("--h0", type=_finite, default=None, metavar="V",
                   help=_("initial state on every unit (default 0.5, off the fixed point 0)"))
    p.add_argument("--scale", type=int, choices=(1, 2, 3), default=1,
                   help=_("PNG scale (default 1)"))
    return p


def parse_range(text: str, option: str, log: bool) -> tuple[float, ...]:
    """``A:B:N`` as N values from A to B (log-spaced for the gain)."""
    from ..core.phase import lin_range, log_range
    parts = text.split(":")
    try:
        if len(parts) != 3:
            raise ValueError
        lo, hi, n = float(parts[0]), float(parts[1]), int(parts[2])
    except ValueError:
        raise GradvizError(_("{option} {text!r}: expected A:B:N (two numbers and a count)")
                           .format(option=option, text=text)) from None
    if not (math.isfinite(lo) and math.isfinite(hi)) or not 1 <= n <= 512:
        raise GradvizError(_("{option} {text!r}: expected finite A, B and 1 ≤ N ≤ 512")
                           .format(option=option, text=text))
    if n == 1:
        if log and not lo > 0:
            raise GradvizError(_("{option} {text!r}: the gain must be positive")
                               .format(option=option, text=text))
        return (lo,)
    if log and not 0 < lo < hi:
        raise GradvizError(_("{option} {text!r}: expected 0 < A < B (log-spaced)")
                           .format(option=option, text=text))
    if not log and not lo < hi:
        raise GradvizError(_("{option} {text!r}: expected A < B").format(option=option, text=text))
    return log_range(lo, hi, n) if log else lin_range(lo, hi, n)


#: the base scene without --preset (what the options' help calls the defaults)
DEFAULTS = dict(cell="rnn", nonlinearity="tanh", hidden_size=64, input_size=1, steps=200, seed=0,
                init="gaussian", wr_scale=None, input="sine", amplitude=1.0, h0=0.5)
#: option (argparse dest) -> Scene field
_FIELDS = {"hidden": "hidden_size", "input_size": "input_size", "steps": "steps", "seed": "seed",
           "init": "init", "input": "input", "amplitude": "amplitude", "h0": "h0"}
#: options that change the network itself: they contradict a preset's loaded weights
_STRUCTURE = {"cell": "--cell", "hidden": "--hidden", "input_size": "--input-size",
              "init": "--init", "seed": "--seed"}


def base_scene(args):
    """The scene the diagram is drawn around: ``--preset``'s (as ``gradviz export --preset``)
    or :data:`DEFAULTS`, with every option given on the command line on top."""
    from ..core.kinds import CELL_NAMES
    from ..core.scene import Scene
    if args.preset:
        from ..core.presets import load_preset
        scene = load_preset(args.preset).scene
        if scene.state_dict_path:
            for dest, option in _STRUCTURE.items():
                if getattr(args, dest) is not None:
                    raise GradvizError(_("{option} contradicts the preset {preset}: its weights come "
                                         "from {path}")
                                       .format(option=option, preset=args.preset,
                                               path=Path(scene.state_dict_path).name))
    else:
        scene = Scene(**DEFAULTS)
    changes = {field: getattr(args, dest) for dest, field in _FIELDS.items()
               if getattr(args, dest) is not None}
    if args.cell is not None:
        changes.update(cell=CELL_NAMES[args.cell].kind,
                       nonlinearity=CELL_NAMES[args.cell].nonlinearity)
    if args.input is not None and scene.inputs_path:
        changes.update(inputs_path=None, inputs_columns=None, inputs_time=None)
    return scene.replace(**changes)


def plan(args):
    from ..core.phase import PhaseSpec, default_y_axis
    scene = base_scene(args)
    y_axis = args.y.replace("-", "_") if args.y else default_y_axis(scene.cell)
    default_y = "0:3:16" if y_axis == "amplitude" else "-3:3:16"
    g = parse_range(args.g_range, "--g-range", log=True)
    y = parse_range(args.y_range or default_y, "--y-range", log=False)
    spec = PhaseSpec(scene, g, y_axis, y, seeds=args.seeds, transient=args.transient)
    try:
        spec.validate()
    except GradvizError as exc:
        raise GradvizError(_("options: {message}").format(message=exc)) from None
    return spec


def write(result, out_dir, scale: int = 1) -> list[Path]:
    """phase.npz and phase.png into a temp folder beside ``out_dir``, then moved in: both or
    neither appear."""
    import numpy as np

    from ..core.files import atomic_folder
    from ..core.lyapunov import mean_field_rate
    from ..core.phase import theory_curve
    out = Path(out_dir)
    with atomic_folder(out) as tmp:
        arrays = result.arrays()
        if theory_curve(result.spec) is not None:
            arrays["lambda1_mean_field"] = np.asarray(mean_field_rate(arrays["g"]))
        try:
            with open(tmp / "phase.npz", "wb") as f:
                np.savez(f, **arrays)
        except OSError as exc:
            raise GradvizError(_("--out {out}: cannot write ({value})")
                               .format(out=out, value=exc.strerror or exc)) from None
        _render(result, tmp / "phase.png", scale)
    return [out / "phase.npz", out / "phase.png"]


def _render(result, path: Path, scale: int) -> None:
    """The figure, drawn by the window's own plot (``gui.render``, offscreen without a display)."""
    from ..core.display import offscreen_without_display
    offscreen_without_display()
    if os.environ.get("QT_QPA_PLATFORM") == "offscreen":   # its size-hint warnings are noise
        os.environ.setdefault("QT_LOGGING_RULES", "default.warning=false")
    from ..gui.render import render_phase
    render_phase(result, path, scale=scale)


def _join_ranges(argv) -> list[str]:
    """``--y-range -3:3:16`` as ``--y-range=-3:3:16`` (argparse takes -3:3:16 for an option)."""
    out, argv = [], list(argv)
    k = 0
    while k < len(argv):
        a = argv[k]
        if a in ("--g-range", "--y-range") and k + 1 < len(argv) and argv[k + 1][:1] == "-" \
                and argv[k + 1][1:2].isdigit():
            out.append(f"{a}={argv[k + 1]}")
            k += 2
            continue
        out.append(a)
        k += 1
    return out


def run(argv) -> int:
    try:
        args = parser().parse_args(_join_ranges(argv))
    except _Usage as exc:
        print(str(exc), file=sys.stderr)
        return 2
    from ..core.files import check_folder_target
    check_folder_target(args.out)   # a wrong --out fails before any work
    spec = plan(args)
    from ..core.phase import compute_phase
    ny, nx = spec.shape

    def progress(result, done, total):
        print(_("{prog} phase: {done}/{total} points, {s:.1f} s")
              .format(prog=PROG, done=done, total=total, s=result.seconds), file=sys.stderr)

    result = compute_phase(spec, progress=progress if sys.stderr.isatty() else None)
    paths = write(result, args.out, scale=args.scale)
    print(_("wrote {n} file(s) to {out} ({points} points in {s:.1f} s)")
          .format(n=len(paths), out=args.out, points=nx * ny, s=result.seconds))
    return 0
