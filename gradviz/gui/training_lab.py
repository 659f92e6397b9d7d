"""The training lab in the window: set up a run, train it off the GUI thread, watch the loss,
the forecast, the gradient through time, clipping, σ_max(W_hh) and the forget gate live; open
the trained weights in the dynamics views.

``install_training_lab(window)`` adds a **Training** menu (Training lab…, Ctrl+T) whose window
holds the setup, Train / Pause / Stop with progress, the plots and the metrics table. Every
number drawn comes from :mod:`gradviz.core.training` (``lab_plot_data``, ``metrics_rows``).
``gui.render.render_training_pngs(result, folder)`` draws the same plots into PNGs for
``gradviz train``.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PyQt6 import sip
from PyQt6.QtCore import Qt, QThread, pyqtSignal
from PyQt6.QtWidgets import (QAbstractItemView, QApplication, QCheckBox, QComboBox, QDoubleSpinBox,
                             QFileDialog, QFormLayout, QGridLayout, QHBoxLayout, QHeaderView,
                             QLabel, QLineEdit, QProgressBar, QPushButton, QScrollArea,
                             QSizePolicy, QSpinBox, QSplitter, QTableWidget, QTableWidgetItem,
                             QVBoxLayout, QWidget)

from ..core.errors import GradvizError
from ..core.i18n import N_, _
from ..core.training import (FORECAST_TASKS, MODELS, TASKS, History, TrainConfig,
                             default_config, lab_plot_data, metrics_rows)
from .views.items import ColorBar, adopt_menus

_LIGHT = {"bg": "#ffffff", "fg": "#111111", "blue": "#0060a8", "orange": "#e69f00",
          "green": "#009e73", "red": "#d55e00", "purple": "#b8589a", "grey": "#666666"}

TASK_LABELS = {"airline": N_("airline passengers (forecast)"), "csv": N_("CSV series (forecast)"),
               "adding": N_("adding problem"), "copy": N_("copy memory")}
MODEL_LABELS = {"rnn": N_("RNN (tanh)"), "rnn-relu": N_("RNN (relu)"), "lstm": N_("LSTM"),
                "gru": N_("GRU"), "conv1d": N_("Conv1d"), "ar": N_("AR(p) only")}
PLOT_NAMES = ("loss", "forecast", "grad_h", "grad_heatmap", "whh_contrib", "grad_norm", "sigma")


# ---------------------------------------------------------------- plots

def _pen(color, width=2, style=Qt.PenStyle.SolidLine):
    return pg.mkPen(color=color, width=width, style=style)


class TrainingPlots(QWidget):
    """The lab's plots (one PlotWidget each, created once, updated with setData/setImage)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        previous = pg.getConfigOption("antialias")
        pg.setConfigOptions(antialias=True)     # for the lab's curves only: restored below
        c = _LIGHT
        self.widgets: dict[str, pg.PlotWidget] = {}
        grid = self.grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(4)

        def plot(name, title, left, bottom, row, col, colspan=1):
            w = pg.PlotWidget(background=c["bg"])
            w.setMinimumSize(200, 150)
            p = w.getPlotItem()
            p.setMenuEnabled(False)   # pyqtgraph's own menu (English; its SVG export fails)
            adopt_menus(p, w)
            p.setTitle(title, color=c["fg"], size="10pt")
            p.setLabel("left", left, color=c["fg"])
            p.setLabel("bottom", bottom, color=c["fg"])
            p.showGrid(x=True, y=True, alpha=0.2)
            for ax in ("left", "bottom"):
                p.getAxis(ax).setTextPen(c["fg"])
                p.getAxis(ax).setPen(c["fg"])
                p.getAxis(ax).enableAutoSIPrefix(False)
            self.widgets[name] = w
            grid.addWidget(w, row, col, 1, colspan)
            return p

        p = self.loss_plot = plot("loss", _("Loss (train, test) and baselines"), _("log10 loss"),
                                  _("iteration"), 0, 0)
        self.loss_legend = p.addLegend(offset=(-5, 5), labelTextColor=c["fg"],
                                       brush=(255, 255, 255, 200))
        self.prev_curve = p.plot([], [], pen=_pen(c["grey"], 1))
        self.loss_curve = p.plot([], [], pen=_pen(c["blue"], 1), name=_("train"))
        self.test_curve = p.plot([], [], pen=_pen(c["red"], 2), name=_("test"))
        self.baseline_curve = p.plot([], [], pen=_pen(c["green"], 2, Qt.PenStyle.DashLine))
        self.baseline_value = None

        p = self.forecast_plot = plot("forecast", _("Forecast (original units)"), "",
                                      _("month"), 0, 1)
        p.addLegend(offset=(5, 5), labelTextColor=c["fg"], brush=(255, 255, 255, 200),
                    colCount=2)
        self.actual_curve = p.plot([], [], pen=_pen(c["fg"], 2), name=_("actual"))
        self.fitted_curve = p.plot([], [], pen=_pen(c["blue"], 2), name=_("fitted (train)"))
        self.predicted_curve = p.plot([], [], pen=_pen(c["red"], 2), name=_("predicted (test)"))
        self.ar_curve = p.plot([], [], pen=_pen(c["green"], 2, Qt.PenStyle.DashLine), name="AR")
        self.split_line = pg.InfiniteLine(angle=90, pen=_pen(c["grey"], 1, Qt.PenStyle.DotLine))
        p.addItem(self.split_line)

        p = self.grad_plot = plot("grad_h", _("Gradient through time ‖∂L/∂h_t‖"),
                                  _("log10 ‖∂L/∂h_t‖"), "t", 1, 0)
        self.grad_curve = p.plot([], [], pen=_pen(c["purple"], 2), symbol="o", symbolSize=4,
                                 symbolBrush=c["purple"], symbolPen=None)
        p.addLegend(offset=(5, 5), labelTextColor=c["fg"], brush=(255, 255, 255, 200))
        self.first_grad_curve = p.plot([], [], pen=_pen(c["grey"], 1, Qt.PenStyle.DashLine),
                                       name=_("first recorded iteration"))
        p.legend.addItem(self.grad_curve, _("newest"))

        p = self.heat_plot = plot("grad_heatmap", _("log10 ‖∂L/∂h_t‖: iteration × t"),
                                  _("iteration"), "t", 1, 1)
        self.heat_image = pg.ImageItem(axisOrder="row-major")
        p.addItem(self.heat_image)
        self.heat_bar = ColorBar(values=(-6, 0), colorMap=pg.colormap.get("viridis"), width=12)
        self.heat_bar.setImageItem(self.heat_image, insert_in=p)

        p = self.contrib_plot = plot("whh_contrib", _("Step i's share of ∂L/∂W_hh"),
                                     _("log10 ‖·‖"), "i", 2, 0)
        self.contrib_curve = p.plot([], [], pen=_pen(c["orange"], 2), symbol="o", symbolSize=4,
                                    symbolBrush=c["orange"], symbolPen=None)

        p = self.norm_plot = plot("grad_norm", _("Gradient norm before / after clipping"),
                                  _("log10 ‖∇‖"), _("iteration"), 2, 1)
        p.addLegend(offset=(-5, 5), labelTextColor=c["fg"], brush=(255, 255, 255, 200))
        self.norm_curve = p.plot([], [], pen=_pen(c["red"], 1), name=_("before"))
        self.norm_clipped_curve = p.plot([], [], pen=_pen(c["blue"], 1), name=_("after"))

        p = self.sigma_plot = plot("sigma", _("σ_max(W_hh) and mean forget gate f_t"), "",
                                   _("iteration"), 3, 0)
        p.addLegend(offset=(-5, 5), labelTextColor=c["fg"], brush=(255, 255, 255, 200))
        self.sigma_curve = p.plot([], [], pen=_pen(c["blue"], 2), name="σ_max(W_hh)")
        self.forget_curve = p.plot([], [], pen=_pen(c["green"], 2), name=_("mean f_t"))
        one = pg.InfiniteLine(pos=1.0, angle=0, pen=_pen(c["grey"], 1, Qt.PenStyle.DashLine))
        p.addItem(one)
        for row, stretch in enumerate((3, 3, 3, 3)):
            grid.setRowStretch(row, stretch)
        for w in self.widgets.values():
            w.getPlotItem().vb.disableAutoRange()
        pg.setConfigOptions(antialias=previous)

    # -- updates

    def set_forecasting(self, on: bool, table=None) -> None:
        """Forecasting tasks show the forecast figure (and the metrics ``table``); the others
        give its room to the loss curves (and σ_max)."""
        grid = self.grid
        self.widgets["forecast"].setVisible(on)
        grid.removeWidget(self.widgets["loss"])
        grid.addWidget(self.widgets["loss"], 0, 0, 1, 1 if on else 2)
        if table is not None:
            table.setVisible(on)
            grid.removeWidget(self.widgets["sigma"])
            grid.addWidget(self.widgets["sigma"], 3, 0, 1, 1 if on else 2)

    def clear(self) -> None:
        for curve in (self.loss_curve, self.test_curve, self.grad_curve, self.first_grad_curve,
                      self.contrib_curve, self.norm_curve, self.norm_clipped_curve,
                      self.sigma_curve, self.forget_curve, self.actual_curve, self.fitted_curve,
                      self.predicted_curve, self.ar_curve):
            curve.setData([], [])
        self.heat_image.clear()
        self.set_baseline(None)
        self.last_data = None

    def set_previous(self, history: History | None, label: str = "") -> None:
        """A finished run's training loss, drawn grey behind the next run's."""
        self.loss_legend.removeItem(self.prev_curve)
        if history is None or not history.loss:
            self.prev_curve.setData([], [])
            return
        d = lab_plot_data(history)
        self.prev_curve.setData(d["iteration"], d["log10_loss"])
        self.loss_legend.addItem(self.prev_curve, label or _("previous run"))

    def set_baseline(self, value: float | None, label: str = "") -> None:
        """A horizontal line at a baseline loss (adding: 1/6, copy: 10·ln 8/(T+20))."""
        self.loss_legend.removeItem(self.baseline_curve)
        self.baseline_value = None
        self.baseline_curve.setData([], [])
        if value is not None and value > 0:
            self.baseline_value = float(np.log10(value))
            self.loss_legend.addItem(self.baseline_curve, label)

    def update_history(self, history: History, total: int | None = None) -> dict:
        d = self.last_data = lab_plot_data(history)
        it = d["iteration"]
        self.loss_curve.setData(it, d["log10_loss"])
        self.test_curve.setData(d["test_iteration"], d["log10_test_loss"])
        self.norm_curve.setData(it, d["log10_grad_norm"])
        self.norm_clipped_curve.setData(it, d["log10_grad_norm_clipped"])
        self.sigma_curve.setData(it, d["sigma_max"])
        self.forget_curve.setData(d["forget_iteration"], d["forget_mean"])
        xmax = float(total or (it[-1] if len(it) else 1))
        if self.baseline_value is not None:
            self.baseline_curve.setData([0.0, xmax], [self.baseline_value] * 2)
        self.grad_curve.setData(d["grad_t"], d["log10_grad_h_last"])
        self.first_grad_curve.setData(d["first_grad_t"], d["log10_grad_h_first"])
        self.contrib_curve.setData(d["contrib_t"], d["log10_whh_contrib_last"])
        img = d["log10_grad_h"]
        T = float(d["steps"])
        if img.size:
            lo, hi = float(img.min()), float(img.max())
            if hi - lo < 1e-9:
                hi = lo + 1.0
            # rows: recorded iterations (bottom: first), columns: t
            self.heat_image.setImage(img, autoLevels=False, levels=(lo, hi))
            top = float(d["record_iteration"][-1])
            self.heat_image.setRect(0.5, 0.0, T, max(top, 1.0))
            self.heat_bar.setLevels((lo, hi))
            self.heat_plot.vb.setRange(xRange=(0.5, T + 0.5), yRange=(0.0, max(top, 1.0)),
                                       padding=0)
        base = [self.baseline_value] if self.baseline_value is not None else []
        self._range(self.loss_plot, (0, xmax), [d["log10_loss"], d["log10_test_loss"], base])
        self._range(self.norm_plot, (0, xmax), [d["log10_grad_norm"], d["log10_grad_norm_clipped"]])
        fired = int(sum(history.clipped))
        self.norm_plot.setTitle(_("Gradient norm before / after clipping (clipped {k} of {n})")
                                .format(k=fired, n=len(history.clipped)),
                                color=_LIGHT["fg"], size="10pt")
        self._range(self.sigma_plot, (0, xmax), [d["sigma_max"], d["forget_mean"], [0.0, 1.0]])
        if T:
            self._range(self.grad_plot, (0.5, T + 0.5), [d["log10_grad_h_last"],
                                                         d["log10_grad_h_first"]])
            self._range(self.contrib_plot, (0.5, T + 0.5), [d["log10_whh_contrib_last"]])
        return d

    @staticmethod
    def _range(plot, xr, ys) -> None:
        vals = [np.asarray(y, dtype=np.float64).ravel() for y in ys if len(y)]
        vals = np.concatenate(vals) if vals else np.zeros(0)
        vals = vals[np.isfinite(vals)]
        if vals.size:
            lo, hi = float(vals.min()), float(vals.max())
            pad = max(0.05 * (hi - lo), 0.05)
            plot.vb.setRange(xRange=xr, yRange=(lo - pad, hi + pad), padding=0)
        else:
            plot.vb.setRange(xRange=xr, padding=0)

    def show_forecast(self, result) -> None:
        d, m = result.data, result.metrics
        p = self.forecast_plot
        if d is None:
            for curve in (self.actual_curve, self.fitted_curve, self.predicted_curve, self.ar_curve):
                curve.setData([], [])
            p.setTitle(_("Forecast: for the airline and CSV tasks"), color=_LIGHT["fg"], size="10pt")
            return
        p.setTitle(_("Forecast of {name} (original units)").format(name=d.target_name),
                   color=_LIGHT["fg"], size="10pt")
        x = np.arange(len(d.y), dtype=np.float64)
        self.actual_curve.setData(x, d.y)
        ys = [d.y]
        if m is not None and result.config.model != "ar":
            tr = d.train_index[len(d.train_index) - len(m.fitted):]
            self.fitted_curve.setData(tr.astype(np.float64), m.fitted)
            self.predicted_curve.setData(d.test_index.astype(np.float64), m.predicted)
            ys += [m.fitted, m.predicted]
        else:
            self.fitted_curve.setData([], [])
            self.predicted_curve.setData([], [])
        ar = result.baselines.get("ar")
        if ar is not None:
            self.ar_curve.setData(d.test_index.astype(np.float64), ar.predicted)
            ys.append(ar.predicted)
        else:
            self.ar_curve.setData([], [])
        self.split_line.setPos(float(d.test_index[0]) - 0.5)
        self._range(p, (0, len(d.y) - 1), ys)


def _table(rows) -> QTableWidget:
    t = QTableWidget(0, 5)
    t.setHorizontalHeaderLabels([_("model"), _("train RMSE"), _("train MAE"), _("test RMSE"),
                                 _("test MAE")])
    t.verticalHeader().setVisible(False)
    t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    t.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
    t.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
    return t


def fill_metrics_table(table: QTableWidget, result) -> None:
    rows = metrics_rows(result) if result is not None else []
    table.setRowCount(len(rows))
    for r, row in enumerate(rows):
        table.setItem(r, 0, QTableWidgetItem(row[0]))
        for c, v in enumerate(row[1:], start=1):
            item = QTableWidgetItem(f"{v:.2f}")
            item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            table.setItem(r, c, item)


# ---------------------------------------------------------------- the worker thread

class _TrainThread(QThread):
    progressed = pyqtSignal(object)       # core.training.Progress
    finished_run = pyqtSignal(object)     # TrainResult
    failed = pyqtSignal(str)

    def __init__(self, config: TrainConfig, parent=None):
        super().__init__(parent)
        from ..core.training import TrainControl
        self.config = config
        self.control = TrainControl()

    def run(self) -> None:
        from ..core.training import train
        from .worker import error_message
        try:
            import torch
            torch.set_num_threads(1)
            result = train(self.config, progress=self.progressed.emit, control=self.control,
                           progress_interval=0.15)
        except Exception as exc:
            self.failed.emit(error_message(exc))
            return
        self.finished_run.emit(result)


# ---------------------------------------------------------------- the lab

class TrainingLab(QWidget):
    """Set-up controls, run controls, plots and the metrics table."""

    status_changed = pyqtSignal(str)
    run_finished = pyqtSignal(object)

    def __init__(self, window=None, parent=None):
        super().__init__(parent)
        self.main_window = window
        self.result = None
        self._thread: _TrainThread | None = None
        self._previous = None
        self._build()
        self.set_config(default_config("airline", "lstm"))

    # -- building

    def _build(self) -> None:
        outer = QHBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 4)
        split = QSplitter(Qt.Orientation.Horizontal)
        outer.addWidget(split)
        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        form_host = QWidget()
        form = QFormLayout(form_host)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.preset = QComboBox()
        self.preset.setToolTip(_("The notes' training claims as ready runs"))
        self._presets = []
        try:
            from ..core.training_presets import list_training_presets
            self._presets = list_training_presets()
        except GradvizError:
            self._presets = []
        self.preset.addItem(_("(choose a preset)"), None)
        for p in self._presets:
            self.preset.addItem(p.title_text(), p.name)
        self.preset.activated.connect(self._preset_chosen)
        form.addRow(_("Preset"), self.preset)

        self.task = QComboBox()
        for t in TASKS:
            self.task.addItem(_(TASK_LABELS[t]), t)
        self.task.activated.connect(self._task_chosen)
        form.addRow(_("Task"), self.task)
        self.model = QComboBox()
        for m in MODELS:
            self.model.addItem(_(MODEL_LABELS[m]), m)
        self.model.currentIndexChanged.connect(self._update_enabled)
        form.addRow(_("Model"), self.model)
        self.hidden = self._spin(1, 1024, _("hidden size H (Conv1d: channels)"))
        form.addRow(_("Hidden"), self.hidden)
        self.layers = self._spin(1, 8, _("stacked layers"))
        form.addRow(_("Layers"), self.layers)
        self.forget_bias_on = QCheckBox(_("forget bias"))
        self.forget_bias = self._dspin(-10, 10, 2, 0.5, _("LSTM: effective forget-gate bias at "
                                                          "init (b_if = B, b_hf = 0)"))
        self.forget_bias_on.toggled.connect(self._update_enabled)
        form.addRow(self.forget_bias_on, self.forget_bias)
        self.wr_on = QCheckBox(_("init σ_max"))
        self.wr_scale = self._dspin(0.01, 20, 2, 0.1, _("scale W_hh to this largest singular "
                                                        "value before training"))
        self.wr_on.toggled.connect(self._update_enabled)
        form.addRow(self.wr_on, self.wr_scale)

        self.steps = self._spin(2, 2000, _("adding: sequence length T; copy: delay T"))
        form.addRow(_("T"), self.steps)
        self.look_back = self._spin(1, 120, _("forecasting: window length (the notes: 3)"))
        form.addRow(_("look_back"), self.look_back)
        self.layout_box = QComboBox()
        self.layout_box.addItem(_("notes (window = features)"), "notes")
        self.layout_box.addItem(_("one sequence per window"), "window")
        self.layout_box.setToolTip(_("notes: the months are one sequence and each step's input "
                                     "is the window of the last look_back values; or each "
                                     "window is a sequence of look_back steps"))
        form.addRow(_("Layout"), self.layout_box)
        self.scale_on = QComboBox()
        self.scale_on.addItem(_("whole series (notes)"), "all")
        self.scale_on.addItem(_("training part only"), "train")
        self.scale_on.setToolTip(_("where the min-max scaling is fitted"))
        form.addRow(_("Scaling"), self.scale_on)
        self.difference = QComboBox()
        self.difference.addItem(_("none"), "none")
        self.difference.addItem(_("y_t − y_{t−1}"), "diff")
        self.difference.addItem(_("log-differences"), "logdiff")
        form.addRow(_("Transform"), self.difference)
        csv_row = QWidget()
        ch = QHBoxLayout(csv_row)
        ch.setContentsMargins(0, 0, 0, 0)
        self.csv_path = QLineEdit()
        self.csv_path.setPlaceholderText(_("file.csv"))
        self.csv_path.setToolTip(_("a CSV file with a header row"))
        self.csv_browse = QPushButton(_("…"))
        self.csv_browse.setFixedWidth(28)
        self.csv_browse.clicked.connect(self._browse_csv)
        ch.addWidget(self.csv_path)
        ch.addWidget(self.csv_browse)
        form.addRow(_("CSV"), csv_row)
        self.columns = QLineEdit()
        self.columns.setPlaceholderText(_("A,B"))
        self.columns.setToolTip(_("input columns, separated by commas (default: the target)"))
        form.addRow(_("Columns"), self.columns)
        self.target = QLineEdit()
        self.target.setPlaceholderText(_("(last column)"))
        self.target.setToolTip(_("the column to forecast (default: the last)"))
        form.addRow(_("Target"), self.target)

        self.optimizer = QComboBox()
        self.optimizer.addItem(_("Adam"), "adam")
        self.optimizer.addItem("SGD", "sgd")
        form.addRow(_("Optimiser"), self.optimizer)
        self.lr = self._dspin(1e-5, 10.0, 5, 1e-3, _("learning rate"))
        form.addRow(_("Learning rate"), self.lr)
        self.batch = self._spin(0, 100_000, _("batch size (0: the whole training set)"))
        form.addRow(_("Batch"), self.batch)
        self.iters = self._spin(1, 1_000_000, _("training iterations"))
        self.iters.setSingleStep(100)
        form.addRow(_("Iterations"), self.iters)
        self.seed = self._spin(0, 2**31 - 1, _("seed of the weights and the batches"))
        form.addRow(_("Seed"), self.seed)
        self.clip_mode = QComboBox()
        self.clip_mode.addItem(_("no clipping"), "none")
        self.clip_mode.addItem(_("clip by norm"), "norm")
        self.clip_mode.addItem(_("clip by value"), "value")
        self.clip_mode.currentIndexChanged.connect(self._update_enabled)
        self.clip = self._dspin(1e-4, 1e6, 4, 0.5, _("clipping threshold"))
        clip_row = QWidget()
        cr = QHBoxLayout(clip_row)
        cr.setContentsMargins(0, 0, 0, 0)
        cr.addWidget(self.clip_mode)
        cr.addWidget(self.clip)
        form.addRow(_("Clipping"), clip_row)
        self.record_every = self._spin(0, 100_000, _("gradient-through-time views every k "
                                                     "iterations (0: off)"))
        form.addRow(_("Record every"), self.record_every)
        for edit in form_host.findChildren(QLineEdit):
            edit.setMinimumWidth(60)
        for box in form_host.findChildren(QComboBox):
            box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            box.setMinimumContentsLength(8)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(form_host)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        lv.addWidget(scroll, 1)

        buttons = QGridLayout()
        self.train_button = QPushButton(_("Train"))
        self.train_button.clicked.connect(self.start)
        self.pause_button = QPushButton(_("Pause"))
        self.pause_button.clicked.connect(self.toggle_pause)
        self.stop_button = QPushButton(_("Stop"))
        self.stop_button.clicked.connect(self.stop)
        self.analyse_button = QPushButton(_("Analyse this model"))
        self.analyse_button.setToolTip(_("Open the trained weights in the dynamics views, driven "
                                         "by a test sequence"))
        self.analyse_button.clicked.connect(self.analyse)
        self.save_button = QPushButton(_("Save model…"))
        self.save_button.setToolTip(_("The recurrent module's state_dict (torch's keys) and the "
                                      "head beside it"))
        self.save_button.clicked.connect(self._save_dialog)
        buttons.addWidget(self.train_button, 0, 0)
        buttons.addWidget(self.pause_button, 0, 1)
        buttons.addWidget(self.stop_button, 0, 2)
        buttons.addWidget(self.analyse_button, 1, 0, 1, 2)
        buttons.addWidget(self.save_button, 1, 2)
        lv.addLayout(buttons)
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        lv.addWidget(self.progress)
        self.status = QLabel(_("Choose a task and a model, then Train."))
        self.status.setWordWrap(True)
        self.status.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        lv.addWidget(self.status)
        left.setMinimumWidth(300)
        split.addWidget(left)

        right = QWidget()
        rv = QVBoxLayout(right)
        rv.setContentsMargins(0, 0, 0, 0)
        self.plots = TrainingPlots()
        rv.addWidget(self.plots, 1)
        self.table = _table([])
        self.plots.grid.addWidget(self.table, 3, 1)
        split.addWidget(right)
        split.setStretchFactor(0, 0)
        split.setStretchFactor(1, 1)
        split.setSizes([330, 950])
        self._set_running(False)

    def _spin(self, lo, hi, tip):
        s = QSpinBox()
        s.setRange(lo, hi)
        s.setToolTip(tip)
        return s

    def _dspin(self, lo, hi, decimals, step, tip):
        s = QDoubleSpinBox()
        s.setRange(lo, hi)
        s.setDecimals(decimals)
        s.setSingleStep(step)
        s.setToolTip(tip)
        return s

    # -- config <-> widgets

    def set_config(self, cfg: TrainConfig) -> None:
        """Show ``cfg`` in the controls."""
        def pick(box, value):
            box.setCurrentIndex(max(0, box.findData(value)))
        pick(self.task, cfg.task)
        pick(self.model, cfg.model)
        self.hidden.setValue(cfg.hidden)
        self.layers.setValue(cfg.layers)
        self.forget_bias_on.setChecked(cfg.forget_bias is not None)
        self.forget_bias.setValue(cfg.forget_bias if cfg.forget_bias is not None else 1.0)
        self.wr_on.setChecked(cfg.wr_scale is not None)
        self.wr_scale.setValue(cfg.wr_scale if cfg.wr_scale is not None else 1.0)
        self.steps.setValue(cfg.steps)
        self.look_back.setValue(cfg.look_back)
        pick(self.layout_box, cfg.layout)
        pick(self.scale_on, cfg.scale_on)
        pick(self.difference, cfg.difference)
        self.csv_path.setText(cfg.csv_path or "")
        self.columns.setText(",".join(cfg.columns))
        self.target.setText(cfg.target or "")
        pick(self.optimizer, cfg.optimizer)
        self.lr.setValue(cfg.lr)
        self.batch.setValue(cfg.batch)
        self.iters.setValue(max(1, cfg.iters))
        self.seed.setValue(cfg.seed)
        if cfg.clip_norm is not None:
            pick(self.clip_mode, "norm")
            self.clip.setValue(cfg.clip_norm)
        elif cfg.clip_value is not None:
            pick(self.clip_mode, "value")
            self.clip.setValue(cfg.clip_value)
        else:
            pick(self.clip_mode, "none")
        self.record_every.setValue(cfg.record_every)
        self._hidden_fields = {k: getattr(cfg, k) for k in
                               ("test_fraction", "ar_order", "season", "test_size", "eval_every",
                                "dtype")}
        self._update_enabled()

    def config(self) -> TrainConfig:
        """The controls as a TrainConfig (validated: a GradvizError names what is wrong)."""
        task = self.task.currentData()
        model = self.model.currentData()
        clip = self.clip_mode.currentData()
        cfg = TrainConfig(
            task=task, model=model, hidden=self.hidden.value(), layers=self.layers.value(),
            forget_bias=(self.forget_bias.value() if self.forget_bias_on.isChecked()
                         and model == "lstm" else None),
            wr_scale=(self.wr_scale.value() if self.wr_on.isChecked()
                      and model in ("rnn", "rnn-relu", "lstm", "gru") else None),
            optimizer=self.optimizer.currentData(), lr=self.lr.value(), batch=self.batch.value(),
            iters=self.iters.value(), seed=self.seed.value(),
            clip_norm=self.clip.value() if clip == "norm" else None,
            clip_value=self.clip.value() if clip == "value" else None,
            look_back=self.look_back.value(), layout=self.layout_box.currentData(),
            scale_on=self.scale_on.currentData(), difference=self.difference.currentData(),
            csv_path=(self.csv_path.text().strip() or None) if task == "csv" else None,
            columns=(tuple(c.strip() for c in self.columns.text().split(",") if c.strip())
                     if task == "csv" else ()),
            target=(self.target.text().strip() or None) if task == "csv" else None,
            steps=self.steps.value(), record_every=self.record_every.value(),
            **getattr(self, "_hidden_fields", {}))
        cfg.validate()
        return cfg

    def _update_enabled(self, *_args) -> None:
        task = self.task.currentData()
        model = self.model.currentData()
        fc = task in FORECAST_TASKS
        rec = model in ("rnn", "rnn-relu", "lstm", "gru")
        for w in (self.look_back, self.scale_on, self.difference):
            w.setEnabled(fc)
        self.layout_box.setEnabled(fc and rec)
        for w in (self.csv_path, self.csv_browse, self.columns, self.target):
            w.setEnabled(task == "csv")
        self.steps.setEnabled(not fc)
        self.layers.setEnabled(rec)
        self.hidden.setEnabled(model != "ar")
        self.forget_bias_on.setEnabled(model == "lstm")
        self.forget_bias.setEnabled(model == "lstm" and self.forget_bias_on.isChecked())
        self.wr_on.setEnabled(rec)
        self.wr_scale.setEnabled(rec and self.wr_on.isChecked())
        self.clip.setEnabled(self.clip_mode.currentData() != "none")
        self.record_every.setEnabled(rec)

    def _task_chosen(self, *_args) -> None:
        """A new task starts from its notes' setup (the model kept)."""
        self.set_config(default_config(self.task.currentData(), self.model.currentData()))

    def _preset_chosen(self, index: int) -> None:
        name = self.preset.itemData(index)
        for p in self._presets:
            if p.name == name:
                self.set_config(p.config)
                self._say(p.explanation_text())

    def _browse_csv(self) -> None:
        path, _f = QFileDialog.getOpenFileName(self, _("CSV series"), "", _("CSV (*.csv)"))
        if path:
            self.csv_path.setText(path)

    # -- running

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self) -> bool:
        """Train the controls' setup on a worker thread; False (and a message) if it is wrong."""
        if self.running:
            return False
        try:
            cfg = self.config()
        except GradvizError as exc:
            self._say(str(exc))
            return False
        if self.result is not None and self.result.history.loss:
            self._previous = self.result.history
        self.plots.clear()
        self.plots.set_previous(self._previous)
        self._set_baseline_for(cfg)
        self.table.setRowCount(0)
        self.plots.set_forecasting(cfg.forecasting, self.table)
        self.progress.setRange(0, max(1, cfg.iters))
        self.progress.setValue(0)
        self._total = cfg.iters
        thread = self._thread = _TrainThread(cfg, self)
        thread.progressed.connect(self._on_progress)
        thread.finished_run.connect(self._on_finished)
        thread.failed.connect(self._on_failed)
        self._set_running(True)
        self._say(_("training… (iteration 0 of {n})").format(n=cfg.iters))
        thread.start()
        return True

    def _set_baseline_for(self, cfg) -> None:
        from ..core.training import adding_baseline, copy_baseline
        if cfg.task == "adding":
            self.plots.set_baseline(adding_baseline(), _("always 1: MSE 1/6"))
        elif cfg.task == "copy":
            self.plots.set_baseline(copy_baseline(cfg.steps), _("no memory: 10·ln 8/(T+20)"))
        else:
            self.plots.set_baseline(None)

    def toggle_pause(self) -> None:
        if not self.running:
            return
        c = self._thread.control
        if c.paused:
            c.resume()
            self.pause_button.setText(_("Pause"))
            self._say(_("training…"))
        else:
            c.pause()
            self.pause_button.setText(_("Resume"))
            self._say(_("paused"))

    def stop(self) -> None:
        if self.running:
            self._thread.control.stop()

    def wait(self, msecs: int = 60_000) -> bool:
        """Block until the run ends (tests, closing)."""
        if self._thread is None:
            return True
        return self._thread.wait(msecs)

    def _on_progress(self, p) -> None:
        if self._stale():
            return
        self.progress.setValue(p.iteration)
        self.plots.update_history(p.history, self._total)
        if not p.done:
            self._say(_("training… iteration {i} of {n} ({rate:.0f} iterations/s)").format(
                i=p.iteration, n=p.total, rate=p.iteration / p.elapsed if p.elapsed > 0 else 0.0))

    def _stale(self) -> bool:
        """A signal of a run that was stopped and replaced (e.g. by opening a session)."""
        sender = self.sender()
        return self._thread is None or (sender is not None and sender is not self._thread)

    def _on_finished(self, result) -> None:
        if self._stale():
            return
        self._thread.wait()
        self._thread = None
        self.result = result
        self._set_running(False)
        self.plots.update_history(result.history, max(1, result.config.iters))
        self.plots.set_forecasting(result.data is not None, self.table)
        self.plots.show_forecast(result)
        fill_metrics_table(self.table, result)
        text = result.status()
        if result.final_test_loss is not None:
            text += "; " + _("test loss {v:.4g}").format(v=result.final_test_loss)
        if result.metrics is not None:
            text += "; " + _("test RMSE {v:.1f}").format(v=result.metrics.test_rmse)
        for m in result.messages:
            text += "; " + m
        self._say(text)
        self.run_finished.emit(result)

    def _on_failed(self, message: str) -> None:
        if self._stale():
            return
        if self._thread is not None:
            self._thread.wait()
        self._thread = None
        self._set_running(False)
        self._say(message)

    def _set_running(self, running: bool) -> None:
        self.train_button.setEnabled(not running)
        self.pause_button.setEnabled(running)
        self.stop_button.setEnabled(running)
        self.pause_button.setText(_("Pause"))
        has_model = (not running and self.result is not None and self.result.model is not None)
        self.analyse_button.setEnabled(has_model and self.result.config.recurrent)
        self.save_button.setEnabled(has_model)

    def _say(self, text: str) -> None:
        self.status.setText(text)
        self.status_changed.emit(text)

    # -- sessions

    def session_state(self) -> dict:
        """The setup on screen and the last run (history and trained weights) as JSON data,
        for a session file (``apply_session_state`` reads it back)."""
        from ..core.training import result_state
        try:
            config = self.config().to_dict()
        except GradvizError:
            config = self.result.config.to_dict() if self.result is not None else None
        return {"config": config,
                "result": result_state(self.result) if self.result is not None else None}

    def apply_session_state(self, state: dict, source: str = "session") -> None:
        """Show a saved setup and run (plots, forecast, table; the weights ready to analyse
        or save). A malformed one raises GradvizError and changes nothing."""
        from ..core.training import restore_lab_state
        cfg, result = restore_lab_state(state, source=source)
        self.show_restored(cfg, result)

    def show_restored(self, cfg, result) -> None:
        """Show a setup (TrainConfig or None: kept) and a run (TrainResult or None) that
        ``core.training.restore_lab_state`` rebuilt; a run going on is stopped first."""
        if self.running:
            self.stop()
            self.wait()
            self._thread = None     # its queued "finished" must not replace what is shown
        if cfg is not None:
            self.set_config(cfg)
        self.result = result
        self.plots.clear()
        if result is not None:
            self._set_baseline_for(result.config)
            self.plots.update_history(result.history, max(1, result.config.iters))
            self.plots.set_forecasting(result.data is not None, self.table)
            self.plots.show_forecast(result)
            fill_metrics_table(self.table, result)
            self.progress.setRange(0, max(1, result.config.iters))
            self.progress.setValue(result.iterations)
            self._say(result.status())
        self._set_running(False)

    # -- the trained model

    def analyse_scene(self):
        """(scene, net, inputs) that show the trained weights on a test sequence."""
        from ..core.inputs import read_csv  # noqa: F401 - the CSV format the scene names
        from ..core.scene import Scene
        r = self.result
        if r is None or r.model is None or not r.config.recurrent:
            raise GradvizError(_("train a recurrent model first"))
        net = r.recurrent_net()
        folder = Path(tempfile.mkdtemp(prefix="gradviz-trained-"))
        from ..core.training import save_model
        weights = save_model(r, folder / "trained.pt")
        inputs = np.asarray(r.test_inputs, dtype=np.float64)
        csv = folder / "test_sequence.csv"
        from ..core.files import atomic_write_text
        header = ",".join(f"x{k + 1}" for k in range(inputs.shape[1]))
        atomic_write_text(csv, header + "\n" + "\n".join(",".join(repr(float(v)) for v in row)
                                                         for row in inputs) + "\n")
        s = net.spec
        scene = Scene(cell=s.kind, nonlinearity="relu" if r.config.model == "rnn-relu" else "tanh",
                      hidden_size=s.hidden_size, input_size=s.input_size, num_layers=s.num_layers,
                      steps=int(inputs.shape[0]), wr_scale=None, forget_bias=None,
                      amplitude=1.0, layer=s.num_layers - 1, input="zeros",
                      state_dict_path=str(weights), inputs_path=str(csv))
        return scene, net, inputs

    def analyse(self) -> bool:
        """Open the trained weights in the dynamics views (as loading a state_dict)."""
        try:
            scene, net, inputs = self.analyse_scene()
        except GradvizError as exc:
            self._say(str(exc))
            return False
        w = self.main_window
        if w is None:
            return False
        ok = w.controller.set_scene(scene, base=net, raw_inputs=inputs)
        if ok:
            self._say(_("the trained {kind} is open in the dynamics views on a test sequence of "
                        "{t} steps").format(kind=net.spec.kind.upper(), t=scene.steps))
            w.raise_()
            w.activateWindow()
        return ok

    def save_model_to(self, path) -> list[Path]:
        """Write the state_dict to ``path`` and (recurrent) the head to ``<stem>.head.pt``."""
        from ..core.training import save_head, save_model
        r = self.result
        if r is None or r.model is None:
            raise GradvizError(_("train a model first"))
        path = Path(path)
        out = [save_model(r, path)]
        if r.config.recurrent:
            out.append(save_head(r, path.with_name(path.stem + ".head.pt")))
        return out

    def _save_dialog(self) -> None:
        path, _f = QFileDialog.getSaveFileName(self, _("Save model"), "model.pt",
                                               _("torch state_dict (*.pt)"))
        if not path:
            return
        try:
            paths = self.save_model_to(path)
        except GradvizError as exc:
            self._say(str(exc))
            return
        self._say(_("saved {files}").format(files=", ".join(p.name for p in paths)))


class TrainingLabWindow(QWidget):
    """The lab as its own window (opened from the Training menu)."""

    def __init__(self, main_window=None):
        super().__init__(main_window, Qt.WindowType.Window)
        self.setWindowTitle(_("gradviz — training lab"))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.lab = TrainingLab(main_window, self)
        layout.addWidget(self.lab)
        self.resize(1280, 700)
        app = QApplication.instance()
        if app is not None:
            # a bound method of this window: the connection neither keeps the window (and its
            # main window) alive in the application, nor outlives it
            app.aboutToQuit.connect(self.stop_training)

    def stop_training(self) -> None:
        """End a run that is going on (closing, quitting)."""
        self.lab.stop()
        self.lab.wait(10_000)

    def closeEvent(self, event) -> None:
        self.stop_training()
        super().closeEvent(event)


def install_training_lab(window):
    """A Training menu (Training lab…, Ctrl+T) on ``window``; returns the lab's window (built
    on first use: ``window.training_lab()``)."""
    from .actions import make_action
    holder = {}

    def lab_window():
        if "w" not in holder:
            holder["w"] = TrainingLabWindow(window)
            for hook in list(getattr(window, "training_lab_hooks", ())):
                hook(holder["w"].lab)      # e.g. sessions: a finished run is an unsaved change
        return holder["w"]

    def open_lab():
        w = lab_window()
        w.show()
        w.raise_()
        w.activateWindow()

    def stop_training() -> bool:
        """Last close guard: when the window really closes, end a run that is going on."""
        if "w" in holder:
            try:
                holder["w"].stop_training()
            except RuntimeError:      # the lab's window is already gone
                holder.pop("w", None)
        return True

    def close_lab() -> None:
        """The main window closed (also Ctrl+C, which skips the guards): its lab goes with it;
        left open, the lab's window kept the application running."""
        lab = holder.get("w")
        if lab is not None and not sip.isdeleted(lab):
            lab.close()               # its closeEvent ends a run

    window.close_guards.append(stop_training)
    window.closed.connect(close_lab)

    menu = window.menuBar().addMenu(_("&Training"))
    window.menus["training"] = menu
    action = make_action(window, _("Training &lab…"), open_lab, "Ctrl+T",
                         _("Train RNN, LSTM and GRU on the notes' tasks and watch the gradient "
                           "flow back through time"))
    menu.addAction(action)
    window.addAction(action)
    window.training_lab = lab_window
    window.training_lab_if_built = lambda: holder.get("w")
    window.open_training_lab = open_lab
    return lab_window
