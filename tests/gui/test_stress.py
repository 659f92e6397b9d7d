"""500 rapid random changes — cell, sizes, W_R, biases, compare, presets, play, scrub — then
close the window, 20 times: no crash, no Python exception, and the last scene's numbers are
the core's."""
from __future__ import annotations

import os
import random
import sys

import numpy as np
import pytest
from PyQt6.QtWidgets import QApplication

from gradviz.core.presets import list_presets
from gradviz.core.scene import analyse, simulate
from gradviz.gui.app import create_window

CELLS = ["rnn", "rnn-relu", "rnn-sigmoid", "lstm", "gru"]


def random_change(rng: random.Random, window, presets):
    c, t = window.controller, window.transport
    kind = rng.randrange(10)
    if kind == 0:
        c.update(cell=rng.choice(CELLS))
    elif kind == 1:
        c.update(hidden_size=rng.choice([1, 2, 4, 8, 16, 24]), steps=rng.choice([5, 20, 60, 120]))
    elif kind == 2:
        c.update(wr_scale=rng.uniform(0.1, 4.0))
    elif kind == 3:
        if c.scene.cell == "lstm":
            c.update(forget_bias=rng.uniform(-6, 6))
        elif c.scene.cell == "gru":
            c.update(update_bias=rng.uniform(-6, 6))
        else:
            c.update(amplitude=rng.uniform(0, 5))
    elif kind == 4:
        c.set_compare(not c.compare)
    elif kind == 5 and presets:
        window.lecture.sessions.open_preset(rng.choice(presets))
    elif kind == 6:
        t.toggle_play()
    elif kind == 7:
        c.set_step(rng.randrange(0, c.steps + 1))
    elif kind == 8:
        t.step_back() if rng.random() < 0.5 else t.step_forward()
    else:
        c.update(seed=rng.randrange(0, 1000), h0=rng.uniform(-1, 1))


@pytest.fixture
def no_exceptions(monkeypatch):
    seen = []
    monkeypatch.setattr(sys, "excepthook", lambda *info: seen.append(info))
    return seen


#: windows of 500 changes each: 3 in `make test`, 20 with `sh scripts/stress.sh` (minutes)
RUNS = int(os.environ.get("GRADVIZ_STRESS_RUNS", "3"))


def test_500_random_changes_then_close_20_times(qtbot, wait_idle, no_exceptions):
    presets = [p for p in list_presets() if p.scene.hidden_size <= 32 and p.scene.steps <= 300]
    rng = random.Random(12345)
    for run in range(RUNS):
        window = create_window(autosave=False)
        window.resize(1280, 720)
        window.show()
        window.controller.start()
        for k in range(500):
            random_change(rng, window, presets)
            if k % 100 == 99:   # rapid: most changes are superseded before they are drawn
                QApplication.processEvents()
        if run % 5 == RUNS % 5 - 1 or run == RUNS - 1:   # the last scene's numbers are the core's
            window.transport.pause()
            wait_idle(window.controller, timeout=30_000)
            c = window.controller
            assert c.scene == c.shown_scene
            core = analyse(simulate(c.shown_scene), c.shown_scene.layer,
                           c.shown_scene.direction, exact=False, dtype=np.float32)
            np.testing.assert_array_equal(c.analysis.trace.layer(0, 0).h, core.trace.layer(0, 0).h)
        window.close_guards.clear()
        window.close()   # while work may still be running
        window.deleteLater()
        QApplication.processEvents()
    assert not no_exceptions, no_exceptions[:1]
