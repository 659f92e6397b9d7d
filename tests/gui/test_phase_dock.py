"""The edge of chaos in the window: the Lyapunov view and status line show the core's exponents,
the phase dock draws the core's grid, a click opens that point's scene (with the same λ₁)."""
from __future__ import annotations

import numpy as np
import pytest
from PyQt6.QtCore import Qt

from gradviz.core.lyapunov import lyapunov, mean_field_rate
from gradviz.core.phase import compute_phase, point_scene, scene_point
from gradviz.core.scene import Scene
from gradviz.gui.app import create_window

GAIN2 = Scene(hidden_size=8, steps=60, init="gaussian", wr_scale=None, gain=2.0, input="zeros",
              h0=0.5)


@pytest.fixture
def window(qtbot, wait_idle):
    made = []

    def make(scene=GAIN2, size=(1400, 900)):
        w = create_window(scene, autosave=False)
        w.resize(*size)
        w.show()
        qtbot.waitExposed(w)
        w.controller.start()
        wait_idle(w.controller)
        qtbot.waitUntil(lambda: w.lyapunov.result is not None and not w.lyapunov.busy,
                        timeout=10_000)
        made.append(w)
        return w

    yield make
    for w in made:
        w.close_guards.clear()
        w.close()
        w.controller.wait()
        w.deleteLater()


def test_the_view_and_the_status_line_show_the_cores_exponents(window, qtbot):
    w = window()
    analysis = w.controller.analysis
    ref = lyapunov(analysis.jacobians, transient=12, seed=0)
    panel, view = w.lyapunov, w.views["Lyapunov exponents"]
    np.testing.assert_allclose(panel.result.exponents, ref.exponents, atol=1e-12)
    assert panel.mean_field == pytest.approx(mean_field_rate(2.0))
    assert f"{ref.lambda1:+.3f}" in panel.label.text()
    w.docks["LyapunovView"].raise_()     # its tab to the front: a view behind a tab draws then
    qtbot.waitUntil(lambda: view.on_screen and view.curves[0].getData()[0] is not None)
    assert view.theory.isVisible() and view.theory.value() == pytest.approx(mean_field_rate(2.0))
    t, lam = view.curves[0].getData()
    assert t[0] == 13 and t[-1] == 60 and lam[-1] == pytest.approx(ref.lambda1)
    assert len(view.curves[1].getData()[1]) == 48
    assert f"{ref.lambda1:+.4f}" in view.info.text
    # the cursor moves: the running estimates grow up to it
    w.controller.set_step(30)
    qtbot.waitUntil(lambda: len(view.curves[0].getData()[0]) == 18)
    np.testing.assert_allclose(view.curves[0].getData()[1], ref.running[:18, 0])
    # a new scene (σ_max slider) brings its own exponents; no theory for it
    w.controller.update(wr_scale=0.5)
    qtbot.waitUntil(lambda: panel.result is not None and panel.mean_field is None
                    and not panel.busy, timeout=10_000)
    ref2 = lyapunov(w.controller.analysis.jacobians, transient=12, seed=0)
    assert panel.result.lambda1 == pytest.approx(ref2.lambda1, abs=1e-12) and ref2.lambda1 < 0
    assert not view.theory.isVisible() and "vanishes" in panel.label.text()


def set_grid(dock, g=(0.5, 2.0, 5), y=(0.0, 1.0, 3), seeds=1):
    for box, v in zip((dock.g_lo, dock.g_hi, dock.g_n), g):
        box.setValue(v)
    for box, v in zip((dock.y_lo, dock.y_hi, dock.y_n), y):
        box.setValue(v)
    dock.seeds.setValue(seeds)


def test_the_dock_draws_the_cores_grid_and_a_click_opens_the_point(window, qtbot):
    w = window(GAIN2.replace(input="sine", amplitude=1.0, gain=1.0))
    dock = w.phase
    w.docks["phase"].show()
    w.docks["phase"].raise_()
    assert dock.x_mode.currentData() == "gain" and dock.y_axis.currentData() == "amplitude"
    set_grid(dock)
    qtbot.mouseClick(dock.compute_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dock.busy and dock.result is not None and dock.result.complete,
                    timeout=20_000)
    ref = compute_phase(dock.spec)
    np.testing.assert_array_equal(dock.result.lambda1, ref.lambda1)
    values, limit = ref.display()
    np.testing.assert_array_equal(dock.plot.heat.image.image, values)
    assert dock.plot.heat.bar.levels() == pytest.approx((-limit, limit))
    assert dock.plot.contour.data is not None
    assert "complete" in dock.plot.info.text and "15 points" in dock.status.text()
    # the scene on screen (g = 1, A = 1) is marked, its row drawn below
    (mx,), (my,) = dock.plot.marker.getData()
    assert (10 ** mx, my) == pytest.approx((1.0, 1.0))
    assert dock.plot.grid_row == 2
    _x, lam = dock.plot.measured.getData()
    np.testing.assert_allclose(lam, ref.lambda1[2])
    # widget -> model: a click on a cell of the map opens that point's scene
    plot = dock.plot
    ix, iy = 3, 1
    view_pt = plot.map.vb.mapViewToScene(pg_point(np.log10(dock.spec.g[ix]), dock.spec.y[iy]))
    widget_pt = plot.graphics.mapFromScene(view_pt)
    qtbot.mouseClick(plot.graphics.viewport(), Qt.MouseButton.LeftButton, pos=widget_pt)
    expected = point_scene(dock.spec, ix, iy)
    qtbot.waitUntil(lambda: w.controller.shown_scene == expected, timeout=10_000)
    assert expected.gain == pytest.approx(dock.spec.g[ix]) and expected.amplitude == 0.5
    qtbot.waitUntil(lambda: w.lyapunov.result is not None and not w.lyapunov.busy
                    and w.lyapunov.result.t[-1] == 60, timeout=10_000)
    qtbot.waitUntil(lambda: scene_point(dock.spec, w.controller.shown_scene) ==
                    pytest.approx((dock.spec.g[ix], dock.spec.y[iy])))
    # the opened scene's λ₁ (view, status line) is the diagram's number at that point
    assert w.lyapunov.result.lambda1 == pytest.approx(ref.lambda1[iy, ix], abs=1e-9)
    (mx,), (my,) = dock.plot.marker.getData()
    assert (10 ** mx, my) == pytest.approx((dock.spec.g[ix], dock.spec.y[iy]))
    # computing again is served from the cache
    qtbot.mouseClick(dock.compute_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dock.busy and dock.result.complete, timeout=10_000)
    assert dock.result.cached == 15 and "15 from the cache" in dock.status.text()


def pg_point(x, y):
    from PyQt6.QtCore import QPointF
    return QPointF(float(x), float(y))


def test_cancel_stops_a_big_grid_and_keeps_what_was_computed(window, qtbot):
    w = window(GAIN2.replace(hidden_size=16, steps=200, input="sine"))
    dock = w.phase
    set_grid(dock, g=(0.1, 4.0, 64), y=(0.0, 3.0, 32), seeds=3)
    assert dock.compute()
    qtbot.waitUntil(lambda: dock.result is not None, timeout=20_000)   # the first level drawn
    first = int(dock.result.done.sum())
    assert first > 0 and np.all(np.isfinite(dock.plot.heat.image.image))
    qtbot.mouseClick(dock.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dock.busy, timeout=20_000)
    assert not dock.result.complete and "cancelled" in dock.status.text()
    done = int(dock.result.done.sum())
    assert first <= done < 64 * 32
    assert len(dock.cache) == 3 * done      # one entry per point and seed


def test_second_axis_follows_the_cell_and_bad_ranges_are_refused(window, qtbot, wait_idle):
    w = window()
    dock = w.phase
    assert [dock.y_axis.itemData(k) for k in range(dock.y_axis.count())] == ["amplitude"]
    w.controller.update(cell="lstm")
    wait_idle(w.controller)
    qtbot.waitUntil(lambda: dock.y_axis.count() == 2)
    assert dock.y_axis.currentData() == "forget_bias"
    assert (dock.y_lo.value(), dock.y_hi.value()) == (-3.0, 3.0)
    dock.g_lo.setValue(3.0)
    dock.g_hi.setValue(1.0)
    assert not dock.compute() and "0 < A < B" in dock.status.text()
    dock.x_mode.setCurrentIndex(dock.x_mode.findData("sigma_max"))
    dock.g_lo.setValue(0.5)
    assert dock.make_spec().scene.init == w.controller.shown_scene.init   # the scene's init


def test_reset_layout_keeps_the_new_docks_beside_their_neighbours(window, qtbot):
    w = window()
    w.actions_["reset_layout"].trigger()
    qtbot.waitUntil(lambda: w.docks["LyapunovView"] in w.tabifiedDockWidgets(
        w.docks["StepFactorsView"]))
    assert w.docks["phase"] in w.tabifiedDockWidgets(w.docks["JacobianMapView"])
    assert "Phase diagram" in w.views and "Lyapunov exponents" in w.views


def test_csv_and_figure_export_of_the_new_views(window, qtbot, tmp_path):
    from gradviz.core.tables import read_csv_table
    from gradviz.gui.export_actions import export_csv, export_figure
    w = window()
    r = w.lyapunov.result
    table = read_csv_table(export_csv(w, "lyapunov", tmp_path / "lyapunov.csv"))
    np.testing.assert_allclose(table["t"], r.t)
    np.testing.assert_allclose(table["lambda1_running"], r.running[:, 0])
    n = r.exponents.shape[0]
    np.testing.assert_allclose(table["lambda_i"][:n], r.exponents)
    dock = w.phase
    with pytest.raises(Exception, match="Compute"):
        export_csv(w, "phase", tmp_path / "none.csv")
    set_grid(dock, g=(0.5, 2.0, 3), y=(0.0, 1.0, 2))
    assert dock.compute()
    qtbot.waitUntil(lambda: not dock.busy and dock.result is not None and dock.result.complete,
                    timeout=20_000)
    w.docks["phase"].show()
    w.docks["phase"].raise_()
    table = read_csv_table(export_csv(w, "phase", tmp_path / "phase.csv"))
    np.testing.assert_allclose(table["lambda1"], dock.result.lambda1.ravel())
    np.testing.assert_allclose(table["g"], np.tile(dock.spec.g, 2))
    qtbot.waitUntil(dock.plot.isVisible)
    png = export_figure(w, "phase", tmp_path / "phase.png", scale=1)
    assert png.stat().st_size > 5_000
