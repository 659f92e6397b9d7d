"""What a drag costs the window: axes that stand still, and λ₁ only once the slider rests."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest

from gradviz.core.scene import Scene
from gradviz.gui.views.gradient_flow import GradientFlowView
from gradviz.gui.views.states import StatesView
from gradviz.gui.views.step_factors import StepFactorsView


def y_range(plot):
    return tuple(plot.vb.viewRange()[1])


def drawn_y(item):
    y = item.getData()[1] if hasattr(item, "getData") else item.yData
    return y[np.isfinite(y)] if y is not None else np.array([])


@pytest.fixture
def counted_axes(monkeypatch):
    """How often pyqtgraph lays an axis out again (each costs a redraw of its ticks)."""
    counts = {"n": 0}
    original = pg.AxisItem.generateDrawSpecs

    def counting(self, painter):
        counts["n"] += 1
        counts.setdefault("which", []).append((self.orientation, self.labelText, tuple(self.range)))
        return original(self, painter)

    monkeypatch.setattr(pg.AxisItem, "generateDrawSpecs", counting)
    return counts


def test_a_small_slider_move_moves_no_axis_and_the_data_stay_inside(open_window, wait_idle,
                                                                    qtbot, counted_axes):
    w = open_window(Scene(cell="rnn", hidden_size=6, steps=80, wr_scale=0.9), size=(1400, 900))
    c = w.controller
    states = w.views[StatesView.title].panels["h"]
    factors = w.views[StepFactorsView.title]
    flow = w.views[GradientFlowView.title]
    plots = {"states": states.plot, "factors": factors.lower, "flow": flow.plot}

    def tick(value):
        c.update(wr_scale=value)
        wait_idle(c)
        qtbot.wait(50)                        # painted
        assert c.shown_scene.wr_scale == value

    tick(0.91)                                # the drag begins
    before = {k: y_range(p) for k, p in plots.items()}
    tick(0.92)                                # one more tick: no axis moves
    assert {k: y_range(p) for k, p in plots.items()} == before
    # model → widget: the new numbers are drawn, inside the unchanged ranges
    h = c.analysis.trace.layer().h
    np.testing.assert_allclose(drawn_y(states.curves[0]), h[:, 0], rtol=1e-12)
    lo, hi = before["states"]
    assert lo <= h.min() and h.max() <= hi
    product = drawn_y(factors.product)
    lo, hi = before["factors"]
    assert np.all((lo - 1e-9 <= product) & (product <= hi + 1e-9))
    # no axis is laid out again for a tick (pyqtgraph replays the ticks it drew)
    counted_axes["n"], counted_axes["which"] = 0, []
    tick(0.93)
    assert counted_axes["n"] == 0, counted_axes
    # a big move: the ranges follow, and still hold the data
    tick(3.0)
    h = c.analysis.trace.layer().h
    lo, hi = y_range(states.plot)
    assert lo <= h.min() and h.max() <= hi
    lo, hi = y_range(flow.plot)
    assert hi >= np.nanmax(drawn_y(flow.main))


def test_lyapunov_waits_until_the_slider_rests(open_window, wait_idle, qtbot):
    w = open_window(Scene(cell="rnn", hidden_size=8, steps=60, wr_scale=1.0))
    panel, c = w.lyapunov, w.controller
    qtbot.waitUntil(lambda: not panel.busy, timeout=10_000)
    submitted = []
    panel.runner.submit = lambda *a, _s=panel.runner.submit: (submitted.append(a), _s(*a))[1]
    for k in range(8):                        # a drag: a tick every 30 ms
        c.update(wr_scale=1.0 + 0.05 * (k + 1))
        qtbot.wait(30)
    assert submitted == [] and panel.busy and "…" in panel.label.text()
    qtbot.waitUntil(lambda: not panel.busy, timeout=10_000)
    assert len(submitted) == 1                # once, for the scene the slider rests on
    assert panel.result is not None and c.shown_scene.wr_scale == pytest.approx(1.4)
    assert "λ₁ = " in panel.label.text()


@pytest.mark.parametrize("defer_s", [60.0, 0.0])
def test_lyapunov_waits_for_the_maps_and_rows_of_the_scene(open_window, qtbot, monkeypatch,
                                                           defer_s):
    """λ₁ shares the machine with the map: once the slider rests, it starts only when the
    controller's workers are idle (here an LSTM's full maps take a second or more), or when
    LYAPUNOV_DEFER_S have passed (0 here: at once, beside the maps)."""
    from gradviz.gui import phase_dock

    monkeypatch.setattr(phase_dock, "LYAPUNOV_DEFER_S", defer_s)
    w = open_window(Scene(cell="rnn", hidden_size=8, steps=60))
    panel, c = w.lyapunov, w.controller
    qtbot.waitUntil(lambda: not panel.busy, timeout=10_000)
    busy_at_submit = []
    panel.runner.submit = lambda *a, _s=panel.runner.submit: (
        busy_at_submit.append(c.is_busy), _s(*a))[1]
    c.update(cell="lstm", hidden_size=64, steps=200)
    qtbot.waitUntil(lambda: c.shown_scene.cell == "lstm", timeout=10_000)
    qtbot.waitUntil(lambda: not panel.busy, timeout=60_000)
    assert busy_at_submit == [defer_s == 0.0]
    assert "λ₁ = " in panel.label.text()


def test_a_window_closed_while_lambda1_waits_starts_nothing_after(open_window, qtbot):
    """Closing while λ₁ waits for the maps: its timer stops and no job or poll timer of the
    closed window runs on (they did, and a closed window's live timers crashed the
    interpreter's exit now and then)."""
    w = open_window(Scene(cell="rnn", hidden_size=8, steps=60))
    panel, c = w.lyapunov, w.controller
    qtbot.waitUntil(lambda: not panel.busy, timeout=10_000)
    c.update(cell="lstm", hidden_size=64, steps=200)
    qtbot.waitUntil(lambda: c.shown_scene.cell == "lstm", timeout=10_000)
    assert panel.busy and c.is_busy          # λ₁ waits: the maps are being computed
    submitted = panel.runner.latest
    w.close_guards.clear()
    w.close()
    qtbot.wait(800)                          # longer than λ₁'s rest
    assert not panel.busy and not panel._rest.isActive()
    assert panel.runner.latest == submitted and not panel.runner.busy
    panel.runner.submit(lambda: None)        # a shut runner takes no job
    assert not panel.runner.busy


def test_a_move_that_changes_the_ranges_paints_each_plot_once(open_window, wait_idle, qtbot,
                                                              monkeypatch):
    """pyqtgraph applies a new range when it paints, which moves the plot's items and so
    paints it again; the views apply it when they draw: one paint per plot on screen for each
    time it is handed new numbers (the gradient flow once per stage, its map's too)."""
    w = open_window(Scene(cell="rnn", hidden_size=6, steps=80, wr_scale=0.9), size=(1400, 900))
    c = w.controller
    wait_idle(c)
    qtbot.wait(60)
    paints: dict[str, int] = {}
    original = pg.GraphicsView.paintEvent

    def counting(self, event):
        name = type(self.parent()).__name__
        paints[name] = paints.get(name, 0) + 1
        return original(self, event)

    monkeypatch.setattr(pg.GraphicsView, "paintEvent", counting)
    flow = w.views[GradientFlowView.title]
    factors = w.views[StepFactorsView.title]
    handed = {"n": 0}
    hand_on = flow.set_analysis

    def counted(*args, **kwargs):
        handed["n"] += 1
        return hand_on(*args, **kwargs)

    monkeypatch.setattr(flow, "set_analysis", counted)
    for value in (2.5, 0.4, 1.7):             # each far from the last: every y-range moves
        before = (y_range(flow.plot), y_range(factors.lower))
        paints.clear()
        handed["n"] = 0
        c.update(wr_scale=value)
        qtbot.waitUntil(lambda v=value: c.shown_scene.wr_scale == v, timeout=5000)
        wait_idle(c)
        qtbot.wait(60)                        # the last posted updates and paints
        assert (y_range(flow.plot), y_range(factors.lower)) != before
        assert paints.get(StepFactorsView.__name__) == 1, paints
        assert paints.get(StatesView.__name__) == 1, paints
        assert paints.get(GradientFlowView.__name__) == handed["n"] >= 1, (paints, handed)


def test_a_tick_of_w_r_repaints_only_its_own_control(open_window, qtbot):
    """Qt repaints a spin box that is set to the value it shows: each tick of a drag repainted
    every box of the panel (3-5 ms of the GUI thread beside the tick's first stage). Only the
    dragged control repaints now, and a changed value is still shown (model → widget)."""
    from PyQt6.QtCore import QEvent, QObject
    from PyQt6.QtWidgets import QAbstractSpinBox

    w = open_window(Scene(cell="lstm", hidden_size=6, steps=40, wr_scale=0.9))
    controls = w.controls
    qtbot.wait(60)
    painted: list = []

    class Paints(QObject):
        def eventFilter(self, obj, event):
            if event.type() == QEvent.Type.Paint:
                painted.append(obj)
            return False

    watch = Paints(w)
    boxes = controls.findChildren(QAbstractSpinBox)
    assert len(boxes) >= 9
    for box in boxes:
        box.installEventFilter(watch)
    controls.wr_scale.slider.setValue(controls.wr_scale.to_tick(1.2))
    qtbot.waitUntil(lambda: w.controller.scene.wr_scale == 1.2, timeout=5000)
    qtbot.wait(60)
    assert painted and set(painted) == {controls.wr_scale.spin}, painted
    painted.clear()
    w.controller.update(forget_bias=0.5)                      # model → widgets: shown
    qtbot.waitUntil(lambda: controls.forget_bias.value() == 0.5, timeout=5000)
    qtbot.wait(60)
    assert painted and set(painted) == {controls.forget_bias.spin}, painted
    w.controller.update(steps=41)
    qtbot.waitUntil(lambda: controls.steps.value() == 41, timeout=5000)
    for box in boxes:
        box.removeEventFilter(watch)


def test_a_value_is_shown_as_qt_rounds_it(qtbot):
    """model → widget: a spin box showing 0.062 given 0.0625 shows what Qt shows for 0.0625
    (0.063: Qt rounds half away from zero, Python's round() to even would have kept 0.062)."""
    from gradviz.gui.controls import ValueSlider

    slider = ValueSlider(0.0, 1.0, decimals=3)
    qtbot.addWidget(slider)
    slider.set_value(0.062)
    assert slider.spin.text() == "0.062"
    slider.set_value(0.0625)
    assert slider.spin.text() == "0.063" and slider.value() == pytest.approx(0.063)
