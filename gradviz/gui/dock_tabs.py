"""Hide the stray copies of dock tab bars that Qt 6.11 leaves on screen.

Qt 6.11's main-window layout keeps an old tab bar visible when a window with two or more tab
groups is laid out again (tabifying the second group before the window is shown, restoring a
state, leaving presentation mode, Reset layout): a copy of a group's tabs stays where the group
once was, drawn over the menu bar, the controls or a plot ("S…" "C…" over the File menu). The
reproduction with a bare QMainWindow is in ``tests/gui/test_dock_tabs.py``.

The copy is recognised through public API only, once the layout has been applied: a visible
tab bar of the window that has no tabs, or does not sit against the dock its current tab
shows. Qt shows a bar it uses again on its next layout, where it is against its dock.
"""
from __future__ import annotations

from PyQt6.QtCore import QEvent, QObject, Qt, QTimer
from PyQt6.QtWidgets import QDockWidget, QMainWindow, QTabBar

__all__ = ["StrayTabBars", "stray_tab_bars"]

_SLACK = 3   # px between a dock and its tab bar


def _tabs(bar: QTabBar) -> tuple[str, ...]:
    return tuple(bar.tabText(i) for i in range(bar.count()))


def _against_its_dock(bar: QTabBar, docks: dict[str, QDockWidget]) -> bool:
    """The bar touches the dock of its current tab (tabs below or above the dock)."""
    dock = docks.get(bar.tabText(bar.currentIndex())) if bar.count() else None
    if dock is None or dock.isHidden():
        return False
    d, b = dock.geometry(), bar.geometry()
    return (abs(b.left() - d.left()) <= _SLACK
            and (abs(b.top() - d.bottom() - 1) <= _SLACK or abs(d.top() - b.bottom() - 1) <= _SLACK))


def stray_tab_bars(window: QMainWindow) -> list[QTabBar]:
    """The visible tab bars of ``window`` that are stray copies: without tabs, or away from
    the dock their current tab shows (see the module docstring)."""
    direct = Qt.FindChildOption.FindDirectChildrenOnly   # (a recursive search costs ~10 ms)
    docks = {d.windowTitle(): d for d in window.findChildren(QDockWidget, options=direct)}
    return [b for b in window.findChildren(QTabBar, options=direct)
            if b.isVisible() and not _against_its_dock(b, docks)]


class StrayTabBars(QObject):
    """Watches a main window and hides stray tab bars after every layout change."""

    def __init__(self, window: QMainWindow):
        super().__init__(window)
        self.window = window
        self._timer = QTimer(self)          # owned: never fires after the window is gone
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self.sweep)
        window.installEventFilter(self)

    def eventFilter(self, obj, event):
        kind = event.type()
        if obj is self.window:
            if kind == QEvent.Type.ChildAdded and isinstance(event.child(), QTabBar):
                event.child().installEventFilter(self)
            if kind in (QEvent.Type.LayoutRequest, QEvent.Type.Show, QEvent.Type.Resize):
                self.schedule()
        elif kind in (QEvent.Type.Show, QEvent.Type.Move):
            self.schedule()
        return False

    def schedule(self) -> None:
        if not self._timer.isActive():
            self._timer.start()

    def sweep(self) -> None:
        for bar in stray_tab_bars(self.window):
            bar.hide()
