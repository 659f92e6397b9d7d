"""Dock tab bars: Qt 6.11 leaves stray copies of them on screen; gradviz hides them, and keeps
every dock in its place after Reset layout, presentation mode and a restart."""
from __future__ import annotations

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QDockWidget, QLabel, QMainWindow, QTabBar

from gradviz.core.scene import Scene
from gradviz.gui.dock_tabs import stray_tab_bars


def _visible_bars(window):
    return [b for b in window.findChildren(QTabBar) if b.parent() is window and b.isVisible()]


def _settle(qtbot):
    qtbot.wait(80)


def test_a_bare_main_window_with_two_tab_groups_keeps_no_stray_bar(qtbot):
    """The reproduction (two tab groups made before the window is shown): with Qt 6.11 a third
    bar, a copy of C/F's, is left over dock C's contents in most runs; the watcher hides it."""
    from gradviz.gui.dock_tabs import StrayTabBars
    w = QMainWindow()
    StrayTabBars(w)
    qtbot.addWidget(w)
    docks = {}
    for name in "ABCDEF":
        d = QDockWidget(name, w)
        d.setObjectName(name)
        d.setWidget(QLabel(name))
        docks[name] = d
    right, h, v = Qt.DockWidgetArea.RightDockWidgetArea, Qt.Orientation.Horizontal, \
        Qt.Orientation.Vertical
    w.addDockWidget(right, docks["A"])
    w.splitDockWidget(docks["A"], docks["B"], h)
    w.splitDockWidget(docks["A"], docks["C"], v)
    w.splitDockWidget(docks["C"], docks["D"], h)
    w.tabifyDockWidget(docks["D"], docks["E"])
    w.tabifyDockWidget(docks["C"], docks["F"])
    w.resize(800, 600)
    w.show()
    _settle(qtbot)
    assert stray_tab_bars(w) == []
    shown = sorted(tuple(b.tabText(i) for i in range(b.count())) for b in _visible_bars(w))
    assert shown == [("C", "F"), ("D", "E")]


def _check_layout(window):
    """No stray bar on screen; the two added views are tabs of their grid cells."""
    assert stray_tab_bars(window) == []
    bars = {tuple(b.tabText(i) for i in range(b.count())) for b in _visible_bars(window)}
    assert all(bars), bars
    tabs = {d.objectName(): {x.objectName() for x in window.tabifiedDockWidgets(d)}
            for d in window.docks.values()}
    assert tabs["dock-LyapunovView"] == {"dock-StepFactorsView"}
    assert tabs["dock-phase"] == {"dock-JacobianMapView"}
    for name in ("GradientFlowView", "JacobianMapView", "StepFactorsView", "StatesView"):
        dock = window.docks[name]
        assert not dock.visibleRegion().isEmpty(), name     # the grid's front tabs are seen
    assert window.docks["code"].isHidden()                   # the Code dock waits to be asked


def _window(qtbot):
    from gradviz.gui.app import create_window
    window = create_window(Scene(hidden_size=8, steps=20), autosave=False)
    qtbot.addWidget(window)
    window.close_guards.clear()
    window.resize(1600, 950)
    window.show()
    _settle(qtbot)
    return window


def test_no_stray_tab_bar_from_start_to_restart(qtbot):
    window = _window(qtbot)
    _check_layout(window)
    window.set_presentation(True)
    _settle(qtbot)
    assert stray_tab_bars(window) == []
    window.set_presentation(False)
    _settle(qtbot)
    _check_layout(window)
    window.reset_layout()
    _settle(qtbot)
    _check_layout(window)
    window.save_settings()
    window.close()
    again = _window(qtbot)                       # the remembered layout
    _check_layout(again)
    again.close()


def test_a_view_behind_a_tab_draws_when_shown_and_when_exported(qtbot, tmp_path):
    """A slider move redraws the views on screen; Gates (a tab behind States) keeps the new
    numbers and draws them when its tab comes to the front, or when it is exported."""
    import numpy as np

    from gradviz.core import plotdata
    from gradviz.gui.exporting import export_widget
    window = _window(qtbot)
    c = window.controller
    c.start()
    qtbot.waitUntil(lambda: not c.is_busy and c.analysis is not None, timeout=10_000)
    gates, states = window.views["Gates"], window.views["States"]
    assert not gates.on_screen and states.on_screen
    drawn = gates.data
    c.update(wr_scale=1.7)
    qtbot.waitUntil(lambda: not c.is_busy and c.shown_scene.wr_scale == 1.7, timeout=10_000)
    assert gates.analysis is c.analysis and gates.data is drawn      # kept, not drawn
    export_widget(gates, tmp_path / "gates.png")                     # an export draws first
    fresh = plotdata.gates(c.analysis)
    assert gates.data is not drawn
    for key, values in fresh.items():
        np.testing.assert_array_equal(gates.data[key], values)
    c.update(wr_scale=0.6)
    qtbot.waitUntil(lambda: not c.is_busy and c.shown_scene.wr_scale == 0.6, timeout=10_000)
    window.docks["GatesView"].raise_()                               # the user clicks its tab
    qtbot.waitUntil(lambda: gates.on_screen, timeout=2_000)
    assert not states.on_screen
    fresh = plotdata.gates(c.analysis)
    for key, values in fresh.items():
        np.testing.assert_array_equal(gates.data[key], values)
    window.close()
