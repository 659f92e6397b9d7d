"""The controller: the numbers it holds are the core's, newest wins, bad input changes nothing."""
from __future__ import annotations

import weakref

import numpy as np
import pytest

from gradviz.core.scene import Scene, analyse, simulate
from gradviz.gui import controller as controller_module
from gradviz.gui.controller import Controller, compare_scene, format_numbers, step_numbers


def core_analysis(scene: Scene):
    return analyse(simulate(scene), scene.layer, scene.direction, exact=False, dtype=np.float32)


def assert_same_analysis(held, expected):
    np.testing.assert_array_equal(held.jac.h_fro, expected.jac.h_fro)
    np.testing.assert_array_equal(held.trace.layer(0, 0).h, expected.trace.layer(0, 0).h)
    assert held.sigma_max == pytest.approx(expected.sigma_max, rel=1e-12)


def started(controller, wait_idle):
    controller.start()
    wait_idle(controller)
    return controller


def test_default_scene_holds_the_core_numbers(qtbot, controller, wait_idle):
    started(controller, wait_idle)
    assert controller.shown_scene == Scene()
    assert_same_analysis(controller.analysis, core_analysis(Scene()))
    # the cursor starts on the last step, with its exact row
    assert controller.step == 100
    row = controller.row()
    expected = core_analysis(Scene()).row(100)
    np.testing.assert_allclose(row.h, expected.h, rtol=0, atol=1e-12)
    assert row.h[0] == pytest.approx(-6.22, abs=0.05)   # the default scene visibly vanishes
    numbers = step_numbers(controller.analysis, controller.step, row)
    assert numbers.sigma_max == pytest.approx(0.9)
    assert numbers.norm_exact and numbers.log10_norm == row.h[0]
    assert "σ_max(W_hh) = 0.9" in format_numbers(numbers)
    assert "log10 ‖∂h_t/∂h_0‖₂ = -6.22" in format_numbers(numbers)


def test_dragging_wr_past_one_makes_the_default_scene_explode(qtbot, controller, wait_idle):
    """The lecture's first move: W_R from 0.9 to 1.5 turns 10^-6 into more than 10^+3."""
    started(controller, wait_idle)
    controller.update(wr_scale=1.5)
    wait_idle(controller)
    assert controller.row().h[0] > 3.0


@pytest.mark.parametrize("changes, check", [
    ({"wr_scale": 1.5}, lambda s: s.wr_scale == 1.5),
    ({"cell": "lstm", "forget_bias": 1.0}, lambda s: s.cell == "lstm" and s.forget_bias == 1.0),
    ({"cell": "gru", "update_bias": 2.0}, lambda s: s.cell == "gru" and s.update_bias == 2.0),
    ({"cell": "rnn-relu"}, lambda s: (s.cell, s.nonlinearity) == ("rnn", "relu")),
    ({"hidden_size": 4, "steps": 30, "seed": 3, "init": "orthogonal"},
     lambda s: (s.hidden_size, s.steps, s.seed, s.init) == (4, 30, 3, "orthogonal")),
    ({"input": "noise", "amplitude": 2.0, "h0": 0.5},
     lambda s: (s.input, s.amplitude, s.h0) == ("noise", 2.0, 0.5)),
])
def test_update_recomputes_with_the_core(qtbot, controller, wait_idle, changes, check):
    started(controller, wait_idle)
    with qtbot.waitSignal(controller.analysis_ready, timeout=5000):
        assert controller.update(**changes)
    wait_idle(controller)
    assert check(controller.shown_scene)
    assert controller.scene == controller.shown_scene
    assert_same_analysis(controller.analysis, core_analysis(controller.shown_scene))


def test_lstm_clamp_gives_the_exact_forget_path(qtbot, controller, wait_idle):
    started(controller, wait_idle)
    controller.update(cell="lstm", forget_clamp=0.9, hidden_size=3, steps=20)
    qtbot.waitUntil(lambda: controller.shown_scene.forget_clamp == 0.9, timeout=5000)
    wait_idle(controller)
    # f_t = 0.9 everywhere: the forget-gate path is (t − i)·log10 0.9
    path = controller.analysis.forget_path
    assert path[20, 0] == pytest.approx(20 * np.log10(0.9))


def test_newest_wins_while_a_slider_drags(qtbot, controller, wait_idle):
    started(controller, wait_idle)
    computed = []
    controller.analysis_ready.connect(lambda scene, a: computed.append(scene.wr_scale))
    values = np.linspace(0.5, 2.0, 40)
    for v in values:
        controller.update(wr_scale=float(v))
    assert controller.scene.wr_scale == 2.0            # the controls show the newest value
    qtbot.waitUntil(lambda: controller.shown_scene.wr_scale == 2.0, timeout=5000)
    wait_idle(controller)
    assert computed[-1] == 2.0
    assert len(computed) < len(values)                 # superseded values were dropped
    assert computed == sorted(computed)                # never an older value after a newer one


def test_invalid_value_is_refused_and_scene_kept(qtbot, controller, wait_idle):
    started(controller, wait_idle)
    before = controller.scene
    with qtbot.waitSignal(controller.error) as blocker:
        assert not controller.update(hidden_size=0)
    assert "hidden size" in blocker.args[0]
    assert controller.scene == before == controller.shown_scene
    with qtbot.waitSignal(controller.error):
        assert not controller.update(forget_clamp=1.5)
    assert controller.scene == before


def test_bad_state_dict_leaves_the_scene(qtbot, controller, wait_idle, tmp_path):
    started(controller, wait_idle)
    controller.update(wr_scale=1.2)
    wait_idle(controller)
    before, analysis = controller.shown_scene, controller.analysis
    bad = tmp_path / "model.pt"
    bad.write_bytes(b"this is not a checkpoint")
    reverted = []
    controller.scene_changed.connect(reverted.append)
    with qtbot.waitSignal(controller.error, timeout=15000) as blocker:
        controller.load_state_dict(str(bad))
    assert "model.pt" in blocker.args[0] and "not a torch checkpoint" in blocker.args[0]
    wait_idle(controller)
    assert controller.shown_scene == before and controller.scene == before
    assert controller.analysis is analysis
    assert reverted[-1] == before                       # the controls snap back


def test_state_dict_sets_the_sizes(qtbot, controller, wait_idle, tmp_path):
    import torch
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(input_size=2, hidden_size=5)
    path = tmp_path / "lstm.pt"
    torch.save(lstm.state_dict(), path)
    started(controller, wait_idle)
    with qtbot.waitSignal(controller.analysis_ready, timeout=15000):
        controller.load_state_dict(str(path))
    wait_idle(controller)
    s = controller.shown_scene
    assert (s.cell, s.input_size, s.hidden_size, s.state_dict_path) == ("lstm", 2, 5, str(path))
    assert controller.scene == s
    assert_same_analysis(controller.analysis, core_analysis(s))
    # a structural edit drops the file (its weights no longer fit)
    controller.update(hidden_size=6)
    assert controller.scene.state_dict_path is None


def test_inputs_csv_decides_T_and_a_bad_one_changes_nothing(qtbot, controller, wait_idle, tmp_path):
    started(controller, wait_idle)
    good = tmp_path / "x.csv"
    good.write_text("x\n" + "\n".join(str(0.1 * k) for k in range(37)) + "\n")
    with qtbot.waitSignal(controller.analysis_ready, timeout=5000):
        controller.load_inputs_csv(str(good))
    wait_idle(controller)
    s = controller.shown_scene
    assert s.inputs_path == str(good) and s.steps == 37 and controller.analysis.steps == 37
    np.testing.assert_array_equal(controller.analysis.trace.inputs[:, 0], s.amplitude * 0.1 * np.arange(37))
    assert_same_analysis(controller.analysis, core_analysis(s))

    bad = tmp_path / "bad.csv"
    bad.write_text("1\n2\nthree\n")
    with qtbot.waitSignal(controller.error, timeout=5000) as blocker:
        controller.load_inputs_csv(str(bad))
    assert "bad.csv" in blocker.args[0] and "row 3" in blocker.args[0]
    wait_idle(controller)
    assert controller.shown_scene == s == controller.scene


def test_set_step_gives_exact_rows_on_and_off_thread(qtbot, controller, wait_idle, monkeypatch):
    started(controller, wait_idle)
    expected = core_analysis(Scene())
    with qtbot.waitSignal(controller.row_ready) as blocker:
        controller.set_step(40)
    assert blocker.args[0] == 40
    np.testing.assert_allclose(blocker.args[1].h, expected.row(40).h, atol=1e-12)
    monkeypatch.setattr(controller_module, "SYNC_ROW_COST", 0)   # force the worker
    steps = []
    controller.step_changed.connect(steps.append)
    with qtbot.waitSignal(controller.row_ready, timeout=5000) as blocker:
        controller.set_step(60)
    assert steps == [60] and blocker.args[0] == 60
    np.testing.assert_allclose(blocker.args[1].h, expected.row(60).h, atol=1e-12)
    controller.set_step(500)
    assert controller.step == 100   # clamped to T


def test_set_scene_programmatically(qtbot, controller, wait_idle):
    started(controller, wait_idle)
    scene = Scene(cell="gru", hidden_size=3, steps=25, update_bias=1.0)
    changed = []
    controller.scene_changed.connect(changed.append)
    with qtbot.waitSignal(controller.analysis_ready, timeout=5000):
        controller.set_scene(scene, step=10)
    wait_idle(controller)
    assert changed[0] == scene and controller.shown_scene == scene
    assert controller.step == 10
    assert_same_analysis(controller.analysis, core_analysis(scene))


def test_compare_mode_gives_three_analyses(qtbot, controller, wait_idle):
    started(controller, wait_idle)
    controller.update(steps=40, hidden_size=6)
    wait_idle(controller)
    with qtbot.waitSignal(controller.compare_ready, timeout=10000) as blocker:
        controller.set_compare(True)
    first = blocker.args[0]   # the runs and their cursor rows first, then their maps
    assert list(first) == ["rnn", "lstm", "gru"] and all(a.jac is None for a in first.values())
    for name, a in first.items():
        np.testing.assert_allclose(a.rows[40].h, core_analysis(compare_scene(
            controller.shown_scene, name)).row(40).h, atol=1e-12)
    wait_idle(controller)
    results = controller.compare_results
    assert list(results) == ["rnn", "lstm", "gru"]
    for name, analysis in results.items():
        scene = compare_scene(controller.shown_scene, name)
        assert scene.steps == 40 and scene.hidden_size == 6 and scene.seed == 0
        assert_same_analysis(analysis, core_analysis(scene))
    # a change recomputes the comparison
    with qtbot.waitSignal(controller.compare_ready, timeout=10000) as blocker:
        controller.update(wr_scale=1.3)
    assert all(a.sigma_max == pytest.approx(1.3) for a in blocker.args[0].values())
    controller.set_compare(False)
    assert controller.compare_results is None


def test_a_failed_start_falls_back_to_the_default(qtbot, tmp_path):
    scene = Scene(state_dict_path=str(tmp_path / "gone.pt"))
    c = Controller(scene)
    errors = []
    c.error.connect(errors.append)
    c.start()
    qtbot.waitUntil(lambda: c.analysis is not None and not c.is_busy, timeout=15000)
    assert errors and "gone.pt" in errors[0]
    assert c.shown_scene == Scene() == c.scene
    c.wait()


def test_an_lstm_row_comes_with_its_run_and_the_h_map_before_the_c_map(qtbot, wait_idle):
    """LSTM, H = 64, T = 200 (a lecture size): the first stage carries the cursor row (so the
    gradient flow follows a drag), then a coarse map, the full ∂h_t/∂h_i map, the row's
    2-norms, and last the ∂c_t/∂c_i map; each the core's numbers."""
    from gradviz.core.jacobians import jacobian_map

    scene = Scene(cell="lstm", hidden_size=64, steps=200, wr_scale=1.2)
    c = Controller(scene)
    events = []
    held = weakref.ref(c)   # the slots must not hold c: a slot PyQt frees late would keep it
    c.analysis_ready.connect(lambda s, a: events.append(("analysis", held().row() is not None)))
    c.map_ready.connect(lambda a: events.append(("map", a.jac.stride, a.jac.c_fro is not None)))
    c.row_ready.connect(lambda t, row: events.append(("row", row.h is not None)))
    try:
        c.start()
        wait_idle(c, timeout=60_000)
        assert events[0] == ("analysis", True)
        maps = [e for e in events if e[0] == "map"]
        assert maps[0][1] > 1 and maps[0][2]                       # coarse, h and c
        assert maps[-2:] == [("map", 1, False), ("map", 1, True)]  # full: h, then h and c
        assert events.index(("row", True)) == events.index(("map", 1, False)) + 1
        core = core_analysis(scene)
        np.testing.assert_array_equal(c.analysis.jac.h_fro, core.jac.h_fro)
        np.testing.assert_array_equal(c.analysis.jac.c_fro, core.jac.c_fro)
        expected = jacobian_map(np.asarray(core.jacobians), core.h_size, exact=False,
                                dtype=np.float32)
        np.testing.assert_array_equal(c.analysis.jac.c_fro, expected.c_fro)
        np.testing.assert_allclose(c.row().h, core.row(200).h, rtol=0, atol=1e-12)
    finally:
        # the lambdas hold c through Qt's connections (a cycle Python cannot collect): cut
        # them and shut c down, or it lives on, threads and timers, until the interpreter exits
        for signal in (c.analysis_ready, c.map_ready, c.row_ready):
            signal.disconnect()
        c.wait()
        c.shutdown(1000)


def test_a_new_scene_runs_once_the_last_first_stage_is_painted(qtbot, controller, wait_idle,
                                                               monkeypatch):
    """The next tick of a drag waits for the drawing of this one: run beside it, both shared
    the GIL and took longer. The tick's scene is still the one shown next, with its numbers."""
    import time

    started(controller, wait_idle)
    order = []
    real = controller_module.simulate

    def spy(scene, *args, **kwargs):
        order.append(("run", scene.wr_scale))
        return real(scene, *args, **kwargs)

    monkeypatch.setattr(controller_module, "simulate", spy)
    held = weakref.ref(controller)

    def drawn_slowly(scene, analysis):
        if scene.wr_scale == 1.1:
            held().update(wr_scale=1.2)   # the next tick, while this scene is being drawn
            time.sleep(0.2)               # the drawing
            order.append(("drawn", 1.1))

    controller.analysis_ready.connect(drawn_slowly)
    try:
        controller.update(wr_scale=1.1)
        qtbot.waitUntil(lambda: controller.shown_scene.wr_scale == 1.2 and not controller.is_busy,
                        timeout=10_000)
    finally:
        controller.analysis_ready.disconnect(drawn_slowly)
    assert order == [("run", 1.1), ("drawn", 1.1), ("run", 1.2)]
    assert_same_analysis(controller.analysis, core_analysis(controller.shown_scene))


def test_ticks_faster_than_the_drawing_still_show_new_scenes(qtbot, controller, wait_idle):
    """A drag whose ticks come faster than the window draws: scenes are skipped, never all of
    them (a scene that gave way to a newer one must not hide the one being drawn)."""
    import time

    from PyQt6.QtCore import QTimer

    started(controller, wait_idle)
    shown = []

    def drawn_slowly(scene, analysis):
        shown.append(scene.wr_scale)
        time.sleep(0.06)          # a slow window: 60 ms per redraw, ticks every 20 ms

    values = iter(np.linspace(1.0, 1.5, 40))
    held = weakref.ref(controller)

    def tick():
        value = next(values, None)
        if value is None:
            timer.stop()
        else:
            held().update(wr_scale=float(value))

    timer = QTimer()
    timer.setInterval(20)
    timer.timeout.connect(tick)
    controller.analysis_ready.connect(drawn_slowly)
    try:
        timer.start()
        qtbot.waitUntil(lambda: not timer.isActive(), timeout=20_000)
        during = len(shown)
        wait_idle(controller)
    finally:
        timer.stop()
        controller.analysis_ready.disconnect(drawn_slowly)
    assert during >= 5, shown
    assert shown == sorted(shown) and shown[-1] == pytest.approx(1.5)


def until(condition, seconds=10.0):
    """Wait for ``condition`` without the event loop (the window takes no result meanwhile)."""
    import time

    end = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < end
        time.sleep(0.002)


def test_a_scene_that_gives_way_while_waiting_does_not_hide_the_one_being_drawn(qtbot, controller,
                                                                               wait_idle):
    """Ticks A, B, C before the window takes A's first stage: B, waiting for A's paint, gives
    way to C and hands on nothing, so A is still drawn (the window's poll keeps only the newest
    job's results: a result of B would have dropped A's), then C."""
    started(controller, wait_idle)
    worker = controller._analysis_runner._worker
    shown = []
    controller.analysis_ready.connect(lambda scene, analysis: shown.append(scene.wr_scale))

    controller.update(wr_scale=1.1)
    until(lambda: not worker.results.empty())        # A's first stage is waiting to be drawn
    controller.update(wr_scale=1.2)
    b = controller._analysis_runner.latest
    until(lambda: worker._running == b)              # B waits for A's paint
    controller.update(wr_scale=1.3)
    c = controller._analysis_runner.latest
    until(lambda: worker._running == c)              # B gave way to C
    wait_idle(controller)
    assert shown == [1.1, 1.3]



def test_a_refused_scene_leaves_no_paint_to_wait_for(qtbot, controller, wait_idle, tmp_path):
    """A (shown next) and a bad checkpoint B before the window takes A: B waits for A's paint,
    fails, and the window's poll keeps B's error only. A is never painted, so the scenes after
    B must not wait for it (each tick of a drag would wait DRAW_WAIT_SECONDS)."""
    started(controller, wait_idle)
    worker = controller._analysis_runner._worker
    bad = tmp_path / "model.pt"
    bad.write_bytes(b"this is not a checkpoint")
    controller.update(wr_scale=1.1)
    until(lambda: not worker.results.empty())        # A's first stage is waiting to be drawn
    controller.load_state_dict(str(bad))
    until(lambda: not worker.active())               # B waited, then failed
    with qtbot.waitSignal(controller.error, timeout=15_000) as blocker:
        pass
    assert "model.pt" in blocker.args[0]
    wait_idle(controller)
    painting = controller._painting
    assert painting is None or painting.is_set()


def test_a_model_too_large_for_the_map_plans_gets_its_coarse_map_by_step_factors(
        qtbot, controller, wait_idle, monkeypatch):
    """A trained model's map fits neither the drag's nor the resting plan: it still gets the
    finest map the large-model plan allows, after its cursor row, its blocks by the step
    factors on both cores, and its numbers are the blocks' map by J (float32 rounding)."""
    from gradviz.core.jacobians import coarse_map
    monkeypatch.setattr(controller_module, "COARSE_SECONDS", 1e-9)
    monkeypatch.setattr(controller_module, "FINE_SECONDS", 1e-9)
    monkeypatch.setattr(controller_module, "LARGE_MAP_SECONDS", 1e-3)
    scene = Scene(cell="lstm", hidden_size=16, steps=200, wr_scale=1.2)
    maps = []
    controller.map_ready.connect(lambda a: maps.append(a.jac))
    controller.set_scene(scene)
    wait_idle(controller, timeout=30_000)
    assert len(maps) == 1 and 1 < maps[0].stride < 200
    a = controller.analysis
    want = coarse_map(a.jacobians, a.h_size, maps[0].stride, dtype=np.float64)
    low = np.tril_indices(want.h_fro.shape[0])
    for name in ("h_fro", "c_fro"):
        np.testing.assert_allclose(getattr(maps[0], name)[low], getattr(want, name)[low],
                                   rtol=0, atol=1e-4)
    assert controller.row().exact          # its 2-norms came after the map


def test_a_large_models_map_of_stride_one_comes_in_two_passes_and_can_be_left(
        qtbot, controller, wait_idle, monkeypatch):
    """When the large-model plan allows every step (a short run of a wide model), the map is
    the resting map's generator (a cell state's h part first, a newer scene takes over
    between its steps), not one uninterruptible call (found in review)."""
    monkeypatch.setattr(controller_module, "COARSE_SECONDS", 1e-9)
    monkeypatch.setattr(controller_module, "FINE_SECONDS", 1e-9)
    monkeypatch.setattr(controller_module, "LARGE_MAP_SECONDS", 1e3)
    maps = []
    controller.map_ready.connect(lambda a: maps.append((a.jac.stride, a.jac.c_fro is None)))
    controller.set_scene(Scene(cell="lstm", hidden_size=16, steps=60, wr_scale=1.2))
    wait_idle(controller, timeout=30_000)
    assert maps == [(1, True), (1, False)]       # ∂h_t/∂h_i first, then with ∂c_t/∂c_i
    expected = core_analysis(Scene(cell="lstm", hidden_size=16, steps=60, wr_scale=1.2))
    np.testing.assert_allclose(controller.analysis.jac.h_fro, expected.jac.h_fro, rtol=0,
                               atol=1e-5)


def test_after_a_change_the_map_comes_coarse_enough_to_fit_between_two_ticks_then_finer(
        qtbot, controller, wait_idle):
    """A drag's map: first the finest that fits DRAG_MAP_SECONDS (between two ticks of a
    drag at H = 64, T = 200), then the finer coarse one, then the full map; each exact at
    its points (the blocks' products by J, float32 rounding)."""
    from gradviz.core.jacobians import coarse_map
    from gradviz.core.plan import plan_map
    scene = Scene(cell="rnn", hidden_size=64, steps=200, wr_scale=1.1)
    drag = plan_map(64, 64, 200, controller_module.DRAG_MAP_SECONDS).stride
    coarse = plan_map(64, 64, 200, controller_module.COARSE_SECONDS).stride
    assert drag > coarse > 1
    maps = []
    controller.map_ready.connect(lambda a: maps.append(a.jac))
    controller.set_scene(scene)
    wait_idle(controller, timeout=30_000)
    assert [m.stride for m in maps] == [drag, coarse, 1]
    a = controller.analysis
    for m in maps[:2]:
        want = coarse_map(a.jacobians, a.h_size, m.stride, dtype=np.float64)
        low = np.tril_indices(want.h_fro.shape[0])
        np.testing.assert_allclose(m.h_fro[low], want.h_fro[low], rtol=0, atol=1e-4)
