"""Issue 9 in the window: closing during a long recompute exits within a second; a session that
reads outside its folder asks first; a hostile session is a message box, never a traceback."""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PyQt6.QtWidgets import QMessageBox

from gradviz.core.session import OutsideFileError
from gradviz.gui import session_actions
from gradviz.gui.app import create_window

ROOT = Path(__file__).resolve().parents[2]

CLOSE_SCRIPT = r"""
import sys, time
from PyQt6.QtCore import QTimer
from PyQt6.QtWidgets import QApplication
from gradviz.core.scene import Scene
from gradviz.gui.app import run_app
from gradviz.gui.window import MainWindow
app = QApplication(["gradviz"])
def close():
    w = next(w for w in app.topLevelWidgets() if isinstance(w, MainWindow))
    busy = w.controller.is_busy
    w.close()
    print("closed", busy, time.time(), flush=True)
QTimer.singleShot(int(sys.argv[1]), close)
sys.exit(run_app(["gradviz"], scene=Scene(cell="lstm", hidden_size=128, steps=1000)))
"""


@pytest.mark.parametrize("after_ms", [1500, 4000])
def test_closing_during_a_long_lstm_recompute_exits_within_a_second(tmp_path, after_ms):
    """A real process, as a user closes it: LSTM H = 128, T = 1000 (the full map is minutes of
    work here), closed while it computes."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT),
           "GRADVIZ_SETTINGS_DIR": str(tmp_path / "s"), "GRADVIZ_DATA_DIR": str(tmp_path / "d"),
           "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-c", CLOSE_SCRIPT, str(after_ms)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    line = proc.stdout.readline()
    assert line.startswith("closed"), (line, proc.stderr.read() if proc.poll() is not None else "")
    _, busy, closed_at = line.split()
    proc.wait(timeout=30)
    assert busy == "True"                        # it was still computing when closed
    assert time.time() - float(closed_at) < 1.0   # the process is gone (teardown included)
    assert proc.returncode == 0, proc.stderr.read()


def _session(folder: Path, scene: dict, **extra) -> Path:
    path = folder / "s.gradviz.json"
    path.write_text(json.dumps({"format": "gradviz-session", "version": 1, "scene": scene,
                                **extra}), encoding="utf-8")
    return path


@pytest.fixture
def window(qtbot):
    w = create_window(autosave=False)
    qtbot.addWidget(w)
    yield w
    w.controller.shutdown(1000)


def test_a_session_reading_outside_its_folder_asks_first(window, qtbot, tmp_path, monkeypatch):
    data = tmp_path / "data.csv"
    data.write_text("x\n1\n2\n3\n")
    folder = tmp_path / "lecture"
    folder.mkdir()
    path = _session(folder, {"inputs_path": "../data.csv", "amplitude": 1.0})
    kit = window.lecture.sessions
    asked = []
    monkeypatch.setattr(session_actions, "ask_read_outside",
                        lambda parent, exc: asked.append(exc.target) or False)
    problems = []
    monkeypatch.setattr(session_actions, "show_problem", lambda w, m, d="": problems.append(m))
    before = window.controller.scene
    assert kit._open_reporting(str(path)) is False
    assert asked == [data] and "outside" in problems[0] and window.controller.scene == before
    monkeypatch.setattr(session_actions, "ask_read_outside", lambda parent, exc: True)
    assert kit._open_reporting(str(path)) is True
    assert window.controller.scene.inputs_path == str(data)
    window.controller.start()
    qtbot.waitUntil(lambda: window.controller.analysis is not None
                    and window.controller.analysis.steps == 3, timeout=20_000)
    assert window.controller.analysis.trace.inputs[:, 0].tolist() == [1.0, 2.0, 3.0]


@pytest.mark.parametrize("scene, extra, words", [
    ({"seed": -1}, {}, "seed"),
    ({"steps": 10**400}, {}, "steps"),
    ({"hidden_size": 2, "state_dict_path": "w.pt"},
     {"weights": {"params": [{"key": "weight_hh_l0", "shape": [2, 2],
                              "values": [[10**400, 0], [0, 0]]}]}}, "too large"),
])
def test_a_hostile_session_is_a_message_box(window, tmp_path, monkeypatch, scene, extra, words):
    path = _session(tmp_path, scene, **extra)
    shown = []
    monkeypatch.setattr(QMessageBox, "exec", lambda box: shown.append(box.text()) or 0)
    assert window.lecture.sessions._open_reporting(str(path)) is False
    assert len(shown) == 1 and words in shown[0] and "internal error" not in shown[0]
    assert "s.gradviz.json" in shown[0]


def test_the_question_names_the_file(qtbot, tmp_path, monkeypatch):
    exc = OutsideFileError(tmp_path / "s.gradviz.json", "inputs_path", Path("/elsewhere/x.csv"))
    seen = []

    def answer(box):
        seen.append((box.text(), box.informativeText(), box.defaultButton()))
        return QMessageBox.StandardButton.No
    monkeypatch.setattr(QMessageBox, "exec", answer)
    assert session_actions.ask_read_outside(None, exc) is False
    assert "s.gradviz.json" in seen[0][0] and seen[0][1] == "/elsewhere/x.csv"
