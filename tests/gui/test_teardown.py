"""Nothing of a closed window is left to PyQt's clean-up at interpreter exit.

PyQt's exit handler deletes every parentless QObject still owned by Python, walking sip's map
of objects; deleting one can free its own Python object during that walk, and the walk then
reads freed memory (the intermittent segmentation fault at the end of GUI test runs). So a
closed, deleted window must leave no such object behind: its plots' menus belong to the
plots' widgets, and nothing (a worker thread, the application, an exception hook) keeps the
window's Python objects alive."""
from __future__ import annotations

import sys

from PyQt6 import sip

from gradviz.core.scene import Scene
from gradviz.gui.app import _install_excepthook, create_window, release_deleted_objects

from qt_objects import parentless_qt_objects as _orphans


def _shown_window(qtbot, wait_idle):
    """An LSTM window with its training lab, drawn, then in compare mode."""
    window = create_window(Scene(cell="lstm", hidden_size=6, steps=30), autosave=False)
    window.training_lab()
    window.resize(1280, 720)
    window.show()
    controller = window.controller
    controller.start()
    wait_idle(controller)
    controller.set_compare(True)
    qtbot.waitUntil(lambda: controller.compare_results is not None, timeout=10_000)
    wait_idle(controller)
    return window


def test_a_closed_window_leaves_no_parentless_qt_object(qtbot, wait_idle):
    release_deleted_objects()
    before = _orphans()
    window = _shown_window(qtbot, wait_idle)
    hook = sys.excepthook
    _install_excepthook(window)     # as run_app does
    try:
        window.close_guards.clear()
        window.close()
        sip.delete(window)
        del window
        release_deleted_objects()
        left = {k: v for k, v in _orphans().items() if k not in before}
    finally:
        sys.excepthook = hook
    assert left == {}
