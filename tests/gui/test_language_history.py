"""Issue 11: View ▸ Language rebuilds the window and keeps the Undo / Redo history of scenes
(the same scenes in the same order; the commands' texts in the new language)."""
from __future__ import annotations

import pytest

from gradviz.core.scene import Scene
from gradviz.gui import language
from gradviz.gui.language import current_window

from gui_texts import use_this_checkouts_assets

ORIGINAL = Scene(hidden_size=4, steps=12)


@pytest.fixture(autouse=True)
def english_after(monkeypatch):
    use_this_checkouts_assets(monkeypatch)
    yield
    language.apply_language("en")


@pytest.fixture
def window(open_window, close_window):
    w = open_window(ORIGINAL, language="en", autosave=False)
    yield w
    close_window(current_window())      # the window the language switch built


def _settle(qtbot, wait_idle, win, scene):
    qtbot.waitUntil(lambda: win.controller.shown_scene == scene, timeout=10_000)
    wait_idle(win.controller)


def test_undo_and_redo_survive_a_language_switch(window, qtbot, wait_idle):
    c, panel = window.controller, window.controls
    panel.hidden_size.setValue(5)                          # change 1, by the control
    first = ORIGINAL.replace(hidden_size=5)
    _settle(qtbot, wait_idle, window, first)
    qtbot.wait(int(window.history.COALESCE_S * 1000) + 50)   # two changes, not one drag
    assert c.update(wr_scale=1.5)                          # change 2
    second = first.replace(wr_scale=1.5)
    _settle(qtbot, wait_idle, window, second)
    assert [s for s, _compare in window.history.undo_stack] == [ORIGINAL, first]
    assert window.actions_["undo"].text() == "&Undo scene change"

    window.language_actions["zh_CN"].trigger()             # View ▸ Language ▸ 简体中文
    new = current_window()
    assert new is not window
    wait_idle(new.controller)
    n, h = new.controller, new.history
    assert n.shown_scene == second
    assert [s for s, _compare in h.undo_stack] == [ORIGINAL, first] and h.redo_stack == []
    assert h.current == (second, False)
    # the commands in the new language, enabled as before
    undo, redo = new.actions_["undo"], new.actions_["redo"]
    assert undo.text() == "撤销场景修改(&U)" and undo.isEnabled() and not redo.isEnabled()

    undo.trigger()
    _settle(qtbot, wait_idle, new, first)
    assert new.controls.wr_scale.value() == pytest.approx(0.9)   # model → widget
    undo.trigger()
    _settle(qtbot, wait_idle, new, ORIGINAL)
    assert n.shown_scene == ORIGINAL and new.controls.hidden_size.value() == 4
    assert not undo.isEnabled() and redo.isEnabled()
    redo.trigger()
    _settle(qtbot, wait_idle, new, first)
    assert new.controls.hidden_size.value() == 5
    redo.trigger()
    _settle(qtbot, wait_idle, new, second)
    assert new.controls.wr_scale.value() == 1.5 and not redo.isEnabled()
    assert [s for s, _compare in h.undo_stack] == [ORIGINAL, first]
