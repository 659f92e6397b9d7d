"""Input signals x_t (T, input_size): synthetic ones, a CSV file, the airline-passengers series."""
from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from .assets import asset
from .errors import GradvizError
from .files import read_user_text

SIGNALS = ("zeros", "impulse", "step", "sine", "noise", "airline")


def make_signal(kind: str, steps: int, input_size: int = 1, amplitude: float = 1.0,
                seed: int = 0) -> np.ndarray:
    """A (steps, input_size) float64 signal, the same on every input unit unless noise.

    zeros; impulse (x_1 = A, else 0); step (x_t = A for t ≥ 1); sine (A sin(2π t / 25));
    noise (A · N(0, 1), from ``seed``); airline (the monthly passenger counts 1949–1960 scaled
    to [0, 1], times A, repeated if ``steps`` > 144).
    """
    if kind not in SIGNALS:
        raise GradvizError(f"unknown input {kind!r}: expected one of {', '.join(SIGNALS)}")
    if not isinstance(steps, (int, np.integer)) or steps <= 0:
        raise GradvizError(f"steps must be a positive integer, got {steps}")
    if input_size <= 0:
        raise GradvizError(f"input size must be a positive integer, got {input_size}")
    if not math.isfinite(amplitude):
        raise GradvizError(f"amplitude must be a finite number, got {amplitude}")
    t = np.arange(1, steps + 1, dtype=np.float64)
    if kind == "zeros":
        col = np.zeros(steps)
    elif kind == "impulse":
        col = (t == 1).astype(np.float64)
    elif kind == "step":
        col = np.ones(steps)
    elif kind == "sine":
        col = np.sin(2 * math.pi * t / 25.0)
    elif kind == "airline":
        series = airline_series()
        col = np.resize(series, steps)
    else:
        rng = np.random.default_rng(seed + 7919)
        return amplitude * rng.standard_normal((steps, input_size))
    return amplitude * np.repeat(col[:, None], input_size, axis=1)


def airline_series() -> np.ndarray:
    """Monthly airline passengers 1949–1960 (Box & Jenkins), min–max scaled to [0, 1]."""
    data = read_csv(asset("airline_passengers.csv"), skip_columns=1)
    col = data[:, 0]
    return (col - col.min()) / (col.max() - col.min())


def read_csv(path, expected_width: int | None = None, skip_columns: int = 0) -> np.ndarray:
    """Read T rows × input_size numeric columns (a header row is optional).

    Raises :class:`GradvizError` naming the file and row for: a missing or unreadable file, an
    empty file, a ragged row, a non-numeric or NaN/inf value, a width other than
    ``expected_width``. ``skip_columns`` drops leading label columns (e.g. a date).
    """
    path = Path(path)
    text = read_user_text(path, "a text CSV", encoding="utf-8-sig")
    rows = [(n, r) for n, r in enumerate(csv.reader(text.splitlines()), start=1)
            if r and any(c.strip() for c in r)]
    if not rows:
        raise GradvizError(f"{path}: empty: expected T rows of numbers")
    values = []
    width = None
    for k, (lineno, row) in enumerate(rows):
        cells = [c.strip() for c in row[skip_columns:]]
        try:
            nums = [float(c) for c in cells]
        except ValueError:
            if k == 0:   # a header row
                continue
            bad = next(c for c in cells if not _is_float(c))
            raise GradvizError(f"{path}: row {lineno}: {bad!r} is not a number") from None
        if not all(math.isfinite(v) for v in nums):
            raise GradvizError(f"{path}: row {lineno}: NaN or inf; expected finite numbers")
        if width is None:
            width = len(nums)
        elif len(nums) != width:
            raise GradvizError(f"{path}: row {lineno} has {len(nums)} columns, expected {width}")
        values.append(nums)
    if not values or not width:
        raise GradvizError(f"{path}: no rows of numbers (only a header?)")
    if expected_width is not None and width != expected_width:
        raise GradvizError(f"{path}: {width} column(s), expected {expected_width} "
                           "(the cell's input size)")
    return np.array(values, dtype=np.float64)


def _is_float(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False
