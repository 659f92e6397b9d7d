"""``gradviz train``: the training lab headless, on the same code path as the window.

    gradviz train --task {airline,csv,adding,copy} --model {rnn,rnn-relu,lstm,gru,conv1d,ar}
                  [options] --out DIR

writes DIR/metrics.json, DIR/history.npz, DIR/model.pt (+ head.pt), DIR/forecast.csv
(forecasting) and PNG figures, all at once or not at all.
"""
from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
import tempfile
import time
from pathlib import Path

from ..core.errors import GradvizError
from ..core.i18n import _

PROG = "gradviz train"
TASKS = ("airline", "csv", "adding", "copy")
MODELS = ("rnn", "rnn-relu", "lstm", "gru", "conv1d", "ar")


def _cli():
    from .. import cli
    return cli


def parser() -> argparse.ArgumentParser:
    cli = _cli()
    p = cli._Parser(prog=PROG, description=_(
        "Train a recurrent network (or a baseline) on one of the notes' tasks and write its "
        "metrics, its per-iteration history (losses, gradient norms before and after clipping, "
        "σ_max(W_hh), ‖∂L/∂h_t‖ through time), its weights as a torch state_dict and figures."),
        epilog=_("Unset options take the task's defaults (the notes' setups; see --preset). "
                 "model.pt holds the recurrent module's state_dict with torch's own keys (it "
                 "loads into torch.nn.LSTM(...).load_state_dict and `gradviz export "
                 "--state-dict`); head.pt the linear head's."))
    p.add_argument("--out", metavar="DIR", required=True,
                   help=_("output folder (created; same-named files in it are replaced)"))
    p.add_argument("--preset", metavar="NAME", help=_("start from a training preset"))
    p.add_argument("--task", choices=TASKS, help=_("task (default airline)"))
    p.add_argument("--model", choices=MODELS, help=_("model (default lstm)"))
    p.add_argument("--hidden", type=cli._positive_int, metavar="N",
                   help=_("hidden size (conv1d: channels)"))
    p.add_argument("--layers", type=cli._positive_int, metavar="N", help=_("stacked layers"))
    p.add_argument("--look-back", type=cli._positive_int, metavar="N",
                   help=_("forecasting window length"))
    p.add_argument("--steps", type=cli._positive_int, metavar="T",
                   help=_("adding / copy: sequence length or delay T"))
    p.add_argument("--iters", type=cli._count, metavar="N", help=_("training iterations"))
    p.add_argument("--batch", type=cli._count, metavar="N",
                   help=_("batch size (0: the whole training set)"))
    p.add_argument("--lr", type=cli._finite, metavar="X", help=_("learning rate"))
    p.add_argument("--optimizer", choices=("adam", "sgd"))
    clip = p.add_mutually_exclusive_group()
    clip.add_argument("--clip-norm", type=cli._finite, metavar="X",
                      help=_("clip the total gradient norm to X (clip_grad_norm_)"))
    clip.add_argument("--clip-value", type=cli._finite, metavar="X",
                      help=_("clip every gradient entry to [-X, X]"))
    clip.add_argument("--no-clip", action="store_true", help=_("no clipping (a preset's removed)"))
    p.add_argument("--forget-bias", type=cli._finite, metavar="B",
                   help=_("LSTM: effective forget-gate bias at init"))
    p.add_argument("--wr-scale", type=cli._finite, metavar="X",
                   help=_("scale W_hh to σ_max X at init"))
    p.add_argument("--seed", type=cli._seed, metavar="S")
    p.add_argument("--csv", metavar="FILE", help=_("task csv: a CSV with a header"))
    p.add_argument("--columns", metavar="A,B", help=_("task csv: input columns"))
    p.add_argument("--target", metavar="C", help=_("task csv: target column (default: the last)"))
    p.add_argument("--test-fraction", type=cli._finite, metavar="F",
                   help=_("forecasting: the last fraction F of samples is the test part"))
    p.add_argument("--layout", choices=("notes", "window"),
                   help=_("forecasting: one sequence with the window as features (notes), or "
                          "one sequence per window"))
    p.add_argument("--scale-on", choices=("all", "train"),
                   help=_("forecasting: fit the min-max scaling on the whole series or the "
                          "training part only"))
    p.add_argument("--difference", choices=("none", "diff", "logdiff"),
                   help=_("forecasting: model differences or log-differences"))
    p.add_argument("--ar-order", type=cli._positive_int, metavar="P", help=_("AR(p) order"))
    p.add_argument("--record-every", type=cli._count, metavar="K",
                   help=_("gradient-through-time views every K iterations (0: off)"))
    p.add_argument("--eval-every", type=cli._positive_int, metavar="K",
                   help=_("test loss every K iterations"))
    p.add_argument("--float64", action="store_true", help=_("train in float64"))
    p.add_argument("--no-png", action="store_true", help=_("write no figures"))
    return p


_FLAGS = ("task", "model", "hidden", "layers", "look_back", "steps", "iters", "batch", "lr",
          "optimizer", "clip_norm", "clip_value", "forget_bias", "wr_scale", "seed",
          "test_fraction", "layout", "scale_on", "difference", "ar_order", "record_every",
          "eval_every")


def plan(args):
    """The TrainConfig of parsed options (a preset's, or the task's defaults, then the flags)."""
    from ..core import training as tr
    if args.preset:
        from ..core.training_presets import load_training_preset
        cfg = load_training_preset(args.preset).config
        if args.task and args.task != cfg.task:
            raise GradvizError(_("--task {task} contradicts --preset {preset}: its task is {own}")
                               .format(task=args.task, preset=args.preset, own=cfg.task))
    else:
        cfg = tr.default_config(args.task or "airline", args.model or "lstm")
    changes = {k: getattr(args, k) for k in _FLAGS if getattr(args, k) is not None}
    if args.no_clip:
        changes.update(clip_norm=None, clip_value=None)
    elif args.clip_norm is not None:
        changes["clip_value"] = None
    elif args.clip_value is not None:
        changes["clip_norm"] = None
    if args.forget_bias is None and changes.get("model", cfg.model) != "lstm":
        changes["forget_bias"] = None
    if args.csv:
        changes["csv_path"] = args.csv
    if args.columns:
        changes["columns"] = tuple(c.strip() for c in args.columns.split(",") if c.strip())
    if args.target:
        changes["target"] = args.target
    if args.float64:
        changes["dtype"] = "float64"
    cfg = cfg.replace(**changes)
    for flag, option in (("clip_norm", "--clip-norm"), ("clip_value", "--clip-value"),
                         ("wr_scale", "--wr-scale"), ("lr", "--lr")):
        v = getattr(args, flag)
        if v is not None and v <= 0:
            raise GradvizError(_("{option} {value}: expected a positive number")
                               .format(option=option, value=v))
    cfg.validate()
    return cfg


def write_outputs(result, out_dir, pngs: bool = True) -> list[Path]:
    """Every output file into a temp folder beside ``out_dir``, then moved in at once."""
    import numpy as np

    from ..core import training as tr
    cli = _cli()
    out = Path(out_dir)
    cli._check_out(out)
    created = cli._make_parents(out.parent)
    tmp, done = None, False
    try:
        try:
            tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
            (tmp / "metrics.json").write_text(json.dumps(_clean(result.metrics_dict()), indent=2,
                                                         ensure_ascii=False) + "\n",
                                              encoding="utf-8")
            with open(tmp / "history.npz", "wb") as f:
                np.savez(f, **result.history.arrays())
            if result.model is not None:
                tr.save_model(result, tmp / "model.pt")
                if result.config.recurrent:
                    tr.save_head(result, tmp / "head.pt")
            if result.data is not None and result.metrics is not None:
                tr.write_forecast_csv(result, tmp / "forecast.csv")
        except OSError as exc:
            raise GradvizError(_("--out {out}: cannot write ({why})")
                               .format(out=out, why=exc.strerror or exc)) from None
        if pngs:
            render = _renderer()
            if render is not None:
                render(result, tmp)
        names = sorted(p.name for p in tmp.iterdir())
        try:
            cli._ordinary_permissions(tmp, names)
            if not out.exists():
                tmp.rename(out)
                tmp = None
            else:
                for name in names:
                    (tmp / name).replace(out / name)
        except OSError as exc:
            raise GradvizError(_("--out {out}: cannot write ({why})")
                               .format(out=out, why=exc.strerror or exc)) from None
        done = True
        return [out / n for n in names]
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        if not done:
            for parent in created:
                try:
                    parent.rmdir()
                except OSError:
                    break


def _clean(obj):
    """JSON without NaN/inf (null instead)."""
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def _renderer():
    import os

    from ..core.display import offscreen_without_display

    offscreen_without_display()
    if os.environ.get("QT_QPA_PLATFORM") == "offscreen":
        os.environ.setdefault("QT_LOGGING_RULES", "default.warning=false")
    try:
        from ..gui.render import render_training_pngs
    except ImportError as exc:
        print(_("{prog}: note: PNG figures skipped ({why})").format(prog=PROG, why=exc),
              file=sys.stderr)
        return None
    return render_training_pngs


def run(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    _cli()._check_out(Path(args.out))
    cfg = plan(args)
    from ..core.training import train
    last = [None]

    def progress(p):
        now = time.perf_counter()
        if last[0] is None:
            last[0] = now
        elif not p.done and now - last[0] >= 5.0:
            last[0] = now
            print(_("{prog}: iteration {i} of {n}").format(prog=PROG, i=p.iteration, n=p.total),
                  file=sys.stderr)

    result = train(cfg, progress=progress, progress_interval=1.0)
    paths = write_outputs(result, args.out, pngs=not args.no_png)
    if result.stopped_nonfinite is not None:
        print(_("{PROG}: note: {status}").format(PROG=PROG, status=result.status()), file=sys.stderr)
    for m in result.messages:
        print(_("{PROG}: note: {m}").format(PROG=PROG, m=m), file=sys.stderr)
    print(_("wrote {n} file(s) to {out}: {status}").format(n=len(paths), out=args.out,
                                                           status=result.status()))
    return 0
