"""The control panel: every scene setting, each with a tooltip in the language of the formula.

Widget → model: every edit calls ``controller.update(...)`` (sliders on every tick while
dragging; the controller's worker keeps only the newest value). Model → widget:
:meth:`ControlPanel.show_scene` sets every widget from a scene with its signals blocked, so a
scene set elsewhere (a preset, a session, a loaded file) moves the controls without an echo.
"""
from __future__ import annotations

import math
from pathlib import Path

from PyQt6.QtCore import QSignalBlocker, Qt, pyqtSignal
from PyQt6.QtGui import QPainter, QPen
from PyQt6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox,
                             QHBoxLayout, QLabel, QPushButton, QScrollArea, QSizePolicy, QSlider,
                             QSpinBox, QStyle, QStyleOptionSlider, QToolButton, QVBoxLayout,
                             QWidget)

from ..core.cells import INITS
from ..core.i18n import N_, _
from ..core.inputs import SIGNALS
from ..core.kinds import CELL_NAMES, KINDS
from ..core.phase import x_kind
from ..core.plan import SIZE_CAP, largest
from ..core.scene import Scene
WR_RANGE = (0.1, 4.0)        # target σ_max(W_hh), logarithmic
GAIN_RANGE = (0.1, 4.0)      # the gain g of a Gaussian W_hh, entries N(0, g²/H), logarithmic
W_SCALAR_RANGE = (-4.0, 4.0)  # H = 1: the weight w itself
BIAS_RANGE = (-6.0, 6.0)
#: spin box → the size :func:`gradviz.core.plan.largest` bounds (its maximum)
LIMITS = {"hidden_size": "hidden", "steps": "steps", "input_size": "input_size"}

#: what the combo boxes show for the scene's values (the values themselves stay as they are)
CHOICE_TEXT = {"default": N_("default"), "gaussian": N_("gaussian"), "orthogonal": N_("orthogonal"),
               "identity": N_("identity"), "zeros": N_("zeros"), "impulse": N_("impulse"),
               "step": N_("step"), "sine": N_("sine"), "noise": N_("noise"),
               "airline": N_("airline")}


def _fill_choices(box, values) -> None:
    for value in values:
        box.addItem(_(CHOICE_TEXT.get(value, value)), value)


TIPS = {
    "cell": N_("Which recurrence runs.\n"
            "RNN: h_t = φ(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh), φ = tanh, relu or sigmoid "
            "(γ = max φ' = 1, 1, 1/4).\n"
            "LSTM: c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t,  h_t = o_t ⊙ tanh(c_t).\n"
            "GRU (torch): h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t-1}."),
    "hidden_size": N_("H: the number of units in h_t (W_hh is H × H)."),
    "input_size": N_("The width of x_t (W_ih is H × input size). A CSV must have this many columns."),
    "steps": N_("T: the sequence length; the Jacobian map is (T+1) × (T+1)."),
    "seed": N_("Random seed of the initial weights (and of the noise input)."),
    "init": N_("How W_ih, W_hh and the biases are drawn before the sliders act:\n"
            "default = torch's U(−1/√H, 1/√H); gaussian N(0, 1/H); orthogonal W_hh; "
            "identity W_hh = I (the IRNN)."),
    "wr_scale": N_("W_R scale: W_hh is rescaled so that its largest singular value σ_max(W_hh) "
                "equals this value.\n‖∂h_t/∂h_i‖₂ ≤ ∏_{k=i+1..t} max|φ'(a_k)| · σ_max(W_hh): "
                "σ_max < 1/γ makes the gradient vanish; σ_max > 1/γ is needed for it to explode."),
    "gain": N_("g: the recurrent gain of a Gaussian W_hh (init gaussian), entries N(0, g²/H).\n"
               "Spectral radius ≈ g and σ_max(W_hh) ≈ 2g for large H; for a tanh RNN at zero "
               "input, g = 1 is the edge of chaos (λ₁ = ln g below it).\n"
               "Moving it sets W_hh = g · (the N(0, 1/H) draw of the seed) and hands the W_R "
               "scale back to it."),
    "w_scalar": N_("H = 1: the recurrent weight w itself (negative allowed).\n"
                "∂h_t/∂h_i = ∏_{k=i+1..t} φ'(a_k) · w exactly."),
    "forget_bias": N_("Effective forget-gate bias b_f = b_if + b_hf in "
                   "f_t = σ(W_if x_t + W_hf h_{t-1} + b_f).\n"
                   "Large b_f ⇒ f_t ≈ 1 ⇒ ∂c_t/∂c_{t-1} = diag(f_t) ≈ I: the forget-gate path "
                   "∏ f keeps the gradient (Gers 2000: b_f = 1)."),
    "forget_clamp": N_("Force f_t = c for every unit and step (an experiment, not a trained LSTM):\n"
                    "then ∂c_t/∂c_i = c^(t−i) · I exactly; c = 1 is the constant error carousel."),
    "update_bias": N_("Effective update-gate bias b_z = b_iz + b_hz in z_t = σ(W_iz x_t + "
                   "W_hz h_{t-1} + b_z).\nTorch: z = the fraction of the OLD state kept, "
                   "h_t = (1 − z) ⊙ n + z ⊙ h_{t-1}; large b_z ⇒ z ≈ 1 ⇒ ∂h_t/∂h_{t-1} ≈ I.\n"
                   "Textbooks (and some notes) write z' = 1 − z, the fraction of the NEW state."),
    "input": N_("x_t: zeros, an impulse at t = 1, a step, a sine (period 25), Gaussian noise, or the "
             "airline-passengers series (scaled to [0, 1])."),
    "amplitude": N_("A: x_t is multiplied by A (also a loaded CSV)."),
    "h0": N_("h_0: every unit of the initial state starts at this value (c_0 = 0)."),
    "layer": N_("Which layer's ∂h_t/∂h_i is shown (a stacked net from a state_dict)."),
    "direction": N_("Which direction of a bidirectional net (1 = reverse, runs from x_T to x_1)."),
    "state_dict": N_("Load the weights of a torch nn.RNN / nn.LSTM / nn.GRU from "
                  "torch.save(model.state_dict(), path); sizes come from the file."),
    "csv": N_("Drive the cell with your own x_t: a CSV of T rows × input-size columns "
           "(an optional header row); it decides T."),
}


class MarkedSlider(QSlider):
    """A horizontal slider with labelled marks painted under the groove (e.g. 1.0 on W_R)."""

    def __init__(self, parent=None):
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.marks: list[tuple[int, str]] = []
        self.setMinimumHeight(34)
        self.setTickPosition(QSlider.TickPosition.NoTicks)

    def set_marks(self, marks: list[tuple[int, str]]) -> None:
        self.marks = marks
        self.update()

    def paintEvent(self, event):
        super().paintEvent(event)
        if not self.marks:
            return
        opt = QStyleOptionSlider()
        self.initStyleOption(opt)
        handle = self.style().subControlRect(QStyle.ComplexControl.CC_Slider, opt,
                                             QStyle.SubControl.SC_SliderHandle, self)
        span = self.width() - handle.width()
        painter = QPainter(self)
        color = self.palette().color(self.foregroundRole())
        painter.setPen(QPen(color, 2))
        fm = painter.fontMetrics()
        free_from = -1   # labels that would overlap the previous one are left out (ticks stay)
        for value, text in self.marks:
            x = QStyle.sliderPositionFromValue(self.minimum(), self.maximum(), value, span) \
                + handle.width() // 2
            painter.drawLine(x, self.height() - fm.height() - 5, x, self.height() - fm.height() - 1)
            w = fm.horizontalAdvance(text)
            left = max(0, min(self.width() - w, x - w // 2))
            if left > free_from:
                painter.drawText(left, self.height() - 2, text)
                free_from = left + w + fm.horizontalAdvance(" ")
        painter.end()


class ValueSlider(QWidget):
    """A slider and a spin box for one real number, on a linear or logarithmic scale.

    ``value_changed(float)`` fires on every slider tick and spin-box step (not only on release).
    :meth:`set_value` moves both without emitting.
    """

    value_changed = pyqtSignal(float)
    TICKS = 1000

    def __init__(self, lo: float, hi: float, log: bool = False, decimals: int = 3,
                 marks: tuple[float, ...] = (), parent=None):
        super().__init__(parent)
        self.lo, self.hi, self.log = lo, hi, log
        self.slider = MarkedSlider()
        self.slider.setRange(0, self.TICKS)
        self.slider.setPageStep(self.TICKS // 20)
        self.spin = QDoubleSpinBox()
        self.spin.setDecimals(decimals)
        self.spin.setRange(lo, hi)
        self.spin.setSingleStep(0.01 if log else (hi - lo) / 100)
        self.spin.setKeyboardTracking(False)
        self.spin.setMinimumWidth(80)
        self.spin.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.marks = tuple(float(m) for m in marks)
        self.slider.set_marks([(self.to_tick(m), f"{m:g}") for m in marks])
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.slider, 1)
        row.addWidget(self.spin)
        self.slider.valueChanged.connect(self._slider_moved)
        self.spin.valueChanged.connect(self._spin_changed)

    def to_tick(self, value: float) -> int:
        value = min(max(value, self.lo), self.hi)
        if self.log:
            frac = math.log(value / self.lo) / math.log(self.hi / self.lo)
        else:
            frac = (value - self.lo) / (self.hi - self.lo)
        return round(frac * self.TICKS)

    def _raw(self, tick: int) -> float:
        frac = tick / self.TICKS
        if self.log:
            return self.lo * (self.hi / self.lo) ** frac
        return self.lo + frac * (self.hi - self.lo)

    def quantum(self, value: float) -> float:
        """The round step (1, 2 or 5 × 10^k) the slider snaps to near ``value``: the finest one
        no finer than one tick there, so every multiple of it in range is reachable exactly."""
        if self.log:
            tick = abs(value) * math.log(self.hi / self.lo) / self.TICKS
        else:
            tick = (self.hi - self.lo) / self.TICKS
        floor = 10.0 ** -self.spin.decimals()
        k = math.floor(math.log10(max(tick, floor)))
        for m in (1, 2, 5, 10):
            q = m * 10.0 ** k
            if q >= tick - 1e-12:
                return max(q, floor)
        return 10.0 ** (k + 1)

    def from_tick(self, tick: int) -> float:
        """The value of a slider position: a mark when the tick is the mark's, else the tick's
        value rounded to :meth:`quantum` (W_R reaches 1.5 exactly, the "1" mark gives 1.0)."""
        for mark in self.marks:
            if self.to_tick(mark) == tick:
                return float(mark)
        value = self._raw(tick)
        q = self.quantum(value)
        value = round(round(value / q) * q, 9)
        return min(max(value, self.lo), self.hi)

    def value(self) -> float:
        return self.spin.value()

    def set_value(self, value: float) -> None:
        with QSignalBlocker(self.slider), QSignalBlocker(self.spin):
            show_value(self.spin, value)
            self.slider.setValue(self.to_tick(value))

    def setToolTip(self, text: str) -> None:
        super().setToolTip(text)
        self.slider.setToolTip(text)
        self.spin.setToolTip(text)

    def _slider_moved(self, tick: int) -> None:
        value = self.from_tick(tick)
        with QSignalBlocker(self.spin):
            self.spin.setValue(value)
        self.value_changed.emit(self.spin.value())

    def _spin_changed(self, value: float) -> None:
        with QSignalBlocker(self.slider):
            self.slider.setValue(self.to_tick(value))
        self.value_changed.emit(value)


def show_value(spin: QSpinBox | QDoubleSpinBox, value) -> None:
    """``spin.setValue(value)`` unless it shows that value already: Qt repaints a spin box for
    an unchanged value too, and every tick of a drag repainted the panel's nine boxes
    (3-5 ms of the GUI thread while the worker computed the tick's first stage)."""
    # compared as Qt shows them (its rounding, not Python's round-half-even)
    if spin.textFromValue(value) != spin.textFromValue(spin.value()):
        spin.setValue(value)


def _int_spin(lo: int, hi: int) -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(lo, hi)
    spin.setKeyboardTracking(False)   # typing "128" asks for one run, not for 1, 12 and 128
    spin.setAccelerated(True)
    return spin


class ControlPanel(QWidget):
    """All scene controls, grouped (cell, recurrent weights, gates, input, files)."""

    open_state_dict_requested = pyqtSignal()
    open_csv_requested = pyqtSignal()

    def __init__(self, controller, parent=None):
        super().__init__(parent)
        self.controller = controller
        self.scene: Scene | None = None
        self.sigma_shown: float | None = None

        self.cell = QComboBox()
        for name, cell in CELL_NAMES.items():
            self.cell.addItem(_(cell.label), name)
        # their maxima are what this machine can run with the other settings (_show_limits)
        self.hidden_size = _int_spin(1, SIZE_CAP)
        self.input_size = _int_spin(1, SIZE_CAP)
        self.steps = _int_spin(1, SIZE_CAP)
        self._limits_key: tuple | None = None
        self.seed = _int_spin(0, 2 ** 31 - 1)
        self.init = QComboBox()
        _fill_choices(self.init, INITS)
        self.layer = _int_spin(0, 0)
        self.direction = QComboBox()
        self.direction.addItems([_("forward"), _("reverse")])

        self.wr_scale = ValueSlider(*WR_RANGE, log=True, marks=(0.1, 0.25, 0.5, 1.0, 2.0, 4.0))
        self.w_scalar = ValueSlider(*W_SCALAR_RANGE, marks=(-4.0, -1.0, 0.0, 1.0, 4.0))
        self.gain = ValueSlider(*GAIN_RANGE, log=True, marks=(0.1, 0.5, 1.0, 2.0, 4.0))
        self.wr_note = QLabel()
        self.wr_note.setObjectName("note")

        self.forget_bias = ValueSlider(*BIAS_RANGE, marks=(-4.0, 0.0, 1.0, 4.0))
        self.forget_bias_reset = self._reset_button("forget_bias")
        self.clamp_on = QCheckBox(_("clamp f_t = c"))
        self.forget_clamp = ValueSlider(0.0, 1.0, marks=(0.5, 1.0))
        self.update_bias = ValueSlider(*BIAS_RANGE, marks=(-4.0, 0.0, 4.0))
        self.update_bias_reset = self._reset_button("update_bias")
        self.z_note = QLabel(_("torch z = fraction of the old state kept;\ntextbook z = 1 − torch z"))
        self.z_note.setObjectName("note")

        self.input = QComboBox()
        _fill_choices(self.input, SIGNALS)
        self.amplitude = ValueSlider(0.0, 5.0, marks=(1.0,))
        self.h0 = ValueSlider(-1.0, 1.0, marks=(0.0,))

        self.load_state_dict = QPushButton(_("Load state_dict…"))
        self.load_csv = QPushButton(_("Load inputs CSV…"))
        self.state_dict_label, self.state_dict_clear = QLabel(), self._clear_button("state_dict_path")
        self.csv_label, self.csv_clear = QLabel(), self._clear_button("inputs_path")
        for label in (self.state_dict_label, self.csv_label):
            label.setObjectName("note")
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        for label in (self.wr_note, self.z_note, self.state_dict_label, self.csv_label):
            # long notes and file names wrap (or are cut) inside the panel: they never widen
            # it, so the value boxes beside the sliders stay on screen
            label.setWordWrap(True)
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

        self._build_layout()
        self._set_tooltips()
        self._connect()
        controller.scene_changed.connect(self.show_scene)
        controller.analysis_ready.connect(self._analysis_ready)
        self.show_scene(controller.scene)

    # ------------------------------------------------------------------ layout

    def _reset_button(self, field: str) -> QToolButton:
        button = QToolButton()
        button.setText("↺")
        button.setToolTip(_("Back to the bias as initialised (no override)"))
        button.clicked.connect(lambda: self.controller.update(**{field: None}))
        return button

    def _clear_button(self, field: str) -> QToolButton:
        button = QToolButton()
        button.setText("✕")
        button.setToolTip(_("Stop using this file"))
        button.clicked.connect(lambda: self.controller.update(**{field: None}))
        return button

    @staticmethod
    def _with(widget: QWidget, *extra: QWidget) -> QWidget:
        box = QWidget()
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(widget, 1)
        for w in extra:
            row.addWidget(w)
        return box

    def _build_layout(self) -> None:
        self.forms: dict[str, QFormLayout] = {}

        def group(title: str, wrap: bool = False) -> QFormLayout:
            box = QGroupBox(_(title))
            form = QFormLayout(box)
            form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
            if wrap:   # sliders get the panel's full width under their label
                form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapAllRows)
            column.addWidget(box)
            self.forms[title] = form
            return form

        inner = QWidget()
        column = QVBoxLayout(inner)
        column.setContentsMargins(6, 6, 6, 6)
        f = group(N_("Cell"))
        f.addRow(_("cell"), self.cell)
        f.addRow(_("hidden size H"), self.hidden_size)
        f.addRow(_("input size"), self.input_size)
        f.addRow(_("steps T"), self.steps)
        f.addRow(_("seed"), self.seed)
        f.addRow(_("init"), self.init)
        f.addRow(_("layer"), self.layer)
        f.addRow(_("direction"), self.direction)
        f = group(N_("Recurrent weights W_hh"), wrap=True)
        f.addRow(_("W_R scale: target σ_max(W_hh)"), self.wr_scale)
        f.addRow(_("w itself (H = 1)"), self.w_scalar)
        f.addRow(_("gain g (W_hh entries N(0, g²/H))"), self.gain)
        f.addRow(self.wr_note)
        f = group(N_("Gates"), wrap=True)
        f.addRow(_("forget-gate bias b_f"),
                 self._with(self.forget_bias, self.forget_bias_reset))
        f.addRow(self.clamp_on, self.forget_clamp)
        f.addRow(_("update-gate bias b_z"), self._with(self.update_bias, self.update_bias_reset))
        f.addRow(self.z_note)
        f = group(N_("Input x_t"), wrap=True)
        f.addRow(_("signal"), self.input)
        f.addRow(_("amplitude A"), self.amplitude)
        f.addRow(_("initial state h₀"), self.h0)
        f = group(N_("Files"))
        f.addRow(self.load_state_dict)
        f.addRow(self._with(self.state_dict_label, self.state_dict_clear))
        f.addRow(self.load_csv)
        f.addRow(self._with(self.csv_label, self.csv_clear))
        column.addStretch(1)

        scroll = QScrollArea()
        scroll.setWidget(inner)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        self.setMinimumWidth(300)

    def _set_tooltips(self) -> None:
        for name in ("cell", "hidden_size", "input_size", "steps", "seed", "init", "wr_scale",
                     "w_scalar", "gain", "forget_bias", "forget_clamp", "update_bias", "input",
                     "amplitude", "h0", "layer", "direction"):
            getattr(self, name).setToolTip(_(TIPS[name]))
        self.clamp_on.setToolTip(_(TIPS["forget_clamp"]))
        self.z_note.setToolTip(_(TIPS["update_bias"]))
        self.load_state_dict.setToolTip(_(TIPS["state_dict"]))
        self.load_csv.setToolTip(_(TIPS["csv"]))

    def _connect(self) -> None:
        c = self.controller
        self.cell.currentIndexChanged.connect(lambda _i: c.update(cell=self.cell.currentData()))
        for name in ("hidden_size", "input_size", "steps", "seed", "layer"):
            getattr(self, name).valueChanged.connect(lambda v, n=name: c.update(**{n: int(v)}))
        self.init.currentIndexChanged.connect(lambda i: c.update(init=self.init.itemData(i)))
        self.direction.currentIndexChanged.connect(lambda i: c.update(direction=int(i)))
        self.wr_scale.value_changed.connect(lambda v: c.update(wr_scale=v))
        self.w_scalar.value_changed.connect(lambda v: c.update(wr_scale=v))
        # W_hh = g · the N(0, 1/H) draw: a W_R scale would rescale it, so the gain takes over
        self.gain.value_changed.connect(lambda v: c.update(gain=v, wr_scale=None))
        self.forget_bias.value_changed.connect(lambda v: c.update(forget_bias=v))
        self.clamp_on.toggled.connect(
            lambda on: c.update(forget_clamp=self.forget_clamp.value() if on else None))
        self.forget_clamp.value_changed.connect(self._clamp_moved)
        self.update_bias.value_changed.connect(lambda v: c.update(update_bias=v))
        self.input.currentIndexChanged.connect(lambda i: c.update(input=self.input.itemData(i)))
        self.amplitude.value_changed.connect(lambda v: c.update(amplitude=v))
        self.h0.value_changed.connect(lambda v: c.update(h0=v))
        self.load_state_dict.clicked.connect(self.open_state_dict_requested)
        self.load_csv.clicked.connect(self.open_csv_requested)

    def _clamp_moved(self, value: float) -> None:
        if self.clamp_on.isChecked():
            self.controller.update(forget_clamp=value)
        else:
            with QSignalBlocker(self.clamp_on):
                self.clamp_on.setChecked(True)
            self.controller.update(forget_clamp=value)

    # ------------------------------------------------------------------ model → widgets

    def show_scene(self, scene: Scene) -> None:
        """Set every widget from ``scene`` (no signals: nothing is sent back)."""
        self.scene = scene
        widgets = [self.cell, self.hidden_size, self.input_size, self.steps, self.seed, self.init,
                   self.layer, self.direction, self.clamp_on, self.input]
        blockers = [QSignalBlocker(w) for w in widgets]
        try:
            self._show_limits(scene)
            self.cell.setCurrentIndex(self.cell.findData(scene.cell_name))
            for name in ("hidden_size", "input_size", "steps", "seed"):
                show_value(getattr(self, name), getattr(scene, name))
            self.init.setCurrentIndex(self.init.findData(scene.init))
            self.layer.setRange(0, max(0, scene.num_layers - 1))
            show_value(self.layer, scene.layer)
            self.direction.setCurrentIndex(scene.direction)
            self.clamp_on.setChecked(scene.forget_clamp is not None)
            self.input.setCurrentIndex(self.input.findData(scene.input))
        finally:
            del blockers
        self._show_wr(scene)
        self.gain.set_value(scene.gain if scene.gain is not None else 1.0)
        self.forget_bias.set_value(scene.forget_bias if scene.forget_bias is not None else 0.0)
        self.forget_bias_reset.setEnabled(scene.forget_bias is not None)
        # clamp off: the slider waits at 1 (ticking the box gives the constant error carousel)
        self.forget_clamp.set_value(scene.forget_clamp if scene.forget_clamp is not None else 1.0)
        self.update_bias.set_value(scene.update_bias if scene.update_bias is not None else 0.0)
        self.update_bias_reset.setEnabled(scene.update_bias is not None)
        self.amplitude.set_value(scene.amplitude)
        self.h0.set_value(scene.h0)
        self.state_dict_label.setText(self._file_text(scene.state_dict_path,
                                                       _("weights from seed + init")))
        self.state_dict_label.setToolTip(scene.state_dict_path or "")
        self.csv_label.setToolTip(scene.inputs_path or "")
        self.state_dict_clear.setVisible(bool(scene.state_dict_path))
        self.csv_label.setText(self._file_text(scene.inputs_path, _("inputs from the signal above")))
        self.csv_clear.setVisible(bool(scene.inputs_path))
        self._show_relevant(scene)

    @staticmethod
    def _file_text(path: str | None, fallback: str) -> str:
        return Path(path).name if path else fallback

    def _show_wr(self, scene: Scene) -> None:
        scalar = scene.hidden_size == 1 and not KINDS[scene.cell].gates
        value = scene.wr_scale
        if value is None:
            value = self.sigma_shown if self.sigma_shown is not None else 1.0
            self.wr_note.setText(_("W_hh as loaded / initialised: move the slider to rescale it"))
        else:
            self.wr_note.setText("")
        self.wr_note.setVisible(scene.wr_scale is None)
        (self.w_scalar if scalar else self.wr_scale).set_value(value)

    def _show_relevant(self, scene: Scene) -> None:
        """Only the controls that act on this cell are shown."""
        scalar = scene.hidden_size == 1 and not KINDS[scene.cell].gates
        weights = self.forms["Recurrent weights W_hh"]
        weights.setRowVisible(self.wr_scale, not scalar)
        weights.setRowVisible(self.w_scalar, scalar)
        # the gain is what a Gaussian W_hh is drawn with: shown for init gaussian only (not
        # for loaded weights, nor for H = 1 where w itself is the slider)
        weights.setRowVisible(self.gain, x_kind(scene) == "gain" and not scalar)
        gates = self.forms["Gates"]
        kind = KINDS[scene.cell]
        forget, update = kind.bias_field == "forget_bias", kind.bias_field == "update_bias"
        gates.parentWidget().setVisible(kind.bias_field is not None or kind.has_cell)
        for i in range(2):   # forget bias, clamp f_t = c
            gates.setRowVisible(i, forget)
        for i in range(2, 4):   # update bias, the z note
            gates.setRowVisible(i, update)
        cell = self.forms["Cell"]
        cell.setRowVisible(self.layer, scene.num_layers > 1)
        cell.setRowVisible(self.direction, scene.bidirectional)
        for name in ("hidden_size", "input_size", "steps", "init"):
            getattr(self, name).setToolTip(self._tip(name, scene))

    def _tip(self, name: str, scene: Scene) -> str:
        """The tooltip of a size or the init: the formula, what changing it drops, and for a
        size the largest value this machine runs (the spin box's maximum)."""
        text = _(TIPS[name])
        if name in ("hidden_size", "input_size", "init") and scene.state_dict_path:
            text += "\n" + _("(Changing it drops the loaded state_dict.)")
        spin = getattr(self, name)
        if isinstance(spin, QSpinBox):
            text += "\n" + _("This machine runs at most {n} here, with the other settings as they "
                             "are (memory and time planned as gradviz export plans them).").format(
                                 n=spin.maximum())
        return text

    def _show_limits(self, scene: Scene) -> None:
        """Each size's maximum is the largest that :func:`gradviz.core.plan.check_scene` (what
        ``Scene.validate`` and the CLI refuse with) accepts with the other settings as they are:
        a scene the plan refuses cannot be entered. The map is planned separately (coarser when
        it must be), so it never limits a size."""
        sizes = dict(kind_gates=scene.spec().cell_kind.gate_count, hidden=scene.hidden_size,
                     proj=scene.proj_size, num_layers=scene.num_layers,
                     directions=2 if scene.bidirectional else 1, steps=scene.steps,
                     input_size=scene.input_size)
        key = tuple(sizes.values())
        if key == self._limits_key:
            return
        self._limits_key = key
        for name, size in LIMITS.items():
            spin = getattr(self, name)
            with QSignalBlocker(spin):
                spin.setMaximum(max(getattr(scene, name), largest(size, **sizes)))

    def _analysis_ready(self, scene: Scene, analysis) -> None:
        self.sigma_shown = analysis.sigma_max
        if self.controller.scene.wr_scale is None:
            self._show_wr(self.controller.scene)
