"""The Export menu and toolbar: figures, the data behind a view, the trace, animations, clipboard.

Every action has a function taking an explicit path (what tests call) and a thin menu entry
that asks for the path first (:mod:`gradviz.gui.file_dialogs`). Figures go through
:func:`gradviz.gui.exporting.export_widget`; tables through :mod:`gradviz.core.plotdata` and
:func:`gradviz.core.tables.write_csv`; the trace is the ``trace.npz`` of ``gradviz export``
(float64, exact 2-norms, recomputed off the GUI thread); animations render frames on the GUI
thread one per event-loop turn and encode them on a worker thread
(:mod:`gradviz.gui.animation_export`). All writes are atomic.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PyQt6.QtCore import QEvent, QObject, Qt, pyqtSignal
from PyQt6.QtGui import QAction, QActionGroup, QImage
from PyQt6.QtWidgets import (QAbstractScrollArea, QApplication, QComboBox, QDialog, QLabel,
                             QMenu, QProgressDialog, QToolBar, QWidget)

from ..core import plotdata
from ..core.errors import GradvizError
from ..core.files import TargetExistsError, atomic_path
from ..core.i18n import N_, _
from ..core.tables import write_csv
from .exporting import copy_to_clipboard, export_widget
from .file_dialogs import ask_save_path, show_problem, write_or_ask
from .actions import make_action
from .animation_export import AnimationDialog, AnimationJob
from .export_targets import DASHBOARD, figure_mode, light, target_widget, targets
from .figure import (FIGURE_FILE_FORMATS, FigureDialog, dashboard_spec, export_figure_spec,
                     figure_image)
from .worker import LatestRunner

#: figure formats offered: key -> (menu text, file suffix, scale)
FIGURE_FORMATS = {"png1": ("PNG 1×", "png", 1), "png2": ("PNG 2×", "png", 2),
                  "png3": ("PNG 3×", "png", 3), "svg": (N_("SVG (vector)"), "svg", 1),
                  "pdf": (N_("PDF (vector)"), "pdf", 1)}
FIGURE_FILTERS = {"png": N_("PNG image (*.png)"), "svg": N_("SVG vector figure (*.svg)"),
                  "pdf": N_("PDF vector figure (*.pdf)")}


# ---------------------------------------------------------------- the data behind each view

def view_columns(stem: str, analysis, step: int, row=None, compare_results=None) -> dict:
    """The columns a view plots (Qt-free): name -> 1-D array, for :func:`write_csv`.

    ``step`` is the cursor (plots show the run up to it); ``row`` the exact 2-norm row of
    ``step`` when known. Per-unit arrays become ``name_0 .. name_{H-1}``; the Jacobian map is
    written as long rows (t, i, one column per map); compare mode as ``<cell>_<column>``.
    """
    if stem == "compare":
        if not compare_results:
            raise GradvizError(_("compare mode is off: no compare data to export"))
        out = {}
        longest = max(compare_results.values(), key=lambda a: min(step, a.steps))
        out["lag"] = np.arange(min(step, longest.steps) + 1, dtype=np.float64)
        for cell, a in compare_results.items():
            t = min(step, a.steps)
            data = plotdata.gradient_flow(a, t, a.rows.get(t))
            for name, values in data.items():
                if name != "lag":
                    out[f"{cell}_{name}"] = values
        return out
    if analysis is None:
        raise GradvizError(_("nothing computed yet: no data to export"))
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
            raise GradvizError(_("the run has no steps: no one-step Jacobian to export"))
        t = max(1, min(step, analysis.steps))
        return {"t": np.array([float(t)]),
                **plotdata.unit_columns(plotdata.jacobian_at_step(analysis, t))}
    raise GradvizError(_("no data table for the view {stem!r}").format(stem=stem))


def trace_npz_arrays(trace, layer: int, direction: int) -> dict:
    """The arrays of ``gradviz export``'s trace.npz: float64, exact 2-norms of every pair."""
    from ..core.scene import analyse, trace_arrays

    return trace_arrays(analyse(trace, layer, direction, exact=True, dtype=np.float64))


def write_trace_npz(trace, layer: int, direction: int, path, overwrite: bool = False) -> Path:
    """Recompute exactly and write ``path`` (.npz) atomically (runs on a worker thread)."""
    arrays = trace_npz_arrays(trace, layer, direction)
    path = Path(path)
    with atomic_path(path, overwrite=overwrite) as tmp, open(tmp, "wb") as f:
        np.savez(f, **arrays)
    return path


def export_figure(window, target: str, path, fmt: str | None = None, scale: float = 2,
                  white: bool = True, overwrite: bool = False) -> Path:
    """One view as PNG at ``scale``, SVG or PDF; light plots if ``white``.

    The dashboard is every shown view laid out alone (no menus, toolbars or controls), each
    at its on-screen size, as a :class:`~gradviz.gui.figure.Figure`.
    """
    if target == DASHBOARD:
        spec = dashboard_spec(window, scale=scale, white=white)
        return export_figure_spec(window, spec, path, fmt, overwrite=overwrite)
    widget = target_widget(window, target)
    with light(window, white), figure_mode([widget]):
        return export_widget(widget, path, fmt, scale=scale, white=white, overwrite=overwrite,
                             title=_("gradviz — {value}").format(value=targets(window)[target][0]))


def export_csv(window, target: str, path, overwrite: bool = False) -> Path:
    """The data behind a view, as a CSV with a header naming every column."""
    own = getattr(targets(window).get(target, (None, None))[1], "csv_columns", None)
    if callable(own):        # a view that holds its own numbers (Lyapunov, phase diagram)
        return write_csv(path, own(), overwrite=overwrite)
    c = window.controller
    step = c.step
    row = c.row(step)
    if target == "gradient_flow" and row is None and c.analysis is not None:
        row = c.analysis.row(min(step, c.analysis.steps))
    columns = view_columns(target, c.analysis, step, row, c.compare_results)
    return write_csv(path, columns, overwrite=overwrite)


def copy_view(window, target: str, scale: float = 2, white: bool = True) -> QImage:
    if target == DASHBOARD:
        image = figure_image(window, dashboard_spec(window, scale=scale, white=white))
        QApplication.clipboard().setImage(image)
        return image
    widget = target_widget(window, target)
    with light(window, white), figure_mode([widget]):
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
            raise GradvizError(_("nothing computed yet: no trace to export"))
        path = Path(path)
        if path.suffix.lower() != ".npz":
            raise GradvizError(_("{name}: a trace is written as .npz").format(name=path.name))
        if path.exists() and not overwrite:
            raise TargetExistsError(path)
        if not path.parent.is_dir():
            raise GradvizError(_("{path}: folder {parent} does not exist")
                               .format(path=path, parent=path.parent))
        s = c.shown_scene
        self.runner.submit(write_trace_npz, c.analysis.trace, s.layer, s.direction, path, overwrite)

    def wait(self, msecs: int = 30_000) -> None:
        self.runner.wait(msecs)


# ---------------------------------------------------------------- menu and toolbar

class _FocusTracker(QObject):
    """Remembers the view the user last clicked or focused (the 'current view').

    Focus from the application's ``focusChanged``, clicks from a filter on the views' own
    widgets only: a filter on the whole application ran Python for every event of the window
    (about 90 per redraw, ~1 ms, and every mouse move of a drag)."""

    def __init__(self, exporter):
        super().__init__(exporter)
        self.exporter = exporter
        QApplication.instance().focusChanged.connect(self._focus_changed)
        for _stem, (_title, view) in targets(exporter.window).items():
            if view is None:
                continue
            view.installEventFilter(self)
            for area in view.findChildren(QAbstractScrollArea):   # a plot's clicks land here
                area.viewport().installEventFilter(self)

    def _focus_changed(self, _old, now) -> None:
        if now is not None:
            self._pick(now)

    def _pick(self, widget) -> None:
        stem = self.exporter.view_containing(widget)
        if stem is not None:
            self.exporter.set_current(stem)

    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.MouseButtonPress and isinstance(obj, QWidget):
            self._pick(obj)
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
        self.animation = None
        self.last_figure = None
        self.progress_dialog: QProgressDialog | None = None
        self._build_actions()
        self._build_menu()
        self._build_toolbar()
        self._tracker = _FocusTracker(self)
        window.closed.connect(self.stop)

    def stop(self) -> None:
        """On quitting: cancel a running animation (no file left) and let a trace export end."""
        if self.animation is not None and not self.animation.finished:
            self.animation.cancel()
            self.animation.wait(10_000)
        self.trace_export.wait(30_000)

    # -- current target

    def view_containing(self, widget: QWidget) -> str | None:
        by_widget = {id(w): stem for stem, (_t, w) in targets(self.window).items()
                     if stem != DASHBOARD}
        w = widget
        for _hop in range(30):
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
        a = make_action(self.window, text, slot, shortcut, tip)
        self.window.addAction(a)
        return a

    def _build_actions(self) -> None:
        self.figure_actions = {}
        for key, (text, suffix, scale) in FIGURE_FORMATS.items():
            tip = (_("The current view as a {format} figure at {scale}× its on-screen pixels")
                   .format(format=suffix.upper(), scale=scale) if suffix == "png" else
                   _("The current view as a {format} figure: text stays text, curves stay paths "
                     "(Inkscape, LibreOffice, LaTeX)").format(format=suffix.upper()))
            self.figure_actions[key] = self._act(_("Figure as {text}…").format(text=_(text)),
                                                 lambda _=False, k=key: self.ask_figure(k),
                                                 "Ctrl+E" if key == "png2" else None, tip)
        self.figure_layout_action = self._act(
            _("&Figure: chosen views, size and DPI…"), self.ask_figure_layout, "Ctrl+Shift+E",
            _("The chosen views alone (no buttons) laid out at a size in cm or px and a DPI, on "
              "white: PNG, SVG or PDF for slides and papers"))
        self.csv_action = self._act(_("Data as &CSV…"), self.ask_csv, None,
                                    _("The numbers the current view plots, one named column each"))
        self.npz_action = self._act(_("&Trace as .npz…"), self.ask_npz, None,
                                    _("States, gates and every log10 ‖∂h_t/∂h_i‖ in float64 with "
                                    "exact 2-norms (the format of `gradviz export`)"))
        self.animation_action = self._act(_("&Animation (GIF / MP4)…"), self.ask_animation, None,
                                          _("Frames of chosen views as the step t advances"))
        self.copy_action = self._act(_("&Copy view to clipboard"), self.copy_current, "Ctrl+Shift+C",
                                     _("The current view as an image, ready to paste into slides"))
        self.white_action = QAction(_("&White background for slides"), self.window)
        self.white_action.setIconText(_("White background"))
        self.white_action.setCheckable(True)
        self.white_action.setChecked(True)
        self.white_action.setToolTip(_("Export with the light theme on a white background, "
                                     "whatever the screen shows"))
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
        menu = QMenu(_("&Export"), self.window)
        bar.insertMenu(help_action, menu)
        self.window.menus["export"] = self.menu = menu
        self.target_menu = menu.addMenu(_("Current &view"))
        self.target_menu.addActions(self.target_group.actions())
        menu.addSeparator()
        menu.addAction(self.figure_layout_action)
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
        bar = QToolBar(_("Export"), self.window)
        bar.setObjectName("export-toolbar")
        bar.addWidget(QLabel(_(" Export ")))
        self.target_combo = QComboBox()
        self.target_combo.setToolTip(_("What the export buttons write (follows the view you click)"))
        for stem, (title, _w) in targets(self.window).items():
            self.target_combo.addItem(title, stem)
        self.target_combo.setCurrentIndex(self.target_combo.findData(self.current))
        self.target_combo.currentIndexChanged.connect(
            lambda i: self.set_current(self.target_combo.itemData(i)))
        bar.addWidget(self.target_combo)
        self.toolbar_actions = {}
        figure = QAction(_("Figure…"), self.window)
        figure.setToolTip(self.figure_layout_action.toolTip())
        figure.triggered.connect(self.figure_layout_action.trigger)
        bar.addAction(figure)
        self.toolbar_actions["figure"] = figure
        for key, text in (("png2", "PNG"), ("svg", "SVG"), ("pdf", "PDF")):
            a = QAction(text, self.window)
            a.setToolTip(self.figure_actions[key].toolTip())
            a.triggered.connect(self.figure_actions[key].trigger)
            bar.addAction(a)
            self.toolbar_actions[key] = a
        for key, text, source in (("csv", "CSV", self.csv_action),
                                  ("animation", "GIF/MP4", self.animation_action),
                                  ("copy", _("Copy"), self.copy_action)):
            a = QAction(text, self.window)
            a.setToolTip(source.toolTip())
            a.triggered.connect(source.trigger)
            bar.addAction(a)
            self.toolbar_actions[key] = a
        bar.addSeparator()
        bar.addAction(self.white_action)
        self.window.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
        self.toolbar = bar
        self.window.menus["view"].addAction(bar.toggleViewAction())

    def _retitle(self) -> None:
        title = self.current_title()
        self.target_menu.setTitle(_("Current &view: {title}").format(title=title))
        self.copy_action.setText(_("&Copy {title} to clipboard").format(title=title))
        self.csv_action.setEnabled(self.current != DASHBOARD)
        if hasattr(self, "toolbar_actions"):
            self.toolbar_actions["csv"].setEnabled(self.current != DASHBOARD)

    # -- actions with dialogs (thin)

    def _suggest(self, suffix: str, extra: str = "") -> str:
        return f"{self.current}{extra}.{suffix}"

    def ask_figure(self, key: str) -> Path | None:
        text, suffix, scale = FIGURE_FORMATS[key]
        try:
            if self.current == DASHBOARD:
                dashboard_spec(self.window)
            else:
                target_widget(self.window, self.current)
        except GradvizError as exc:
            show_problem(self.window, str(exc), "")
            return None
        path = ask_save_path(self.window, _("Export {current_title} as {text}")
                                          .format(current_title=self.current_title(), text=_(text)),
                             self._suggest(suffix, f"@{scale}x" if suffix == "png" else ""),
                             _(FIGURE_FILTERS[suffix]))
        if not path:
            return None
        path = _with_suffix(path, suffix)
        done = write_or_ask(self.window, lambda ow: export_figure(
            self.window, self.current, path, suffix, scale, self.white, ow), path)
        if done:
            self._written(done)
        return done

    def ask_figure_layout(self) -> Path | None:
        """The Figure dialog, then where to save; the last choices are offered next time."""
        if self.window.controller.analysis is None:
            show_problem(self.window, _("nothing computed yet: no figure to make"), "")
            return None
        dialog = FigureDialog(self.window, self.current, self.last_figure)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return None
        try:
            spec = dialog.spec()
        except GradvizError as exc:
            show_problem(self.window, str(exc), "")
            return None
        self.last_figure = spec
        fmt = dialog.format.currentData()
        stem = spec.views[0] if len(spec.views) == 1 else "figure"
        path = ask_save_path(self.window, _("Export figure"), f"{stem}.{fmt}",
                             _(FIGURE_FILE_FORMATS[fmt][1]))
        if not path:
            return None
        path = _with_suffix(path, fmt)
        done = write_or_ask(self.window, lambda ow: export_figure_spec(
            self.window, spec, path, fmt, overwrite=ow), path)
        if done:
            self._written(done)
        return done

    def ask_csv(self) -> Path | None:
        path = ask_save_path(self.window, _("Data of {current_title} as CSV")
                                          .format(current_title=self.current_title()),
                             self._suggest("csv"), _("CSV table (*.csv)"))
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
            show_problem(self.window, _("a trace export is still running"), "")
            return
        path = ask_save_path(self.window, _("Trace as .npz"), "trace.npz", _("NumPy archive (*.npz)"))
        if not path:
            return
        path = _with_suffix(path, "npz")
        if write_or_ask(self.window, lambda ow: self.trace_export.start(self.window, path, ow) or path,
                        path):
            self.window.statusBar().showMessage(_("computing exact 2-norms for trace.npz…"), 5000)

    def ask_animation(self):
        if self.animation is not None and not self.animation.finished:
            show_problem(self.window, _("an animation is already being made"), "")
            return None
        if self.window.controller.analysis is None:
            show_problem(self.window, _("nothing computed yet: no run to animate"), "")
            return None
        dialog = AnimationDialog(self.window, self.current, self.white)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return None
        fmt = dialog.format.currentData()
        names, steps = dialog.chosen(), dialog.steps()
        stem = names[0] if len(names) == 1 else "views"
        path = ask_save_path(self.window, _("Export animation"), f"{stem}.{fmt}",
                             _("GIF animation (*.gif)") if fmt == "gif" else _("MP4 video (*.mp4)"))
        if not path:
            return None
        path = _with_suffix(path, fmt)
        return write_or_ask(self.window, lambda ow: self.start_animation(
            path, names, steps, fps=dialog.fps.value(), scale=dialog.scale.currentData(),
            white=dialog.white.isChecked(), overwrite=ow), path)

    def start_animation(self, path, names: list[str], steps: list[int], fps: float = 10,
                        scale: float = 1, white: bool = True, overwrite: bool = False):
        """Start an :class:`~gradviz.gui.animation_export.AnimationJob` with a progress dialog
        (Cancel stops it and leaves no file)."""
        job = AnimationJob(self.window, path, names, steps, fps, scale, white, overwrite)
        what = ", ".join(targets(self.window)[n][0] for n in names)
        dialog = QProgressDialog(_("Rendering {n} frames of {what}…").format(n=len(job.steps), what=what),
                                 _("Cancel"), 0, len(job.steps), self.window)
        dialog.setMinimumWidth(max(460, dialog.fontMetrics().horizontalAdvance(what) + 220))
        dialog.setWindowTitle(_("Export animation"))
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
                    dialog.setLabelText(_("Encoding {upper}…").format(upper=Path(path).suffix[1:].upper()))

        def finished(written, message):
            dialog.canceled.disconnect(job.cancel)
            dialog.close()
            dialog.deleteLater()
            if written:
                self._written(path)
            elif message and not message.startswith("cancelled"):
                show_problem(self.window, message)
            else:
                self.window.statusBar().showMessage(_("animation cancelled: nothing was written"), 5000)

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
        self.window.statusBar().showMessage(_("{current_title} copied to the clipboard")
                                            .format(current_title=self.current_title()), 4000)

    def _written(self, path) -> None:
        self.window.statusBar().showMessage(_("wrote {path}").format(path=path), 6000)


def _with_suffix(path: str, suffix: str) -> str:
    return path if path.lower().endswith("." + suffix) else f"{path}.{suffix}"
