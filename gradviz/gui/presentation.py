"""Presentation mode (F11) on any projector, and a first window that fits its screen.

The sizes are the screen's: :func:`presentation_font_pt` picks the font (and so the tick
density, see :func:`gradviz.gui.views.items.fit_tick_spacing`) from the available screen size,
:func:`fitted_size` the first window's size. Presentation mode shows one or two views large,
by scene type (:data:`PRESENTED`): gradient flow + the map, or in compare mode compare +
gradient flow; the menus and the export toolbar are hidden (the transport bar and the status
line's numbers stay), Esc or F11 leaves. What the lecturer arranges while presenting is
remembered per screen size and scene type, as is the normal window's layout.
"""
from __future__ import annotations

from PyQt6.QtCore import QRect, QSize, Qt, QTimer
from PyQt6.QtGui import QGuiApplication

#: the views shown large in presentation mode, by scene type (dock names)
PRESENTED = {"single": ("GradientFlowView", "JacobianMapView"),
             "compare": ("compare", "GradientFlowView")}
#: the first window's size when the screen has room for it
PREFERRED = QSize(1600, 950)
#: the window frame and title bar the window manager adds around the window
FRAME = QSize(16, 40)


def screen_key(size: QSize) -> str:
    return f"{size.width()}x{size.height()}"


def available(window=None) -> QRect:
    """The available geometry of the window's screen (the primary one before it is shown)."""
    screen = window.screen() if window is not None else None
    screen = screen or QGuiApplication.primaryScreen()
    return screen.availableGeometry() if screen is not None else QRect(0, 0, 1600, 950)


def screen_size(window=None) -> QSize:
    screen = window.screen() if window is not None else None
    screen = screen or QGuiApplication.primaryScreen()
    return screen.size() if screen is not None else QSize(1600, 950)


def fitted_size(avail: QSize) -> QSize:
    """The first window: 1600 × 950 when the screen has room, else the available area."""
    return QSize(max(640, min(PREFERRED.width(), avail.width() - FRAME.width())),
                 max(480, min(PREFERRED.height(), avail.height() - FRAME.height())))


def presentation_font_pt(size: QSize) -> int:
    """Font for the presenting screen: 13 pt at 1280 × 720, 20 at 1920 × 1080, 40 at 3840 × 2160
    (logical pixels), so labels keep the same share of the screen on every projector."""
    scale = min(size.width() / 1280.0, size.height() / 720.0)
    return max(12, min(40, round(13 * scale)))


def presentation_line_width(font_pt: int) -> float:
    return max(3.0, round(font_pt / 4.5, 1))


def mode_of(window) -> str:
    return "compare" if window.controller.compare and "compare" in window.docks else "single"


class Presenter:
    """Enter and leave presentation mode for a :class:`~gradviz.gui.window.MainWindow`."""

    def __init__(self, window):
        self.window = window
        self.normal_state = None
        self.hidden_bars: list = []
        self.menu_was_visible = True
        self.mode: str | None = None
        self.normal_geometry = None

    def _key(self, mode: str) -> str:
        return f"presentation/{mode}@{screen_key(screen_size(self.window))}"

    def enter(self) -> None:
        w = self.window
        self.normal_state = w.saveState()
        self.menu_was_visible = w.menuBar().isVisible()
        w.menuBar().hide()
        self.hidden_bars = [bar for bar in w.toolbars() if bar is not w.transport_bar
                            and bar.isVisible()]
        for bar in self.hidden_bars:
            bar.hide()
        self.normal_geometry = w.saveGeometry()
        screen = w.screen()
        if screen is not None:   # also without a window manager (a bare X server, Xvfb)
            w.setGeometry(screen.geometry())
        w.showFullScreen()
        self.lay_out(mode_of(w))

    def leave(self) -> None:
        w = self.window
        self.remember()
        self.mode = None
        w.menuBar().setVisible(self.menu_was_visible)
        if self.normal_state is not None:
            w.restoreState(self.normal_state)
        for bar in self.hidden_bars:
            bar.show()
        self.hidden_bars = []
        w.showNormal()
        if self.normal_geometry is not None:
            w.restoreGeometry(self.normal_geometry)

    def remember(self) -> None:
        """Keep the presented arrangement for this screen size and scene type."""
        if self.mode is not None:
            self.window.settings.store.setValue(self._key(self.mode), self.window.saveState())

    def lay_out(self, mode: str) -> None:
        """The remembered arrangement for this screen and scene type, else the chosen views
        side by side, every other view hidden (View ▸ Views brings one back)."""
        w = self.window
        if self.mode is not None and self.mode != mode:
            self.remember()
        self.mode = mode
        stored = w.settings.store.value(self._key(mode), None)
        if stored is not None and w.restoreState(stored):
            w.docks["controls"].hide()
            w.menuBar().hide()
            for bar in self.hidden_bars:
                bar.hide()
            return
        chosen = [w.docks[name] for name in PRESENTED[mode] if name in w.docks]
        for dock in w.docks.values():
            if dock not in chosen:
                dock.hide()
        area = Qt.DockWidgetArea.RightDockWidgetArea
        for dock in chosen:
            dock.setFloating(False)
            w.removeDockWidget(dock)
        if not chosen:
            return
        w.addDockWidget(area, chosen[0])
        chosen[0].show()
        for left, right in zip(chosen, chosen[1:]):
            w.splitDockWidget(left, right, Qt.Orientation.Horizontal)
            right.show()
        QTimer.singleShot(0, lambda: self._equal_widths(chosen))

    def _equal_widths(self, docks) -> None:
        w = self.window
        if w.presentation and docks:
            width = max(200, w.width() // len(docks))
            w.resizeDocks(docks, [width] * len(docks), Qt.Orientation.Horizontal)
