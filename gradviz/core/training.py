r"""The training lab, Qt-free: the notes' tasks, models, baselines and a training loop that
records how the gradient flows back through time.

Tasks
    airline   the shipped monthly airline passengers (1949–1960), min-max scaled, look_back N,
              chronological split, one-step-ahead forecasts (metrics in passengers)
    csv       any CSV with a header: input columns, a target column, window and split
    adding    the adding problem, U[0,1] version: two marked numbers among T; always answering 1
              has MSE 1/6
    copy      copy memory: recall 10 symbols (of 8) after a delay T; the no-memory baseline
              cross-entropy is 10·ln 8/(T + 20)

Models: ``torch.nn`` RNN (tanh, relu), LSTM, GRU (``batch_first=True``) with a linear head;
a Conv1d baseline (Conv1d + ReLU + MaxPool1d + Linear); for forecasting also AR(p) (statsmodels'
``AutoReg``), persistence and seasonal naive.

Forecasting layouts
    notes     as in the notes: the whole series is one sequence (batch 1), each step's input is
              the window of the last ``look_back`` values (features), trained on the training
              part; the test part continues the same sequence (one step ahead, actual inputs)
    window    each sample is a sequence of ``look_back`` steps; minibatches of samples

What is recorded (:class:`History`)
    per iteration        loss, grad_norm (before clipping), grad_norm_clipped (after),
                         clipped (clipping fired), sigma_max_whh (of the top layer's W_hh)
    per test evaluation  test_iteration, test_loss
    per recorded iter.   record_iteration; grad_h (recorded, T): ‖∂L/∂h_t‖ (Frobenius over the
                         batch and the units) of the top layer, from ``retain_grad`` on every
                         step's state of an unrolled forward pass with the module's own weights;
                         whh_contrib (recorded, T): ‖∂L/∂W_hh‖ of step t alone (W_hh enters step t
                         through its own copy, so the copies' gradients sum to ∂L/∂W_hh: the notes'
                         sum over i); forget_mean (LSTM: mean forget gate over batch, steps, units)

A non-finite loss or gradient stops the run at that iteration, before the optimiser step: the
weights and every number before it are kept and :attr:`TrainResult.stopped_nonfinite` says
where. Everything recorded is finite.

The recurrent module's ``state_dict`` has exactly torch's keys (it loads into
``torch.nn.LSTM(...).load_state_dict`` and ``gradviz.core.cells.net_from_state_dict``); the head
is kept apart.
"""
from __future__ import annotations

from typing import Any

import math
import threading
import time
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import numpy as np

from .errors import GradvizError
from .i18n import N_, _

TASKS = ("airline", "csv", "adding", "copy")
MODELS = ("rnn", "rnn-relu", "lstm", "gru", "conv1d", "ar")
RECURRENT = ("rnn", "rnn-relu", "lstm", "gru")
OPTIMIZERS = ("adam", "sgd")
LAYOUTS = ("notes", "window")
SCALINGS = ("all", "train")
DIFFERENCES = ("none", "diff", "logdiff")
FORECAST_TASKS = ("airline", "csv")
COPY_SYMBOLS, COPY_LENGTH, COPY_CLASSES = 8, 10, 10   # symbols 1..8, blank 0, delimiter 9

#: names of the baselines, as shown (translated when shown)
BASELINE_NAMES = {"persistence": N_("persistence"), "seasonal": N_("seasonal naive"),
                  "ar": N_("AR({p})"), "constant": N_("always 1"), "no-memory": N_("no memory")}


# ---------------------------------------------------------------- configuration

@dataclass
class TrainConfig:
    """Every setting of a training run (what a preset, a session and ``gradviz train`` hold)."""

    task: str = "airline"
    model: str = "lstm"
    hidden: int = 6
    layers: int = 2
    forget_bias: float | None = None     # LSTM: effective b_f (b_if = B, b_hf = 0) at init
    wr_scale: float | None = None        # scale every W_hh to this σ_max at init
    optimizer: str = "adam"
    lr: float = 0.1
    batch: int = 0                       # 0: the whole training set (forecasting)
    iters: int = 1000
    seed: int = 0
    clip_norm: float | None = None
    clip_value: float | None = None
    # forecasting
    look_back: int = 3
    test_fraction: float = 0.2
    layout: str = "notes"
    scale_on: str = "all"                # min-max fitted on the whole series (notes) or train
    difference: str = "none"
    ar_order: int = 12
    season: int = 12
    csv_path: str | None = None
    columns: tuple[str, ...] = ()        # input columns (default: the target)
    target: str | None = None            # default: the last column
    # adding / copy
    steps: int = 100                     # T
    test_size: int = 256
    # recording
    record_every: int = 10               # gradient-through-time views every k iterations; 0 off
    eval_every: int = 1                  # test loss every k iterations
    dtype: str = "float32"

    def replace(self, **changes) -> TrainConfig:
        return replace(self, **changes)

    @property
    def recurrent(self) -> bool:
        return self.model in RECURRENT

    @property
    def forecasting(self) -> bool:
        return self.task in FORECAST_TASKS

    @property
    def kind(self) -> str:
        """The torch module kind of a recurrent model: rnn, lstm or gru."""
        return "rnn" if self.model.startswith("rnn") else self.model

    def validate(self) -> None:
        """Raise a :class:`GradvizError` naming the first setting that cannot work."""
        _choice("task", self.task, TASKS)
        _choice("model", self.model, MODELS)
        _choice("optimizer", self.optimizer, OPTIMIZERS)
        _choice("layout", self.layout, LAYOUTS)
        _choice("scale_on", self.scale_on, SCALINGS)
        _choice("difference", self.difference, DIFFERENCES)
        _choice("dtype", self.dtype, ("float32", "float64"))
        for name, low, high in (("hidden", 1, 4096), ("layers", 1, 16), ("iters", 0, 10_000_000),
                                ("look_back", 1, 10_000), ("ar_order", 1, 10_000),
                                ("season", 1, 10_000), ("steps", 1, 100_000),
                                ("test_size", 1, 1_000_000), ("batch", 0, 1_000_000),
                                ("record_every", 0, 10_000_000), ("eval_every", 1, 10_000_000)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not low <= v <= high:
                raise GradvizError(_("{name} must be an integer from {low} to {high}, got {value!r}")
                                   .format(name=name, low=low, high=high, value=_Short(v)))
        if not isinstance(self.seed, (int, np.integer)) or isinstance(self.seed, bool):
            raise GradvizError(_("seed must be an integer, got {value!r}").format(value=_Short(self.seed)))
        for name in ("lr", "test_fraction"):
            v = getattr(self, name)
            if not _finite_number(v) or v <= 0:
                raise GradvizError(_("{name} must be a positive number, got {value!r}")
                                   .format(name=name, value=_Short(v)))
        if not self.test_fraction < 1:
            raise GradvizError(_("test_fraction must lie between 0 and 1, got {value!r}")
                               .format(value=_Short(self.test_fraction)))
        for name in ("clip_norm", "clip_value", "wr_scale"):
            v = getattr(self, name)
            if v is not None and (not _finite_number(v) or v <= 0):
                raise GradvizError(_("{name} must be a positive number, got {value!r}")
                                   .format(name=name, value=_Short(v)))
        if self.forget_bias is not None and not _finite_number(self.forget_bias):
            raise GradvizError(_("forget_bias must be a finite number, got {value!r}")
                               .format(value=_Short(self.forget_bias)))
        if self.clip_norm is not None and self.clip_value is not None:
            raise GradvizError(_("clip by norm or by value: choose one"))
        if self.forget_bias is not None and self.model != "lstm":
            raise GradvizError(_("forget bias applies to an LSTM only (the model is {model})")
                               .format(model=self.model))
        if self.wr_scale is not None and not self.recurrent:
            raise GradvizError(_("W_hh scale applies to a recurrent model only (the model is "
                                 "{model})").format(model=self.model))
        if self.model == "ar" and not self.forecasting:
            raise GradvizError(_("model ar forecasts a series: task airline or csv, not {task}")
                               .format(task=self.task))
        if self.model == "conv1d" and self.task == "copy":
            raise GradvizError(_("model conv1d applies to airline, csv and adding, not copy"))
        if self.model == "conv1d" and self.forecasting and self.look_back < 3:
            raise GradvizError(_("model conv1d needs look_back ≥ 3, got {n}").format(n=self.look_back))
        if self.task == "csv" and not self.csv_path:
            raise GradvizError(_("task csv needs a CSV file (--csv FILE)"))
        if not self.forecasting and self.batch == 0:
            raise GradvizError(_("batch 0 (the whole training set) is for forecasting; the "
                                 "{task} task draws new batches: give a batch size ≥ 1")
                               .format(task=self.task))
        if self.task != "csv" and (self.csv_path or self.columns or self.target):
            raise GradvizError(_("--csv, --columns and --target apply to task csv only"))

    def to_dict(self) -> dict:
        d = asdict(self)
        d["columns"] = list(self.columns)
        return d

    @classmethod
    def from_dict(cls, data: dict, source: str = "training setup") -> TrainConfig:
        if not isinstance(data, dict):
            raise GradvizError(_("{source}: expected an object of training settings")
                               .format(source=source))
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise GradvizError(_("{source}: unknown training setting {name!r}")
                               .format(source=source, name=_Short(unknown[0])))
        values = dict(data)
        if "columns" in values:
            cols = values["columns"]
            if not isinstance(cols, (list, tuple)) or not all(isinstance(c, str) for c in cols):
                raise GradvizError(_("{source}: columns must be a list of column names")
                                   .format(source=source))
            values["columns"] = tuple(cols)
        for name in ("lr", "test_fraction", "clip_norm", "clip_value", "wr_scale", "forget_bias"):
            v = values.get(name)
            if isinstance(v, int) and not isinstance(v, bool):
                try:
                    values[name] = float(v)
                except OverflowError:
                    raise GradvizError(_("{source}: {name} is too large for a number, got "
                                         "{value!r}").format(source=source, name=name,
                                                             value=_Short(v))) from None
        try:
            cfg = cls(**values)
        except TypeError as exc:
            raise GradvizError(f"{source}: {exc}") from None
        cfg.validate()
        return cfg


def default_config(task: str = "airline", model: str = "lstm") -> TrainConfig:
    """The notes' setup for a task: airline (2-layer LSTM, hidden 6, Adam 0.1, 1000 full-batch
    epochs, look_back 3, last 20 % as test), adding (hidden 32, batch 64, Adam 1e-3,
    clip-norm 1, T = 100), copy (hidden 64, batch 64, Adam 1e-3, clip-norm 1, T = 20)."""
    _choice("task", task, TASKS)
    if task in FORECAST_TASKS:
        cfg = TrainConfig(task=task, model=model)
    elif task == "adding":
        cfg = TrainConfig(task=task, model=model, hidden=32, layers=1, lr=1e-3, batch=64,
                          iters=4000, clip_norm=1.0, steps=100, eval_every=25)
    else:
        cfg = TrainConfig(task=task, model=model, hidden=64, layers=1, lr=1e-3, batch=64,
                          iters=2000, clip_norm=1.0, steps=20, eval_every=25)
    return cfg


class _Short:
    """A value whose ``repr`` in a message is at most about 40 characters (a file may hold
    anything, e.g. a 300-digit number where a name was expected)."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value

    def __repr__(self) -> str:
        try:
            text = repr(self.value)
        except ValueError:          # an int too long for repr
            text = f"<a number of {self.value.bit_length()} bits>"
        return text if len(text) <= 40 else text[:37] + "…"

    __str__ = __repr__


def _choice(name: str, value, options) -> None:
    if value not in options:
        raise GradvizError(_("unknown {name} {value!r}: expected one of {options}")
                           .format(name=name, value=_Short(value), options=", ".join(options)))


def _finite_number(v) -> bool:
    return isinstance(v, (int, float, np.floating)) and not isinstance(v, bool) and math.isfinite(v)


# ---------------------------------------------------------------- synthetic tasks

def adding_baseline() -> float:
    """MSE of always answering 1 on the U[0,1] adding problem: Var(u1 + u2) = 2/12 = 1/6."""
    return 1.0 / 6.0


def copy_baseline(steps: int) -> float:
    """Cross-entropy of the no-memory strategy on copy memory with delay T: blanks for T + 10
    steps, then uniform over the 8 symbols for 10 steps: 10·ln 8/(T + 20)."""
    return COPY_LENGTH * math.log(COPY_SYMBOLS) / (steps + 2 * COPY_LENGTH)


def adding_batch(rng: np.random.Generator, batch: int, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """x (B, T, 2): channel 0 U[0,1] numbers, channel 1 two markers (one in each half);
    y (B,): the sum of the two marked numbers."""
    if steps < 2:
        raise GradvizError(_("the adding problem needs T ≥ 2, got {t}").format(t=steps))
    values = rng.uniform(0.0, 1.0, size=(batch, steps))
    half = steps // 2
    first = rng.integers(0, half, size=batch)
    second = rng.integers(half, steps, size=batch)
    marks = np.zeros((batch, steps))
    rows = np.arange(batch)
    marks[rows, first] = 1.0
    marks[rows, second] = 1.0
    x = np.stack([values, marks], axis=2)
    y = values[rows, first] + values[rows, second]
    return x, y


def copy_batch(rng: np.random.Generator, batch: int, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """x (B, T+20, 10) one-hot inputs: 10 symbols from 1..8, T-1 blanks, the delimiter 9, 10
    blanks; y (B, T+20) class labels: T+10 blanks, then the 10 symbols."""
    length = steps + 2 * COPY_LENGTH
    symbols = rng.integers(1, COPY_SYMBOLS + 1, size=(batch, COPY_LENGTH))
    seq = np.zeros((batch, length), dtype=np.int64)
    seq[:, :COPY_LENGTH] = symbols
    seq[:, steps + COPY_LENGTH - 1] = COPY_CLASSES - 1
    target = np.zeros((batch, length), dtype=np.int64)
    target[:, -COPY_LENGTH:] = symbols
    x = np.eye(COPY_CLASSES)[seq]
    return x, target


# ---------------------------------------------------------------- forecasting data

@dataclass
class ForecastData:
    """A series made into one-step-ahead samples; every index is into the original series."""

    names: tuple[str, ...]          # input column names
    target_name: str
    values: np.ndarray              # (n, k) original input columns
    y: np.ndarray                   # (n,) original target
    look_back: int
    target_index: np.ndarray        # (N,) index in the series of each sample's target
    n_train: int                    # samples [0, n_train) are training, the rest test
    features: np.ndarray            # (N, look_back, k) scaled, transformed inputs
    z: np.ndarray                   # (N,) scaled, transformed targets
    z_min: float
    z_max: float
    difference: str
    labels: list[str] = field(default_factory=list)   # the series' row labels (months)

    @property
    def train_index(self) -> np.ndarray:
        return self.target_index[:self.n_train]

    @property
    def test_index(self) -> np.ndarray:
        return self.target_index[self.n_train:]

    def to_original(self, z_pred: np.ndarray, index: np.ndarray) -> np.ndarray:
        """Scaled, transformed predictions of the targets at ``index`` back in original units
        (differences added to the actual previous value: one step ahead)."""
        d = np.asarray(z_pred, dtype=np.float64) * (self.z_max - self.z_min) + self.z_min
        if self.difference == "none":
            return d
        prev = self.y[index - 1]
        return prev + d if self.difference == "diff" else prev * np.exp(d)


def read_table(path, source: str | None = None) -> tuple[list[str], np.ndarray, list[str]]:
    """A CSV with a header: (column names, (rows, numeric columns), first-column labels).

    A leading column that is not numeric (a date, a month) is kept as labels; every other
    column must hold finite numbers on every row.
    """
    import csv

    from .files import read_user_text

    path = Path(path)
    source = source or str(path)
    text = read_user_text(path, _("a text CSV"), encoding="utf-8-sig")
    rows = [(n, r) for n, r in enumerate(csv.reader(text.splitlines()), start=1)
            if r and any(c.strip() for c in r)]
    if len(rows) < 2:
        raise GradvizError(_("{source}: expected a header row and rows of numbers")
                           .format(source=source))
    header = [c.strip() for c in rows[0][1]]
    if len(set(header)) != len(header) or not all(header):
        raise GradvizError(_("{source}: row 1: the header must name every column once")
                           .format(source=source))
    body = rows[1:]
    for lineno, r in body:
        if len(r) != len(header):
            raise GradvizError(_("{source}: row {row} has {n} columns, expected {m}")
                               .format(source=source, row=lineno, n=len(r), m=len(header)))
    label_col = not _numeric(body[0][1][0])
    start = 1 if label_col else 0
    labels = [r[0].strip() for _, r in body] if label_col else [str(i) for i in range(len(body))]
    data = np.empty((len(body), len(header) - start))
    for i, (lineno, r) in enumerate(body):
        for j, cell in enumerate(r[start:]):
            try:
                v = float(cell)
            except ValueError:
                raise GradvizError(_("{source}: row {row}, column {col}: {value!r} is not a number")
                                   .format(source=source, row=lineno, col=header[start + j],
                                           value=cell.strip())) from None
            if not math.isfinite(v):
                raise GradvizError(_("{source}: row {row}, column {col}: NaN or inf; expected "
                                     "finite numbers").format(source=source, row=lineno,
                                                              col=header[start + j]))
            data[i, j] = v
    return header[start:], data, labels


def _numeric(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def airline_table() -> tuple[list[str], np.ndarray, list[str]]:
    from .assets import asset
    return read_table(asset("airline_passengers.csv"))


def make_forecast_data(cfg: TrainConfig) -> ForecastData:
    """The series of ``cfg`` as windows: min-max scaled (on the whole series as in the notes,
    or the training part), optionally differenced, look_back windows, chronological split of
    the samples (the last ``test_fraction`` are test)."""
    if cfg.task == "airline":
        names, table, labels = airline_table()
        cols, target = ["passengers"], "passengers"
        source = "airline passengers"
    else:
        names, table, labels = read_table(cfg.csv_path)
        source = str(cfg.csv_path)
        target = cfg.target or names[-1]
        cols = list(cfg.columns) or [target]
        for c in [*cols, target]:
            if c not in names:
                raise GradvizError(_("{source}: no column {col!r}; the columns are {names}")
                                   .format(source=source, col=c, names=", ".join(names)))
    values = table[:, [names.index(c) for c in cols]]
    y = table[:, names.index(target)]
    z_cols = values.copy()
    z_y = y.copy()
    offset = 0
    if cfg.difference != "none":
        if cfg.difference == "logdiff":
            for j, c in enumerate([*cols, target]):
                col = z_cols[:, j] if j < len(cols) else z_y
                if np.any(col <= 0):
                    raise GradvizError(_("{source}: column {col} has values ≤ 0: log-differencing "
                                         "needs positive numbers").format(source=source, col=c))
            z_cols, z_y = np.log(z_cols), np.log(z_y)
        z_cols, z_y = np.diff(z_cols, axis=0), np.diff(z_y)
        offset = 1
    n = z_y.shape[0]
    lb = cfg.look_back
    samples = n - lb
    if samples < 4:
        raise GradvizError(_("{source}: {rows} rows leave {n} samples with look_back {lb}; need at "
                             "least 4").format(source=source, rows=len(y), n=max(samples, 0), lb=lb))
    n_train = int(samples * (1.0 - cfg.test_fraction))
    if not 2 <= n_train <= samples - 1:
        raise GradvizError(_("test_fraction {f} leaves {n} training and {m} test samples; need "
                             "at least 2 and 1").format(f=cfg.test_fraction, n=n_train,
                                                        m=samples - n_train))
    # rows of the (transformed) series seen by the training part: its inputs and targets
    fit_rows = slice(0, n_train + lb) if cfg.scale_on == "train" else slice(0, n)
    c_min, c_max = z_cols[fit_rows].min(axis=0), z_cols[fit_rows].max(axis=0)
    y_min, y_max = float(z_y[fit_rows].min()), float(z_y[fit_rows].max())
    for j, c in enumerate(cols):
        if c_max[j] == c_min[j]:
            raise GradvizError(_("{source}: column {col} is constant: it cannot be min-max scaled")
                               .format(source=source, col=c))
    if y_max == y_min:
        raise GradvizError(_("{source}: column {col} is constant: it cannot be min-max scaled")
                           .format(source=source, col=target))
    sc = (z_cols - c_min) / (c_max - c_min)
    sy = (z_y - y_min) / (y_max - y_min)
    feats = np.stack([sc[i:i + lb] for i in range(samples)])
    z = sy[lb:lb + samples]
    target_index = np.arange(lb, lb + samples) + offset
    return ForecastData(names=tuple(cols), target_name=target, values=values, y=y, look_back=lb,
                        target_index=target_index, n_train=n_train, features=feats, z=z,
                        z_min=y_min, z_max=y_max, difference=cfg.difference, labels=labels)


# ---------------------------------------------------------------- metrics and baselines

@dataclass
class Metrics:
    """RMSE and MAE in original units on the training (fitted) and test (predicted) part."""

    name: str
    train_rmse: float
    train_mae: float
    test_rmse: float
    test_mae: float
    fitted: np.ndarray              # (n_train,) or fewer: predictions at train_index[-len:]
    predicted: np.ndarray           # (n_test,) predictions at test_index
    params: np.ndarray | None = None   # AR: [c, a_1..a_p]

    def to_dict(self) -> dict:
        return {"train_rmse": self.train_rmse, "train_mae": self.train_mae,
                "test_rmse": self.test_rmse, "test_mae": self.test_mae}


def rmse(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.sqrt(np.mean((a - b) ** 2)))


def mae(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.mean(np.abs(a - b)))


def _metrics(name, data: ForecastData, fitted, predicted) -> Metrics:
    tr = data.y[data.train_index[len(data.train_index) - len(fitted):]]
    te = data.y[data.test_index]
    return Metrics(name, rmse(fitted, tr), mae(fitted, tr), rmse(predicted, te),
                   mae(predicted, te), np.asarray(fitted, np.float64),
                   np.asarray(predicted, np.float64))


def ar_fit(series: np.ndarray, order: int) -> np.ndarray:
    """AR(p) coefficients [c, a_1..a_p] of ``series`` by statsmodels' ``AutoReg`` (constant
    trend, conditional least squares): y_t = c + Σ_d a_d y_{t-d}."""
    if len(series) <= 2 * order + 1:
        raise GradvizError(_("AR({p}) needs more than {n} training values, got {m}")
                           .format(p=order, n=2 * order + 1, m=len(series)))
    from statsmodels.tsa.ar_model import AutoReg
    return np.asarray(AutoReg(np.asarray(series, np.float64), lags=order, trend="c").fit().params,
                      dtype=np.float64)


def ar_predict(series: np.ndarray, params: np.ndarray, index: np.ndarray) -> np.ndarray:
    """One-step-ahead AR predictions at ``index`` from the actual previous values (walk forward,
    as in the notes)."""
    p = len(params) - 1
    index = np.asarray(index)
    lags = np.stack([series[index - d] for d in range(1, p + 1)], axis=1)
    return params[0] + lags @ params[1:]


def forecast_baselines(data: ForecastData, ar_order: int = 12, season: int = 12) -> dict:
    """Persistence (ŷ_t = y_{t-1}), seasonal naive (ŷ_t = y_{t-season}) and AR(p) fitted with
    AutoReg on the training part of the target (in original units), on the same targets as
    the networks. Returns name -> :class:`Metrics` (a baseline that needs more history than
    the training part has is left out)."""
    y = data.y
    tr, te = data.train_index, data.test_index
    out = {}
    out["persistence"] = _metrics("persistence", data, y[tr - 1], y[te - 1])
    if te[0] - season >= 0:
        tr_s = tr[tr - season >= 0]
        out["seasonal"] = _metrics("seasonal", data, y[tr_s - season], y[te - season])
    train_series = y[:tr[-1] + 1]
    if len(train_series) > 2 * ar_order + 1:
        params = ar_fit(train_series, ar_order)
        tr_a = tr[tr - ar_order >= 0]
        m = _metrics("ar", data, ar_predict(y, params, tr_a), ar_predict(y, params, te))
        m.params = params
        out["ar"] = m
    return out


# ---------------------------------------------------------------- models (torch, lazily)

def _torch():
    import torch
    return torch


def build_model(cfg: TrainConfig, input_size: int, output_size: int, seq_len: int):
    """The torch module of ``cfg``: :class:`SequenceNet` (recurrent + linear head) or the
    Conv1d baseline, initialised from ``cfg.seed``."""
    torch = _torch()
    torch.manual_seed(cfg.seed)
    sequence_net, conv_net = model_classes()
    if cfg.recurrent:
        model = sequence_net.create(cfg, input_size, output_size)
    else:
        model = conv_net(cfg.hidden, input_size, output_size, seq_len)
    return model.to(_dtype(cfg))


def _dtype(cfg: TrainConfig):
    torch = _torch()
    return torch.float64 if cfg.dtype == "float64" else torch.float32


def rnn_module(kind: str, input_size: int, hidden: int, layers: int, nonlinearity: str = "tanh"):
    """``torch.nn.RNN/LSTM/GRU`` with ``batch_first=True``."""
    torch = _torch()
    from .kinds import KINDS

    cls = getattr(torch.nn, KINDS[kind].torch_class)
    kw: dict[str, Any] = dict(input_size=input_size, hidden_size=hidden, num_layers=layers,
                              batch_first=True)
    if kind == "rnn":
        kw["nonlinearity"] = nonlinearity
    return cls(**kw)


def _module_classes():
    torch = _torch()
    nn = torch.nn

    class SequenceNet(nn.Module):
        """A torch recurrent module and a linear head: ``per_step`` heads every step's output
        (copy, the notes' forecasting layout), otherwise only the last step's."""

        def __init__(self, rnn, head, per_step: bool):
            super().__init__()
            self.rnn, self.head, self.per_step = rnn, head, per_step

        @classmethod
        def create(cls, cfg: TrainConfig, input_size: int, output_size: int):
            rnn = rnn_module(cfg.kind, input_size, cfg.hidden, cfg.layers,
                             "relu" if cfg.model == "rnn-relu" else "tanh")
            head = nn.Linear(cfg.hidden, output_size)
            per_step = cfg.task == "copy" or (cfg.forecasting and cfg.layout == "notes")
            net = cls(rnn, head, per_step)
            if cfg.wr_scale is not None or cfg.forget_bias is not None:
                net.set_recurrent(_init_weights(net.rnn.state_dict(), cfg))
            return net

        def set_recurrent(self, state_dict) -> None:
            self.rnn.load_state_dict(state_dict)

        def forward(self, x):
            out, _ = self.rnn(x)
            return self.head(out if self.per_step else out[:, -1])

        def unrolled(self, x):
            """The same forward pass step by step, from the module's own parameters.

            Returns (prediction, states, whh_copies, forget_mean): ``states[t]`` is the top
            layer's h after step t+1 (``retain_grad`` set), ``whh_copies[t]`` the copy of the
            top layer's W_hh that step t+1 used (its grad is that step's contribution to
            ∂L/∂W_hh), ``forget_mean`` the LSTM's mean forget gate (a float) or None.
            """
            rnn = self.rnn
            kind = "lstm" if isinstance(rnn, nn.LSTM) else "gru" if isinstance(rnn, nn.GRU) else "rnn"
            L, H = rnn.num_layers, rnn.hidden_size
            B, T = x.shape[0], x.shape[1]
            zeros = x.new_zeros(B, H)
            h = [zeros] * L
            c = [zeros] * L
            top = L - 1
            states, copies, outs = [], [], []
            f_sum, f_count = x.new_zeros(()), 0
            params = [(getattr(rnn, f"weight_ih_l{k}"), getattr(rnn, f"weight_hh_l{k}"),
                       getattr(rnn, f"bias_ih_l{k}"), getattr(rnn, f"bias_hh_l{k}"))
                      for k in range(L)]
            for t in range(T):
                inp = x[:, t]
                for k in range(L):
                    w_ih, w_hh, b_ih, b_hh = params[k]
                    if k == top:
                        w_hh = w_hh.clone()
                        w_hh.retain_grad()
                        copies.append(w_hh)
                    a = inp @ w_ih.T + b_ih + h[k] @ w_hh.T + b_hh
                    if kind == "rnn":
                        new = torch.relu(a) if rnn.nonlinearity == "relu" else torch.tanh(a)
                    elif kind == "lstm":
                        i, f, g, o = a.chunk(4, dim=1)
                        i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
                        c[k] = f * c[k] + i * g
                        new = o * torch.tanh(c[k])
                        f_sum = f_sum + f.detach().sum()
                        f_count += f.numel()
                    else:   # gru, torch's formulas: n = tanh(W_in x + b_in + r (W_hn h + b_hn))
                        gi = inp @ w_ih.T + b_ih
                        gh = h[k] @ w_hh.T + b_hh
                        ir, iz, in_ = gi.chunk(3, dim=1)
                        hr, hz, hn = gh.chunk(3, dim=1)
                        r, z = torch.sigmoid(ir + hr), torch.sigmoid(iz + hz)
                        n = torch.tanh(in_ + r * hn)
                        new = (1 - z) * n + z * h[k]
                    if k == top:
                        new.retain_grad()
                        states.append(new)
                    h[k] = new
                    inp = new
                outs.append(inp)
            out = torch.stack(outs, dim=1)
            pred = self.head(out if self.per_step else out[:, -1])
            fm = float(f_sum) / f_count if f_count else None
            return pred, states, copies, fm

    class ConvNet(nn.Module):
        """The notes' Conv1d baseline: Conv1d(k = 2) + ReLU + MaxPool1d(2, stride 1) + Linear."""

        def __init__(self, channels: int, input_size: int, output_size: int, seq_len: int):
            super().__init__()
            self.conv = nn.Conv1d(input_size, channels, kernel_size=2)
            self.pool = nn.MaxPool1d(kernel_size=2, stride=1)
            self.head = nn.Linear(channels * (seq_len - 2), output_size)
            self.per_step = False

        def forward(self, x):                      # x (B, T, C) -> (B, C, T)
            y = self.pool(torch.relu(self.conv(x.transpose(1, 2))))
            return self.head(y.flatten(1))

    return SequenceNet, ConvNet


_CLASSES = None


def model_classes():
    """(SequenceNet, ConvNet), the torch module classes (defined on first use: torch is
    imported lazily)."""
    global _CLASSES
    if _CLASSES is None:
        _CLASSES = _module_classes()
    return _CLASSES


def _init_weights(state_dict, cfg: TrainConfig):
    """W_hh scaled to σ_max ``wr_scale`` and the LSTM forget bias, gradviz's way (cells)."""
    from .cells import net_from_state_dict, scale_recurrent, set_forget_bias
    torch = _torch()
    net = net_from_state_dict(state_dict, "relu" if cfg.model == "rnn-relu" else "tanh")
    if cfg.wr_scale is not None:
        net = scale_recurrent(net, cfg.wr_scale)
    if cfg.forget_bias is not None:
        net = set_forget_bias(net, cfg.forget_bias)
    dtype = next(iter(state_dict.values())).dtype
    return {k: torch.from_numpy(v).to(dtype) for k, v in net.params.items()}


# ---------------------------------------------------------------- history and result

@dataclass
class History:
    """Every recorded number of a run (lists while it runs; :meth:`arrays` for files)."""

    loss: list = field(default_factory=list)
    grad_norm: list = field(default_factory=list)
    grad_norm_clipped: list = field(default_factory=list)
    clipped: list = field(default_factory=list)
    sigma_max_whh: list = field(default_factory=list)
    test_iteration: list = field(default_factory=list)
    test_loss: list = field(default_factory=list)
    record_iteration: list = field(default_factory=list)
    grad_h: list = field(default_factory=list)
    whh_contrib: list = field(default_factory=list)
    forget_mean: list = field(default_factory=list)

    @property
    def iterations(self) -> int:
        return len(self.loss)

    def arrays(self) -> dict[str, np.ndarray]:
        """float64 arrays (``clipped`` bool; ``grad_h``/``whh_contrib`` (recorded, T))."""
        def a(v, dtype=np.float64):
            return np.asarray(v, dtype=dtype)
        T = len(self.grad_h[0]) if self.grad_h else 0
        out = {"loss": a(self.loss), "grad_norm": a(self.grad_norm),
               "grad_norm_clipped": a(self.grad_norm_clipped), "clipped": a(self.clipped, bool),
               "sigma_max_whh": a(self.sigma_max_whh),
               "test_iteration": a(self.test_iteration, np.int64), "test_loss": a(self.test_loss),
               "record_iteration": a(self.record_iteration, np.int64),
               "grad_h": a(self.grad_h).reshape(len(self.grad_h), T),
               "whh_contrib": a(self.whh_contrib).reshape(len(self.whh_contrib), T)}
        if self.forget_mean:
            out["forget_mean"] = a(self.forget_mean)
        return out

    def snapshot(self) -> History:
        """A copy safe to hand to another thread."""
        return History(**{f.name: list(getattr(self, f.name)) for f in fields(self)})


@dataclass
class Progress:
    """What a progress callback receives (on the training thread)."""

    iteration: int                  # iterations done
    total: int
    history: History                # a snapshot
    elapsed: float                  # seconds
    done: bool = False


@dataclass
class TrainResult:
    """A finished (or stopped) run: its setup, history, metrics and trained weights."""

    config: TrainConfig
    history: History
    iterations: int
    stopped_nonfinite: int | None = None     # the iteration (1-based) whose loss was not finite
    cancelled: bool = False
    elapsed: float = 0.0
    model: Any = None                        # the torch module (None for AR)
    baselines: dict = field(default_factory=dict)   # forecasting: name -> Metrics
    metrics: Metrics | None = None           # forecasting: the model's
    data: Any = None                         # ForecastData for a forecasting task, else None
    final_loss: float | None = None          # on the training set (forecasting) or last batch
    final_test_loss: float | None = None
    baseline_loss: float | None = None       # adding: 1/6, copy: 10 ln 8/(T+20)
    test_inputs: np.ndarray | None = None    # one test sequence (T, input_size), for analysis
    messages: list = field(default_factory=list)

    def recurrent_state_dict(self) -> dict:
        """The recurrent module's state_dict (torch's keys, float64 tensors), or {}."""
        if self.model is None or not self.config.recurrent:
            return {}
        return {k: v.detach().double().clone() for k, v in self.model.rnn.state_dict().items()}

    def head_state_dict(self) -> dict:
        if self.model is None or not self.config.recurrent:
            return {}
        return {k: v.detach().double().clone() for k, v in self.model.head.state_dict().items()}

    def model_state_dict(self) -> dict:
        """What ``model.pt`` holds: the recurrent module alone (torch's keys), or the whole
        Conv1d model."""
        if self.model is None:
            return {}
        if self.config.recurrent:
            return self.recurrent_state_dict()
        return {k: v.detach().double().clone() for k, v in self.model.state_dict().items()}

    def recurrent_net(self):
        """The trained recurrent module as a :class:`gradviz.core.cells.RecurrentNet`."""
        from .cells import net_from_state_dict
        return net_from_state_dict(self.recurrent_state_dict(),
                                   "relu" if self.config.model == "rnn-relu" else "tanh",
                                   source=_("the trained model"))

    def status(self) -> str:
        """One line: how the run ended."""
        if self.stopped_nonfinite is not None:
            return _("stopped at iteration {i}: the loss or gradient is not finite; the "
                     "{n} iterations before it are kept").format(i=self.stopped_nonfinite,
                                                                 n=self.iterations)
        if self.cancelled:
            return _("stopped by the user after {n} of {total} iterations").format(
                n=self.iterations, total=self.config.iters)
        return _("trained {n} iterations in {s:.1f} s").format(n=self.iterations, s=self.elapsed)

    def metrics_dict(self) -> dict:
        """What ``metrics.json`` holds (finite numbers, or null where there is none)."""
        cfg = self.config
        d = {"task": cfg.task, "model": cfg.model, "iterations": self.iterations,
             "iterations_requested": cfg.iters, "stopped_nonfinite": self.stopped_nonfinite is not None,
             "stopped_at_iteration": self.stopped_nonfinite, "cancelled": self.cancelled,
             "elapsed_seconds": round(self.elapsed, 3),
             "final_train_loss": _finite_or_none(self.final_loss),
             "final_test_loss": _finite_or_none(self.final_test_loss),
             "clipping_fired": int(sum(self.history.clipped)), "config": cfg.to_dict()}
        if self.baseline_loss is not None:
            d["baseline_loss"] = self.baseline_loss
        if self.metrics is not None:
            d["metrics"] = self.metrics.to_dict()
            d["units"] = self.data.target_name
        if self.baselines:
            d["baselines"] = {}
            for name, m in self.baselines.items():
                d["baselines"][name] = m.to_dict()
                if getattr(m, "params", None) is not None:
                    d["baselines"][name]["params"] = [float(v) for v in m.params]
        return d


def _finite_or_none(v):
    return float(v) if v is not None and math.isfinite(v) else None


class TrainControl:
    """Pause, resume and stop a run from another thread (the GUI)."""

    def __init__(self):
        self._run = threading.Event()
        self._run.set()
        self._stop = False

    def pause(self) -> None:
        self._run.clear()

    def resume(self) -> None:
        self._run.set()

    def stop(self) -> None:
        self._stop = True
        self._run.set()

    @property
    def paused(self) -> bool:
        return not self._run.is_set()

    @property
    def stopped(self) -> bool:
        return self._stop

    def checkpoint(self) -> bool:
        """Block while paused; False once stopped."""
        self._run.wait()
        return not self._stop


# ---------------------------------------------------------------- the training loop

class _Task:
    """Training and test tensors of a config, and its loss."""

    def __init__(self, cfg: TrainConfig):
        torch = _torch()
        self.cfg = cfg
        dt = _dtype(cfg)
        self.dtype = dt
        self.rng = np.random.default_rng(cfg.seed)
        self.data: Any = None   # ForecastData for a forecasting task
        if cfg.forecasting:
            d = self.data = make_forecast_data(cfg)
            f = d.features
            self.window = cfg.layout == "window" or not cfg.recurrent
            if not self.window:  # one sequence, the window as features: (1, N, look_back·k)
                f = f.reshape(1, f.shape[0], -1)
            self.x64 = torch.tensor(f, dtype=torch.float64)   # (N, look_back, k) or (1, N, ·)
            self.x_all = self.x64.to(dt)
            self.z_all = torch.tensor(d.z, dtype=dt)
            self.input_size = self.x_all.shape[2]
            self.output_size = 1
            self.seq_len = self.x_all.shape[1] if self.window else d.n_train
            self.kind = "mse"
        elif cfg.task == "adding":
            test_rng = np.random.default_rng(2_000_003 + cfg.steps)
            x, y = adding_batch(test_rng, cfg.test_size, cfg.steps)
            self.x64, self.y64 = torch.tensor(x), torch.tensor(y)
            self.x_test, self.y_test = self.x64.to(dt), self.y64.to(dt)
            self.input_size, self.output_size, self.seq_len = 2, 1, cfg.steps
            self.kind = "mse"
        else:
            test_rng = np.random.default_rng(3_000_017 + cfg.steps)
            x, y = copy_batch(test_rng, cfg.test_size, cfg.steps)
            self.x64, self.y64 = torch.tensor(x), torch.tensor(y)
            self.x_test, self.y_test = self.x64.to(dt), self.y64
            self.input_size, self.output_size = COPY_CLASSES, COPY_CLASSES
            self.seq_len = cfg.steps + 2 * COPY_LENGTH
            self.kind = "ce"

    def loss(self, pred, target):
        torch = _torch()
        if self.kind == "ce":
            return torch.nn.functional.cross_entropy(pred.reshape(-1, pred.shape[-1]),
                                                     target.reshape(-1))
        return torch.mean((pred.reshape(-1) - target.reshape(-1)) ** 2)

    def batch(self):
        """(x, target) of the next training iteration."""
        torch = _torch()
        cfg = self.cfg
        if cfg.forecasting:
            n = self.data.n_train
            if not self.window:
                return self.x_all[:, :n], self.z_all[:n]
            if cfg.batch == 0 or cfg.batch >= n:
                return self.x_all[:n], self.z_all[:n]
            idx = torch.from_numpy(self.rng.choice(n, size=cfg.batch, replace=False))
            return self.x_all[idx], self.z_all[idx]
        b = cfg.batch
        if cfg.task == "adding":
            x, y = adding_batch(self.rng, b, cfg.steps)
            return torch.tensor(x, dtype=self.dtype), torch.tensor(y, dtype=self.dtype)
        x, y = copy_batch(self.rng, b, cfg.steps)
        return torch.tensor(x, dtype=self.dtype), torch.tensor(y)

    def test_loss(self, model) -> float:
        torch = _torch()
        with torch.no_grad():
            if self.cfg.forecasting:
                n = self.data.n_train
                pred = model(self.x_all).reshape(-1)
                return float(self.loss(pred[n:], self.z_all[n:]))
            return float(self.loss(model(self.x_test), self.y_test))

    def test_sequence(self) -> np.ndarray:
        """One test input sequence (T, input_size) for the dynamics views."""
        x = self.x64.numpy()
        if self.cfg.forecasting:
            return x[0] if not self.window else x[self.data.n_train]
        return x[0]


def _grad_norm(params) -> float:
    torch = _torch()
    grads = [p.grad.detach().reshape(-1) for p in params if p.grad is not None]
    if not grads:
        return 0.0
    return float(torch.linalg.vector_norm(torch.cat(grads)))


def grad_through_time(model, x, target, loss_fn) -> tuple[list[float], list[float], float | None]:
    """The gradient views of one batch: (‖∂L/∂h_t‖ for t = 1..T, ‖∂L/∂W_hh‖ of each step,
    the LSTM's mean forget gate or None), from an unrolled forward pass with the model's own
    weights and ``torch.autograd.grad`` (the parameters' ``.grad`` are not touched, so
    recording never changes the training trajectory)."""
    torch = _torch()
    pred, states, copies, fmean = model.unrolled(x)
    loss = loss_fn(pred, target)
    grads = torch.autograd.grad(loss, [*states, *copies], allow_unused=True)
    T = len(states)
    norms = [float(torch.linalg.vector_norm(g)) if g is not None else 0.0 for g in grads]
    return norms[:T], norms[T:], fmean


def train(cfg: TrainConfig, progress=None, control: TrainControl | None = None,
          progress_interval: float = 0.1) -> TrainResult:
    """Train ``cfg`` (validated first); ``progress(Progress)`` is called on this thread at
    most every ``progress_interval`` seconds and at the end; ``control`` pauses or stops."""
    cfg.validate()
    torch = _torch()
    t0 = time.perf_counter()
    task = _Task(cfg)
    result = TrainResult(config=cfg, history=History(), iterations=0, data=task.data)
    hist = result.history
    if cfg.forecasting:
        result.baselines = forecast_baselines(task.data, cfg.ar_order, cfg.season)
    elif cfg.task == "adding":
        result.baseline_loss = adding_baseline()
    else:
        result.baseline_loss = copy_baseline(cfg.steps)
    if cfg.model == "ar":
        if "ar" not in result.baselines:
            raise GradvizError(_("AR({p}) needs more than {n} training values")
                               .format(p=cfg.ar_order, n=2 * cfg.ar_order + 1))
        result.metrics = result.baselines["ar"]
        result.elapsed = time.perf_counter() - t0
        if progress:
            progress(Progress(0, 0, hist.snapshot(), result.elapsed, done=True))
        return result

    model = build_model(cfg, task.input_size, task.output_size, task.seq_len)
    result.model = model
    params = list(model.parameters())
    opt = (torch.optim.Adam(params, lr=cfg.lr) if cfg.optimizer == "adam"
           else torch.optim.SGD(params, lr=cfg.lr))
    top_whh = (getattr(model.rnn, f"weight_hh_l{cfg.layers - 1}") if cfg.recurrent else None)
    last_report = 0.0
    for it in range(1, cfg.iters + 1):
        if control is not None and not control.checkpoint():
            result.cancelled = True
            break
        x, target = task.batch()
        record = cfg.recurrent and cfg.record_every > 0 and (it == 1 or it % cfg.record_every == 0)
        opt.zero_grad(set_to_none=True)
        pred = model(x)
        loss = task.loss(pred, target)
        loss_value = float(loss.detach())
        if not math.isfinite(loss_value):
            result.stopped_nonfinite = it
            break
        if record:   # before backward and the step: the same weights and batch, its own graph
            views = grad_through_time(model, x, target, task.loss)
        loss.backward()
        norm = _grad_norm(params)
        if not math.isfinite(norm):
            result.stopped_nonfinite = it
            break
        fired = False
        if cfg.clip_norm is not None:
            torch.nn.utils.clip_grad_norm_(params, cfg.clip_norm)
            fired = norm > cfg.clip_norm
            after = _grad_norm(params)
        elif cfg.clip_value is not None:
            fired = any(bool((p.grad.abs() > cfg.clip_value).any()) for p in params
                        if p.grad is not None)
            torch.nn.utils.clip_grad_value_(params, cfg.clip_value)
            after = _grad_norm(params)
        else:
            after = norm
        if record:
            gh, wc, fmean = views
            if all(math.isfinite(v) for v in gh + wc):
                hist.record_iteration.append(it)
                hist.grad_h.append(gh)
                hist.whh_contrib.append(wc)
                if fmean is not None:
                    hist.forget_mean.append(fmean)
        opt.step()
        hist.loss.append(loss_value)
        hist.grad_norm.append(norm)
        hist.grad_norm_clipped.append(after)
        hist.clipped.append(fired)
        if top_whh is not None:
            with torch.no_grad():
                s = float(torch.linalg.matrix_norm(top_whh.detach().double(), ord=2))
            hist.sigma_max_whh.append(s if math.isfinite(s) else 0.0)
        else:
            hist.sigma_max_whh.append(0.0)
        if it % cfg.eval_every == 0 or it == cfg.iters:
            tl = task.test_loss(model)
            if not math.isfinite(tl):
                # the weights after this step make the test loss overflow: stop here
                result.iterations = it
                result.stopped_nonfinite = it
                break
            hist.test_iteration.append(it)
            hist.test_loss.append(tl)
        result.iterations = it
        if progress is not None:
            now = time.perf_counter()
            if now - last_report >= progress_interval:
                last_report = now
                progress(Progress(it, cfg.iters, hist.snapshot(), now - t0))
    result.iterations = len(hist.loss)
    _finish(result, task)
    result.elapsed = time.perf_counter() - t0
    if progress is not None:
        progress(Progress(result.iterations, cfg.iters, hist.snapshot(), result.elapsed, done=True))
    return result


def _finish(result: TrainResult, task: _Task) -> None:
    """Final losses, forecasts and metrics of the weights the run ended with, computed in
    float64 (so the saved float64 state_dict reproduces them in plain torch)."""
    import copy
    torch = _torch()
    cfg = result.config
    model = result.model
    model.eval()
    m64 = copy.deepcopy(model).double().eval()
    with torch.no_grad():
        if cfg.forecasting:
            d = task.data
            z = m64(task.x64).reshape(-1).numpy()
            if not np.all(np.isfinite(z)):
                result.messages.append(_("the model's forecasts are not finite; none shown"))
                return
            n = d.n_train
            fitted = d.to_original(z[:n], d.train_index)
            predicted = d.to_original(z[n:], d.test_index)
            result.metrics = _metrics(cfg.model, d, fitted, predicted)
            zt = d.z
            result.final_loss = float(np.mean((z[:n] - zt[:n]) ** 2))
            test = float(np.mean((z[n:] - zt[n:]) ** 2))
        else:
            result.final_loss = result.history.loss[-1] if result.history.loss else None
            test = float(task.loss(m64(task.x64), task.y64))
    result.final_test_loss = test if math.isfinite(test) else None
    result.test_inputs = task.test_sequence()


# ---------------------------------------------------------------- files

def save_model(result: TrainResult, path, overwrite: bool = True) -> Path:
    """``model.pt``: the recurrent module's state_dict (torch's keys) or the Conv1d model's."""
    return _save_tensors(result.model_state_dict(), path, overwrite)


def save_head(result: TrainResult, path, overwrite: bool = True) -> Path:
    """``head.pt``: the linear head's state_dict (``weight``, ``bias``)."""
    return _save_tensors(result.head_state_dict(), path, overwrite)


def _save_tensors(sd: dict, path, overwrite: bool) -> Path:
    import io
    from .files import atomic_write_bytes
    if not sd:
        raise GradvizError(_("no trained weights to save (model ar has none)"))
    buf = io.BytesIO()
    _torch().save(sd, buf)
    return atomic_write_bytes(path, buf.getvalue(), overwrite=overwrite)


def forecast_table(result: TrainResult) -> tuple[list[str], list[list]]:
    """The rows of ``forecast.csv``: every month with its actual value, the model's fitted
    (train) or predicted (test) value and each baseline's; empty where there is none."""
    d = result.data
    cols = ["index", "label", "part", "actual", result.config.model, *result.baselines]
    rows = []
    pos = {}
    for name, m in [(result.config.model, result.metrics), *result.baselines.items()]:
        if m is None:
            continue
        tr = d.train_index[len(d.train_index) - len(m.fitted):]
        pos[name] = {**dict(zip(tr.tolist(), m.fitted.tolist())),
                     **dict(zip(d.test_index.tolist(), m.predicted.tolist()))}
    test_start = int(d.test_index[0])
    train_start = int(d.train_index[0])
    for i in range(len(d.y)):
        part = "test" if i >= test_start else "train" if i >= train_start else "input"
        row = [i, d.labels[i] if i < len(d.labels) else str(i), part, float(d.y[i])]
        for name in cols[4:]:
            v = pos.get(name, {}).get(i)
            row.append("" if v is None else float(v))
        rows.append(row)
    return cols, rows


def write_forecast_csv(result: TrainResult, path, overwrite: bool = True) -> Path:
    import csv
    import io
    from .files import atomic_write_text
    cols, rows = forecast_table(result)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    for r in rows:
        w.writerow([repr(v) if isinstance(v, float) else v for v in r])
    return atomic_write_text(path, buf.getvalue(), overwrite=overwrite)


# ---------------------------------------------------------------- what the lab plots

LOG10_FLOOR = -30.0


def log10_floor(values, floor: float = LOG10_FLOOR) -> np.ndarray:
    """log10 of non-negative numbers, zeros (and anything below 10^floor) drawn at ``floor``."""
    a = np.asarray(values, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log10(np.where(a > 0, a, 0.0))
    return np.where(np.isfinite(out) & (out > floor), out, floor)


def lab_plot_data(history: History) -> dict[str, np.ndarray]:
    """Every curve and image of the lab from a history (finite float64 arrays):

    iteration (n,); log10_loss (n,); test_iteration, log10_test_loss; log10_grad_norm and
    log10_grad_norm_clipped (n,); clip_rate (n,): running fraction of iterations clipped;
    sigma_max (n,); record_iteration; forget_iteration, forget_mean; the newest recorded
    iteration's ‖∂L/∂h_t‖ (grad_t, log10_grad_h_last) and W_hh shares (contrib_t,
    log10_whh_contrib_last), the first's (first_grad_t, log10_grad_h_first), positive
    entries only; log10_grad_h (recorded, T), zeros one decade below the smallest value.
    """
    h = history
    n = len(h.loss)
    T = len(h.grad_h[-1]) if h.grad_h else 0
    clipped = np.asarray(h.clipped, dtype=np.float64)
    grad_h = np.asarray(h.grad_h, dtype=np.float64).reshape(len(h.grad_h), T)
    contrib = np.asarray(h.whh_contrib, dtype=np.float64).reshape(len(h.whh_contrib), T)
    last_g = grad_h[-1] if len(grad_h) else np.zeros(0)
    last_c = contrib[-1] if len(contrib) else np.zeros(0)
    first_g = grad_h[0] if len(grad_h) else np.zeros(0)
    t = np.arange(1, T + 1, dtype=np.float64)
    positive = grad_h[grad_h > 0]
    floor = max(LOG10_FLOOR, float(np.log10(positive.min())) - 1.0) if positive.size else 0.0
    return {
        "iteration": np.arange(1, n + 1, dtype=np.float64),
        "log10_loss": log10_floor(h.loss),
        "test_iteration": np.asarray(h.test_iteration, dtype=np.float64),
        "log10_test_loss": log10_floor(h.test_loss),
        "log10_grad_norm": log10_floor(h.grad_norm),
        "log10_grad_norm_clipped": log10_floor(h.grad_norm_clipped),
        "clip_rate": np.cumsum(clipped) / np.arange(1, n + 1) if n else np.zeros(0),
        "sigma_max": np.asarray(h.sigma_max_whh, dtype=np.float64),
        "record_iteration": np.asarray(h.record_iteration, dtype=np.float64),
        "forget_iteration": np.asarray(h.record_iteration[:len(h.forget_mean)], dtype=np.float64),
        "forget_mean": np.asarray(h.forget_mean, dtype=np.float64),
        # exact zeros (a relu unit off; step 1's W_hh share, as h_0 = 0) are left out of curves
        "grad_t": t[last_g > 0],
        "log10_grad_h_last": np.log10(last_g[last_g > 0]),
        "first_grad_t": t[first_g > 0],
        "log10_grad_h_first": np.log10(first_g[first_g > 0]),
        "contrib_t": t[last_c > 0],
        "log10_whh_contrib_last": np.log10(last_c[last_c > 0]),
        "steps": np.array(float(T)),
        "log10_grad_h": log10_floor(grad_h, floor) if len(grad_h) else np.zeros((0, 0)),
    }


def metrics_rows(result: TrainResult) -> list[tuple[str, float, float, float, float]]:
    """(name, train RMSE, train MAE, test RMSE, test MAE) for the model and every baseline."""
    rows = []
    if result.metrics is not None and result.config.model != "ar":
        m = result.metrics
        rows.append((result.config.model, m.train_rmse, m.train_mae, m.test_rmse, m.test_mae))
    for name, m in result.baselines.items():
        label = _(BASELINE_NAMES[name])
        if name == "ar":
            label = label.format(p=len(m.params) - 1)
        rows.append((label, m.train_rmse, m.train_mae, m.test_rmse, m.test_mae))
    return rows


# ---------------------------------------------------------------- sessions

def result_state(result: TrainResult) -> dict:
    """A finished run as plain JSON data (setup, history, trained weights as nested lists of
    float64 numbers) for a session file; :func:`restore_result` reads it back."""
    h = result.history
    hist = {f.name: [bool(v) for v in h.clipped] if f.name == "clipped" else
            [list(map(float, row)) for row in getattr(h, f.name)] if f.name in ("grad_h", "whh_contrib")
            else [int(v) for v in getattr(h, f.name)] if f.name in ("test_iteration", "record_iteration")
            else [float(v) for v in getattr(h, f.name)] for f in fields(History)}
    return {"config": result.config.to_dict(), "history": hist,
            "iterations": result.iterations, "stopped_nonfinite": result.stopped_nonfinite,
            "cancelled": result.cancelled, "elapsed": result.elapsed,
            "weights": {k: v.tolist() for k, v in _numpy_state(result.model)} if result.model
            is not None else None}


def _numpy_state(model):
    return [(k, v.detach().double().numpy()) for k, v in model.state_dict().items()]


_RESULT_KEYS = ("config", "history", "iterations", "stopped_nonfinite", "cancelled", "elapsed",
                "weights")
_HISTORY_INTS = ("test_iteration", "record_iteration")
_HISTORY_ROWS = ("grad_h", "whh_contrib")
_HISTORY_GROUPS = (("loss", "grad_norm", "grad_norm_clipped", "clipped", "sigma_max_whh"),
                   ("test_iteration", "test_loss"), ("record_iteration", "grad_h", "whh_contrib"))


def _finite_array(value, where: str) -> np.ndarray:
    """Nested lists (or an array) of finite numbers as float64; else a GradvizError."""
    if isinstance(value, np.ndarray):
        a = value
        if a.dtype.kind not in "iuf":
            raise GradvizError(_("{where}: expected numbers").format(where=where))
        a = a.astype(np.float64)
    else:
        if _holds_bool_or_text(value):
            raise GradvizError(_("{where}: expected numbers").format(where=where))
        try:
            a = np.array(value, dtype=np.float64)
        except (ValueError, TypeError, OverflowError, RecursionError):
            raise GradvizError(_("{where}: expected nested lists of numbers of one shape")
                               .format(where=where)) from None
    if not np.all(np.isfinite(a)):
        raise GradvizError(_("{where}: contains NaN or inf").format(where=where))
    return a


def _holds_bool_or_text(value) -> bool:
    if isinstance(value, (bool, str, dict)) or value is None:
        return True
    if isinstance(value, (list, tuple)):
        return any(_holds_bool_or_text(v) for v in value)
    return False


def _config_from(data, source: str) -> TrainConfig:
    """``TrainConfig.from_dict`` whose every message names ``source`` (validate()'s too)."""
    try:
        return TrainConfig.from_dict(data, source=source)
    except GradvizError as exc:
        msg = str(exc)
        raise GradvizError(msg if msg.startswith(source) else f"{source}: {msg}") from None


def check_result_state(state, source: str = "session") -> dict:
    """The :func:`result_state` data of a file checked without torch: the config valid, every
    history number finite and of its type, the lengths consistent, the weights finite arrays.
    Returns a clean copy (history as lists, weights as float64 arrays); anything wrong is a
    one-line :class:`GradvizError` naming ``source`` and the key."""
    if not isinstance(state, dict) or "config" not in state:
        raise GradvizError(_("{source}: the training run is not an object with a config")
                           .format(source=source))
    unknown = sorted(set(state) - set(_RESULT_KEYS))
    if unknown:
        raise GradvizError(_("{source}: unknown key {name!r} in the training run")
                           .format(source=source, name=_Short(unknown[0])))
    cfg = _config_from(state["config"], f"{source}: config")
    history = state.get("history")
    if history is None:
        history = {}
    if not isinstance(history, dict):
        raise GradvizError(_("{source}: history must be an object of lists").format(source=source))
    names = [f.name for f in fields(History)]
    hist: dict[str, list] = {}
    for name, values in history.items():
        where = f"{source}: history {name}"
        if name not in names:
            raise GradvizError(_("{source}: unknown or malformed history entry {name!r}")
                               .format(source=source, name=_Short(name)))
        if not isinstance(values, list):
            raise GradvizError(_("{where}: expected a list").format(where=where))
        if name == "clipped":
            if not all(isinstance(v, bool) for v in values):
                raise GradvizError(_("{where}: expected true/false values").format(where=where))
            hist[name] = list(values)
        elif name in _HISTORY_INTS:
            if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in values):
                raise GradvizError(_("{where}: expected iteration numbers ≥ 1").format(where=where))
            hist[name] = list(values)
        elif name in _HISTORY_ROWS:
            a = _finite_array(values, where) if values else np.zeros((0, 0))
            if a.ndim != 2:
                raise GradvizError(_("{where}: expected rows of numbers, one per recorded "
                                     "iteration").format(where=where))
            hist[name] = a.tolist()
        else:
            a = _finite_array(values, where)
            if a.ndim != 1:
                raise GradvizError(_("{where}: expected a list of numbers").format(where=where))
            hist[name] = a.tolist()
    for group in _HISTORY_GROUPS:
        lengths = {len(hist.get(n, [])) for n in group}
        if len(lengths) > 1:
            raise GradvizError(_("{source}: history {names} must have one length each")
                               .format(source=source, names=", ".join(group)))
    records = len(hist.get("record_iteration", []))
    if len(hist.get("forget_mean", [])) not in (0, records):
        raise GradvizError(_("{source}: history forget_mean must have one value per recorded "
                             "iteration").format(source=source))
    if len({len(r) for n in _HISTORY_ROWS for r in hist.get(n, [])}) > 1:
        raise GradvizError(_("{source}: history grad_h and whh_contrib rows must have one length")
                           .format(source=source))
    iterations = state.get("iterations", len(hist.get("loss", [])))
    if isinstance(iterations, bool) or not isinstance(iterations, int) \
            or iterations != len(hist.get("loss", [])):
        raise GradvizError(_("{source}: iterations must be the number of recorded losses "
                             "({n}), got {value!r}").format(source=source,
                                                             n=len(hist.get("loss", [])),
                                                             value=_Short(iterations)))
    stopped = state.get("stopped_nonfinite")
    if stopped is not None and (isinstance(stopped, bool) or not isinstance(stopped, int)
                                or stopped < 1):
        raise GradvizError(_("{source}: stopped_nonfinite must be an iteration number or null, "
                             "got {value!r}").format(source=source, value=_Short(stopped)))
    cancelled = state.get("cancelled", False)
    if not isinstance(cancelled, bool):
        raise GradvizError(_("{source}: cancelled must be true or false, got {value!r}")
                           .format(source=source, value=_Short(cancelled)))
    elapsed = state.get("elapsed", 0.0)
    if not _finite_number(elapsed) or elapsed < 0:
        raise GradvizError(_("{source}: elapsed must be a finite number of seconds ≥ 0, got "
                             "{value!r}").format(source=source, value=_Short(elapsed)))
    weights = state.get("weights")
    clean_w = None
    if weights is not None:
        if not isinstance(weights, dict) or not all(isinstance(k, str) for k in weights):
            raise GradvizError(_("{source}: weights must be an object of named arrays")
                               .format(source=source))
        clean_w = {k: _finite_array(v, f"{source}: weights {k if len(k) <= 40 else k[:37] + '…'}")
                   for k, v in weights.items()}
    if cfg.model != "ar" and clean_w is None:
        raise GradvizError(_("{source}: the training run holds no weights").format(source=source))
    return {"config": cfg.to_dict(), "history": hist, "iterations": iterations,
            "stopped_nonfinite": stopped, "cancelled": cancelled, "elapsed": float(elapsed),
            "weights": clean_w}


def check_lab_state(state, source: str = "session") -> dict:
    """The training lab's part of a session (``{"config": setup or null, "result": run or
    null}``, as ``TrainingLab.session_state`` gives it) checked without torch (see
    :func:`check_result_state`); returns a clean copy. :func:`restore_lab_state` rebuilds it."""
    if not isinstance(state, dict):
        raise GradvizError(_("{source}: the training lab's state is not an object")
                           .format(source=source))
    unknown = sorted(set(state) - {"config", "result"})
    if unknown:
        raise GradvizError(_("{source}: unknown key {name!r} in the training lab's state")
                           .format(source=source, name=_Short(unknown[0])))
    config = state.get("config")
    if config is not None:
        config = _config_from(config, f"{source}: setup").to_dict()
    result = state.get("result")
    if result is not None:
        result = check_result_state(result, source=f"{source}: result")
    return {"config": config, "result": result}


def restore_lab_state(state, source: str = "session") -> tuple[TrainConfig | None,
                                                                TrainResult | None]:
    """(setup, run) of the training lab's part of a session: checked, then the run rebuilt
    with :func:`restore_result` (its model with the saved weights, forecasts and metrics
    recomputed). Raises :class:`GradvizError` (one line) before anything is built."""
    clean = check_lab_state(state, source)
    cfg = (TrainConfig.from_dict(clean["config"], source=f"{source}: setup")
           if clean["config"] is not None else None)
    result = (restore_result(clean["result"], source=f"{source}: result")
              if clean["result"] is not None else None)
    return cfg, result


def restore_result(state: dict, source: str = "session") -> TrainResult:
    """The :class:`TrainResult` of :func:`result_state` data: the model rebuilt with its
    weights, the forecasts and metrics recomputed from them (float64)."""
    torch = _torch()
    state = check_result_state(state, source)
    cfg = TrainConfig.from_dict(state["config"], source=f"{source}: training config")
    hist = History()
    for name, values in state["history"].items():
        setattr(hist, name, list(values))
    task = _Task(cfg)
    result = TrainResult(config=cfg, history=hist, iterations=state["iterations"],
                         stopped_nonfinite=state["stopped_nonfinite"],
                         cancelled=state["cancelled"], elapsed=state["elapsed"], data=task.data)
    if cfg.forecasting:
        result.baselines = forecast_baselines(task.data, cfg.ar_order, cfg.season)
    elif cfg.task == "adding":
        result.baseline_loss = adding_baseline()
    else:
        result.baseline_loss = copy_baseline(cfg.steps)
    weights = state.get("weights")
    if cfg.model == "ar":
        result.metrics = result.baselines.get("ar")
        return result
    if not isinstance(weights, dict):
        raise GradvizError(_("{source}: the training run holds no weights").format(source=source))
    model = build_model(cfg, task.input_size, task.output_size, task.seq_len)
    expected = model.state_dict()
    extra = sorted(set(weights) - set(expected))
    if extra:
        raise GradvizError(_("{source}: weight {key!r} does not belong to the {model} model")
                           .format(source=source, key=_Short(extra[0]), model=cfg.model))
    sd = {}
    for key, ref in expected.items():
        if key not in weights:
            raise GradvizError(_("{source}: weight {key!r} is missing").format(source=source, key=key))
        arr = np.asarray(weights[key], dtype=np.float64)
        if arr.shape != tuple(ref.shape) or not np.all(np.isfinite(arr)):
            raise GradvizError(_("{source}: weight {key!r} has shape {shape} or is not finite; "
                                 "expected {expected}").format(source=source, key=key,
                                                              shape=arr.shape,
                                                              expected=tuple(ref.shape)))
        sd[key] = torch.from_numpy(arr).to(ref.dtype)
    model.load_state_dict(sd)
    result.model = model
    _finish(result, task)
    return result
