"""How live the window is: ticks of the W_R slider in, painted updates out (run with `make bench`).

Drives the real window (controller, worker, every view) offscreen. For each cell and size it
drags the W_R slider through 30 ticks in one second (one every 33 ms, through the slider
widget itself) and measures

- first_update_ms:   first tick → the first new numbers drawn by every view;
- max_gap_ms:        the longest wait between two drawn updates during the drag;
- updates:           how many drawn updates the drag produced;
- map_updates:       how many maps (coarse or finer) were drawn during the drag;
- settle_full_ms:    last tick → the last scene's full-resolution map (or the finest its plan
                     allows, stride > 1) drawn: for an LSTM its ∂h_t/∂h_i part, what the map
                     shows (∂c_t/∂c_i follows);
- settle_all_ms:     last tick → every stage of the last scene done and drawn (an LSTM's c map,
                     the cursor row's 2-norms);
- redraw_ms_median:  all views' redraw for one analysis, painted: the window's handler, then
                     the posted scene updates and the window repaint they cause (a view behind
                     another tab draws when shown), median over the drag, and the max;
- blocked_ms_max:    the longest the GUI thread did not answer a 5 ms timer (drag and settling).

Timings are only meaningful on a quiet machine or as ratios within one run. Prints a table and
writes JSON (default benchmarks/live.json); ``--quick`` runs H = 64, T = 200 only.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("GRADVIZ_SETTINGS_DIR", str(Path("/tmp") / "gradviz-bench-settings"))
os.environ.setdefault("GRADVIZ_DATA_DIR", str(Path("/tmp") / "gradviz-bench-data"))
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np
from PyQt6.QtCore import QTimer
from PyQt6.QtWidgets import QApplication

from gradviz.core.scene import Scene

TARGETS = {"first_update_ms": 50.0, "max_gap_ms": 50.0, "settle_full_ms": 1000.0,
           "redraw_ms_median": 16.0, "blocked_ms_max": 50.0}


def now() -> float:
    return time.perf_counter()


def pump(app, seconds: float, until=None) -> None:
    end = now() + seconds
    while now() < end:
        app.processEvents()
        if until is not None and until():
            return
        time.sleep(0.001)


def measure(app, cell: str, hidden: int, steps: int, ticks: int = 30, period: float = 1 / 30):
    from gradviz.gui.app import create_window, freeze_startup_objects

    window = create_window(Scene(cell=cell, hidden_size=hidden, steps=steps, wr_scale=0.9),
                           autosave=False)
    window.resize(1600, 950)
    window.show()
    c = window.controller
    c.start()
    freeze_startup_objects()          # as gradviz.gui.app.run_app does
    lyapunov = getattr(window, "lyapunov", None)    # the drag starts from a quiet window
    # every stage done (the finest map its plan allows, full or not) and λ₁ computed
    pump(app, 120, lambda: not c.is_busy and c.analysis is not None and c.analysis.jac is not None
         and not (lyapunov is not None and lyapunov.busy))
    redraws, updates = [], []
    started: dict = {}

    def timed_analysis(scene, analysis):
        started["t"] = now()

    def after_analysis(scene, analysis):
        # painted, not only handed the numbers: the scenes' queued updates and the window's
        # repaint are posted events; deliver them here (no timers or input run meanwhile)
        for _ in range(3):
            QApplication.sendPostedEvents()
        redraws.append(1e3 * (now() - started.pop("t", now())))
        updates.append(now())

    c.analysis_ready.connect(timed_analysis)
    # the window's own handler (connected first) draws every view; then this records it
    c.analysis_ready.disconnect(window._analysis_ready)
    c.analysis_ready.connect(window._analysis_ready)
    c.analysis_ready.connect(after_analysis)
    maps: list = []     # (time, stride) of every map drawn
    c.map_ready.connect(lambda a: maps.append((now(), a.jac.stride)))
    lateness = []
    last = {"t": now()}

    def beat():
        t = now()
        lateness.append(1e3 * (t - last["t"]) - 5.0)
        last["t"] = t

    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(beat)
    timer.start()
    slider = window.controls.wr_scale.slider
    values = np.geomspace(0.9, 1.5, ticks + 1)[1:]     # every tick a change (0.9 is the start)
    first_tick = now()
    for k, v in enumerate(values):
        slider.setValue(window.controls.wr_scale.to_tick(float(v)))
        pump(app, max(0.0, first_tick + (k + 1) * period - now()))
    last_tick = now()
    pump(app, 120, lambda: not c.is_busy and c.analysis is not None and c.analysis.jac is not None)
    all_done = now()
    # the finest map of the last scene: full, or the finest stride its plan allows
    final = [t for t, stride in maps if t > last_tick and stride == c.analysis.jac.stride]
    timer.stop()
    during = [u for u in updates if u <= last_tick]
    gaps = np.diff([first_tick] + during + [last_tick]) * 1e3 if during else [float("nan")]
    plan_stride = c.analysis.jac.stride if c.analysis.jac is not None else None
    result = {
        "cell": cell, "hidden": hidden, "steps": steps,
        "first_update_ms": 1e3 * (updates[0] - first_tick) if updates else float("nan"),
        "max_gap_ms": float(np.max(gaps)),
        "updates": len(during),
        "map_updates": sum(1 for t, _stride in maps if first_tick <= t <= last_tick),
        "settle_full_ms": 1e3 * (final[0] - last_tick) if final else float("nan"),
        "settle_all_ms": 1e3 * (all_done - last_tick),
        "map_stride": plan_stride,
        "redraw_ms_median": statistics.median(redraws) if redraws else float("nan"),
        "redraw_ms_max": max(redraws) if redraws else float("nan"),
        "blocked_ms_max": max(lateness) if lateness else float("nan"),
    }
    window.close_guards.clear()
    window.close()
    window.deleteLater()
    app.processEvents()
    return result


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="H = 64, T = 200 only")
    p.add_argument("--cells", default="rnn,lstm,gru", help="which cells (default: all three)")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "live.json"))
    args = p.parse_args(argv)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    sizes = [(64, 200)] if args.quick else [(h, t) for h in (16, 64, 128) for t in (100, 200, 500)]
    rows = []
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    for hidden, steps in sizes:
        for cell in args.cells.split(","):
            r = measure(app, cell, hidden, steps)
            rows.append(r)
            print(f"{cell:5s} H={hidden:4d} T={steps:4d}  first {r['first_update_ms']:7.1f} ms  "
                  f"max gap {r['max_gap_ms']:7.1f} ms  updates {r['updates']:3d}  "
                  f"maps {r['map_updates']:3d}  "
                  f"full map after {r['settle_full_ms']:7.1f} ms (stride {r['map_stride']}), "
                  f"all after {r['settle_all_ms']:7.1f} ms  "
                  f"redraw {r['redraw_ms_median']:5.1f}/{r['redraw_ms_max']:5.1f} ms  "
                  f"GUI blocked ≤ {r['blocked_ms_max']:6.1f} ms", flush=True)
    out = {"machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                       "load_average_at_start": load},
           "targets": TARGETS, "results": rows}
    Path(args.out).write_text(json.dumps(out, indent=1))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
