"""The main window: views as docks, the control panel, the transport bar, a status line, menus.

The window wires signals: controller → views (``set_analysis``, ``set_step``), controller →
status line, widgets → controller. It computes nothing itself.

Places left for the lecture kit (issue 4): :meth:`MainWindow.add_file_action` puts actions in
the File menu's "session", "recent" or "export" section; :attr:`views` / :meth:`dashboard`
are what an export renders; :meth:`layout_state` / :meth:`restore_layout_state` carry the dock
layout in a session file; :attr:`close_guards` may veto closing (unsaved changes).
"""
from __future__ import annotations

import base64
import contextlib
from collections.abc import Callable

from PyQt6.QtCore import QByteArray, Qt, QTimer, pyqtSignal
from PyQt6.QtGui import QAction, QActionGroup, QColor, QFont, QKeySequence, QPalette
from PyQt6.QtWidgets import (QApplication, QDockWidget, QFileDialog, QLabel, QMainWindow,
                             QMessageBox, QStyleFactory, QToolBar, QWidget)

from ..core.errors import GradvizError
from ..core.i18n import _
from .controller import Controller, format_numbers, format_numbers_html
from .actions import make_action
from .controls import ControlPanel
from .settings import FONT_RANGE, Settings
from .transport import TransportBar
from .views.base import Appearance

#: docking grid, top row first (views not named here follow in their own order)
LAYOUT_ORDER = ("GradientFlowView", "JacobianMapView", "StepFactorsView",
                "StatesView", "GatesView", "JacobianStepView")
COLUMNS = 3
DEFAULT_FONT_PT = 11
FILE_SECTIONS = ("session", "recent", "export")


def _palette(dark: bool) -> QPalette:
    if not dark:
        return QApplication.style().standardPalette()
    p = QPalette()
    roles = QPalette.ColorRole
    base, window, text = QColor("#1e2126"), QColor("#2a2e34"), QColor("#e8e8e8")
    for role, color in ((roles.Window, window), (roles.WindowText, text), (roles.Base, base),
                        (roles.AlternateBase, window), (roles.ToolTipBase, QColor("#33373e")),
                        (roles.ToolTipText, text), (roles.Text, text), (roles.Button, window),
                        (roles.ButtonText, text), (roles.BrightText, QColor("#ff7a3d")),
                        (roles.Highlight, QColor("#3d7fd6")),
                        (roles.HighlightedText, QColor("#ffffff")),
                        (roles.PlaceholderText, QColor("#9aa0a6"))):
        p.setColor(role, color)
    p.setColor(QPalette.ColorGroup.Disabled, roles.Text, QColor("#777777"))
    p.setColor(QPalette.ColorGroup.Disabled, roles.ButtonText, QColor("#777777"))
    p.setColor(QPalette.ColorGroup.Disabled, roles.WindowText, QColor("#777777"))
    return p


def _default_views():
    from .views import ALL_VIEWS, CompareView
    return list(ALL_VIEWS), CompareView



class MainWindow(QMainWindow):
    """gradviz's window (see the module docstring for what it wires and the issue-4 hooks)."""

    closed = pyqtSignal()   # the window accepted closing (after every close guard agreed)

    def __init__(self, controller: Controller | None = None, settings: Settings | None = None,
                 view_classes=None, compare_class=None, parent=None):
        super().__init__(parent)
        from .dock_tabs import StrayTabBars
        self.stray_tabs = StrayTabBars(self)   # before any dock: Qt 6.11 leaves copies of tabs
        self.setWindowTitle(_("gradviz — vanishing and exploding gradients, live"))
        self.controller = controller if controller is not None else Controller(parent=self)
        self.settings = settings if settings is not None else Settings()
        if view_classes is None:
            view_classes, default_compare = _default_views()
            compare_class = compare_class or default_compare
        self.dark = self.settings.dark
        self.font_pt = self.settings.font_pt or DEFAULT_FONT_PT
        self.presentation = False
        self.last_error: str | None = None
        self.close_guards: list[Callable[[], bool]] = []
        self._file_pending = False
        self._delivered = None
        self._controls_were_visible = True
        from .presentation import Presenter, screen_key, screen_size
        self.presenter = Presenter(self)
        self.settings.layout_key = screen_key(screen_size(self))   # layout per screen size

        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks
                            | QMainWindow.DockOption.AllowTabbedDocks
                            | QMainWindow.DockOption.AllowNestedDocks)
        self.views: dict[str, QWidget] = {}
        self.docks: dict[str, QDockWidget] = {}
        self._places: dict[str, tuple] = {}
        self._build_views(view_classes, compare_class)
        self._build_controls()
        self._build_transport()
        self._build_status()
        self._build_menus()
        self._connect()
        self._apply_appearance()
        self._restore_settings()

    # ------------------------------------------------------------------ building

    def _dock(self, name: str, title: str, widget: QWidget) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock-{name}")
        dock.setWidget(widget)
        if hasattr(widget, "set_on_screen"):   # a tab behind another draws when it is shown
            dock.visibilityChanged.connect(widget.set_on_screen)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        self.docks[name] = dock
        return dock

    def _build_views(self, view_classes, compare_class) -> None:
        order = {name: k for k, name in enumerate(LAYOUT_ORDER)}
        classes = sorted(view_classes, key=lambda cls: order.get(cls.__name__, len(order)))
        grid: list[QDockWidget] = []
        for cls in classes:
            view = cls()
            self.views[cls.title] = view
            grid.append(self._dock(cls.__name__, _(cls.title), view))
        self._grid = grid
        self.compare_view = None
        if compare_class is not None:
            self.compare_view = compare_class()
            self._dock("compare", _(compare_class.title), self.compare_view)
        self._lay_out_docks()

    def _grid_rows(self) -> tuple[list, list]:
        """(rows of the view grid, docks tabbed behind the last cell): 3 columns on a screen
        at least 1500 px wide, else a 2 × 2 grid whose last cell holds the rest as tabs, so no
        view is squeezed to a sliver at 1280 × 720."""
        from .presentation import available
        grid = self._grid
        columns = COLUMNS if available(self).width() >= 1500 or len(grid) <= 4 else 2
        if columns == COLUMNS:
            return [grid[k:k + COLUMNS] for k in range(0, len(grid), COLUMNS)], []
        return [grid[0:2], grid[2:4]], grid[4:]

    def place_dock(self, name: str, beside: str | None = None, hidden: bool = False,
                   area: Qt.DockWidgetArea = Qt.DockWidgetArea.RightDockWidgetArea) -> None:
        """Where dock ``name`` goes in the default layout (and after View ▸ Reset layout): a
        tab behind dock ``beside``, else in ``area``; ``hidden`` until asked for. Laid out now
        too, so a dock added after the window was built has its place at once."""
        self._places[name] = (beside, hidden, area)
        self._place(name)

    def _place(self, name: str) -> None:
        beside, hidden, area = self._places[name]
        dock = self.docks[name]
        dock.setFloating(False)
        if beside in self.docks:
            self.tabifyDockWidget(self.docks[beside], dock)
            self.docks[beside].raise_()
        else:
            self.addDockWidget(area, dock)
        dock.setVisible(not hidden)
        if beside in self.docks:
            self.docks[beside].raise_()

    def _lay_out_docks(self) -> None:
        """The default arrangement: a grid of views right of the controls, compare on top,
        then every dock given a place with :meth:`place_dock`."""
        grid = self._grid
        area = Qt.DockWidgetArea.RightDockWidgetArea
        rows, tabbed = self._grid_rows()
        for dock in grid:
            dock.setFloating(False)
            dock.show()
        if rows:
            self.addDockWidget(area, rows[0][0])
            for above, row in zip(rows, rows[1:]):
                self.splitDockWidget(above[0], row[0], Qt.Orientation.Vertical)
            for row in rows:
                for left, right in zip(row, row[1:]):
                    self.splitDockWidget(left, right, Qt.Orientation.Horizontal)
            for dock in tabbed:
                self.tabifyDockWidget(rows[-1][-1], dock)
            if tabbed:
                rows[-1][-1].raise_()
        compare = self.docks.get("compare")
        if compare is not None:
            compare.setFloating(False)
            self.addDockWidget(Qt.DockWidgetArea.TopDockWidgetArea, compare)
            compare.setVisible(self.controller.compare)
        for name in self._places:
            self._place(name)

    def _build_controls(self) -> None:
        self.controls = ControlPanel(self.controller)
        dock = self._dock("controls", _("Controls"), self.controls)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)

    def _build_transport(self) -> None:
        self.transport = TransportBar(self.controller)
        bar = QToolBar(_("Transport"), self)
        bar.setObjectName("transport")
        bar.setMovable(False)
        bar.addWidget(self.transport)
        self.addToolBar(Qt.ToolBarArea.BottomToolBarArea, bar)
        self.transport_bar = bar

    def _build_status(self) -> None:
        self.numbers_text = ""
        self.numbers_label = QLabel(_("computing…"))
        self.numbers_label.setTextFormat(Qt.TextFormat.RichText)
        self.numbers_label.setObjectName("numbers")
        self.numbers_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.numbers_label.setToolTip(
            _("What to say aloud at the cursor step t: the largest singular value of W_hh, this "
            "step's factor in the product ∏ ‖∂h_k/∂h_{k-1}‖, and log10 ‖∂h_t/∂h_0‖ (2-norm; "
            "‖·‖_F while the exact row is computed)."))
        # these two get their text's width when there is room and less when not: when their
        # minimum was their text, "computing…" during every drag widened a presented window
        # past the screen (1987 px on 1920, 1282 on 1280), a refused value's message far more,
        # and a window never shrank back
        self.busy_label = QLabel("")
        self.busy_label.setMinimumWidth(1)
        from .status_line import ElidedLabel, StatusLine
        self.error_label = ElidedLabel("")      # cut: ends in "…", whole in its tooltip
        self.error_label.setObjectName("error")
        self.error_label.hide()
        self._error_timer = QTimer(self)
        self._error_timer.setSingleShot(True)
        self._error_timer.setInterval(15_000)
        self._error_timer.timeout.connect(self.clear_error)
        status = StatusLine(self)
        self.setStatusBar(status)
        status.addWidget(self.numbers_label, 1)
        status.add_message_label()
        status.addPermanentWidget(self.error_label)
        status.addPermanentWidget(self.busy_label)

    def _action(self, menu, text: str, slot, shortcut=None, tip: str | None = None,
                checkable: bool = False) -> QAction:
        action = make_action(self, text, slot, shortcut, tip, checkable)
        menu.addAction(action)
        self.addAction(action)   # shortcuts work in full screen with the menu bar hidden
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        self.menus = {}
        file = self.menus["file"] = bar.addMenu(_("&File"))
        self.actions_ = {}
        a = self.actions_
        a["open_state_dict"] = self._action(file, _("Open &state_dict…"), self.open_state_dict,
                                            "Ctrl+Shift+O",
                                            _("Load torch nn.RNN / LSTM / GRU weights"))
        a["open_csv"] = self._action(file, _("Open inputs &CSV…"), self.open_inputs_csv, "Ctrl+I",
                                     _("Drive the cell with a CSV of inputs x_t"))
        self._file_anchors = {}
        for section in FILE_SECTIONS:
            self._file_anchors[section] = file.addSeparator()
        a["quit"] = self._action(file, _("&Quit"), self.close, QKeySequence.StandardKey.Quit)

        view = self.menus["view"] = bar.addMenu(_("&View"))
        themes = QActionGroup(self)
        a["light"] = self._action(view, _("&Light theme (projector)"), lambda on: on and self.set_dark(False),
                                  checkable=True)
        a["dark"] = self._action(view, _("&Dark theme"), lambda on: on and self.set_dark(True),
                                 checkable=True)
        for key in ("light", "dark"):
            themes.addAction(a[key])
        (a["dark"] if self.dark else a["light"]).setChecked(True)
        view.addSeparator()
        a["font_up"] = self._action(view, _("&Larger font"), lambda: self.set_font_pt(self.font_pt + 1),
                                    QKeySequence.StandardKey.ZoomIn)
        a["font_down"] = self._action(view, _("&Smaller font"), lambda: self.set_font_pt(self.font_pt - 1),
                                      QKeySequence.StandardKey.ZoomOut)
        a["presentation"] = self._action(view, _("&Presentation mode"), self.set_presentation, "F11",
                                         _("Full screen, large fonts, thick lines, controls hidden "
                                           "(F9 shows them)"), checkable=True)
        a["leave_presentation"] = self._action(view, _("Leave presentation mode"),
                                               lambda: self.set_presentation(False), "Esc")
        a["leave_presentation"].setEnabled(False)
        controls_toggle = self.docks["controls"].toggleViewAction()
        controls_toggle.setText(_("&Controls"))
        controls_toggle.setShortcut(QKeySequence("F9"))
        view.addAction(controls_toggle)
        self.addAction(controls_toggle)
        a["controls"] = controls_toggle
        panels = view.addMenu(_("Vie&ws"))
        for name, dock in self.docks.items():
            if name not in ("controls", "compare"):
                panels.addAction(dock.toggleViewAction())
        view.addSeparator()
        a["reset_layout"] = self._action(view, _("&Reset layout"), self.reset_layout)

        compare = self.menus["compare"] = bar.addMenu(_("&Compare"))
        a["compare"] = self._action(compare, _("Compare &RNN / LSTM / GRU"), self.controller.set_compare,
                                    "Ctrl+M", _("The three cells side by side on the same input and "
                                    "seed, their gradient-flow curves on one plot"), checkable=True)

        play = self.menus["playback"] = bar.addMenu(_("&Playback"))
        t = self.transport
        a["play"] = self._action(play, _("&Play / pause"), t.toggle_play, Qt.Key.Key_Space)
        a["forward"] = self._action(play, _("Step &forward"), t.step_forward, Qt.Key.Key_Right)
        a["back"] = self._action(play, _("Step &back"), t.step_back, Qt.Key.Key_Left)
        a["start"] = self._action(play, _("To &start"), t.to_start, Qt.Key.Key_Home)
        a["end"] = self._action(play, _("To &end"), t.to_end, Qt.Key.Key_End)

        help_ = self.menus["help"] = bar.addMenu(_("&Help"))
        a["about"] = self._action(help_, _("&Keys and about"), self.show_about)

    def add_file_action(self, action: QAction, section: str = "session") -> None:
        """Put ``action`` in the File menu's section: 'session', 'recent' or 'export'."""
        self.menus["file"].insertAction(self._file_anchors[section], action)
        self.addAction(action)

    def _connect(self) -> None:
        c = self.controller
        c.analysis_ready.connect(self._analysis_ready)
        c.step_changed.connect(self._step_changed)
        c.row_ready.connect(self._row_ready)
        c.map_ready.connect(self._map_ready)
        c.compare_ready.connect(self._compare_ready)
        c.compare_changed.connect(self._compare_changed)
        c.error.connect(self.show_error)
        c.busy.connect(lambda busy: self.busy_label.setText(_("computing…") if busy else ""))
        for view in self.views.values():
            view.pair_selected.connect(self._pair_selected)
        self.controls.open_state_dict_requested.connect(self.open_state_dict)
        self.controls.open_csv_requested.connect(self.open_inputs_csv)

    # ------------------------------------------------------------------ controller → views

    def _all_views(self):
        return list(self.views.values())

    def _analysis_ready(self, scene, analysis) -> None:
        """New numbers: every view draws them once, at the cursor step (the step_changed and
        row_ready that follow for the same step and row are then nothing new)."""
        self._file_pending = False
        c = self.controller
        step, row = c.step, c.row(c.step)
        for view in self._all_views():
            view.set_analysis(scene, analysis, step, row)
        self._delivered = (step, id(row) if row is not None else None, id(analysis))
        if self.compare_view is not None and c.compare:
            self.compare_view.set_step(step, None)
        self.clear_error()
        self._show_numbers()

    def _map_ready(self, analysis) -> None:
        """A finer map: only the views that draw it are handed the analysis again."""
        c = self.controller
        row = c.row(c.step)
        for view in self._all_views():
            if getattr(view, "uses_map", False):
                view.set_analysis(c.shown_scene, analysis, c.step, row)
        self._delivered = (c.step, id(row) if row is not None else None, id(analysis))

    def _deliver(self, step: int, row) -> None:
        key = (step, id(row) if row is not None else None, id(self.controller.analysis))
        if key == self._delivered:
            return
        self._delivered = key
        for view in self._all_views():
            view.set_step(step, row)
        if self.compare_view is not None and self.controller.compare:
            self.compare_view.set_step(step, None)
        self._show_numbers()

    def _step_changed(self, step: int) -> None:
        if self.controller.analysis is not None:
            self._deliver(step, self.controller.row(step))

    def _row_ready(self, step: int, row) -> None:
        if step == self.controller.step:
            self._deliver(step, row)

    def _compare_ready(self, results, step) -> None:
        if self.compare_view is not None:
            self.compare_view.set_compare(results, self.controller.step)

    def _compare_changed(self, enabled: bool) -> None:
        dock = self.docks.get("compare")
        if self.presentation:   # the other scene type's presented views
            from .presentation import mode_of
            self.presenter.lay_out(mode_of(self))
        elif dock is not None:
            dock.setVisible(enabled)
            if enabled:
                dock.raise_()
                if not dock.isFloating():
                    QTimer.singleShot(0, lambda: self.resizeDocks(
                        [dock], [int(self.height() * 0.34)], Qt.Orientation.Vertical))
        action = self.actions_["compare"]
        if action.isChecked() != enabled:
            action.setChecked(enabled)

    def _pair_selected(self, t: int, _i: int) -> None:
        self.transport.pause()
        self.controller.set_step(t)

    def _show_numbers(self) -> None:
        numbers = self.controller.numbers()
        if numbers is not None:
            self.numbers_text = format_numbers(numbers)
            self.numbers_label.setText(format_numbers_html(numbers))

    # ------------------------------------------------------------------ errors

    def show_error(self, message: str) -> None:
        """A clear message in the window; a failed file load also gets a message box."""
        self.last_error = message
        self.error_label.setText(f"  ⚠ {message}  ")
        self.error_label.setToolTip(message)
        self.error_label.show()
        self._error_timer.start()
        if self._file_pending:
            self._file_pending = False
            box = QMessageBox(QMessageBox.Icon.Warning, "gradviz", message,
                              QMessageBox.StandardButton.Ok, self)
            box.setInformativeText(_("The scene on screen is unchanged."))
            box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            box.open()
            self.message_box = box

    def clear_error(self) -> None:
        self.error_label.hide()
        self.error_label.setText("")

    # ------------------------------------------------------------------ files

    def open_state_dict(self, path: str | None = None) -> None:
        if not path:
            path, _filter = QFileDialog.getOpenFileName(
                self, _("Open a torch state_dict"), "",
                _("torch state_dict (*.pt *.pth *.bin *.ckpt);;All files (*)"))
        if path:
            self._file_pending = True
            self.controller.load_state_dict(path)

    def open_inputs_csv(self, path: str | None = None) -> None:
        if not path:
            path, _filter = QFileDialog.getOpenFileName(self, _("Open inputs CSV"), "",
                                                  _("CSV (*.csv *.txt);;All files (*)"))
        if path:
            from .csv_columns import choose_csv_columns
            try:
                choice = choose_csv_columns(self, path)
            except GradvizError as exc:
                self.show_error(str(exc))
                return
            if choice is None:
                return
            self._file_pending = True
            self.controller.load_inputs_csv(path, *choice)

    # ------------------------------------------------------------------ appearance

    def appearance(self) -> Appearance:
        if self.presentation:   # font and line width from the presenting screen's size
            from .presentation import (presentation_font_pt, presentation_line_width,
                                       screen_size)
            pt = max(self.font_pt, presentation_font_pt(screen_size(self)))
            return Appearance(dark=self.dark, font_pt=pt, line_width=presentation_line_width(pt))
        return Appearance(dark=self.dark, font_pt=self.font_pt)

    def set_dark(self, dark: bool) -> None:
        self.dark = bool(dark)
        self.settings.dark = self.dark
        self._apply_appearance()

    def set_font_pt(self, points: int) -> None:
        self.font_pt = max(FONT_RANGE[0], min(FONT_RANGE[1], int(points)))
        self.settings.font_pt = self.font_pt
        self._apply_appearance()

    def toolbars(self) -> list[QToolBar]:
        return [bar for bar in self.findChildren(QToolBar) if bar.parent() is self]

    def set_presentation(self, on: bool) -> None:
        """F11: full screen, fonts and lines for the screen's size, one or two views large
        (see :mod:`.presentation`), menus, export toolbar and controls hidden (F9 brings the
        controls back); Esc or F11 leaves."""
        on = bool(on)
        if on == self.presentation:
            return
        self.presentation = on
        controls = self.docks["controls"]
        if on:
            self._controls_were_visible = controls.isVisible()
            controls.hide()
            self.presenter.enter()
            controls.hide()
        else:
            self.presenter.leave()
            controls.setVisible(self._controls_were_visible)
        self.actions_["leave_presentation"].setEnabled(on)
        if self.actions_["presentation"].isChecked() != on:
            self.actions_["presentation"].setChecked(on)
        self._apply_appearance()

    def _apply_appearance(self) -> None:
        app = QApplication.instance()
        look = self.appearance()
        if app is not None:
            app.setPalette(_palette(self.dark))
            font = QFont(app.font())
            font.setPointSize(look.font_pt)
            app.setFont(font)
        self.setStyleSheet(self._style_sheet(look))
        self.transport.set_icon_size(round(look.font_pt * 2))
        for view in self._all_views() + ([self.compare_view] if self.compare_view else []):
            view.set_appearance(look)

    def _style_sheet(self, look: Appearance) -> str:
        big = round(look.font_pt * 1.15)
        error_bg = "#5a1e1e" if self.dark else "#fde2e1"
        error_fg = "#ffd7d2" if self.dark else "#8a1010"
        note = "#a8adb3" if self.dark else "#555555"
        return (f"QLabel#numbers {{ font-size: {big}pt; padding: 2px 6px; }}"
                f"QLabel#error {{ background: {error_bg}; color: {error_fg}; font-weight: 600;"
                f" border-radius: 3px; }}"
                f"QLabel#note {{ color: {note}; }}"
                f"QDockWidget {{ font-weight: 600; }}"
                f"QToolButton {{ font-size: {big}pt; }}")

    # ------------------------------------------------------------------ layout and settings

    def reset_layout(self) -> None:
        for dock in self.docks.values():
            self.removeDockWidget(dock)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.docks["controls"])
        self.docks["controls"].show()
        self._lay_out_docks()
        QTimer.singleShot(0, self._size_docks)

    def _size_docks(self) -> None:
        """Controls narrow, the view grid in equal columns and rows (after the window is shown)."""
        controls_width = max(320, self.controls.sizeHint().width() + 24)
        self.resizeDocks([self.docks["controls"]], [controls_width], Qt.Orientation.Horizontal)
        rows, _tabbed = self._grid_rows()
        width = max(300, (self.width() - controls_width - 40) // max(len(r) for r in rows)) \
            if rows else 300
        height = max(200, (self.height() - 120) // max(1, len(rows)))
        for row in rows:
            self.resizeDocks(row, [width] * len(row), Qt.Orientation.Horizontal)
        if rows:
            self.resizeDocks([row[0] for row in rows], [height] * len(rows), Qt.Orientation.Vertical)

    def showEvent(self, event):
        super().showEvent(event)
        if self._needs_sizing:
            self._needs_sizing = False
            QTimer.singleShot(0, self._size_docks)

    def layout_state(self) -> str:
        """The dock layout as text (for a session file)."""
        return base64.b64encode(bytes(self.saveState())).decode("ascii")

    def restore_layout_state(self, text: str) -> bool:
        try:
            data = QByteArray(base64.b64decode(text.encode("ascii"), validate=True))
        except (ValueError, UnicodeEncodeError):
            return False
        return self.restoreState(data)

    @contextlib.contextmanager
    def light_appearance(self, on: bool = True):
        """Light theme while a figure is exported for slides; the screen's theme comes back."""
        if not on or not self.dark:
            yield
            return
        self.dark = False
        self._apply_appearance()
        try:
            yield
        finally:
            self.dark = True
            self._apply_appearance()

    def dashboard(self) -> QWidget:
        """The widget an export of the whole dashboard renders."""
        return self

    def _restore_settings(self) -> None:
        geometry, state = self.settings.geometry(), self.settings.window_state()
        from .presentation import available, fitted_size
        avail = available(self)
        if geometry is None or not self.restoreGeometry(geometry):
            size = fitted_size(avail.size())
            self.resize(size)
            self.move(avail.topLeft())
        if self.width() > avail.width() or self.height() > avail.height():
            size = fitted_size(avail.size())   # remembered on a larger screen: fit this one
            self.resize(size)
            self.move(avail.topLeft())
        self._needs_sizing = state is None or not self.restoreState(state)
        compare = self.docks.get("compare")
        if compare is not None:
            compare.setVisible(self.controller.compare)
        if self.settings.speed:
            self.transport.set_speed(self.settings.speed)

    def save_settings(self) -> None:
        if self.presentation:
            self.set_presentation(False)
        self.settings.set_layout(self.saveGeometry(), self.saveState())
        self.settings.dark = self.dark
        self.settings.font_pt = self.font_pt
        self.settings.speed = self.transport.speed_value()
        self.settings.set_scene(self.controller.shown_scene or self.controller.scene)
        self.settings.sync()

    def closeEvent(self, event):
        if not all(guard() for guard in self.close_guards):
            event.ignore()
            return
        self.transport.pause()
        self.save_settings()
        self.controller.shutdown(1000)   # running work stops at its next check
        event.accept()
        self.closed.emit()

    def show_about(self) -> None:
        QMessageBox.information(
            self, "gradviz",
            _("gradviz drives an RNN, LSTM or GRU cell step by step and shows how\n"
            "‖∂h_t/∂h_i‖ vanishes or explodes, next to the theory.\n\n"
            "Space  play / pause        ← →  step back / forward\n"
            "Home / End  to start / end        F11  presentation mode\n"
            "F9  show / hide controls        Ctrl+M  compare RNN / LSTM / GRU\n"
            "Ctrl + / Ctrl −  font size        Ctrl+Shift+O  open a state_dict\n"
            "Ctrl+S / Ctrl+O  save / open a session        Ctrl+P  presets\n"
            "Ctrl+E  export the current view (PNG 2×)        Ctrl+Shift+C  copy it"))


def use_fusion_style(app: QApplication) -> None:
    """The same look on every platform (and a dark palette that works)."""
    style = QStyleFactory.create("Fusion")
    if style is not None:
        app.setStyle(style)
