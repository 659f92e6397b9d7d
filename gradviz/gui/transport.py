"""Transport: play / pause, step, to start / end, speed, and a timeline slider to scrub.

Playing is a QTimer at the display rate (:data:`FRAME_MS`) that moves the cursor by as many
steps as the chosen speed asks for since playing began (a clock, not a count of frames): at
100 steps/s and 60 frames/s a frame advances 1 or 2 steps, and a slow frame is caught up by the
next, so the speed delivered is the speed chosen. The views grow from numbers already computed,
so playback never waits for a worker.
"""
from __future__ import annotations

from PyQt6.QtCore import QElapsedTimer, QPointF, QRectF, QSignalBlocker, QSize, Qt, QTimer, pyqtSignal
from PyQt6.QtGui import QColor, QIcon, QPainter, QPalette, QPixmap, QPolygonF
from PyQt6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSlider, QToolButton, QWidget
from ..core.i18n import _

def transport_icon(kind: str, color: QColor, size: int = 48) -> QIcon:
    """Flat play/pause/step glyphs in the theme's text colour (visible on light and dark)."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    p = QPainter(pixmap)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(color)
    u = size / 12.0

    def tri(x0, x1):        # a triangle pointing from x0 towards x1
        p.drawPolygon(QPolygonF([QPointF(x0 * u, 2 * u), QPointF(x1 * u, 6 * u),
                                 QPointF(x0 * u, 10 * u)]))

    def bar(x):
        p.drawRect(QRectF(x * u, 2 * u, 1.6 * u, 8 * u))

    if kind == "play":
        tri(3, 10)
    elif kind == "pause":
        bar(3)
        bar(7.4)
    elif kind == "forward":
        tri(2, 8)
        bar(8.4)
    elif kind == "back":
        tri(10, 4)
        bar(2)
    elif kind == "start":
        bar(1)
        tri(7, 2.6)
        tri(11.4, 7)
    elif kind == "end":
        tri(0.6, 5)
        tri(5, 9.4)
        bar(9.4)
    p.end()
    return QIcon(pixmap)


#: playback speeds offered, in steps per second
SPEEDS = (2, 5, 10, 20, 50, 100)
DEFAULT_SPEED = 20
#: the playback timer's interval: about the display's refresh rate
FRAME_MS = 16


class TransportBar(QWidget):
    """The buttons and the timeline under the views (keys are the window's shortcuts)."""

    playing_changed = pyqtSignal(bool)

    def __init__(self, controller, parent=None):
        super().__init__(parent)
        self.controller = controller
        self.timer = QTimer(self)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(FRAME_MS)
        self.timer.timeout.connect(self.advance)
        self.clock = QElapsedTimer()
        self._origin_step = 0      # the step at which the clock started
        self._shown = 0            # the step playback last moved the cursor to

        def button(icon: str, tip: str, slot) -> QToolButton:
            b = QToolButton()
            b.setProperty("glyph", icon)
            b.setToolTip(tip)
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)   # Space stays the play key
            b.setAutoRaise(True)
            b.clicked.connect(slot)
            return b

        self.start_button = button("start", _("To the start, t = 0 (Home)"), self.to_start)
        self.back_button = button("back", _("One step back (←)"), self.step_back)
        self.play_button = button("play", _("Play / pause (Space): the views grow step by step"),
                                  self.toggle_play)
        self.forward_button = button("forward", _("One step forward (→)"), self.step_forward)
        self.end_button = button("end", _("To the end, t = T (End)"), self.to_end)
        self.timeline = QSlider(Qt.Orientation.Horizontal)
        self.timeline.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.timeline.setToolTip(_("Timeline: drag to move the cursor step t in every view"))
        self.timeline.valueChanged.connect(controller.set_step)
        self.step_label = QLabel()
        widest = self.step_label.fontMetrics().horizontalAdvance("t = 0000 / 0000")
        self.step_label.setMinimumWidth(widest + 8)
        self.speed = QComboBox()
        self.speed.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        for s in SPEEDS:
            self.speed.addItem(_("{s} steps/s").format(s=s), s)
        self.speed.setToolTip(_("Playback speed"))
        self.speed.currentIndexChanged.connect(self._speed_changed)
        self.set_speed(DEFAULT_SPEED)
        self.set_icon_size(22)

        row = QHBoxLayout(self)
        row.setContentsMargins(6, 2, 6, 2)
        for w in (self.start_button, self.back_button, self.play_button, self.forward_button,
                  self.end_button):
            row.addWidget(w)
        row.addWidget(self.timeline, 1)
        row.addWidget(self.step_label)
        row.addWidget(self.speed)

        controller.step_changed.connect(self.show_step)
        controller.analysis_ready.connect(lambda *_: self.show_step(controller.step))
        self.show_step(controller.step)

    # ------------------------------------------------------------------ actions

    @property
    def playing(self) -> bool:
        return self.timer.isActive()

    def play(self) -> None:
        if self.controller.step >= self.controller.steps:
            self.controller.set_step(0)     # play from the start when at the end
        self._restart_clock()
        self.timer.start()
        self._set_glyph(self.play_button, "pause")
        self.playing_changed.emit(True)

    def pause(self) -> None:
        self.timer.stop()
        self._set_glyph(self.play_button, "play")
        self.playing_changed.emit(False)

    def toggle_play(self) -> None:
        self.pause() if self.playing else self.play()

    def _restart_clock(self) -> None:
        self._origin_step = self._shown = self.controller.step
        self.clock.start()

    def due_step(self) -> int:
        """The step the clock says playback should show now."""
        elapsed = self.clock.elapsed() / 1000.0 if self.clock.isValid() else 0.0
        return self._origin_step + int(elapsed * self.speed_value())

    def advance(self) -> None:
        """One frame: the cursor to the step due now (at least the next one), or stop at the end."""
        c = self.controller
        if c.step >= c.steps:
            self.pause()
            return
        if c.step != self._shown:   # moved meanwhile (scrubbing, a key): count from there
            self._restart_clock()
        due = self.due_step()
        if due <= c.step:
            return
        c.set_step(min(due, c.steps))
        self._shown = c.step
        if c.step >= c.steps:
            self.pause()

    def step_forward(self) -> None:
        self.pause()
        self.controller.set_step(self.controller.step + 1)

    def step_back(self) -> None:
        self.pause()
        self.controller.set_step(self.controller.step - 1)

    def to_start(self) -> None:
        self.pause()
        self.controller.set_step(0)

    def to_end(self) -> None:
        self.pause()
        self.controller.set_step(self.controller.steps)

    def _buttons(self):
        return (self.start_button, self.back_button, self.play_button, self.forward_button,
                self.end_button)

    def _set_glyph(self, button: QToolButton, glyph: str) -> None:
        button.setProperty("glyph", glyph)
        button.setIcon(transport_icon(glyph, self.palette().color(QPalette.ColorRole.ButtonText)))

    def set_icon_size(self, pixels: int) -> None:
        """Glyph size (and colour, re-read from the palette: call after a theme change)."""
        for b in self._buttons():
            self._set_glyph(b, b.property("glyph"))
            b.setIconSize(QSize(pixels, pixels))

    def speed_value(self) -> int:
        return int(self.speed.currentData())

    def set_speed(self, steps_per_second: int) -> None:
        index = self.speed.findData(steps_per_second)
        self.speed.setCurrentIndex(index if index >= 0 else self.speed.findData(DEFAULT_SPEED))
        self._speed_changed()

    def _speed_changed(self, *_args) -> None:
        if self.playing:   # the new speed counts from the step on screen now
            self._restart_clock()

    def show_step(self, step: int) -> None:
        steps = self.controller.steps
        with QSignalBlocker(self.timeline):
            self.timeline.setRange(0, steps)
            self.timeline.setValue(step)
        self.step_label.setText(f"t = {step} / {steps}")
