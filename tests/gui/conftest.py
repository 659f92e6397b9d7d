"""GUI test fixtures: a private settings folder, a controller, and a recording view."""
from __future__ import annotations

import pytest

from gradviz.gui.views.base import View


@pytest.fixture(scope="session", autouse=True)
def _release_at_the_end():
    """After the last GUI test, what gradviz's own exit does (gui.app._dispose): run the
    deferred deletes and collect; then nothing but the application may be left to PyQt's exit
    clean-up. That clean-up can crash after every test has passed, where a run split over
    processes (pytest-xdist) does not see it: this makes what causes it an error."""
    yield
    from gradviz.gui.app import release_deleted_objects
    from qt_objects import parentless_qt_objects
    # this runs inside the last test's teardown, while pytest still holds that test's fixture
    # values (its window, controller, settings); it lets go of them right after, before exit
    last = _running.pop("test", None)
    if last is not None:
        last.funcargs = {}
    release_deleted_objects()
    left = sorted(name for name in parentless_qt_objects().values() if name != "QApplication")
    assert not left, f"parentless Qt objects left for PyQt's exit clean-up: {left[:20]}"


_running: dict = {}


@pytest.fixture(autouse=True)
def _running_test(request):
    """The test running now (for the session's last check, above)."""
    _running["test"] = request.node
    yield


@pytest.fixture(autouse=True)
def _forget_current_window():
    """A test that switched the language leaves its window as the "current" one: let go of it
    after the test, as gradviz does once its window is deleted."""
    yield
    from gradviz.gui.language import forget_current_window
    forget_current_window()


@pytest.fixture(autouse=True)
def private_settings(tmp_path, monkeypatch):
    """Every GUI test reads and writes settings and autosaves under tmp_path, never the user's."""
    monkeypatch.setenv("GRADVIZ_SETTINGS_DIR", str(tmp_path / "settings"))
    monkeypatch.setenv("GRADVIZ_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "settings"


class RecordingView(View):
    """A stand-in view that keeps what the window handed it (for asserting the wiring)."""

    title = "Recorder"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.scene = self.analysis = self.row = self.appearance = None
        self.step = None
        self.calls = []

    def set_analysis(self, scene, analysis, step=None, row=None):
        self.scene, self.analysis = scene, analysis
        if step is not None:
            self.step, self.row = step, row
        self.calls.append("analysis")

    def set_step(self, step, row):
        self.step, self.row = step, row
        self.calls.append("step")

    def set_appearance(self, appearance):
        self.appearance = appearance


class RecordingCompareView(RecordingView):
    title = "Compare"

    def set_compare(self, results, step):
        self.results, self.compare_step = results, step


@pytest.fixture
def recording_views():
    """(view class, compare view class) that record what the window hands them."""
    return RecordingView, RecordingCompareView


@pytest.fixture
def controller(qtbot):
    from gradviz.gui.controller import Controller

    c = Controller()
    yield c
    c.wait()


@pytest.fixture
def wait_idle(qtbot):
    """wait_idle(controller): until every worker is idle and a result has been delivered."""
    def wait(controller, timeout=10_000):
        qtbot.waitUntil(lambda: not controller.is_busy and controller.analysis is not None,
                        timeout=timeout)
    return wait


def _close_window(window) -> None:
    """Close a test's window without its close question, wait for its work, delete it."""
    from PyQt6 import sip
    if window is None or sip.isdeleted(window):
        return
    lab = window.training_lab_if_built() if hasattr(window, "training_lab_if_built") else None
    if lab is not None:                 # a training run is stopped first
        lab.lab.stop()
        lab.lab.wait()
        lab.close()
    window.close_guards.clear()
    window.close()
    window.controller.wait()
    window.deleteLater()


@pytest.fixture
def open_window(qtbot, wait_idle):
    """open_window(scene=None, size=(1280, 720), **create_window's options): the real window,
    shown, its first analysis drawn; closed (without its question) after the test."""
    from gradviz.gui.app import create_window
    made = []

    def make(scene=None, size=(1280, 720), **kwargs):
        window = create_window(scene, **kwargs)
        window.resize(*size)
        window.show()
        qtbot.waitExposed(window)
        window.controller.start()
        wait_idle(window.controller)
        made.append(window)
        return window

    yield make
    for window in made:
        _close_window(window)


@pytest.fixture
def close_window():
    """close_window(window): closed without its question, its work waited for, deleted."""
    return _close_window
