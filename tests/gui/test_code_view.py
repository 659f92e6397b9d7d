"""The Code view in the real window and File ▸ Export as Python script… (issue 12)."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from gradviz.core.codegen import generate_script, parse_output
from gradviz.core.codeview import step_view
from gradviz.core.scene import Scene
from gradviz.gui.code_view import _fmt, export_script


@pytest.fixture
def window(open_window):
    return open_window(Scene(cell="lstm", hidden_size=4, steps=15), autosave=False)


def _text(browser) -> str:
    return browser.toPlainText()


def test_the_dock_is_in_the_menus_and_shows_on_demand(window, qtbot):
    dock = window.docks["code"]
    assert not dock.isVisible()                     # the grid keeps its room until asked
    toggle = window.actions_["code_view"]
    assert toggle in window.menus["view"].actions()
    assert window.actions_["export_script"] in window.menus["file"].actions()
    toggle.trigger()
    qtbot.waitUntil(dock.isVisible)
    assert window.code_view.isVisible()
    window.reset_layout()                           # Reset layout keeps the dock available
    toggle.trigger()
    qtbot.waitUntil(dock.isVisible)
    assert not dock.isFloating()


def _open_code_dock(window, qtbot):
    window.actions_["code_view"].trigger()          # View ▸ Code, as a student would
    qtbot.waitUntil(window.code_view.isVisible)


def test_a_hidden_code_view_computes_nothing_and_catches_up_when_opened(window, qtbot):
    view, c = window.code_view, window.controller
    assert not view.isVisible() and _text(view.numbers) == ""       # nothing computed yet
    _open_code_dock(window, qtbot)
    assert f"t = {c.step} of 15" in _text(view.numbers)
    window.docks["code"].close()
    c.set_step(5)
    assert f"t = {c.step} of 15" not in _text(view.numbers)          # closed: left as it was
    window.actions_["code_view"].trigger()
    qtbot.waitUntil(lambda: "t = 5 of 15" in _text(view.numbers))


def test_numbers_follow_the_cursor_model_to_widget(window, qtbot, wait_idle):
    c, view = window.controller, window.code_view
    _open_code_dock(window, qtbot)
    assert f"t = {c.step} of 15" in _text(view.numbers)
    c.set_step(6)
    lt = c.analysis.trace.layer(0, 0)
    text = _text(view.numbers)
    assert "t = 6 of 15" in text
    for j in range(4):
        assert _fmt(lt.h[6][j]) in text and _fmt(lt.gates["f"][5][j]) in text
    expected = step_view(c.analysis, 6, c.row(6))
    assert [k for k, _ in view.last_view.factors] == [k for k, _ in expected.factors]
    for k in expected.units:
        np.testing.assert_array_equal(view.last_view.units[k], expected.units[k])
    # the exact row arrives later: the view then shows the 2-norm
    qtbot.waitUntil(lambda: c.row(6) is not None)
    qtbot.waitUntil(lambda: "log10 ‖∂h_t/∂h_0‖₂" in _text(view.numbers))
    assert _fmt(float(c.row(6).h[0])) in _text(view.numbers)


def test_equations_and_code_follow_the_cell(window, qtbot, wait_idle):
    c, view = window.controller, window.code_view
    _open_code_dock(window, qtbot)
    assert "W_hf" in _text(view.equations) and "rows [4:8)" in _text(view.equations)
    assert "candidate_C" in _text(view.code)
    c.update(cell="gru")
    qtbot.waitUntil(lambda: c.analysis is not None and c.analysis.trace.net.spec.kind == "gru")
    assert "z ↔ 1 − z" in _text(view.equations)
    assert "(r_t * h) @ W_hh" in _text(view.code)
    assert "r_t" in _text(view.numbers)


def test_export_writes_the_scene_on_screen_at_its_cursor_and_it_runs(window, tmp_path):
    c = window.controller
    c.set_step(9)
    path = tmp_path / "from_window.py"
    assert export_script(window, path) == [path]
    text = path.read_text(encoding="utf-8")
    assert text == generate_script(c.shown_scene, base=c.base_net(), step=9,
                                   name="from_window").text
    proc = subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = parse_output(proc.stdout)
    lt = c.analysis.trace.layer(0, 0)          # the window's trace is float64
    np.testing.assert_allclose(out.h, lt.h, rtol=0, atol=1e-10)
    assert out.cursor == 9
    row = c.analysis.row(9)                    # exact 2-norms of the cursor row
    np.testing.assert_allclose(out.log10_jac_h, row.h, rtol=0, atol=1e-8)
