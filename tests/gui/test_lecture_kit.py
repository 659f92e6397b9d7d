"""The lecture kit in the real window: exports open as what they claim, sessions, presets."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PyQt6.QtCore import Qt, QTimer
from PyQt6.QtGui import QImage
from PyQt6.QtWidgets import QApplication, QMessageBox, QPushButton

from gradviz.core import plotdata
from gradviz.core.errors import GradvizError
from gradviz.core.files import TargetExistsError
from gradviz.core.scene import Scene, analyse, simulate
from gradviz.core.tables import read_csv_table
from gradviz.gui.animation_export import frame_steps
from gradviz.gui.export_actions import DASHBOARD, export_csv, export_figure, targets, view_columns
from gradviz.gui.exporting import image_to_array
from gradviz.gui.figure import dashboard_spec

SMALL = Scene(hidden_size=4, steps=12)


@pytest.fixture
def kit_window(open_window):
    """kit_window(scene=SMALL, **create_window options) -> a shown window with the lecture kit."""
    def make(scene=SMALL, size=(1300, 850), **kwargs):
        return open_window(scene, size, **kwargs)

    return make


def answer_next_box(qtbot, button=None, seen=None):
    """Press ``button`` (a StandardButton; None: the default) in the next modal message box."""
    def press():
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(20, press)
            return
        if seen is not None:
            seen.append(box.text())
        target = box.button(button) if button is not None else box.defaultButton()
        (target or box.buttons()[0]).click()
    QTimer.singleShot(20, press)


def settle(qtbot, window, check, wait_idle):
    qtbot.waitUntil(lambda: check(window.controller), timeout=8000)
    wait_idle(window.controller)


# ---------------------------------------------------------------- figures

def test_figures_of_a_view_open_as_png_svg_and_pdf(kit_window, tmp_path):
    from pypdf import PdfReader

    window = kit_window()
    view = window.views["Gradient flow"]
    size = (view.width(), view.height())
    png = export_figure(window, "gradient_flow", tmp_path / "flow.png", scale=2)
    img = QImage(str(png))
    assert (img.width(), img.height()) == (2 * size[0], 2 * size[1])
    rgb = image_to_array(img)
    assert rgb[0, 0].tolist() == [255, 255, 255]
    blue = (rgb[:, :, 2] > 120) & (rgb[:, :, 0] < 60)
    assert blue.sum() > 200                                   # the measured curve is drawn
    assert view.controls.isVisible()                          # its buttons come back

    root = ET.parse(export_figure(window, "gradient_flow", tmp_path / "flow.svg")).getroot()
    ns = "{http://www.w3.org/2000/svg}"
    texts = " ".join("".join(t.itertext()) for t in root.iter(ns + "text"))
    assert "lag t" in texts and "Gradient flow at t = 12" in texts
    assert "Norm" not in texts                                # the view's buttons are left out
    paths = [p.get("d", "") for p in root.iter(ns + "path")]
    assert max(p.count("L") for p in paths) >= 11             # a 13-point curve as one path

    pdf = PdfReader(str(export_figure(window, "gradient_flow", tmp_path / "flow.pdf")))
    text = " ".join(pdf.pages[0].extract_text().replace("\ufb02", "fl").split())
    assert "lag t − i" in text and "Gradient flow at t = 12" in text
    assert b" l" in pdf.pages[0].get_contents().get_data()   # line-to operators: vector curves


def test_dashboard_png_and_white_background_in_dark_theme(kit_window, tmp_path):
    window = kit_window()
    window.set_dark(True)
    path = export_figure(window, DASHBOARD, tmp_path / "all.png", scale=1, white=True)
    img = QImage(str(path))
    # the shown views alone (tests/gui/test_figure.py): not the window with its menus
    assert (img.width(), img.height()) == dashboard_spec(window).pixel_size
    assert image_to_array(img).mean() > 200                   # light plots for slides
    assert window.dark and window.appearance().dark           # the screen keeps its theme
    dark = export_figure(window, "gradient_flow", tmp_path / "dark.png", scale=1, white=False)
    assert image_to_array(QImage(str(dark))).mean() < 120


def test_existing_file_is_replaced_only_after_asking(kit_window, tmp_path, qtbot):
    from gradviz.gui.file_dialogs import write_or_ask

    window = kit_window()
    target = tmp_path / "flow.png"
    target.write_bytes(b"keep me")
    with pytest.raises(TargetExistsError):
        export_figure(window, "gradient_flow", target)
    assert target.read_bytes() == b"keep me"
    write = lambda ow: export_figure(window, "gradient_flow", target, overwrite=ow)
    seen = []
    answer_next_box(qtbot, QMessageBox.StandardButton.No, seen)
    assert write_or_ask(window, write, target) is None
    assert target.read_bytes() == b"keep me" and "already exists" in seen[0]
    answer_next_box(qtbot, QMessageBox.StandardButton.Yes)
    assert write_or_ask(window, write, target) == target
    assert QImage(str(target)).width() > 0
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []   # no temp files


def test_clipboard_holds_the_current_view(kit_window, qtbot):
    window = kit_window()
    exporter = window.lecture.exporter
    exporter.set_current("states")
    view = window.views["States"]
    window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier
                   | Qt.KeyboardModifier.ShiftModifier)
    image = QApplication.clipboard().image()
    assert not image.isNull()
    assert image.width() == 2 * view.width()
    assert exporter.copy_action.text() == "&Copy States to clipboard"


def test_clicking_a_view_makes_it_the_export_target(kit_window, qtbot):
    window = kit_window()
    exporter = window.lecture.exporter
    assert exporter.current == "gradient_flow"
    gates = window.views["Gates"]
    qtbot.mouseClick(gates.graphics.viewport(), Qt.MouseButton.LeftButton)
    assert exporter.current == "gates"
    assert exporter.target_combo.currentData() == "gates"
    assert "Gates" in exporter.target_menu.title()


def test_hidden_or_absent_views_are_a_clear_error(kit_window, tmp_path):
    window = kit_window()
    with pytest.raises(GradvizError, match="compare mode"):
        export_figure(window, "compare", tmp_path / "c.png")
    window.docks["StatesView"].hide()
    with pytest.raises(GradvizError, match="hidden"):
        export_figure(window, "states", tmp_path / "s.png")
    assert list(tmp_path.glob("*.png")) == []


# ---------------------------------------------------------------- data

def _expected_columns(window, stem):
    c = window.controller
    a, t = c.analysis, c.step
    if stem == "states":
        return plotdata.unit_columns(plotdata.states(a, t))
    if stem == "gates":
        return plotdata.unit_columns(plotdata.gates(a, t))
    if stem == "gradient_flow":
        return plotdata.gradient_flow(a, t, a.row(t))
    if stem == "jacobian_map":
        return plotdata.pair_table(plotdata.jacobian_map(a))
    if stem == "step_factors":
        return plotdata.step_factors(a, t)
    if stem == "jacobian_step":
        return {"t": [float(t)], **plotdata.unit_columns(plotdata.jacobian_at_step(a, t))}
    return {f"{cell}_{k}": v for cell, r in c.compare_results.items()
            for k, v in plotdata.gradient_flow(r, min(t, r.steps), r.rows.get(min(t, r.steps))).items()
            if k != "lag"}


def _assert_table(path, expected):
    table = read_csv_table(path)
    for name, values in expected.items():
        values = np.asarray(values, dtype=np.float64)
        np.testing.assert_array_equal(table[name][:len(values)], values, err_msg=name)
        assert np.all(np.isnan(table[name][len(values):]))
    return table


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_csv_of_every_view_reads_back_as_the_plotted_data(kit_window, tmp_path, cell, qtbot,
                                                         wait_idle):
    window = kit_window(SMALL.replace(cell=cell))
    window.controller.set_step(9)
    stems = [s for s in targets(window) if s not in (DASHBOARD, "compare", "lyapunov", "phase")]
    assert len(stems) == 6
    for stem in stems:
        path = export_csv(window, stem, tmp_path / f"{stem}.csv")
        expected = _expected_columns(window, stem)
        table = _assert_table(path, expected)
        assert list(table) == list(view_columns(stem, window.controller.analysis, 9,
                                                window.controller.row(9)))
    header = (tmp_path / "gradient_flow.csv").read_text().splitlines()[0]
    assert header.startswith("lag,log10_jac_h,log10_jac_h_fro")
    if cell == "lstm":
        assert "log10_forget_path" in header
        assert "f_0" in (tmp_path / "gates.csv").read_text().splitlines()[0]
    window.controller.set_compare(True)
    qtbot.waitUntil(lambda: window.controller.compare_results is not None, timeout=8000)
    table = _assert_table(export_csv(window, "compare", tmp_path / "compare.csv"),
                          _expected_columns(window, "compare"))
    assert {"lag", "rnn_log10_jac_h_fro", "lstm_log10_jac_h_fro", "gru_log10_jac_h_fro"} <= set(table)


def test_trace_npz_equals_the_exact_float64_analysis(kit_window, tmp_path, qtbot):
    scene = SMALL.replace(cell="lstm", forget_bias=1.0)
    window = kit_window(scene)
    export = window.lecture.exporter.trace_export
    with qtbot.waitSignal(export.written, timeout=10_000) as done:
        export.start(window, tmp_path / "trace.npz")
    assert done.args == [str(tmp_path / "trace.npz")]
    expected = analyse(simulate(scene), exact=True, dtype=np.float64).arrays()
    with np.load(tmp_path / "trace.npz") as data:
        assert set(expected) <= set(data.files)
        for name, values in expected.items():
            assert data[name].dtype == np.float64 or name == "overflow_step", name
            np.testing.assert_array_equal(data[name], values, err_msg=name)
    with pytest.raises(TargetExistsError):
        export.start(window, tmp_path / "trace.npz")


# ---------------------------------------------------------------- animation

def _run_animation(window, qtbot, path, names, steps, cancel_after=None, **kwargs):
    exporter = window.lecture.exporter
    job = exporter.start_animation(path, names, steps, **kwargs)
    if cancel_after is not None:
        cancel = exporter.progress_dialog.findChild(QPushButton)
        assert cancel.text() == "Cancel"
        job.progress.connect(lambda done, _n: done == cancel_after and cancel.click())
    qtbot.waitUntil(lambda: job.finished, timeout=30_000)
    return job


def test_gif_has_one_frame_per_step_and_the_window_returns_to_its_step(kit_window, qtbot,
                                                                       tmp_path):
    from PIL import Image

    window = kit_window()
    window.controller.set_step(5)
    steps = frame_steps(0, 12, 1)
    job = _run_animation(window, qtbot, tmp_path / "flow.gif", ["gradient_flow", "states"], steps)
    assert job.written and job.message == ""
    with Image.open(tmp_path / "flow.gif") as gif:
        assert gif.n_frames == len(steps) == 13
        flow, states = window.views["Gradient flow"], window.views["States"]
        assert gif.size[0] >= flow.width() + states.width() - 2
    assert window.controller.step == 5
    assert window.views["Gradient flow"].step == 5
    assert window.views["Gradient flow"].controls.isVisible()


def test_mp4_of_the_dashboard_every_third_step(kit_window, qtbot, tmp_path):
    import imageio_ffmpeg

    window = kit_window(size=(900, 600))
    steps = frame_steps(0, 12, 3)
    assert steps == [0, 3, 6, 9, 12]
    job = _run_animation(window, qtbot, tmp_path / "all.mp4", [DASHBOARD], steps, fps=5)
    assert job.written
    frames, _secs = imageio_ffmpeg.count_frames_and_secs(str(tmp_path / "all.mp4"))
    assert frames == 5


def test_cancelled_animation_leaves_no_file(kit_window, qtbot, tmp_path):
    window = kit_window()
    out = tmp_path / "out"
    out.mkdir()
    job = _run_animation(window, qtbot, out / "flow.gif", ["gradient_flow"], list(range(13)),
                         cancel_after=3)
    assert not job.written and job.cancelled
    assert list(out.iterdir()) == []
    assert window.controller.step == 12 and window.views["Gradient flow"].controls.isVisible()


def test_quitting_during_an_animation_cancels_it(kit_window, qtbot, tmp_path):
    window = kit_window()
    out = tmp_path / "out"
    out.mkdir()
    job = window.lecture.exporter.start_animation(out / "flow.mp4", ["gradient_flow"],
                                                  list(range(13)))
    qtbot.waitUntil(lambda: job.rendered >= 2, timeout=5000)
    window.close_guards.clear()
    window.close()
    qtbot.waitUntil(lambda: job.finished, timeout=10_000)
    assert not job.written and list(out.iterdir()) == []


# ---------------------------------------------------------------- sessions

def _csv_scene(tmp_path):
    csv = tmp_path / "x.csv"
    csv.write_text("\n".join(f"{np.sin(k / 3):.6f}" for k in range(15)))
    return csv, Scene(cell="gru", hidden_size=3, inputs_path=str(csv), steps=15, amplitude=0.7)


def test_session_round_trip_is_bit_for_bit_with_step_and_layout(kit_window, tmp_path, qtbot,
                                                                wait_idle):
    csv, scene = _csv_scene(tmp_path)
    window = kit_window(scene)
    c, sessions = window.controller, window.lecture.sessions
    c.set_step(6)
    window.docks["StatesView"].hide()
    before = c.analysis
    path = sessions.save_to(tmp_path / "lecture.gradviz.json")
    assert not sessions.is_dirty() and window.windowTitle().startswith("lecture.gradviz.json")
    csv.unlink()                                        # the session embeds the inputs

    c.update(hidden_size=5)
    settle(qtbot, window, lambda c: c.shown_scene.hidden_size == 5, wait_idle)
    c.set_step(2)
    window.docks["StatesView"].show()
    assert sessions.is_dirty() and window.isWindowModified()

    sessions.open_path(path)
    settle(qtbot, window, lambda c: c.shown_scene == scene, wait_idle)
    assert c.step == 6 and not window.docks["StatesView"].isVisible()
    np.testing.assert_array_equal(c.analysis.trace.inputs, before.trace.inputs)
    np.testing.assert_array_equal(c.analysis.trace.layers[0][0].h, before.trace.layers[0][0].h)
    np.testing.assert_array_equal(c.analysis.jac.h_fro, before.jac.h_fro)
    np.testing.assert_array_equal(c.row(6).h, before.row(6).h)
    assert not sessions.is_dirty()


def test_recent_sessions_and_a_vanished_entry(kit_window, tmp_path, qtbot, wait_idle):
    from gradviz.gui.session_actions import recent_sessions

    window = kit_window()
    sessions = window.lecture.sessions
    a = sessions.save_to(tmp_path / "a.gradviz.json")
    window.controller.update(seed=3)
    settle(qtbot, window, lambda c: c.shown_scene.seed == 3, wait_idle)
    b = sessions.save_to(tmp_path / "b.gradviz.json")
    assert recent_sessions(window.settings) == [str(b.resolve()), str(a.resolve())]
    sessions._fill_recent()
    names = [act.text() for act in sessions.recent_menu.actions()]
    assert names[:2] == ["&1 b.gradviz.json", "&2 a.gradviz.json"]

    assert sessions.open_recent(str(a.resolve()))
    settle(qtbot, window, lambda c: c.shown_scene.seed == 0, wait_idle)
    assert recent_sessions(window.settings)[0] == str(a.resolve())

    b.unlink()
    seen = []
    answer_next_box(qtbot, seen=seen)
    assert not sessions.open_recent(str(b.resolve()))
    assert "no longer exists" in seen[0]
    assert recent_sessions(window.settings) == [str(a.resolve())]


def test_malformed_or_foreign_session_changes_nothing(kit_window, tmp_path, qtbot):
    window = kit_window()
    c, sessions = window.controller, window.lecture.sessions
    scene, step = c.shown_scene, c.step
    bad = tmp_path / "bad.gradviz.json"
    for text, words in (("{ not json", "not JSON"),
                        ('{"format": "something-else"}', "not a gradviz session"),
                        ('{"format": "gradviz-session", "version": 1, "scene": {"cell": "xyz"}}',
                         "cell")):
        bad.write_text(text)
        seen = []
        answer_next_box(qtbot, seen=seen)
        assert not sessions._open_reporting(bad)
        assert words in seen[0]
        assert c.scene == scene and c.shown_scene == scene and c.step == step
        assert not c.is_busy and sessions.path is None


def test_quitting_with_unsaved_changes_asks(kit_window, tmp_path, qtbot, wait_idle):
    window = kit_window()
    c, sessions = window.controller, window.lecture.sessions
    assert not sessions.is_dirty()
    c.update(hidden_size=6)
    settle(qtbot, window, lambda c: c.shown_scene.hidden_size == 6, wait_idle)
    assert sessions.is_dirty()

    answer_next_box(qtbot, QMessageBox.StandardButton.Cancel)
    window.close()
    assert window.isVisible()

    sessions.path = tmp_path / "kept.gradviz.json"      # Save writes to the open file
    answer_next_box(qtbot, QMessageBox.StandardButton.Save)
    window.close()
    assert not window.isVisible()
    from gradviz.core.session import load_session
    assert load_session(tmp_path / "kept.gradviz.json").scene.hidden_size == 6


def test_discarding_unsaved_changes_quits_cleanly(kit_window, qtbot, wait_idle):
    from gradviz.gui.session_actions import marker_path

    window = kit_window()
    window.controller.set_step(3)
    assert window.lecture.sessions.is_dirty()
    assert marker_path().is_file()
    answer_next_box(qtbot, QMessageBox.StandardButton.Discard)
    window.close()
    assert not window.isVisible()
    assert not marker_path().is_file()                  # a clean quit: no crash next time


def test_autosave_is_offered_back_after_a_crash(kit_window, qtbot, wait_idle):
    from gradviz.core.session import autosave_path

    crashed = kit_window()
    sessions = crashed.lecture.sessions
    sessions._autosave_timer.setInterval(50)
    crashed.controller.update(cell="lstm", forget_bias=1.0)
    settle(qtbot, crashed, lambda c: c.shown_scene.cell == "lstm", wait_idle)
    crashed.controller.set_step(7)
    qtbot.waitUntil(lambda: autosave_path().is_file() and sessions._autosaved_state is not None
                    and sessions._autosaved_state[1] == 7, timeout=5000)
    lost = crashed.controller.shown_scene
    # the crashed window never quits: its marker stays; a new start finds both
    window = kit_window(Scene())
    again = window.lecture.sessions
    assert again.crashed_session is not None and again.crashed_session.scene == lost
    answer_next_box(qtbot, QMessageBox.StandardButton.Yes)
    assert again.offer_restore()
    settle(qtbot, window, lambda c: c.shown_scene == lost, wait_idle)
    assert window.controller.step == 7
    assert again.is_dirty()                             # restored work is not saved anywhere


def test_no_restore_offer_after_a_clean_quit(kit_window, qtbot):
    first = kit_window()
    first.lecture.sessions.autosave_now()
    first.close_guards.clear()
    first.close()
    second = kit_window()
    assert second.lecture.sessions.crashed_session is None
    assert not second.lecture.sessions.offer_restore()


# ---------------------------------------------------------------- presets

def test_gallery_opens_every_preset(kit_window, qtbot, wait_idle):
    from gradviz.core.presets import list_presets

    window = kit_window()
    presets = list_presets()
    gallery = window.lecture.presets.show_gallery()
    assert gallery.list.count() == len(presets) >= 11
    assert len(window.lecture.presets.menu.actions()) == len(presets) + 2
    for row, preset in enumerate(presets):
        gallery = window.lecture.presets.show_gallery()
        gallery.list.setCurrentRow(row)
        assert preset.title.split(":")[0][:10] in gallery.text.toPlainText()
        gallery.open_selected()
        assert not gallery.isVisible()
        settle(qtbot, window, lambda c, p=preset: c.shown_scene is not None
               and c.scene == c.shown_scene and c.analysis is not None
               and c.shown_scene.spec() == p.scene.spec(), wait_idle)
        c = window.controller
        assert c.shown_scene == preset.scene, preset.name
        assert c.compare == preset.compare
        assert window.windowTitle().startswith(preset.name)
        assert not window.lecture.sessions.is_dirty()


def test_gallery_double_click_and_window_started_on_a_preset(kit_window, qtbot, wait_idle):
    from gradviz.core.presets import load_preset

    preset = load_preset("compare-cells")
    window = kit_window(None, preset=preset)
    c = window.controller
    settle(qtbot, window, lambda c: c.shown_scene == preset.scene, wait_idle)
    assert c.compare and c.step == preset.scene.steps
    gallery = window.lecture.presets.show_gallery(select="tanh-vanishing")
    item = gallery.list.currentItem()
    assert "vanishes" in item.text()
    gallery.list.itemDoubleClicked.emit(item)
    settle(qtbot, window, lambda c: c.shown_scene == load_preset("tanh-vanishing").scene, wait_idle)
    assert not c.compare


def test_run_app_refuses_an_unknown_preset_before_opening():
    from gradviz.gui.app import run_app

    with pytest.raises(GradvizError, match="unknown preset"):
        run_app(["gradviz"], preset="no-such-preset")
