"""Sessions in the window hold the training lab (issue 13) and open without a question, one
Undo away (issue 10): a run trained in the lab, saved through File ▸ Save, opened in a fresh
window shows the same setup, table and curves, and "Analyse this model" works from it."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PyQt6.QtCore import Qt, QTimer
from PyQt6.QtTest import QTest
from PyQt6.QtWidgets import QApplication, QFileDialog, QLineEdit, QMessageBox

from gradviz.core.scene import Scene
from gradviz.core.session import read_autosave
from gradviz.core.training import default_config, lab_plot_data

torch.set_num_threads(1)

RUN = default_config("airline", "gru").replace(iters=8, hidden=4, layers=1, lr=0.05, seed=2,
                                               record_every=4, clip_norm=0.5)


@pytest.fixture
def window_on(open_window):
    return open_window


def settle(qtbot, wait_idle, window, check):
    qtbot.waitUntil(lambda: check(window.controller), timeout=10_000)
    wait_idle(window.controller)


def train_in_lab(qtbot, window, cfg=RUN):
    lab = window.training_lab().lab
    lab.set_config(cfg)
    assert lab.start()
    qtbot.waitUntil(lambda: not lab.running, timeout=60_000)
    assert lab.result is not None and lab.result.iterations == cfg.iters
    return lab


def _table(lab):
    t = lab.table
    return [[t.item(r, c).text() if t.item(r, c) else "" for c in range(t.columnCount())]
            for r in range(t.rowCount())]


class Modals:
    """Watches for modal widgets: file dialogs choose ``path``; anything else is recorded
    (and answered with its default) — opening a session must raise no question."""

    def __init__(self, path=None):
        self.seen, self.path = [], path
        self.timer = QTimer()
        self.timer.timeout.connect(self._look)
        self.timer.start(30)

    def _look(self):
        w = QApplication.activeModalWidget()
        dialogs = [d for d in QApplication.topLevelWidgets()
                   if isinstance(d, QFileDialog) and d.isVisible()]
        if dialogs:
            w = dialogs[0]
        if isinstance(w, QFileDialog) and self.path is not None:
            edit = w.findChild(QLineEdit, "fileNameEdit")      # typed, then Enter, as a user
            edit.setText(str(self.path))
            QTest.keyClick(edit, Qt.Key.Key_Return)
        elif isinstance(w, QMessageBox):
            self.seen.append(w.text())
            (w.defaultButton() or w.buttons()[0]).click()
        elif w is not None:
            self.seen.append(type(w).__name__)
            w.close()

    def stop(self):
        self.timer.stop()


def test_a_trained_lab_round_trips_through_a_session(window_on, qtbot, wait_idle, tmp_path):
    a = window_on(Scene(hidden_size=4, steps=12))
    assert not a.lecture.sessions.is_dirty()
    lab_a = train_in_lab(qtbot, a)
    assert a.lecture.sessions.is_dirty() and a.isWindowModified()   # the run is unsaved
    lab_a.iters.setValue(300)                    # the setup on screen differs from the run's
    path = a.lecture.sessions.save_to(tmp_path / "lab.gradviz.json")
    assert not a.lecture.sessions.is_dirty()
    saved = json.loads(path.read_text())["training"]
    assert saved["config"]["iters"] == 300 and saved["result"]["config"]["iters"] == 8
    assert set(saved["result"]["weights"]) == set(lab_a.result.model.state_dict())

    b = window_on(Scene(cell="lstm", hidden_size=3, steps=9))
    assert b.training_lab_if_built() is None
    modals = Modals()
    b.lecture.sessions.open_path(path)
    settle(qtbot, wait_idle, b, lambda c: c.shown_scene == Scene(hidden_size=4, steps=12))
    modals.stop()
    assert modals.seen == []
    lab_b = b.training_lab().lab
    assert not b.training_lab().isVisible()      # restored in place, opened with Ctrl+T
    # model → widgets: the setup on screen when saved
    assert lab_b.config() == RUN.replace(iters=300)
    assert (lab_b.task.currentData(), lab_b.model.currentData()) == ("airline", "gru")
    assert (lab_b.hidden.value(), lab_b.layers.value(), lab_b.iters.value()) == (4, 1, 300)
    assert (lab_b.lr.value(), lab_b.seed.value()) == (0.05, 2)
    assert lab_b.clip_mode.currentData() == "norm" and lab_b.clip.value() == 0.5
    assert lab_b.look_back.value() == 3 and lab_b.record_every.value() == 4
    # the same run: metrics table, curves, history, weights
    assert _table(lab_b) == _table(lab_a) and len(_table(lab_b)) == 4
    assert lab_b.progress.value() == lab_a.progress.value() == 8
    assert lab_b.status.text() == lab_a.result.status()
    assert lab_b.result.metrics.test_rmse == lab_a.result.metrics.test_rmse
    ra, rb = lab_a.result.history.arrays(), lab_b.result.history.arrays()
    assert ra.keys() == rb.keys()
    for k in ra:
        np.testing.assert_array_equal(rb[k], ra[k], err_msg=k)
    expected = lab_plot_data(lab_a.result.history)
    np.testing.assert_array_equal(lab_b.plots.loss_curve.getData()[1], expected["log10_loss"])
    np.testing.assert_array_equal(lab_b.plots.test_curve.getData()[1],
                                  expected["log10_test_loss"])
    np.testing.assert_array_equal(lab_b.plots.predicted_curve.getData()[1],
                                  lab_a.plots.predicted_curve.getData()[1])
    for k, v in lab_a.result.model.state_dict().items():
        assert torch.equal(lab_b.result.model.state_dict()[k], v), k
    assert not b.lecture.sessions.is_dirty()

    # "Analyse this model" from the restored run: its weights in the dynamics views
    assert lab_b.analyse_button.isEnabled() and lab_b.analyse()
    settle(qtbot, wait_idle, b, lambda c: c.shown_scene is not None
           and c.shown_scene.state_dict_path is not None)
    c = b.controller
    assert (c.shown_scene.cell, c.shown_scene.hidden_size, c.shown_scene.input_size) == ("gru", 4, 3)
    trained = lab_a.result.recurrent_net().params
    assert c.base_net().params.keys() == trained.keys()
    for k, v in trained.items():
        np.testing.assert_array_equal(c.base_net().params[k], v, err_msg=k)
    np.testing.assert_array_equal(c.analysis.trace.inputs, lab_a.result.test_inputs)


def test_opening_a_session_asks_nothing_and_undo_brings_the_scene_back(window_on, qtbot,
                                                                        wait_idle, tmp_path):
    window = window_on(Scene(hidden_size=4, steps=20))
    c, sessions = window.controller, window.lecture.sessions
    c.update(cell="gru", seed=5)
    settle(qtbot, wait_idle, window, lambda c: c.shown_scene.cell == "gru")
    path = sessions.save_to(tmp_path / "gru.gradviz.json")
    saved = c.shown_scene
    window.controls.wr_scale.spin.setValue(1.3)        # an unsaved edit
    settle(qtbot, wait_idle, window, lambda c: c.shown_scene.wr_scale == 1.3)
    edited = c.shown_scene
    assert sessions.is_dirty()

    modals = Modals(path)                              # File ▸ Open's dialog picks the file
    window.lecture.sessions.open_action.trigger()
    settle(qtbot, wait_idle, window, lambda c: c.shown_scene == saved)
    qtbot.wait(100)
    modals.stop()
    assert modals.seen == []                           # no "save this scene first?"
    assert sessions.path == path and not sessions.is_dirty()
    assert window.controls.wr_scale.value() != 1.3
    window.actions_["undo"].trigger()                  # Ctrl+Z: the edited scene is back
    settle(qtbot, wait_idle, window, lambda c: c.shown_scene == edited)
    assert window.controls.wr_scale.value() == 1.3 and sessions.is_dirty()
    window.actions_["redo"].trigger()
    settle(qtbot, wait_idle, window, lambda c: c.shown_scene == saved)

    window.controls.wr_scale.spin.setValue(1.4)        # and from the recent list, no question
    settle(qtbot, wait_idle, window, lambda c: c.shown_scene.wr_scale == 1.4)
    modals = Modals()
    assert sessions.open_recent(str(path.resolve()))
    settle(qtbot, wait_idle, window, lambda c: c.shown_scene == saved)
    modals.stop()
    assert modals.seen == []
    window.actions_["undo"].trigger()
    settle(qtbot, wait_idle, window, lambda c: c.shown_scene.wr_scale == 1.4)


def test_a_malformed_training_entry_changes_nothing(window_on, qtbot, wait_idle, tmp_path):
    window = window_on(Scene(hidden_size=4, steps=12))
    lab = train_in_lab(qtbot, window)
    path = window.lecture.sessions.save_to(tmp_path / "good.gradviz.json")
    data = json.loads(path.read_text())
    data["scene"]["hidden_size"] = 6
    key = "rnn.weight_hh_l0"
    data["training"]["result"]["weights"][key] = data["training"]["result"]["weights"][key][:-1]
    bad = tmp_path / "bad.gradviz.json"
    bad.write_text(json.dumps(data))
    before, run = window.controller.shown_scene, lab.result
    modals = Modals()
    assert not window.lecture.sessions._open_reporting(bad)
    qtbot.waitUntil(lambda: bool(modals.seen), timeout=5000)
    modals.stop()
    msg = modals.seen[0]
    assert msg.startswith("bad.gradviz.json: training: result: weight 'rnn.weight_hh_l0' has "
                          "shape (11, 4)") and "\n" not in msg
    assert window.controller.scene == before and window.controller.shown_scene == before
    assert lab.result is run and window.lecture.sessions.path == path


def test_the_autosave_carries_the_lab_and_comes_back_after_a_crash(window_on, qtbot, wait_idle):
    window = window_on(Scene(hidden_size=4, steps=12))
    lab = train_in_lab(qtbot, window, RUN.replace(model="lstm", iters=4))
    assert window.lecture.sessions.autosave_now()
    auto = read_autosave()
    assert auto.training["result"]["config"]["model"] == "lstm"
    window.close_guards.clear()
    # the next start finds the crash marker of this (still running) process and offers it
    again = window_on(Scene(cell="gru", hidden_size=3, steps=9))
    assert again.lecture.sessions.restore_autosave()
    settle(qtbot, wait_idle, again, lambda c: c.shown_scene == Scene(hidden_size=4, steps=12))
    restored = again.training_lab().lab.result
    assert restored.metrics.test_rmse == lab.result.metrics.test_rmse
    assert again.lecture.sessions.is_dirty()
