"""The window: controls ⇄ scene both ways, transport keys, compare mode, errors, settings."""
from __future__ import annotations

import numpy as np
import pytest
from PyQt6.QtCore import Qt

from gradviz.core.scene import Scene, analyse, simulate
from gradviz.gui.controller import Controller
from gradviz.gui.settings import Settings
from gradviz.gui.window import MainWindow


def core_analysis(scene: Scene):
    return analyse(simulate(scene), scene.layer, scene.direction, exact=False, dtype=np.float32)


@pytest.fixture
def make_window(qtbot, wait_idle, recording_views):
    """make_window(scene=None, real_views=False) -> a shown window with its first analysis."""
    made = []

    def make(scene=None, real_views=False):
        controller = Controller(scene)
        view_class, compare_class = recording_views
        kwargs = {} if real_views else {"view_classes": [view_class],
                                        "compare_class": compare_class}
        window = MainWindow(controller, Settings(), **kwargs)
        qtbot.addWidget(window)
        window.resize(1400, 900)
        window.show()
        qtbot.waitExposed(window)
        window.activateWindow()
        controller.start()
        wait_idle(controller)
        made.append(window)
        return window

    yield make
    for window in made:
        window.controller.wait()


def settle(qtbot, window, wait_idle, scene_check):
    qtbot.waitUntil(lambda: scene_check(window.controller.shown_scene), timeout=5000)
    wait_idle(window.controller)


def recorder(window):
    return window.views["Recorder"]


def test_views_get_the_controllers_analysis_and_row(make_window):
    window = make_window()
    view, c = recorder(window), window.controller
    assert view.analysis is c.analysis and view.scene == Scene()
    assert view.step == 100 and view.row is c.row(100)
    assert "log10 ‖∂h_t/∂h_0‖₂ = -6.22" in window.numbers_text
    assert "σ_max(W_hh) = 0.9" in window.numbers_text


def test_real_views_plot_the_core_numbers(make_window, qtbot):
    window = make_window(real_views=True)
    flow = window.views["Gradient flow"]
    expected = core_analysis(Scene()).row(100)
    np.testing.assert_allclose(flow.shown["main"], expected.h[::-1], atol=1e-12)
    x, _y = flow.main.getData()
    np.testing.assert_array_equal(x, np.arange(101))
    window.controller.set_step(50)
    np.testing.assert_allclose(flow.shown["main"], core_analysis(Scene()).row(50).h[::-1],
                               atol=1e-12)
    assert window.compare_view is not None
    for dock in window.docks.values():
        assert dock.windowTitle()


# ---------------------------------------------------------------- widget → model

WIDGET_EDITS = [
    ("cell", lambda p: p.cell.setCurrentIndex(p.cell.findData("lstm")), lambda s: s.cell == "lstm"),
    ("cell relu", lambda p: p.cell.setCurrentIndex(p.cell.findData("rnn-relu")),
     lambda s: (s.cell, s.nonlinearity) == ("rnn", "relu")),
    ("hidden", lambda p: p.hidden_size.setValue(5), lambda s: s.hidden_size == 5),
    ("input size", lambda p: p.input_size.setValue(2), lambda s: s.input_size == 2),
    ("steps", lambda p: p.steps.setValue(33), lambda s: s.steps == 33),
    ("seed", lambda p: p.seed.setValue(7), lambda s: s.seed == 7),
    ("init", lambda p: p.init.setCurrentText("orthogonal"), lambda s: s.init == "orthogonal"),
    ("W_R slider", lambda p: p.wr_scale.slider.setValue(p.wr_scale.to_tick(2.0)),
     lambda s: s.wr_scale == pytest.approx(2.0, rel=0.01)),
    ("W_R spin", lambda p: p.wr_scale.spin.setValue(1.25), lambda s: s.wr_scale == 1.25),
    ("input", lambda p: p.input.setCurrentText("step"), lambda s: s.input == "step"),
    ("amplitude", lambda p: p.amplitude.spin.setValue(2.5), lambda s: s.amplitude == 2.5),
    ("h0", lambda p: p.h0.slider.setValue(p.h0.to_tick(0.5)), lambda s: s.h0 == 0.5),
]


@pytest.mark.parametrize("name, edit, check", WIDGET_EDITS, ids=[e[0] for e in WIDGET_EDITS])
def test_each_control_changes_the_scene(make_window, qtbot, wait_idle, name, edit, check):
    window = make_window()
    edit(window.controls)
    settle(qtbot, window, wait_idle, check)
    scene = window.controller.shown_scene
    assert recorder(window).scene == scene
    np.testing.assert_array_equal(recorder(window).analysis.jac.h_fro,
                                  core_analysis(scene).jac.h_fro)


def test_gate_controls(make_window, qtbot, wait_idle):
    window = make_window(Scene(cell="lstm", hidden_size=4, steps=30))
    p = window.controls
    p.forget_bias.spin.setValue(2.0)
    settle(qtbot, window, wait_idle, lambda s: s.forget_bias == 2.0)
    p.forget_clamp.spin.setValue(0.95)      # moving the clamp slider switches the clamp on
    settle(qtbot, window, wait_idle, lambda s: s.forget_clamp == 0.95)
    assert p.clamp_on.isChecked()
    np.testing.assert_allclose(window.controller.analysis.gate_stats["f_mean"], 0.95)
    p.clamp_on.setChecked(False)
    settle(qtbot, window, wait_idle, lambda s: s.forget_clamp is None)
    p.cell.setCurrentIndex(p.cell.findData("gru"))
    settle(qtbot, window, wait_idle, lambda s: s.cell == "gru")
    p.update_bias.slider.setValue(p.update_bias.to_tick(3.0))
    settle(qtbot, window, wait_idle, lambda s: s.update_bias == 3.0)
    np.testing.assert_array_equal(window.controller.analysis.update_path,
                                  core_analysis(window.controller.shown_scene).update_path)
    p.update_bias_reset.click()
    settle(qtbot, window, wait_idle, lambda s: s.update_bias is None)


def test_only_relevant_controls_are_shown(make_window, qtbot, wait_idle):
    window = make_window()
    p = window.controls
    gates_box = p.forms["Gates"].parentWidget()
    assert not gates_box.isVisibleTo(p)
    window.controller.update(cell="lstm")
    assert gates_box.isVisibleTo(p) and p.forget_bias.isVisibleTo(p)
    assert not p.update_bias.isVisibleTo(p)
    window.controller.update(cell="gru")
    assert p.update_bias.isVisibleTo(p) and not p.forget_bias.isVisibleTo(p)
    window.controller.update(cell="rnn", hidden_size=1)
    assert p.w_scalar.isVisibleTo(p) and not p.wr_scale.isVisibleTo(p)
    for w in (p.cell, p.hidden_size, p.wr_scale.slider, p.forget_bias.spin, p.update_bias.slider,
              p.amplitude, p.h0, p.load_state_dict, p.load_csv, p.clamp_on, p.w_scalar):
        assert w.toolTip(), w


# ---------------------------------------------------------------- model → widget

def test_controller_changes_move_the_controls(make_window, qtbot, wait_idle):
    window = make_window()
    p, c = window.controls, window.controller
    sent = []
    c.scene_changed.connect(sent.append)
    c.update(wr_scale=2.0)
    assert p.wr_scale.slider.value() == p.wr_scale.to_tick(2.0) and p.wr_scale.value() == 2.0
    c.update(cell="lstm", forget_bias=1.5, forget_clamp=0.8, amplitude=3.0, h0=-0.5, seed=9)
    assert p.cell.currentData() == "lstm" and p.forget_bias.value() == 1.5
    assert p.clamp_on.isChecked() and p.forget_clamp.value() == 0.8
    assert (p.amplitude.value(), p.h0.value(), p.seed.value()) == (3.0, -0.5, 9)
    c.set_scene(Scene(cell="rnn", nonlinearity="sigmoid", hidden_size=1, wr_scale=-2.5, steps=20))
    assert p.cell.currentData() == "rnn-sigmoid" and p.hidden_size.value() == 1
    assert p.w_scalar.value() == -2.5 and p.steps.value() == 20
    # no echo: setting the widgets from the model sent nothing back
    assert len(sent) == 3
    settle(qtbot, window, wait_idle, lambda s: s.wr_scale == -2.5)
    assert c.analysis.trace.net.params["weight_hh_l0"][0, 0] == -2.5


# ---------------------------------------------------------------- transport

def test_transport_keys_move_the_step(make_window, qtbot):
    window = make_window()
    c = window.controller
    view = recorder(window)
    qtbot.keyClick(window, Qt.Key.Key_Home)
    assert c.step == 0 and view.step == 0
    qtbot.keyClick(window, Qt.Key.Key_Right)
    qtbot.keyClick(window, Qt.Key.Key_Right)
    assert c.step == 2 and view.step == 2
    np.testing.assert_allclose(view.row.h, core_analysis(Scene()).row(2).h, atol=1e-12)
    qtbot.keyClick(window, Qt.Key.Key_Left)
    assert c.step == 1
    qtbot.keyClick(window, Qt.Key.Key_End)
    assert c.step == 100 and window.transport.timeline.value() == 100
    qtbot.keyClick(window, Qt.Key.Key_Space)          # at the end: play from the start
    assert window.transport.playing and c.step == 0
    qtbot.waitUntil(lambda: c.step >= 3, timeout=3000)
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert not window.transport.playing
    stopped = c.step
    qtbot.wait(150)
    assert c.step == stopped
    assert window.transport.step_label.text() == f"t = {stopped} / 100"


def test_play_grows_step_by_step_to_the_end(make_window, qtbot):
    window = make_window(Scene(steps=12))
    c, view = window.controller, recorder(window)
    seen = []
    c.step_changed.connect(seen.append)
    window.transport.set_speed(100)
    window.transport.to_start()
    window.transport.play()
    qtbot.waitUntil(lambda: not window.transport.playing, timeout=3000)
    # by the clock: each frame shows the step due (one or more on), in order, to the end
    assert seen[0] == 0 and seen[-1] == 12 and seen == sorted(set(seen))
    assert view.step == 12 and view.row is not None and view.row.t == 12


def test_timeline_scrubs(make_window):
    window = make_window()
    window.transport.timeline.setValue(37)
    assert window.controller.step == 37 and recorder(window).step == 37
    assert window.numbers_text.startswith("t = 37/100")


def test_pair_selected_moves_the_cursor(make_window):
    window = make_window()
    recorder(window).pair_selected.emit(25, 3)
    assert window.controller.step == 25


# ---------------------------------------------------------------- compare, errors, look

def test_compare_mode_shows_three_cells(make_window, qtbot):
    window = make_window(Scene(steps=30, hidden_size=4))
    compare = window.compare_view
    assert not window.docks["compare"].isVisible()
    window.actions_["compare"].trigger()
    qtbot.waitUntil(lambda: getattr(compare, "results", None) is not None, timeout=5000)
    assert window.docks["compare"].isVisible()
    assert sorted(compare.results) == ["gru", "lstm", "rnn"]
    assert compare.compare_step == 30
    window.controller.set_step(10)
    assert compare.step == 10
    window.actions_["compare"].trigger()
    assert not window.docks["compare"].isVisible() and not window.controller.compare


def test_bad_file_shows_a_message_and_keeps_the_scene(make_window, qtbot, tmp_path):
    window = make_window()
    c = window.controller
    before, analysis = c.shown_scene, c.analysis
    bad = tmp_path / "inputs.csv"
    bad.write_text("1\n2\nnope\n")
    window.open_inputs_csv(str(bad))
    qtbot.waitUntil(lambda: window.last_error is not None, timeout=5000)
    assert "inputs.csv" in window.last_error and "row 3" in window.last_error
    assert window.error_label.isVisible() and "inputs.csv" in window.error_label.text()
    assert window.message_box.isVisible() and "inputs.csv" in window.message_box.text()
    window.message_box.close()
    assert c.shown_scene == before == c.scene and c.analysis is analysis
    assert recorder(window).analysis is analysis
    assert window.controls.csv_label.text() == "inputs from the signal above"


def test_theme_font_and_presentation(make_window, qtbot):
    window = make_window()
    view = recorder(window)
    window.actions_["dark"].trigger()
    assert view.appearance.dark and window.settings.dark
    window.actions_["font_up"].trigger()
    assert view.appearance.font_pt == 12
    window.actions_["presentation"].trigger()
    assert window.presentation and window.isFullScreen()
    from gradviz.gui.presentation import presentation_font_pt, screen_size
    # the font follows the presenting screen (tests/gui/test_presentation.py: every size)
    assert view.appearance.font_pt == max(12, presentation_font_pt(screen_size(window)))
    assert view.appearance.line_width >= 3
    assert not window.docks["controls"].isVisible()
    window.actions_["controls"].trigger()             # F9: controls back while presenting
    assert window.docks["controls"].isVisible()
    window.actions_["presentation"].trigger()
    assert not window.presentation and view.appearance.font_pt == 12


def test_settings_round_trip(make_window, qtbot, wait_idle):
    window = make_window()
    window.set_dark(True)
    window.set_font_pt(14)
    window.transport.set_speed(50)
    window.controller.update(cell="gru", hidden_size=3, update_bias=1.5)
    settle(qtbot, window, wait_idle, lambda s: s.cell == "gru")
    window.close()
    window.controller.wait()
    stored = Settings()
    assert stored.dark and stored.font_pt == 14 and stored.speed == 50
    assert stored.scene() == window.controller.shown_scene
    assert stored.geometry() is not None and stored.window_state() is not None

    from gradviz.gui.app import create_window
    again = create_window()
    qtbot.addWidget(again)
    assert again.controller.scene == Scene(cell="gru", hidden_size=3, update_bias=1.5)
    assert again.dark and again.font_pt == 14 and again.transport.speed_value() == 50
    again.controller.wait()


def test_broken_settings_fall_back(qtbot):
    settings = Settings()
    settings.store.setValue("scene/last", "{not json")
    settings.store.setValue("view/font_pt", "huge")
    assert settings.scene() is None and settings.font_pt is None
    settings.store.setValue("scene/last", '{"cell": "gru", "inputs_path": "/no/such.csv"}')
    assert settings.scene() == Scene(cell="gru")


def test_settings_stay_in_the_test_folder(private_settings):
    assert Settings().store.fileName().startswith(str(private_settings))


def test_file_menu_has_room_for_sessions_and_export(make_window):
    from PyQt6.QtGui import QAction

    window = make_window()
    save = QAction("Save session", window)
    export = QAction("Export…", window)
    window.add_file_action(save, "session")
    window.add_file_action(export, "export")
    names = [a.text() for a in window.menus["file"].actions() if not a.isSeparator()]
    assert names.index("Save session") < names.index("Export…") < names.index("&Quit")
    state = window.layout_state()
    assert window.restore_layout_state(state)


def test_a_session_opens_with_its_embedded_data(qtbot, wait_idle, tmp_path):
    from gradviz.core.session import Session, load_session, save_session
    from gradviz.gui.app import create_window

    csv = tmp_path / "x.csv"
    csv.write_text("\n".join(str(k % 5) for k in range(20)))
    scene = Scene(cell="lstm", hidden_size=3, inputs_path=str(csv), steps=20, amplitude=0.5)
    raw = np.array([[k % 5] for k in range(20)], dtype=float)
    path = save_session(tmp_path / "s.gradviz.json",
                        Session(scene=scene, step=7, compare=True, inputs=raw))
    csv.unlink()                       # the embedded copy is used, not the file
    window = create_window(session=load_session(path))
    qtbot.addWidget(window)
    c = window.controller
    errors = []
    c.error.connect(errors.append)
    c.start()
    wait_idle(c)
    qtbot.waitUntil(lambda: c.compare_results is not None, timeout=5000)
    assert errors == []
    assert c.shown_scene == scene and c.step == 7 and c.compare
    np.testing.assert_array_equal(c.analysis.trace.inputs, 0.5 * raw)
    np.testing.assert_array_equal(c.raw_inputs(), raw)
    assert c.base_net() is not None
    c.wait()
