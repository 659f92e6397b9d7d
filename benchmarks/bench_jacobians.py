"""How fast gradviz extends and recomputes the ‖∂h_t/∂h_i‖ map (run with `make bench`).

For each cell (tanh RNN, LSTM, GRU), H ∈ {8, 32, 64, 128}, T ∈ {100, 200, 500}, float32 and
float64, it measures

- append:    ``JacobianProducts.append`` of step T (one GEMM over the row's T blocks);
- recompute: every pair's Frobenius norm after a slider move: ``step_jacobians`` + a full
             ``jacobian_map(exact=False)`` (the window's path); ``forward`` is the cell's run;
- naive:     what a student would write, ``torch.autograd.functional.jacobian`` of h_t with
             respect to h_i for every pair (t, i), timed per pair on short lags and summed over
             all pairs of T (extrapolated, never run in full: it takes hours);
- f32 error: max |log10 ‖·‖_F (float32) − log10 ‖·‖_F (float64)| over every pair, in decades.

Configurations whose full recompute would exceed the time budget are timed on their first
steps, step by step, and the rest is extrapolated from a linear fit of the per-step cost
(marked ``extrapolated``). Prints a table and writes JSON (default benchmarks/results.json).
The whole run takes a few minutes; ``--quick`` runs a subset in well under a minute.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gradviz.core.jacobians import JacobianProducts, step_jacobians
from gradviz.core.scene import Scene, simulate

CELLS = ("rnn", "lstm", "gru")
DTYPES = {"float32": np.float32, "float64": np.float64}
#: issue 2's targets, for the tanh RNN (n = H; an LSTM's [h; c] has n = 2H, 8× the GEMM work)
TARGETS = [  # (what, cell, H, T, dtype, field, limit, "<=" or ">=")
    ("append one step", "rnn", 64, 500, "float32", "append_ms", 5.0, "<="),
    ("all-pairs Frobenius recompute (ms)", "rnn", 64, 200, "float32", "map_ms", 150.0, "<="),
    ("all-pairs Frobenius recompute (ms)", "rnn", 32, 200, "float32", "map_ms", 30.0, "<="),
    ("speed-up over per-pair autograd", "rnn", 64, 200, "float32", "ratio", 1e4, ">="),
    ("float32 error (decades, every row)", None, None, None, "float32", "f32_error", 1e-4, "<="),
]


def now():
    return time.perf_counter()


def gemm_rate(dtype) -> float:
    """Flops per second of the stacked GEMM the products use (to size the budget)."""
    n, w = 64, 200
    x = np.random.default_rng(0).normal(size=(w * n, n)).astype(dtype)
    j = np.random.default_rng(1).normal(size=(n, n)).astype(dtype)
    out = np.empty_like(x)
    best = math.inf
    for _ in range(20):
        t0 = now()
        np.matmul(x, j, out=out)
        best = min(best, now() - t0)
    return 2 * n ** 3 * w / best


def time_products(J, hs, dtype, steps):
    """Build the map over the first ``steps`` Jacobians; total seconds and per-append seconds."""
    n = J.shape[1]
    per = np.empty(steps)
    t0 = now()
    prods = JacobianProducts(n, hs, steps, dtype=dtype)
    for k in range(steps):
        a = now()
        prods.append(J[k])
        per[k] = now() - a
    return now() - t0, per, prods


def fit_per_step(per):
    """Least-squares α + β·w over the second half (w = blocks in the GEMM = k + 1)."""
    k = np.arange(len(per))
    sel = k >= len(per) // 2
    w = k[sel] + 1.0
    A = np.stack([np.ones_like(w), w], axis=1)
    alpha, beta = np.linalg.lstsq(A, per[sel], rcond=None)[0]
    return max(alpha, 0.0), max(beta, 1e-12)


def measure_map(J, hs, dtype, budget, rate):
    """Recompute and append times (seconds) for the full T, extrapolated beyond the budget.

    Short runs are repeated and the fastest kept (other processes only ever slow a run down);
    a long one is timed on its first steps, twice, and the per-step minimum is fitted.
    """
    T, n = J.shape[0], J.shape[1]
    predicted = n ** 3 * T ** 2 / rate
    if predicted <= budget:
        runs = int(np.clip(budget / max(predicted, 1e-4) / 3, 1, 5))
        best = None
        for _ in range(runs):
            total, per, prods = time_products(J, hs, dtype, T)
            if best is None or total < best[0]:
                best = (total, per, prods)
        total, per, prods = best
        append = float(np.median(per[-min(5, T):]))
        return dict(map_s=total, append_s=append, extrapolated=False, measured_steps=T,
                    h_fro=prods.h_fro)
    steps = min(T, max(60, int(T * math.sqrt(budget / predicted))))
    total_a, per_a, prods = time_products(J, hs, dtype, steps)
    total_b, per_b, _ = time_products(J, hs, dtype, steps)
    per = np.minimum(per_a, per_b)
    alpha, beta = fit_per_step(per)
    k = np.arange(steps, T)
    rest = float(np.sum(alpha + beta * (k + 1)))
    return dict(map_s=min(total_a, total_b) + rest, append_s=alpha + beta * T, extrapolated=True,
                measured_steps=steps, h_fro=prods.h_fro)


# ---------------------------------------------------------------- the student's approach

def torch_cell(net, dtype):
    import torch
    spec = net.spec
    cls = {"rnn": torch.nn.RNNCell, "lstm": torch.nn.LSTMCell, "gru": torch.nn.GRUCell}[spec.kind]
    kw = {"nonlinearity": spec.nonlinearity} if spec.kind == "rnn" else {}
    cell = cls(spec.input_size, spec.hidden_size, **kw).to(dtype)
    p = net.layer_params(0, 0)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(cell, name).copy_(torch.from_numpy(p[name.replace("weight", "w").replace("bias", "b")]))
    return cell


def naive_pair_model(trace, dtype_name, lags=(1, 4, 8)):
    """Seconds for one pair as a + b·lag, by timing torch.autograd.functional.jacobian."""
    import torch
    dtype = {"float32": torch.float32, "float64": torch.float64}[dtype_name]
    net = trace.net
    cell = torch_cell(net, dtype)
    x = torch.from_numpy(trace.inputs).to(dtype)
    lt = trace.layer()
    h_start = torch.from_numpy(lt.h[0]).to(dtype)
    c_start = torch.from_numpy(lt.c[0]).to(dtype) if lt.c is not None else None

    def h_after(lag):
        def f(h):
            c = c_start
            for k in range(lag):
                if c is None:
                    h = cell(x[k], h)
                else:
                    h, c = cell(x[k], (h, c))
            return h
        return f

    times = []
    for lag in lags:
        f = h_after(lag)
        best = math.inf
        for _ in range(3):
            t0 = now()
            jac = torch.autograd.functional.jacobian(f, h_start)
            torch.linalg.matrix_norm(jac)
            best = min(best, now() - t0)
        times.append(best)
    A = np.stack([np.ones(len(lags)), np.array(lags, float)], axis=1)
    a, b = np.linalg.lstsq(A, np.array(times), rcond=None)[0]
    return max(a, 0.0), max(b, 1e-9)


def naive_total(a, b, T):
    """Σ over pairs 0 ≤ i < t ≤ T of a + b·(t − i)."""
    lag = np.arange(1, T + 1, dtype=float)
    return float(np.sum((T - lag + 1) * (a + b * lag)))


# ---------------------------------------------------------------- driver

def run(hiddens, steps_list, budget, extra=(), verbose=True):
    rates = {name: gemm_rate(dt) for name, dt in DTYPES.items()}
    rows = []
    configs = [(c, H, T) for c in CELLS for H in hiddens for T in steps_list] + list(extra)
    naive_cache = {}
    for cell, H, T in configs:
        scene = Scene(cell=cell, hidden_size=H, steps=T, wr_scale=1.0, input="noise", seed=0)
        t0 = now()
        trace = simulate(scene)
        forward_s = now() - t0
        hs = trace.net.spec.state_size
        maps = {}
        for name, dt in DTYPES.items():
            t0 = now()
            J = step_jacobians(trace)
            jac_s = now() - t0
            m = measure_map(J, hs, dt, budget, rates[name])
            if (cell, H, name) not in naive_cache:
                naive_cache[cell, H, name] = naive_pair_model(trace, name)
            a, b = naive_cache[cell, H, name]
            naive_s = naive_total(a, b, T)
            recompute_s = jac_s + m["map_s"]
            row = dict(cell=cell, H=H, T=T, n=J.shape[1], dtype=name,
                       forward_ms=1e3 * forward_s, jacobians_ms=1e3 * jac_s,
                       map_ms=1e3 * recompute_s, append_ms=1e3 * m["append_s"],
                       extrapolated=m["extrapolated"], measured_steps=m["measured_steps"],
                       naive_s=naive_s, naive_pair_model_s=[a, b],
                       ratio=naive_s / recompute_s, f32_error=None, load_average=_load())
            maps[name] = (m["h_fro"], m["measured_steps"])
            rows.append(row)
        (m32, s32), (m64, s64) = maps["float32"], maps["float64"]
        s = min(s32, s64)
        low = np.tril_indices(s + 1)
        err = float(np.max(np.abs(m32[:s + 1, :s + 1][low] - m64[:s + 1, :s + 1][low])))
        rows[-2]["f32_error"] = err
        rows[-2]["f32_error_steps"] = s
        if verbose:
            for r in rows[-2:]:
                print(format_row(r), flush=True)
    return rows, rates


HEADER = (f"{'cell':<5}{'H':>4}{'T':>5} {'dtype':<8}{'append ms':>10}{'recompute ms':>13}"
          f"{'forward ms':>11}{'naive s':>10}{'ratio':>9}{'f32 err':>9}")


def format_row(r):
    mark = "*" if r["extrapolated"] else " "
    err = f"{r['f32_error']:.1e}" if r.get("f32_error") is not None else ""
    return (f"{r['cell']:<5}{r['H']:>4}{r['T']:>5} {r['dtype']:<8}{r['append_ms']:>10.2f}"
            f"{r['map_ms']:>12.1f}{mark}{r['forward_ms']:>11.1f}{r['naive_s']:>10.3g}"
            f"{r['ratio']:>9.2g}{err:>9}")


def check_targets(rows):
    results = []
    for what, cell, H, T, dtype, fld, limit, op in TARGETS:
        sel = [r for r in rows if (cell is None or r["cell"] == cell) and (H is None or r["H"] == H)
               and (T is None or r["T"] == T) and r["dtype"] == dtype and r.get(fld) is not None]
        if not sel:
            continue
        worst = (min if op == ">=" else max)(sel, key=lambda r: r[fld])
        value = worst[fld]
        where = "worst row" if cell is None else f"{cell} H={H} T={T} {dtype}"
        ok = value <= limit if op == "<=" else value >= limit
        results.append(dict(target=what, where=where, value=value, limit=limit, op=op, met=ok))
    return results


def _load():
    """1-minute load average: other processes on the machine only ever slow a row down."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


def machine():
    import torch
    info = dict(python=platform.python_version(), numpy=np.__version__, torch=torch.__version__,
                platform=platform.platform(), cpus=os.cpu_count())
    try:
        info["cpu"] = next(line.split(":", 1)[1].strip() for line in
                           Path("/proc/cpuinfo").read_text().splitlines()
                           if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    try:
        info["load_average_at_start"] = os.getloadavg()[0]
    except OSError:
        pass
    return info


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="H ∈ {8, 32, 64}, T ∈ {100, 200} (+ the targets)")
    p.add_argument("--budget", type=float, default=None,
                   help="seconds one full recompute may take before it is extrapolated")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results.json")
    args = p.parse_args(argv)
    if args.quick:
        hiddens, steps_list, budget = (8, 32, 64), (100, 200), args.budget or 0.6
        extra = [("rnn", 64, 500)]
    else:
        hiddens, steps_list, budget = (8, 32, 64, 128), (100, 200, 500), args.budget or 2.5
        extra = []
    info = machine()
    t0 = now()
    print(HEADER)
    rows, rates = run(hiddens, steps_list, budget, extra)
    info["gemm_gflops"] = {k: v / 1e9 for k, v in rates.items()}
    try:
        info["load_average_at_end"] = os.getloadavg()[0]
    except OSError:
        pass
    targets = check_targets(rows)
    print("\n* extrapolated from the first steps' per-step cost (see measured_steps in the JSON)")
    print("\ntargets:")
    for t in targets:
        print(f"  {'met ' if t['met'] else 'MISSED'} {t['target']}: {t['value']:.3g} "
              f"({t['op']} {t['limit']:g}) at {t['where']}")
    elapsed = now() - t0
    print(f"\n{len(rows)} rows in {elapsed:.0f} s; GEMM "
          + ", ".join(f"{k} {v / 1e9:.0f} GFLOP/s" for k, v in rates.items()))
    out = dict(machine=info, quick=args.quick, budget_s=budget, elapsed_s=elapsed,
               targets=targets, rows=rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".json.part")
    tmp.write_text(json.dumps(out, indent=1, default=float) + "\n")
    os.replace(tmp, args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
