"""The Export menu and toolbar: figures, the data behind a view, the trace, animations, clipboard.

Every action has a function taking an explicit path (what tests call) and a thin menu entry
that asks for the path first (:mod:`gradviz.gui.file_dialogs`). Figures go through
:func:`gradviz.gui.exporting.export_widget`; tables through :mod:`gradviz.core.plotdata` and
:func:`gradviz.core.tables.write_csv`; the trace is the ``trace.npz`` of ``gradviz export``
(float64, exact 2-norms, recomputed off the GUI thread); animations render frames on the GUI
thread one per event-loop turn and encode them on a worker thread with
:func:`gradviz.core.animation.write_animation`. All writes are atomic.
"""
from __future__ import annotations

import contextlib
import queue
import threading
from pathlib import Path

import numpy as np
from PyQt6.QtCore import QEvent, QObject, QPoint, Qt, QTimer, pyqtSignal
from PyQt6.QtGui import QAction, QActionGroup, QColor, QImage, QKeySequence, QPainter
from PyQt6.QtWidgets import (QApplication, QCheckBox, QComboBox, QDialog, QDialogButtonBox,
                             QFormLayout, QGroupBox, QHBoxLayout, QLabel, QMenu, QProgressDialog,
                             QRadioButton, QSpinBox, QToolBar, QVBoxLayout, QWidget)

from ..core import plotdata
from ..core.animation import write_animation
from ..core.errors import GradvizError
from ..core.files import TargetExistsError, atomic_path
from ..core.tables import write_csv
from .exporting import copy_to_clipboard, export_widget, image_to_array, render_image
from .file_dialogs import ask_save_path, show_problem, write_or_ask
from .worker import LatestRunner, error_message

DASHBOARD = "dashboard"
#: figure formats offered: key -> (menu text, file suffix, scale)
FIGURE_FORMATS = {"png1": ("PNG 1×", "png", 1), "png2": ("PNG 2×", "png", 2),
                  "png3": ("PNG 3×", "png", 3), "svg": ("SVG (vector)", "svg", 1),
                  "pdf": ("PDF (vector)", "pdf", 1)}
FIGURE_FILTERS = {"png": "PNG image (*.png)", "svg": "SVG vector figure (*.svg)",
                  "pdf": "PDF vector figure (*.pdf)"}
#: at most this many animation frames are offered by default (every k-th step beyond it)
DEFAULT_MAX_FRAMES = 200


# ---------------------------------------------------------------- the data behind each view

def view_columns(stem: str, analysis, step: int, row=None, compare_results=None) -> dict:
    """The columns a view plots (Qt-free): name -> 1-D array, for :func:`write_csv`.

    ``step`` is the cursor (plots show the run up to it); ``row`` the exact 2-norm row of
    ``step`` when known. Per-unit arrays become ``name_0 .. name_{H-1}``; the Jacobian map is
    written as long rows (t, i, one column per map); compare mode as ``<cell>_<column>``.
    """
    if stem == "compare":
        if not compare_results:
            raise GradvizError("compare mode is off: no compare data to export")
        out = {}
        longest = max(compare_results.values(), key=lambda a: min(step, a.steps))
        out["lag"] = np.arange(min(step, longest.steps) + 1, dtype=np.float64)
        for cell, a in compare_results.items():
            data = plotdata.gradient_flow(a, min(step, a.steps))
            for name, values in data.items():
                if name != "lag":
                    out[f"{cell}_{name}"] = values
        return out
    if analysis is None:
        raise GradvizError("nothing computed yet: no data to export")
    if stem == "states":
        return plotdata.unit_columns(plotdata.states(analysis, step))
    if stem == "gates":
        return plotdata.unit_columns(plotdata.gates(analysis, step))
    if stem == "gradient_flow":
        if row is not None and row.t != step:
            row = None
        return plotdata.gradient_flow(analysis, step, row)
    if stem == "jacobian_map":
        return plotdata.pair_table(plotdata.jacobian_map(analysis))
    if stem == "step_factors":
        return plotdata.step_factors(analysis, step)
    if stem == "jacobian_step":
        if analysis.steps < 1:
            raise GradvizError("the run has no steps: no one-step Jacobian to export")
        t = max(1, min(step, analysis.steps))
        return {"t": np.array([float(t)]),
                **plotdata.unit_columns(plotdata.jacobian_at_step(analysis, t))}
    raise GradvizError(f"no data table for the view {stem!r}")


def trace_npz_arrays(trace, layer: int, direction: int) -> dict:
    """The arrays of ``gradviz export``'s trace.npz: float64, exact 2-norms of every pair."""
    from ..cli import trace_arrays
    from ..core.scene import analyse

    return trace_arrays(analyse(trace, layer, direction, exact=True, dtype=np.float64))


def write_trace_npz(trace, layer: int, direction: int, path, overwrite: bool = False) -> Path:
    """Recompute exactly and write ``path`` (.npz) atomically (runs on a worker thread)."""
    arrays = trace_npz_arrays(trace, layer, direction)
    path = Path(path)
    with atomic_path(path, overwrite=overwrite) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
    return path


# ---------------------------------------------------------------- targets in the window

def targets(window) -> dict[str, tuple[str, QWidget]]:
    """Export targets: view file stem -> (title, widget), then the whole dashboard."""
    out = {}
    for title, view in window.views.items():
        stem = getattr(type(view), "file_stem", None) or title.lower().replace(" ", "_")
        out[stem] = (title, view)
    if window.compare_view is not None:
        out["compare"] = (type(window.compare_view).title, window.compare_view)
    out[DASHBOARD] = ("Whole dashboard", window.dashboard())
    return out


def target_widget(window, target: str) -> QWidget:
    found = targets(window).get(target)
    if found is None:
        raise GradvizError(f"no view called {target!r}")
    title, widget = found
    if target == "compare" and not window.controller.compare:
        raise GradvizError("the compare view is shown in compare mode only (Compare ▸ Ctrl+M)")
    if target != DASHBOARD and not widget.isVisible():
        raise GradvizError(f"the {title} view is hidden: show it first (View ▸ Views)")
    return widget


@contextlib.contextmanager
def _light(window, white: bool):
    with (window.light_appearance(white) if hasattr(window, "light_appearance")
          else contextlib.nullcontext()):
        yield


@contextlib.contextmanager
def figure_mode(widgets):
    """Views without their row of buttons (a figure shows plots, not the window's controls)."""
    hidden = []
    for w in widgets:
        controls = getattr(w, "controls", None)
        if isinstance(controls, QWidget) and controls.isVisible() and w.layout() is not None:
            controls.hide()
            w.layout().activate()
            hidden.append(w)
    try:
        yield
    finally:
        for w in hidden:
            w.controls.show()
            w.layout().activate()


def export_figure(window, target: str, path, fmt: str | None = None, scale: float = 2,
                  white: bool = True, overwrite: bool = False) -> Path:
    """One view (or the dashboard) as PNG at ``scale``, SVG or PDF; light plots if ``white``."""
    widget = target_widget(window, target)
    with _light(window, white), figure_mode([] if target == DASHBOARD else [widget]):
        return export_widget(widget, path, fmt, scale=scale, white=white, overwrite=overwrite,
                             title=f"gradviz — {targets(window)[target][0]}")


def export_csv(window, target: str, path, overwrite: bool = False) -> Path:
    """The data behind a view, as a CSV with a header naming every column."""
    c = window.controller
    step = c.step
    row = c.row(step)
    if target == "gradient_flow" and row is None and c.analysis is not None:
        row = c.analysis.row(min(step, c.analysis.steps))
    columns = view_columns(target, c.analysis, step, row, c.compare_results)
    return write_csv(path, columns, overwrite=overwrite)


def copy_view(window, target: str, scale: float = 2, white: bool = True) -> QImage:
    widget = target_widget(window, target)
    with _light(window, white), figure_mode([] if target == DASHBOARD else [widget]):
        return copy_to_clipboard(widget, scale=scale, white=white)


class TraceExport(QObject):
    """trace.npz written off the GUI thread (float64, exact 2-norms: slower than the window)."""

    written = pyqtSignal(str)
    failed = pyqtSignal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.runner = LatestRunner(self)
        self.runner.finished.connect(lambda _g, path: self.written.emit(str(path)))
        self.runner.failed.connect(lambda _g, message: self.failed.emit(message))

    @property
    def busy(self) -> bool:
        return self.runner.busy

    def start(self, window, path, overwrite: bool = False) -> None:
        """Raises TargetExistsError (ask first) or GradvizError before any work starts."""
        c = window.controller
        if c.analysis is None or c.shown_scene is None:
            raise GradvizError("nothing computed yet: no trace to export")
        path = Path(path)
        if path.suffix.lower() != ".npz":
            raise GradvizError(f"{path.name}: a trace is written as .npz")
        if path.exists() and not overwrite:
            raise TargetExistsError(path)
        if not path.parent.is_dir():
            raise GradvizError(f"{path}: folder {path.parent} does not exist")
        s = c.shown_scene
        self.runner.submit(write_trace_npz, c.analysis.trace, s.layer, s.direction, path, overwrite)

    def wait(self, msecs: int = 30_000) -> None:
        self.runner.wait(msecs)


# ---------------------------------------------------------------- animation

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
            raise GradvizError("no steps to animate")
        c = window.controller
        if c.analysis is None:
            raise GradvizError("nothing computed yet: no run to animate")
        if not target_names:
            raise GradvizError("choose at least one view to animate")
        self.window, self.path = window, Path(path)
        self.widgets = [target_widget(window, t) for t in target_names]
        if self.path.suffix.lower() not in (".gif", ".mp4"):
            raise GradvizError(f"{self.path.name}: an animation is written as .gif or .mp4")
        if self.path.exists() and not overwrite:
            raise TargetExistsError(self.path)
        self.dashboard = DASHBOARD in target_names
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
        self._light.enter_context(_light(self.window, self.white))
        if not self.dashboard:
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
            self._fail("the scene changed while the animation was being made")
            return
        try:
            frame = self._render(self.steps[self.rendered])
        except Exception as exc:  # noqa: BLE001 - reported, never raised into Qt
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
        except Exception as exc:  # noqa: BLE001
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
            self.message = "cancelled: nothing was written"
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
        self.setWindowTitle("Export animation")
        self.window_ = window
        c = window.controller
        T = c.analysis.steps if c.analysis is not None else c.scene.steps
        layout = QVBoxLayout(self)
        what = QGroupBox("Frames of")
        wl = QVBoxLayout(what)
        self.dashboard = QRadioButton("the whole dashboard (window as on screen)")
        self.some = QRadioButton("these views, side by side:")
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
        self.format.addItem("GIF (slides, web pages)", "gif")
        self.format.addItem("MP4 (H.264 video)", "mp4")
        form.addRow("Format", self.format)
        self.first, self.last, self.every = QSpinBox(), QSpinBox(), QSpinBox()
        for spin in (self.first, self.last):
            spin.setRange(0, T)
        self.first.setValue(0)
        self.last.setValue(T)
        self.every.setRange(1, max(1, T))
        self.every.setValue(max(1, -(-T // DEFAULT_MAX_FRAMES)))
        steps_row = QHBoxLayout()
        for label, spin in (("from t =", self.first), ("to", self.last), ("every", self.every)):
            steps_row.addWidget(QLabel(label))
            steps_row.addWidget(spin)
        steps_row.addWidget(QLabel("step(s)"))
        form.addRow("Steps", steps_row)
        self.fps = QSpinBox()
        self.fps.setRange(1, 60)
        self.fps.setValue(10)
        self.fps.setSuffix(" frames/s")
        form.addRow("Speed", self.fps)
        self.scale = QComboBox()
        for k in (1, 2):
            self.scale.addItem(f"{k}× screen size", k)
        form.addRow("Size", self.scale)
        self.white = QCheckBox("White background for slides")
        self.white.setChecked(white)
        form.addRow("", self.white)
        self.summary = QLabel()
        self.summary.setObjectName("note")
        form.addRow("", self.summary)
        layout.addLayout(form)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.ok = buttons.addButton("Choose file…", QDialogButtonBox.ButtonRole.AcceptRole)
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

    def _update(self, *_):
        for box in self.boxes.values():
            box.setEnabled(self.some.isChecked() and self._box_allowed(box))
        n = len(self.steps())
        chosen = self.chosen()
        self.summary.setText(f"{n} frame(s), {n / max(1, self.fps.value()):.1f} s at "
                             f"{self.fps.value()} frames/s" if n else "no steps in this range")
        self.ok.setEnabled(bool(n) and bool(chosen))

    def _box_allowed(self, box) -> bool:
        stem = next(s for s, b in self.boxes.items() if b is box)
        widget = targets(self.window_)[stem][1]
        return widget.isVisible() and (stem != "compare" or self.window_.controller.compare)


# ---------------------------------------------------------------- menu and toolbar

class _FocusTracker(QObject):
    """Remembers the view the user last clicked or focused (the 'current view')."""

    def __init__(self, exporter):
        super().__init__(exporter)
        self.exporter = exporter
        QApplication.instance().installEventFilter(self)

    def eventFilter(self, obj, event):   # noqa: N802 - Qt name
        if event.type() in (QEvent.Type.MouseButtonPress, QEvent.Type.FocusIn) \
                and isinstance(obj, QWidget):
            stem = self.exporter.view_containing(obj)
            if stem is not None:
                self.exporter.set_current(stem)
        return False


class Exporter(QObject):
    """The Export menu, the export toolbar and the current export target."""

    current_changed = pyqtSignal(str)

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.current = "gradient_flow" if "gradient_flow" in targets(window) \
            else next(iter(targets(window)))
        self.trace_export = TraceExport(self)
        self.trace_export.written.connect(lambda p: self._written(p))
        self.trace_export.failed.connect(lambda m: show_problem(window, m))
        self.animation: AnimationJob | None = None
        self.progress_dialog: QProgressDialog | None = None
        self._build_actions()
        self._build_menu()
        self._build_toolbar()
        self._tracker = _FocusTracker(self)

    # -- current target

    def view_containing(self, widget: QWidget) -> str | None:
        by_widget = {id(w): stem for stem, (_t, w) in targets(self.window).items()
                     if stem != DASHBOARD}
        w = widget
        for _ in range(30):
            if w is None:
                return None
            stem = by_widget.get(id(w))
            if stem is not None:
                return stem
            if w is self.window:
                return None
            w = w.parentWidget()
        return None

    def set_current(self, stem: str) -> None:
        if stem == self.current or stem not in targets(self.window):
            return
        self.current = stem
        index = self.target_combo.findData(stem)
        if index >= 0 and self.target_combo.currentIndex() != index:
            self.target_combo.setCurrentIndex(index)
        for action in self.target_group.actions():
            if action.data() == stem:
                action.setChecked(True)
        self._retitle()
        self.current_changed.emit(stem)

    def current_title(self) -> str:
        return targets(self.window)[self.current][0]

    @property
    def white(self) -> bool:
        return self.white_action.isChecked()

    # -- building

    def _act(self, text, slot, shortcut=None, tip=None) -> QAction:
        a = QAction(text, self.window)
        if shortcut:
            a.setShortcut(QKeySequence(shortcut))
            a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        if tip:
            a.setToolTip(tip)
            a.setStatusTip(tip)
        a.triggered.connect(slot)
        self.window.addAction(a)
        return a

    def _build_actions(self) -> None:
        self.figure_actions = {}
        for key, (text, suffix, scale) in FIGURE_FORMATS.items():
            tip = (f"The current view as a {suffix.upper()} figure"
                   + (f" at {scale}× its on-screen pixels" if suffix == "png" else
                      ": text stays text, curves stay paths (Inkscape, LibreOffice, LaTeX)"))
            self.figure_actions[key] = self._act(f"{text}…", lambda _=False, k=key: self.ask_figure(k),
                                                 "Ctrl+E" if key == "png2" else None, tip)
        self.csv_action = self._act("Data as &CSV…", self.ask_csv, None,
                                    "The numbers the current view plots, one named column each")
        self.npz_action = self._act("&Trace as .npz…", self.ask_npz, None,
                                    "States, gates and every log10 ‖∂h_t/∂h_i‖ in float64 with "
                                    "exact 2-norms (the format of `gradviz export`)")
        self.animation_action = self._act("&Animation (GIF / MP4)…", self.ask_animation, None,
                                          "Frames of chosen views as the step t advances")
        self.copy_action = self._act("&Copy view to clipboard", self.copy_current, "Ctrl+Shift+C",
                                     "The current view as an image, ready to paste into slides")
        self.white_action = QAction("&White background for slides", self.window)
        self.white_action.setCheckable(True)
        self.white_action.setChecked(True)
        self.white_action.setToolTip("Export with the light theme on a white background, "
                                     "whatever the screen shows")
        self.target_group = QActionGroup(self)
        for stem, (title, _w) in targets(self.window).items():
            a = QAction(title, self.window)
            a.setCheckable(True)
            a.setData(stem)
            a.setChecked(stem == self.current)
            a.triggered.connect(lambda _=False, s=stem: self.set_current(s))
            self.target_group.addAction(a)

    def _build_menu(self) -> None:
        bar = self.window.menuBar()
        help_action = self.window.menus["help"].menuAction()
        menu = QMenu("&Export", self.window)
        bar.insertMenu(help_action, menu)
        self.window.menus["export"] = self.menu = menu
        self.target_menu = menu.addMenu("Current &view")
        self.target_menu.addActions(self.target_group.actions())
        menu.addSeparator()
        for action in self.figure_actions.values():
            menu.addAction(action)
        menu.addAction(self.csv_action)
        menu.addSeparator()
        menu.addAction(self.npz_action)
        menu.addAction(self.animation_action)
        menu.addSeparator()
        menu.addAction(self.copy_action)
        menu.addSeparator()
        menu.addAction(self.white_action)
        self.window.add_file_action(menu.menuAction(), "export")
        self._retitle()

    def _build_toolbar(self) -> None:
        bar = QToolBar("Export", self.window)
        bar.setObjectName("export-toolbar")
        bar.addWidget(QLabel(" Export "))
        self.target_combo = QComboBox()
        self.target_combo.setToolTip("What the export buttons write (follows the view you click)")
        for stem, (title, _w) in targets(self.window).items():
            self.target_combo.addItem(title, stem)
        self.target_combo.setCurrentIndex(self.target_combo.findData(self.current))
        self.target_combo.currentIndexChanged.connect(
            lambda i: self.set_current(self.target_combo.itemData(i)))
        bar.addWidget(self.target_combo)
        self.toolbar_actions = {}
        for key, text in (("png2", "PNG"), ("svg", "SVG"), ("pdf", "PDF")):
            a = QAction(text, self.window)
            a.setToolTip(self.figure_actions[key].toolTip())
            a.triggered.connect(self.figure_actions[key].trigger)
            bar.addAction(a)
            self.toolbar_actions[key] = a
        for key, text, source in (("csv", "CSV", self.csv_action),
                                  ("animation", "GIF/MP4", self.animation_action),
                                  ("copy", "Copy", self.copy_action)):
            a = QAction(text, self.window)
            a.setToolTip(source.toolTip())
            a.triggered.connect(source.trigger)
            bar.addAction(a)
            self.toolbar_actions[key] = a
        bar.addSeparator()
        bar.addAction(self.white_action)
        self.white_action.setText("White background")
        self.window.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
        self.toolbar = bar
        self.window.menus["view"].addAction(bar.toggleViewAction())

    def _retitle(self) -> None:
        title = self.current_title()
        self.target_menu.setTitle(f"Current &view: {title}")
        self.copy_action.setText(f"&Copy {title} to clipboard")
        self.csv_action.setEnabled(self.current != DASHBOARD)
        if hasattr(self, "toolbar_actions"):
            self.toolbar_actions["csv"].setEnabled(self.current != DASHBOARD)

    # -- actions with dialogs (thin)

    def _suggest(self, suffix: str, extra: str = "") -> str:
        return f"{self.current}{extra}.{suffix}"

    def ask_figure(self, key: str) -> Path | None:
        text, suffix, scale = FIGURE_FORMATS[key]
        try:
            target_widget(self.window, self.current)
        except GradvizError as exc:
            show_problem(self.window, str(exc), "")
            return None
        path = ask_save_path(self.window, f"Export {self.current_title()} as {text}",
                             self._suggest(suffix, f"@{scale}x" if suffix == "png" else ""),
                             FIGURE_FILTERS[suffix])
        if not path:
            return None
        path = _with_suffix(path, suffix)
        done = write_or_ask(self.window, lambda ow: export_figure(
            self.window, self.current, path, suffix, scale, self.white, ow), path)
        if done:
            self._written(done)
        return done

    def ask_csv(self) -> Path | None:
        path = ask_save_path(self.window, f"Data of {self.current_title()} as CSV",
                             self._suggest("csv"), "CSV table (*.csv)")
        if not path:
            return None
        path = _with_suffix(path, "csv")
        done = write_or_ask(self.window, lambda ow: export_csv(self.window, self.current, path, ow),
                            path)
        if done:
            self._written(done)
        return done

    def ask_npz(self) -> None:
        if self.trace_export.busy:
            show_problem(self.window, "a trace export is still running", "")
            return
        path = ask_save_path(self.window, "Trace as .npz", "trace.npz", "NumPy archive (*.npz)")
        if not path:
            return
        path = _with_suffix(path, "npz")
        if write_or_ask(self.window, lambda ow: self.trace_export.start(self.window, path, ow) or path,
                        path):
            self.window.statusBar().showMessage("computing exact 2-norms for trace.npz…", 5000)

    def ask_animation(self) -> AnimationJob | None:
        if self.animation is not None and not self.animation.finished:
            show_problem(self.window, "an animation is already being made", "")
            return None
        if self.window.controller.analysis is None:
            show_problem(self.window, "nothing computed yet: no run to animate", "")
            return None
        dialog = AnimationDialog(self.window, self.current, self.white)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return None
        fmt = dialog.format.currentData()
        names, steps = dialog.chosen(), dialog.steps()
        stem = names[0] if len(names) == 1 else "views"
        path = ask_save_path(self.window, "Export animation", f"{stem}.{fmt}",
                             "GIF animation (*.gif)" if fmt == "gif" else "MP4 video (*.mp4)")
        if not path:
            return None
        path = _with_suffix(path, fmt)
        return write_or_ask(self.window, lambda ow: self.start_animation(
            path, names, steps, fps=dialog.fps.value(), scale=dialog.scale.currentData(),
            white=dialog.white.isChecked(), overwrite=ow), path)

    def start_animation(self, path, names: list[str], steps: list[int], fps: float = 10,
                        scale: float = 1, white: bool = True, overwrite: bool = False,
                        ) -> AnimationJob:
        """Start an animation with a progress dialog (Cancel stops it and leaves no file)."""
        job = AnimationJob(self.window, path, names, steps, fps, scale, white, overwrite)
        dialog = QProgressDialog(f"Rendering {len(job.steps)} frames of "
                                 f"{', '.join(targets(self.window)[n][0] for n in names)}…",
                                 "Cancel", 0, len(job.steps), self.window)
        dialog.setWindowTitle("Export animation")
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setMinimumDuration(0)
        dialog.setAutoClose(False)
        dialog.setAutoReset(False)
        dialog.setValue(0)
        dialog.canceled.connect(job.cancel)

        def progress(done, total):
            if not dialog.wasCanceled():
                dialog.setValue(done)
                if done == total:
                    dialog.setLabelText(f"Encoding {Path(path).suffix[1:].upper()}…")

        def finished(written, message):
            dialog.canceled.disconnect(job.cancel)
            dialog.close()
            dialog.deleteLater()
            if written:
                self._written(path)
            elif message and not message.startswith("cancelled"):
                show_problem(self.window, message)
            else:
                self.window.statusBar().showMessage("animation cancelled: nothing was written", 5000)

        job.progress.connect(progress)
        job.done.connect(finished)
        self.animation, self.progress_dialog = job, dialog
        dialog.show()
        job.start()
        return job

    def copy_current(self) -> None:
        try:
            copy_view(self.window, self.current, white=self.white)
        except GradvizError as exc:
            show_problem(self.window, str(exc), "")
            return
        self.window.statusBar().showMessage(f"{self.current_title()} copied to the clipboard", 4000)

    def _written(self, path) -> None:
        self.window.statusBar().showMessage(f"wrote {path}", 6000)


def _with_suffix(path: str, suffix: str) -> str:
    return path if path.lower().endswith("." + suffix) else f"{path}.{suffix}"
