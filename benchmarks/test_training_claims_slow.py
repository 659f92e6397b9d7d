"""The training presets' slow claims (thousands of iterations each), run on demand:

    QT_QPA_PLATFORM=offscreen .venv/bin/python -m pytest benchmarks/test_training_claims_slow.py -s

Not part of `make test` (testpaths = tests). Each test prints its runtime.
"""
from __future__ import annotations

import time

import pytest
import torch

from gradviz.core.training_presets import check_claim, list_training_presets

torch.set_num_threads(1)

SLOW = [p for p in list_training_presets() if p.slow]


@pytest.mark.parametrize("preset", SLOW, ids=lambda p: p.name)
def test_slow_claim_holds(preset):
    t0 = time.perf_counter()
    ok, rows, results = check_claim(preset)
    elapsed = time.perf_counter() - t0
    for statement, value, bounds, holds in rows:
        print(f"{preset.name}: {statement}: {value:.6g} vs {bounds} -> {holds}")
    for label, r in results.items():
        print(f"{preset.name} [{label}]: {r.status()}")
    print(f"{preset.name}: {elapsed:.1f} s")
    assert ok, rows
