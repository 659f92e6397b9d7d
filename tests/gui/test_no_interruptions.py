"""Issue 10: exact slider values, the README walk-through, no questions when opening a preset
(Undo / Redo instead), the status line keeps its numbers, playback speed, clean quit on signals."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from PyQt6.QtCore import QTimer
from PyQt6.QtWidgets import QApplication

from gradviz.core.presets import load_preset
from gradviz.core.scene import Scene
from gradviz.gui.controls import BIAS_RANGE, WR_RANGE, ValueSlider

torch.set_num_threads(1)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def window_on(open_window):
    return open_window


def settle(qtbot, wait_idle, window, check):
    qtbot.waitUntil(lambda: check(window.controller), timeout=10_000)
    wait_idle(window.controller)


# ---------------------------------------------------------------- exact values

def test_every_slider_lands_on_its_marks_and_round_values(qtbot):
    wr = ValueSlider(*WR_RANGE, log=True, marks=(0.1, 0.25, 0.5, 1.0, 2.0, 4.0))
    qtbot.addWidget(wr)
    values = [wr.from_tick(t) for t in range(wr.TICKS + 1)]
    for v in (0.1, 0.25, 0.5, 0.9, 1.0, 1.1, 1.5, 2.0, 2.5, 3.0, 4.0):
        assert v in values, v
    assert values == sorted(values)
    got = []
    wr.value_changed.connect(got.append)
    wr.slider.setValue(wr.to_tick(1.5))            # the user drags to the 1.5 position
    wr.slider.setValue(wr.to_tick(1.0))            # and onto the "1" mark
    assert got == [1.5, 1.0] and wr.value() == 1.0
    wr.spin.setValue(1.234)                        # a typed value is kept as typed
    assert got[-1] == 1.234 and wr.slider.value() == wr.to_tick(1.234)
    bias = ValueSlider(*BIAS_RANGE, marks=(-4.0, 0.0, 1.0, 4.0))
    qtbot.addWidget(bias)
    values = [bias.from_tick(t) for t in range(bias.TICKS + 1)]
    for v in (-4.0, 0.0, 0.5, 1.0, 2.0, 4.0):
        assert v in values, v


def test_readme_walk_through_through_the_real_controls(window_on, qtbot, wait_idle):
    """README: "Drag W_R scale past 1 and the gradient explodes (10^+3.8 at 1.5); switch the cell
    to LSTM: at the default forget bias it vanishes too (10^-17); drag the forget-gate bias to 4
    and the forget-gate path holds"."""
    readme = (ROOT / "README.md").read_text()
    assert "10^+3.8 at 1.5" in readme and "forget-gate bias to 4" in readme
    window = window_on(Scene())
    panel, flow = window.controls, window.views["Gradient flow"]
    assert "log10 ‖∂h_t/∂h_0‖₂ = -6.22" in window.numbers_text
    panel.wr_scale.slider.setValue(panel.wr_scale.to_tick(1.5))
    settle(qtbot, wait_idle, window, lambda c: c.shown_scene.wr_scale == 1.5 and c.row() is not None)
    assert window.controller.scene.wr_scale == 1.5                   # exactly
    assert "log10 ‖∂h_t/∂h_0‖₂ = 3.81" in window.numbers_text
    panel.cell.setCurrentIndex(panel.cell.findData("lstm"))
    settle(qtbot, wait_idle, window, lambda c: c.shown_scene.cell == "lstm" and c.row() is not None)
    assert round(float(flow.shown["main"][-1]), 1) == -16.9           # vanishes at f ≈ 0.5
    assert float(flow.shown["log10_forget_path"][-1]) < -25
    panel.forget_bias.slider.setValue(panel.forget_bias.to_tick(4.0))
    settle(qtbot, wait_idle, window, lambda c: c.shown_scene.forget_bias == 4.0
           and c.row() is not None and c.row().h is not None)
    path = float(flow.shown["log10_forget_path"][-1])                 # ∏ f over 100 steps
    assert -0.6 < path < -0.4
    assert float(flow.shown["log10_jac_c"][-1]) > 2                   # ‖∂c_100/∂c_0‖₂ holds
    assert float(flow.shown["main"][-1]) > 0


# ---------------------------------------------------------------- no interruptions

def _watch_for_modal(qtbot, seen):
    def look():
        box = QApplication.activeModalWidget()
        if box is not None:
            seen.append(type(box).__name__)
            box.close()
    timer = QTimer()
    timer.timeout.connect(look)
    timer.start(30)
    return timer


def test_opening_a_preset_asks_nothing_and_undo_brings_the_scene_back(window_on, qtbot,
                                                                       wait_idle):
    window = window_on(Scene(hidden_size=4, steps=20))
    c, panel = window.controller, window.controls
    panel.wr_scale.spin.setValue(1.3)                 # widget → model: an unsaved edit
    settle(qtbot, wait_idle, window, lambda c: c.shown_scene.wr_scale == 1.3)
    edited = c.shown_scene
    assert window.lecture.sessions.is_dirty()
    seen = []
    watcher = _watch_for_modal(qtbot, seen)
    assert window.lecture.presets.open("lstm-carousel")
    preset = load_preset("lstm-carousel")
    settle(qtbot, wait_idle, window, lambda c: c.shown_scene == preset.scene)
    qtbot.wait(100)
    watcher.stop()
    assert seen == []                                 # no question, no file dialog
    assert window.numbers_label.isVisible() and window.numbers_text.startswith("t = ")
    assert "preset" not in window.statusBar().currentMessage()
    assert window.actions_["undo"].isEnabled() and not window.actions_["redo"].isEnabled()
    window.actions_["undo"].trigger()                 # Ctrl+Z
    settle(qtbot, wait_idle, window, lambda c: c.shown_scene == edited)
    assert panel.wr_scale.value() == 1.3 and panel.cell.currentData() == "rnn"   # model → widget
    assert window.actions_["redo"].isEnabled()
    window.actions_["redo"].trigger()                 # Ctrl+Shift+Z
    settle(qtbot, wait_idle, window, lambda c: c.shown_scene == preset.scene)
    assert panel.cell.currentData() == "lstm" and c.compare == preset.compare
    keys = [s.toString() for s in window.actions_["redo"].shortcuts()]
    assert "Ctrl+Shift+Z" in keys and window.actions_["undo"].shortcut().toString() == "Ctrl+Z"
    assert window.menus["edit"].actions()[:2] == [window.actions_["undo"], window.actions_["redo"]]


def test_a_slider_drag_is_one_undo_step(window_on, qtbot, wait_idle):
    window = window_on(Scene(hidden_size=4, steps=20))
    c, wr = window.controller, window.controls.wr_scale
    start = c.shown_scene
    for value in (1.0, 1.1, 1.2, 1.3):
        wr.slider.setValue(wr.to_tick(value))
        qtbot.wait(40)
    settle(qtbot, wait_idle, window, lambda c: c.shown_scene.wr_scale == 1.3)
    assert len(window.history.undo_stack) == 1
    window.history.undo()
    settle(qtbot, wait_idle, window, lambda c: c.shown_scene == start)
    assert wr.value() == 0.9 and not window.history.can_undo


def test_messages_never_replace_the_numbers(window_on, qtbot):
    window = window_on(Scene(hidden_size=4, steps=20))
    numbers = window.numbers_label.text()
    window.statusBar().showMessage("saved /tmp/x.gradviz.json", 5000)
    assert window.numbers_label.isVisible() and window.numbers_label.text() == numbers
    assert window.statusBar().currentMessage() == "saved /tmp/x.gradviz.json"
    label = window.statusBar().message_label
    assert label.isVisible()
    assert label.geometry().left() >= window.numbers_label.geometry().left()


@pytest.mark.parametrize("speed", [20, 100])
def test_playback_delivers_the_chosen_speed(window_on, qtbot, wait_idle, speed):
    """All six real views drawing; the cursor advances by the clock (several steps a frame)."""
    window = window_on(Scene(steps=2000, hidden_size=8), size=(1280, 720))
    qtbot.waitUntil(lambda: window.controller.analysis.jac is not None, timeout=20_000)
    t = window.transport
    t.set_speed(speed)
    t.to_start()
    frames = []
    window.controller.step_changed.connect(frames.append)
    began = time.monotonic()
    t.play()
    qtbot.wait(1500)
    t.pause()
    elapsed = time.monotonic() - began
    rate = window.controller.step / elapsed
    print(f"speed {speed}: {rate:.1f} steps/s delivered in {len(frames)} frames "
          f"({len(frames) / elapsed:.0f} frames/s)")
    assert 0.85 * speed <= rate <= 1.1 * speed
    assert frames == sorted(frames) and len(set(frames)) == len(frames)


# ---------------------------------------------------------------- clean quit on signals

@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_and_sigterm_quit_cleanly(tmp_path, signum):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen",
               GRADVIZ_SETTINGS_DIR=str(tmp_path / "settings"),
               GRADVIZ_DATA_DIR=str(tmp_path / "data"), PYTHONPATH=str(ROOT))
    marker = tmp_path / "data" / "running.marker"
    proc = subprocess.Popen([sys.executable, "-m", "gradviz"], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 40
        while not marker.is_file() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
        assert marker.is_file(), proc.stderr.read().decode() if proc.poll() is not None else ""
        time.sleep(1.5)                 # the window is up, its event loop running
        proc.send_signal(signum)
        code = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    err = proc.stderr.read().decode()
    assert code == 0, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert not marker.exists()          # the next start offers no restore
    assert (tmp_path / "settings" / "gradviz.ini").is_file()
