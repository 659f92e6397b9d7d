"""Input signals x_t (T, input_size): synthetic ones, a CSV file, the airline-passengers series."""
from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .assets import asset
from .errors import GradvizError
from .i18n import N_, _

SIGNALS = ("zeros", "impulse", "step", "sine", "noise", "airline")


def make_signal(kind: str, steps: int, input_size: int = 1, amplitude: float = 1.0,
                seed: int = 0) -> np.ndarray:
    """A (steps, input_size) float64 signal, the same on every input unit unless noise.

    zeros; impulse (x_1 = A, else 0); step (x_t = A for t ≥ 1); sine (A sin(2π t / 25));
    noise (A · N(0, 1), from ``seed``); airline (the monthly passenger counts 1949–1960 scaled
    to [0, 1], times A, repeated if ``steps`` > 144).
    """
    if kind not in SIGNALS:
        raise GradvizError(_("unknown input {kind!r}: expected one of {value}")
                           .format(kind=kind, value=', '.join(SIGNALS)))
    if not isinstance(steps, (int, np.integer)) or steps <= 0:
        raise GradvizError(_("steps must be a positive integer, got {steps}").format(steps=steps))
    if input_size <= 0:
        raise GradvizError(_("input size must be a positive integer, got {input_size}")
                           .format(input_size=input_size))
    if not math.isfinite(amplitude):
        raise GradvizError(_("amplitude must be a finite number, got {amplitude}")
                           .format(amplitude=amplitude))
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
    data = read_csv(asset("airline_passengers.csv"), columns="passengers")
    col = data[:, 0]
    return (col - col.min()) / (col.max() - col.min())


# ---------------------------------------------------------------- CSV files from spreadsheets

#: encodings tried in turn: what Excel writes ("CSV UTF-8" with a BOM, plain UTF-8, "Unicode
#: text" as UTF-16 with a BOM) and, on Chinese Windows, GBK, read as its superset GB18030
ENCODINGS = ("utf-8-sig", "gb18030")
ENCODING_NAMES = {"utf-8-sig": "UTF-8", "utf-8": "UTF-8", "utf-16": "UTF-16",
                  "gb18030": "GB18030 (GBK, Excel on Chinese Windows)"}
_DATE = re.compile(
    r"^(\d{4})[-/.年](\d{1,2})(?:[-/.月](\d{1,2})日?|月)?(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$"
    r"|^\d{1,2}[/.]\d{1,2}[/.]\d{2,4}(?: \d{1,2}:\d{2}(?::\d{2})?)?$")
_THOUSANDS = re.compile(r"^[-+]?\d{1,3}(?:,\d{3})+(?:\.\d*)?$")
KINDS = ("number", "date", "text", "mixed")
#: a column's kind as a message names it
KIND_NAMES = {"number": N_("numbers"), "date": N_("dates"), "text": N_("text"),
              "mixed": N_("numbers and text")}


@dataclass
class CsvInputs:
    """The numbers chosen from a CSV: ``values`` (T, k) float64, one named column each."""

    values: np.ndarray
    names: list[str]
    time_name: str | None = None
    time_labels: list[str] = field(default_factory=list)
    sorted_by_time: bool = False


@dataclass
class CsvTable:
    """A CSV file read as a spreadsheet wrote it: encoding, header, each column's kind."""

    path: Path
    encoding: str                     # a Python codec name (utf-8-sig, gb18030, utf-16)
    delimiter: str
    has_header: bool
    names: list[str]                  # header cells, or "column 1", "column 2", ...
    kinds: list[str]                  # number | date | text | mixed, from the data rows
    rows: list[tuple[int, list[str]]]  # (line number in the file, cells) of the data rows

    @property
    def encoding_name(self) -> str:
        return ENCODING_NAMES.get(self.encoding, self.encoding)

    @property
    def numeric(self) -> list[str]:
        """The columns offered as inputs by default (numbers, or numbers with a typo)."""
        return [n for n, k in zip(self.names, self.kinds) if k in ("number", "mixed")]

    def index(self, key) -> int:
        """The 0-based index of a column given by its name or its 1-based number."""
        text = str(key).strip()
        if text in self.names:
            return self.names.index(text)
        if text.isdigit() and 1 <= int(text) <= len(self.names):
            return int(text) - 1
        shown = text if len(text) <= 32 and text.isprintable() else text[:29] + "…"
        columns = (", ".join(f"{k + 1}: {_label(n, k, quote=False)}"
                             for k, n in enumerate(self.names[:20]))
                   + (", …" if len(self.names) > 20 else ""))
        raise GradvizError(_("{path}: no column {column!r}; the columns are {columns}")
                           .format(path=self.path, column=shown, columns=columns))

    def select(self, columns=None, time=None) -> CsvInputs:
        """The chosen numeric columns (default: every number column) as a (T, k) array.

        ``columns``: names or 1-based numbers, a list or one comma-separated string. ``time``:
        a column that labels the steps instead of driving the cell; rows are put in its order
        when it holds numbers or year-first dates.
        """
        t_index = None if time in (None, "") else self.index(time)
        if columns in (None, "", []):
            chosen = [k for k, kind in enumerate(self.kinds)
                      if kind in ("number", "mixed") and k != t_index]
            if not chosen:
                described = ", ".join(f"{_label(n, k, quote=False)} ({_(KIND_NAMES[kd])})"
                                      for k, (n, kd) in
                                      enumerate(zip(self.names[:20], self.kinds)))
                raise GradvizError(_("{path}: no column of numbers to drive the cell "
                                     "(columns: {columns})")
                                   .format(path=self.path, columns=described))
        else:
            keys = columns.split(",") if isinstance(columns, str) else list(columns)
            chosen = [self.index(k) for k in keys if str(k).strip()]
            if len(set(chosen)) != len(chosen):
                raise GradvizError(_("{path}: a column is chosen twice in {columns!r}")
                                   .format(path=self.path, columns=columns))
            if t_index is not None and t_index in chosen:
                raise GradvizError(_("{path}: column {column} cannot be both the time axis "
                                     "and an input")
                                   .format(path=self.path,
                                           column=_label(self.names[t_index], t_index)))
        values = np.empty((len(self.rows), len(chosen)), dtype=np.float64)
        for j, k in enumerate(chosen):
            values[:, j] = self._numbers(k)
        labels = [cells[t_index] for _n, cells in self.rows] if t_index is not None else []
        order_sorted = False
        if t_index is not None:
            keys_ = self._order_keys(t_index)
            if keys_ is not None and any(a > b for a, b in zip(keys_, keys_[1:])):
                order = sorted(range(len(keys_)), key=keys_.__getitem__)
                values, labels = values[order], [labels[i] for i in order]
                order_sorted = True
        return CsvInputs(values, [self.names[k] for k in chosen],
                         None if t_index is None else self.names[t_index], labels, order_sorted)

    def _numbers(self, k: int) -> np.ndarray:
        name, kind = self.names[k], self.kinds[k]
        out = np.empty(len(self.rows))
        for r, (lineno, cells) in enumerate(self.rows):
            cell = cells[k]
            value = _number(cell, self.delimiter)
            if value is None:
                # the cell itself is not echoed: a message never shows a file's contents
                label = _label(name, k)
                if not cell:
                    what = _("an empty cell")
                else:
                    what = _("a cell of {n} character(s) that is not a number").format(n=len(cell))
                if kind in ("date", "text"):
                    hint = _("column {column} holds {kind}: choose the numeric columns").format(
                        column=label, kind=_(KIND_NAMES[kind]))
                else:
                    hint = _("column {column}").format(column=label)
                raise GradvizError(_("{path}: row {row}: {what} ({hint}); expected a number")
                                   .format(path=self.path, row=lineno, what=what, hint=hint))
            if not math.isfinite(value):
                raise GradvizError(_("{path}: row {row}: NaN or inf in column {column}; expected "
                                     "finite numbers")
                                   .format(path=self.path, row=lineno, column=_label(name, k)))
            out[r] = value
        return out

    def _order_keys(self, k: int):
        """Sort keys of a time column: numbers, or (year, month, day) of year-first dates."""
        keys: list[tuple] = []
        for _lineno, cells in self.rows:
            cell = cells[k]
            value = _number(cell, self.delimiter)
            if value is not None:
                keys.append((value,))
                continue
            m = _DATE.match(cell)
            if m is None or m.group(1) is None:
                return None                       # labels, or day-first dates: keep file order
            keys.append((int(m.group(1)), int(m.group(2)), int(m.group(3) or 0), cell))
        return keys if len({len(x) for x in keys}) == 1 else None


def _number(cell: str, delimiter: str = ",") -> float | None:
    text = cell.strip()
    if _THOUSANDS.match(text):
        text = text.replace(",", "")            # "1,234" as Excel formats it
    elif delimiter == ";" and text.count(",") == 1 and "." not in text:
        text = text.replace(",", ".")           # decimal comma beside ';' separators
    try:
        return float(text)
    except ValueError:
        return None


def _kind(cells: list[str], delimiter: str) -> str:
    filled = [c for c in cells if c]
    numbers = sum(_number(c, delimiter) is not None for c in filled)
    if filled and numbers == len(filled):
        return "number"
    if filled and all(_DATE.match(c) for c in filled):
        return "date"
    return "mixed" if numbers * 2 >= len(filled) and numbers else "text"


def _label(name: str, k: int, quote: bool = True) -> str:
    """A column for a message: its header name when short and plain, else its number."""
    if len(name) <= 32 and name.isprintable():
        return repr(name) if quote else name
    return _("number {k}").format(k=k + 1)


def decode_csv(path) -> tuple[str, str]:
    """(text, codec) of a CSV file: UTF-8 with or without BOM, UTF-16 with BOM, or GB18030/GBK."""
    path = Path(path)
    if not path.is_file():
        raise GradvizError(_("{path}: no such file").format(path=path))
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise GradvizError(_("{path}: cannot be read ({value})")
                           .format(path=path, value=exc.strerror or exc)) from None
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        candidates: tuple[str, ...] = ("utf-16",)
    else:
        candidates = ENCODINGS
    for codec in candidates:
        try:
            return data.decode(codec), codec
        except UnicodeDecodeError:
            continue
    bad = _first_bad_byte(data)
    raise GradvizError(
        _('{path}: cannot be read as text: byte {value} is not UTF-8, UTF-16 or GB18030/GBK; save it from '
          'the spreadsheet as "CSV UTF-8"')
        .format(path=path, value=bad + 1))


def _first_bad_byte(data: bytes) -> int:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start
    return 0


def read_table(path) -> CsvTable:
    """Read a CSV as a spreadsheet wrote it (see :class:`CsvTable`); nothing is chosen yet.

    The first row is a header only if none of its cells is a number or a date: a first row
    of data is never dropped. Blank rows and trailing empty cells (Excel writes both) are left
    out; the other rows must all have the same width.
    """
    path = Path(path)
    text, codec = decode_csv(path)
    lines = text.splitlines()
    sample = "\n".join(lines[:50])
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = ","
    rows = []
    for lineno, row in enumerate(csv.reader(lines, delimiter=delimiter), start=1):
        cells = [c.strip() for c in row]
        while cells and not cells[-1]:
            cells.pop()
        if cells:
            rows.append((lineno, cells))
    if not rows:
        raise GradvizError(_("{path}: empty: expected T rows of numbers").format(path=path))
    first = rows[0][1]
    has_header = not any(_number(c, delimiter) is not None or _DATE.match(c) for c in first)
    data_rows = rows[1:] if has_header else rows
    if not data_rows:
        raise GradvizError(_("{path}: no rows of numbers (only a header?)").format(path=path))
    width = len(data_rows[0][1])
    for lineno, cells in data_rows:
        if len(cells) != width:
            raise GradvizError(_("{path}: row {lineno} has {value} columns, expected {width}")
                               .format(path=path, lineno=lineno, value=len(cells), width=width))
    if has_header:
        names = [c or f"column {k + 1}" for k, c in enumerate(first[:width])]
        names += [f"column {k + 1}" for k in range(len(names), width)]
    else:
        names = [f"column {k + 1}" for k in range(width)]
    kinds = [_kind([cells[k] for _n, cells in data_rows], delimiter) for k in range(width)]
    return CsvTable(path, codec, delimiter, has_header, names, kinds, data_rows)


def read_csv(path, expected_width: int | None = None, skip_columns: int = 0,
             columns=None, time=None) -> np.ndarray:
    """Read T rows × input_size numbers from a CSV (see :func:`read_table`).

    ``columns`` (names or 1-based numbers) picks the inputs, by default every column of
    numbers (a date or text column is left out); ``time`` names a column that labels and
    orders the steps. ``skip_columns`` drops that many leading columns first. Raises
    :class:`GradvizError` naming the file, the row and what was expected: a missing or
    unreadable file, an unknown encoding, an empty file, a ragged row, a non-numeric or NaN/inf
    value, a width other than ``expected_width``.
    """
    table = read_table(path)
    if skip_columns and columns in (None, "", []):
        columns = [str(k + 1) for k in range(skip_columns, len(table.names))]
        if not columns:
            raise GradvizError(_("{path}: no columns left after skipping {skip_columns}")
                               .format(path=table.path, skip_columns=skip_columns))
    values = table.select(columns, time).values
    width = values.shape[1]
    if expected_width is not None and width != expected_width:
        raise GradvizError(_("{path}: {width} column(s), expected {expected_width} (the cell's input size)")
                           .format(path=table.path, width=width, expected_width=expected_width))
    return values
