"""Training speed of the lab: iterations per second with and without the gradient views.

For each training preset's run (and its comparison runs) it trains the first ``--iters``
iterations twice, with ``record_every = 0`` (no gradient views) and with the preset's own
``record_every`` (‖∂L/∂h_t‖ for every t and each step's ∂L/∂W_hh, from an unrolled pass of
their own), and reports iterations/s and the views' share of the training time. As whole
runs are at the mercy of other processes, it also times one training step and one views pass
alternately on the same batches (medians): their ratio, divided by ``record_every``, is the
views' share that other processes' load affects least. The load average before and after is
printed: numbers measured on a shared machine are not the machine's speed.

    .venv/bin/python benchmarks/bench_training.py [--iters 300] [--threads 1] [--out FILE]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch

from gradviz.core.training import train
from gradviz.core.training_presets import list_training_presets


def measure(cfg, iters: int, repeats: int) -> float:
    """Best-of-``repeats`` seconds for ``iters`` iterations (the test set is evaluated as the
    preset says; forecasting's baselines are outside the loop but inside train())."""
    train(cfg.replace(iters=3))          # first calls (imports, allocations) outside the timing
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        r = train(cfg.replace(iters=iters))
        best = min(best, time.perf_counter() - t0)
        assert r.iterations == iters or r.stopped_nonfinite is not None
    return best


def interleaved(cfg, samples: int = 30) -> tuple[float, float]:
    """Median seconds of one training step and of one gradient-views pass, timed alternately
    on the same model and batches (robust to other processes' load, which hits both alike)."""
    import statistics

    from gradviz.core import training as tr
    task = tr._Task(cfg)
    model = tr.build_model(cfg, task.input_size, task.output_size, task.seq_len)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    steps, views = [], []
    for k in range(samples + 3):
        x, target = task.batch()
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = task.loss(model(x), target)
        loss.backward()
        opt.step()
        t1 = time.perf_counter()
        tr.grad_through_time(model, x, target, task.loss)
        t2 = time.perf_counter()
        if k >= 3:
            steps.append(t1 - t0)
            views.append(t2 - t1)
    return statistics.median(steps), statistics.median(views)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--iters", type=int, default=300)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", type=Path, default=None, help="write the table as JSON here")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    load_before = os.getloadavg()
    rows = []
    seen = set()
    for preset in list_training_presets():
        for label, cfg in preset.runs().items():
            key = (cfg.task, cfg.model, cfg.hidden, cfg.layers, cfg.steps, cfg.batch, cfg.look_back)
            if key in seen or not cfg.recurrent or cfg.record_every == 0:
                continue
            seen.add(key)
            plain = measure(cfg.replace(record_every=0), args.iters, args.repeats)
            views = measure(cfg, args.iters, args.repeats)
            step, view = interleaved(cfg)
            share = (view / cfg.record_every) / (step + view / cfg.record_every)
            rows.append({"preset": preset.name, "run": label, "task": cfg.task,
                         "model": cfg.model, "hidden": cfg.hidden, "layers": cfg.layers,
                         "T": cfg.steps if not cfg.forecasting else None,
                         "record_every": cfg.record_every, "iters": args.iters,
                         "it_per_s_plain": args.iters / plain, "it_per_s_views": args.iters / views,
                         "views_share": (views - plain) / views,
                         "step_ms": 1e3 * step, "views_pass_ms": 1e3 * view,
                         "views_share_interleaved": share})
            r = rows[-1]
            print(f"{preset.name:<22} {label:<14} {cfg.model:<5} H={cfg.hidden:<3} "
                  f"every {cfg.record_every:<3} {r['it_per_s_plain']:7.1f} it/s plain "
                  f"{r['it_per_s_views']:7.1f} it/s with views ({100 * r['views_share']:5.1f}%); "
                  f"interleaved: step {1e3 * step:6.2f} ms, views pass {1e3 * view:6.2f} ms, "
                  f"share {100 * share:4.1f}%",
                  flush=True)
    load_after = os.getloadavg()
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} "
          f"({os.cpu_count()} CPUs, torch threads {args.threads})")
    if args.out:
        args.out.write_text(json.dumps({"machine": platform.platform(), "cpus": os.cpu_count(),
                                        "torch": torch.__version__, "threads": args.threads,
                                        "load_before": load_before, "load_after": load_after,
                                        "rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
