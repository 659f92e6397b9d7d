"""The data behind a view as a CSV table: one named column per curve, exact floats.

Layout: a header row naming every column, then one row per index. Columns of different
lengths are padded at the end with empty cells (a curve that stops at step t leaves the rows
after t empty); a 2-D array ``name`` of shape (n, m) becomes m columns ``name[0]`` …
``name[m-1]``. Floats are written with Python's ``repr`` (the shortest text that reads back
to the same float64), NaN as ``nan`` and infinities as ``inf``/``-inf``.
"""
from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import numpy as np

from .errors import GradvizError
from .files import atomic_write_text
from .i18n import _


def _cell(value) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "1" if value else "0"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if math.isnan(v):
            return "nan"
        return repr(v)
    return str(value)


def _expand(columns: dict) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for name, values in columns.items():
        if not isinstance(name, str) or not name:
            raise GradvizError(_("column names must be non-empty text, got {name!r}").format(name=name))
        arr = np.asarray(values)
        if arr.ndim == 0:
            arr = arr.reshape(1)
        if arr.ndim == 1:
            parts = {name: arr}
        elif arr.ndim == 2:
            parts = {f"{name}[{j}]": arr[:, j] for j in range(arr.shape[1])}
        else:
            raise GradvizError(_("column {name!r}: {ndim}-D data; expected 1-D or 2-D")
                               .format(name=name, ndim=arr.ndim))
        for key, col in parts.items():
            if key in out:
                raise GradvizError(_("column {key!r} appears twice").format(key=key))
            out[key] = col
    if not out:
        raise GradvizError(_("no columns to write"))
    return out


def csv_text(columns: dict) -> str:
    """The CSV text :func:`write_csv` writes (for the clipboard or a test)."""
    cols = _expand(columns)
    rows = max(len(c) for c in cols.values())
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(list(cols))
    for r in range(rows):
        writer.writerow([_cell(c[r]) if r < len(c) else "" for c in cols.values()])
    return buf.getvalue()


def write_csv(path, columns: dict, overwrite: bool = False) -> Path:
    """Write ``columns`` (name -> 1-D or 2-D array-like) as a CSV file, atomically."""
    return atomic_write_text(path, csv_text(columns), overwrite=overwrite)


def read_csv_table(path) -> dict[str, np.ndarray]:
    """Read a table :func:`write_csv` wrote: header -> float64 column (empty cells as NaN)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise GradvizError(_("{path}: cannot be read ({name})")
                           .format(path=path, name=type(exc).__name__)) from None
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise GradvizError(_("{path}: empty: expected a header row").format(path=path))
    header, body = rows[0], rows[1:]
    data = np.full((len(body), len(header)), np.nan)
    for n, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise GradvizError(_("{path}: row {n} has {value} cells, expected {value2}")
                               .format(path=path, n=n, value=len(row), value2=len(header)))
        for j, cell in enumerate(row):
            if cell.strip():
                try:
                    data[n - 2, j] = float(cell)
                except ValueError:
                    raise GradvizError(_("{path}: row {n}: {cell!r} is not a number")
                                       .format(path=path, n=n, cell=cell)) from None
    return {name: data[:, j] for j, name in enumerate(header)}
