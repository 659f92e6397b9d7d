"""Animations of the run: frames of chosen views (or the dashboard) as the step advances.

The GUI thread renders one frame per event-loop turn (the window stays responsive; the exact
2-norm row of each step is computed as needed) and hands it through a short queue to an
encoder thread running :func:`gradviz.core.animation.write_animation` (GIF or MP4, atomic).
Cancel stops both and leaves no file.
"""
from __future__ import annotations

import contextlib
import queue
import threading
from pathlib import Path

import numpy as np
from PyQt6.QtCore import QObject, QPoint, Qt, QTimer, pyqtSignal
from PyQt6.QtGui import QColor, QImage, QPainter
from PyQt6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFormLayout,
                             QGroupBox, QHBoxLayout, QLabel, QRadioButton, QSpinBox, QVBoxLayout)

from ..core.animation import write_animation
from ..core.errors import GradvizError
from ..core.files import TargetExistsError
from .export_targets import DASHBOARD, figure_mode, light, settle_layouts, target_widget, targets
from .exporting import image_to_array
from .figure import shown_views
from .render import render_image
from .worker import error_message
from ..core.i18n import _

#: at most this many animation frames are offered by default (every k-th step beyond it)
DEFAULT_MAX_FRAMES = 200

class AnimationJob(QObject):
    """Frames of the chosen views (or the dashboard) as the step advances, to GIF or MP4.

    The GUI thread renders one frame per timer tick (the window stays responsive) and hands it
    to an encoder thread through a short queue. :meth:`cancel` stops both; no file is left.
    ``done(written, message)`` ends every job (written False: cancelled or failed).
    """

    progress = pyqtSignal(int, int)      # frames rendered, frames in all
    done = pyqtSignal(bool, str)
    _encoded = pyqtSignal(object)        # from the encoder thread: True, False or an error text

    def __init__(self, window, path, target_names: list[str], steps: list[int], fps: float = 10,
                 scale: float = 1, white: bool = True, overwrite: bool = False):
        super().__init__(window)
        if not steps:
            raise GradvizError(_("no steps to animate"))
        c = window.controller
        if c.analysis is None:
            raise GradvizError(_("nothing computed yet: no run to animate"))
        if not target_names:
            raise GradvizError(_("choose at least one view to animate"))
        self.window, self.path = window, Path(path)
        self.dashboard = DASHBOARD in target_names
        if self.dashboard:            # the shown views, tiled: never the window's menus and controls
            target_names = [t for t in target_names if t != DASHBOARD] + [
                t for t in shown_views(window) if t not in target_names]
            if not target_names:
                raise GradvizError(_("no view is shown: show one first (View ▸ Views)"))
        self.widgets = [target_widget(window, t) for t in target_names]
        if self.path.suffix.lower() not in (".gif", ".mp4"):
            raise GradvizError(_("{name}: an animation is written as .gif or .mp4")
                               .format(name=self.path.name))
        if self.path.exists() and not overwrite:
            raise TargetExistsError(self.path)
        self.steps = [max(0, min(int(t), c.analysis.steps)) for t in steps]
        self.fps, self.scale, self.white, self.overwrite = fps, scale, white, overwrite
        self.analysis = c.analysis
        self.rendered = 0
        self.cancelled = False
        self.finished = False
        self.written = False
        self.message = ""
        self._queue: queue.Queue = queue.Queue(maxsize=4)
        self._size = None
        self._original_step = c.step
        self._light = None
        self._timer = QTimer(self)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._tick)
        self._encoded.connect(self._on_encoded, Qt.ConnectionType.QueuedConnection)
        self._thread = None

    # -- running

    def start(self) -> None:
        transport = getattr(self.window, "transport", None)
        if transport is not None:
            transport.pause()
        self._light = contextlib.ExitStack()
        self._light.enter_context(light(self.window, self.white))
        self._light.enter_context(figure_mode(self.widgets))
        self._thread = threading.Thread(target=self._encode, name="gradviz-animation", daemon=True)
        self._thread.start()
        self._timer.start()

    def cancel(self) -> None:
        """Stop rendering and encoding; the temp file is removed, no file appears."""
        if self.finished:
            return
        self.cancelled = True
        self._timer.stop()
        self._offer(None)
        self._restore()

    def wait(self, msecs: int = 60_000) -> None:
        if self._thread is not None:
            self._thread.join(msecs / 1000)

    def _offer(self, item) -> bool:
        """Put ``item`` on the queue without blocking the GUI thread (None always gets in)."""
        try:
            self._queue.put_nowait(item)
            return True
        except queue.Full:
            if item is None:   # make room for the end mark
                with contextlib.suppress(queue.Empty):
                    self._queue.get_nowait()
                return self._offer(None)
            return False

    def _tick(self) -> None:
        if self.cancelled:
            return
        if self._queue.full():
            return   # the encoder is behind; try again next turn
        if self.analysis is not self.window.controller.analysis:
            self._fail(_("the scene changed while the animation was being made"))
            return
        try:
            frame = self._render(self.steps[self.rendered])
        except Exception as exc:
            self._fail(error_message(exc))
            return
        self._offer(frame)
        self.rendered += 1
        self.progress.emit(self.rendered, len(self.steps))
        if self.rendered == len(self.steps):
            self._timer.stop()
            self._offer(None)
            self._restore()

    def _render(self, t: int) -> np.ndarray:
        c = self.window.controller
        c.set_step(t)
        row = c.row(t)
        if row is None:
            row = self.analysis.row(t)
        for view in self.window.views.values():
            view.set_step(t, row)
        if c.compare and self.window.compare_view is not None:
            self.window.compare_view.set_step(t, None)
        settle_layouts()
        images = [render_image(w, self.scale, white=self.white) for w in self.widgets]
        image = images[0] if len(images) == 1 else _tile(images)
        if self._size is None:
            self._size = image.size()
        elif image.size() != self._size:   # the window was resized meanwhile
            image = image.scaled(self._size, Qt.AspectRatioMode.IgnoreAspectRatio,
                                 Qt.TransformationMode.SmoothTransformation)
        return image_to_array(image)

    def _restore(self) -> None:
        if self._light is not None:
            light, self._light = self._light, None
            light.close()
            c = self.window.controller
            if c.analysis is self.analysis:
                c.set_step(self._original_step)
                row = c.row(c.step) or self.analysis.row(c.step)
                for view in self.window.views.values():
                    view.set_step(c.step, row)

    def _frames(self):
        while True:
            item = self._queue.get()
            if item is None:
                return
            yield item

    def _encode(self) -> None:
        """Encoder thread: write_animation pulls frames from the queue until the end mark."""
        try:
            ok = write_animation(self.path, self._frames(), fps=self.fps,
                                 cancelled=lambda: self.cancelled, overwrite=self.overwrite,
                                 count=len(self.steps))
            if ok and self.cancelled and not self.overwrite:
                self.path.unlink(missing_ok=True)   # cancelled after the last frame: honour it
                ok = False
            self._encoded.emit(bool(ok))
        except Exception as exc:
            self._encoded.emit(error_message(exc))

    def _fail(self, message: str) -> None:
        self.message = message
        self.cancelled = True
        self._timer.stop()
        self._offer(None)
        self._restore()

    def _on_encoded(self, result) -> None:
        self.finished = True
        self._restore()
        if result is True:
            self.written = True
        elif isinstance(result, str) and not self.message:
            self.message = result
        if self.cancelled and not self.message:
            self.message = _("cancelled: nothing was written")
        self.done.emit(self.written, self.message)


def _tile(images: list[QImage]) -> QImage:
    """Several views in one frame: up to three per row, white between them."""
    cols = min(3, len(images))
    rows = [images[k:k + cols] for k in range(0, len(images), cols)]
    width = max(sum(im.width() for im in r) for r in rows)
    heights = [max(im.height() for im in r) for r in rows]
    out = QImage(width, sum(heights), QImage.Format.Format_ARGB32)
    out.fill(QColor("white"))
    p = QPainter(out)
    y = 0
    for r, h in zip(rows, heights):
        x = 0
        for im in r:
            p.drawImage(QPoint(x, y), im)
            x += im.width()
        y += h
    p.end()
    return out


def frame_steps(first: int, last: int, every: int) -> list[int]:
    """Steps first, first+every, …, last (last always included)."""
    every = max(1, int(every))
    steps = list(range(first, last + 1, every))
    if steps and steps[-1] != last:
        steps.append(last)
    return steps


class AnimationDialog(QDialog):
    """Which views, which steps, GIF or MP4, frames per second, size."""

    def __init__(self, window, current: str, white: bool = True):
        super().__init__(window)
        self.setWindowTitle(_("Export animation"))
        self.window_ = window
        c = window.controller
        T = c.analysis.steps if c.analysis is not None else c.scene.steps
        layout = QVBoxLayout(self)
        what = QGroupBox(_("Frames of"))
        wl = QVBoxLayout(what)
        self.dashboard = QRadioButton(_("the whole dashboard (every shown view, side by side)"))
        self.some = QRadioButton(_("these views, side by side:"))
        wl.addWidget(self.some)
        self.boxes: dict[str, QCheckBox] = {}
        for stem, (title, widget) in targets(window).items():
            if stem == DASHBOARD:
                continue
            box = QCheckBox(title)
            box.setEnabled(widget.isVisible() and (stem != "compare" or c.compare))
            box.setChecked(stem == current and box.isEnabled())
            box.setContentsMargins(20, 0, 0, 0)
            self.boxes[stem] = box
            wl.addWidget(box)
        wl.addWidget(self.dashboard)
        (self.dashboard if current == DASHBOARD else self.some).setChecked(True)
        if not any(b.isChecked() for b in self.boxes.values()) and current != DASHBOARD:
            first = next((b for b in self.boxes.values() if b.isEnabled()), None)
            if first is not None:
                first.setChecked(True)
        layout.addWidget(what)

        form = QFormLayout()
        self.format = QComboBox()
        self.format.addItem(_("GIF (slides, web pages)"), "gif")
        self.format.addItem(_("MP4 (H.264 video)"), "mp4")
        form.addRow(_("Format"), self.format)
        self.first, self.last, self.every = QSpinBox(), QSpinBox(), QSpinBox()
        for spin in (self.first, self.last):
            spin.setRange(0, T)
        self.first.setValue(0)
        self.last.setValue(T)
        self.every.setRange(1, max(1, T))
        self.every.setValue(max(1, -(-T // DEFAULT_MAX_FRAMES)))
        steps_row = QHBoxLayout()
        for label, spin in ((_("from t ="), self.first), (_("to"), self.last), (_("every"), self.every)):
            steps_row.addWidget(QLabel(label))
            steps_row.addWidget(spin)
        steps_row.addWidget(QLabel(_("step(s)")))
        form.addRow(_("Steps"), steps_row)
        self.fps = QSpinBox()
        self.fps.setRange(1, 60)
        self.fps.setValue(10)
        self.fps.setSuffix(_(" frames/s"))
        form.addRow(_("Speed"), self.fps)
        self.scale = QComboBox()
        for k in (1, 2):
            self.scale.addItem(_("{k}× screen size").format(k=k), k)
        form.addRow(_("Size"), self.scale)
        self.white = QCheckBox(_("White background for slides"))
        self.white.setChecked(white)
        form.addRow("", self.white)
        self.summary = QLabel()
        self.summary.setObjectName("note")
        form.addRow("", self.summary)
        layout.addLayout(form)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.ok = buttons.addButton(_("Choose file…"), QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        for spin in (self.first, self.last, self.every, self.fps):
            spin.valueChanged.connect(self._update)
        for box in [*self.boxes.values(), self.dashboard, self.some]:
            box.toggled.connect(self._update)
        self._update()

    def chosen(self) -> list[str]:
        if self.dashboard.isChecked():
            return [DASHBOARD]
        return [stem for stem, box in self.boxes.items() if box.isChecked() and box.isEnabled()]

    def steps(self) -> list[int]:
        return frame_steps(self.first.value(), self.last.value(), self.every.value())

    def _update(self, *_args):
        for box in self.boxes.values():
            box.setEnabled(self.some.isChecked() and self._box_allowed(box))
        n = len(self.steps())
        chosen = self.chosen()
        self.summary.setText(_("{n} frame(s), {seconds:.1f} s at {fps} frames/s").format(
            n=n, seconds=n / max(1, self.fps.value()), fps=self.fps.value()) if n else
            _("no steps in this range"))
        self.ok.setEnabled(bool(n) and bool(chosen))

    def _box_allowed(self, box) -> bool:
        stem = next(s for s, b in self.boxes.items() if b is box)
        widget = targets(self.window_)[stem][1]
        return widget.isVisible() and (stem != "compare" or self.window_.controller.compare)
