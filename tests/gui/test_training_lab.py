"""The training lab in the real window: setup both ways, runs off the GUI thread, plots equal to
the core's numbers, pause/stop, "Analyse this model", saving the state_dict."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from gradviz.core.scene import Scene
from gradviz.core.training import (TrainConfig, default_config, lab_plot_data, metrics_rows)
from gradviz.gui.app import create_window

torch.set_num_threads(1)

SMALL = TrainConfig(task="adding", model="lstm", hidden=6, layers=1, steps=10, batch=8,
                    iters=30, lr=1e-2, clip_norm=1.0, record_every=5, eval_every=5,
                    test_size=32)


@pytest.fixture(scope="module")
def main_window(qapp, tmp_path_factory):
    """One window for the module (building one takes seconds), with private settings."""
    import os
    folder = tmp_path_factory.mktemp("lab-settings")
    old = {k: os.environ.get(k) for k in ("GRADVIZ_SETTINGS_DIR", "GRADVIZ_DATA_DIR")}
    os.environ["GRADVIZ_SETTINGS_DIR"] = str(folder / "settings")
    os.environ["GRADVIZ_DATA_DIR"] = str(folder / "data")
    window = create_window(Scene(hidden_size=4, steps=12), autosave=False)
    window.resize(1280, 720)
    window.show()
    window.controller.start()
    window.controller.wait()
    labwin = window.training_lab()
    labwin.show()
    yield window
    labwin.lab.stop()
    labwin.lab.wait()
    labwin.close()
    window.close_guards.clear()
    window.close()
    window.controller.wait()
    window.deleteLater()
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture
def lab(qtbot, main_window):
    lab = main_window.training_lab().lab
    qtbot.waitExposed(main_window.training_lab())
    yield lab
    lab.stop()
    qtbot.waitUntil(lambda: not lab.running, timeout=30_000)


def run(qtbot, lab, cfg, timeout=60_000):
    lab.set_config(cfg)
    assert lab.start()
    assert lab.running and not lab.train_button.isEnabled()
    qtbot.waitUntil(lambda: not lab.running, timeout=timeout)
    return lab.result


def test_menu_opens_the_lab(qtbot):
    window = create_window(Scene(hidden_size=4, steps=12), autosave=False)
    assert "training" in window.menus
    actions = [a.text() for a in window.menus["training"].actions()]
    assert any("lab" in t.lower() for t in actions)
    window.open_training_lab()
    w = window.training_lab()
    assert w.isVisible() and w.lab.main_window is window
    w.close()
    window.close_guards.clear()
    window.close()
    window.controller.wait()


@pytest.mark.parametrize("cfg", [
    SMALL,
    default_config("airline", "lstm"),
    default_config("airline", "gru").replace(layout="window", batch=16, difference="logdiff",
                                             scale_on="train", seed=4, clip_value=0.5),
    default_config("copy", "rnn-relu").replace(wr_scale=0.8, optimizer="sgd", record_every=0),
    default_config("adding", "rnn").replace(clip_norm=None, steps=50, iters=1234),
])
def test_config_round_trip_through_widgets(lab, cfg):
    lab.set_config(cfg)
    assert lab.config() == cfg
    # widget -> model
    lab.hidden.setValue(17)
    lab.iters.setValue(222)
    lab.clip_mode.setCurrentIndex(lab.clip_mode.findData("norm"))
    lab.clip.setValue(0.25)
    got = lab.config()
    assert (got.hidden, got.iters, got.clip_norm, got.clip_value) == (17, 222, 0.25, None)


def test_widgets_follow_the_task(lab):
    lab.set_config(default_config("adding", "lstm"))
    assert lab.steps.isEnabled() and not lab.look_back.isEnabled()
    assert lab.forget_bias_on.isEnabled()
    lab.set_config(default_config("airline", "gru"))
    assert lab.look_back.isEnabled() and not lab.steps.isEnabled()
    assert not lab.forget_bias_on.isEnabled() and not lab.csv_path.isEnabled()


def test_train_draws_the_core_numbers(qtbot, lab):
    lab.result = None
    result = run(qtbot, lab, SMALL)
    assert result.iterations == 30 and not result.cancelled
    d = lab_plot_data(result.history)
    p = lab.plots
    np.testing.assert_array_equal(p.loss_curve.getData()[1], d["log10_loss"])
    np.testing.assert_array_equal(p.test_curve.getData()[0], d["test_iteration"])
    np.testing.assert_array_equal(p.norm_curve.getData()[1], d["log10_grad_norm"])
    np.testing.assert_array_equal(p.norm_clipped_curve.getData()[1], d["log10_grad_norm_clipped"])
    np.testing.assert_array_equal(p.sigma_curve.getData()[1], d["sigma_max"])
    np.testing.assert_array_equal(p.forget_curve.getData()[1], d["forget_mean"])
    np.testing.assert_array_equal(p.grad_curve.getData()[1], d["log10_grad_h_last"])
    np.testing.assert_array_equal(p.contrib_curve.getData()[1], d["log10_whh_contrib_last"])
    img = p.heat_image.image
    assert img.shape == (len(result.history.grad_h), 10) and np.all(np.isfinite(img))
    np.testing.assert_array_equal(img, d["log10_grad_h"])
    # the adding baseline 1/6 is drawn
    assert p.baseline_curve.getData()[1][0] == pytest.approx(np.log10(1 / 6))
    assert "trained 30 iterations" in lab.status.text()
    assert lab.analyse_button.isEnabled() and lab.save_button.isEnabled()
    # a second run keeps the first's loss as the grey "previous run"
    run(qtbot, lab, SMALL.replace(model="rnn"))
    np.testing.assert_array_equal(p.prev_curve.getData()[1], d["log10_loss"])


def test_forecast_figure_and_metrics_table(qtbot, lab):
    result = run(qtbot, lab, default_config("airline", "lstm").replace(iters=20))
    p = lab.plots
    np.testing.assert_array_equal(p.actual_curve.getData()[1], result.data.y)
    np.testing.assert_array_equal(p.predicted_curve.getData()[1], result.metrics.predicted)
    np.testing.assert_array_equal(p.predicted_curve.getData()[0], result.data.test_index)
    np.testing.assert_array_equal(p.ar_curve.getData()[1], result.baselines["ar"].predicted)
    rows = metrics_rows(result)
    assert lab.table.rowCount() == len(rows) == 4
    for r, row in enumerate(rows):
        assert lab.table.item(r, 0).text() == row[0]
        assert lab.table.item(r, 3).text() == f"{row[3]:.2f}"
    assert lab.table.item(3, 0).text() == "AR(12)"


def test_bad_setup_is_a_message_not_a_run(lab):
    lab.set_config(default_config("airline", "lstm"))
    lab.task.setCurrentIndex(lab.task.findData("csv"))
    assert not lab.start()
    assert not lab.running and "CSV file" in lab.status.text()


def test_pause_resume_stop(qtbot, lab):
    lab.set_config(SMALL.replace(iters=1_000_000, record_every=0, eval_every=1000))
    assert lab.start()
    qtbot.waitUntil(lambda: lab.progress.value() > 0, timeout=30_000)
    lab.toggle_pause()
    assert lab.pause_button.text() == "Resume"
    qtbot.wait(400)                        # a progress report may be in flight
    before = lab._thread.control.paused and lab.progress.value()
    qtbot.wait(400)
    assert lab.progress.value() == before
    lab.toggle_pause()
    qtbot.waitUntil(lambda: lab.progress.value() > before, timeout=30_000)
    lab.stop()
    qtbot.waitUntil(lambda: not lab.running, timeout=30_000)
    assert lab.result.cancelled and 0 < lab.result.iterations < 1_000_000
    assert "stopped by the user" in lab.status.text()


def test_analyse_this_model_opens_the_trained_weights(qtbot, lab, wait_idle):
    result = run(qtbot, lab, SMALL.replace(layers=2))
    window = lab.main_window
    assert lab.analyse()
    c = window.controller
    qtbot.waitUntil(lambda: c.shown_scene is not None and c.shown_scene.cell == "lstm"
                    and not c.is_busy, timeout=20_000)
    s = c.shown_scene
    assert (s.hidden_size, s.num_layers, s.input_size, s.steps) == (6, 2, 2, 10)
    net = c.base_net()
    for k, v in result.recurrent_state_dict().items():
        np.testing.assert_array_equal(net.params[k], v.numpy())
    np.testing.assert_array_equal(c.raw_inputs(), result.test_inputs)


def test_save_model_loads_in_plain_torch(qtbot, lab, tmp_path):
    result = run(qtbot, lab, SMALL.replace(model="gru"))
    paths = lab.save_model_to(tmp_path / "m.pt")
    assert [p.name for p in paths] == ["m.pt", "m.head.pt"]
    gru = torch.nn.GRU(2, 6, 1, batch_first=True)
    gru.load_state_dict(torch.load(paths[0], weights_only=True))
    head = torch.nn.Linear(6, 1)
    head.load_state_dict(torch.load(paths[1], weights_only=True))
    x = torch.tensor(result.test_inputs[None])
    with torch.no_grad():
        out, _ = gru.double()(x)
        theirs = head.double()(out[:, -1])
        ours = result.model.double()(x)
    np.testing.assert_allclose(theirs.numpy(), ours.numpy(), rtol=1e-12)


def test_session_state_round_trip(qtbot, lab):
    import json
    result = run(qtbot, lab, default_config("airline", "lstm").replace(iters=10, record_every=5))
    state = json.loads(json.dumps(lab.session_state()))
    lab.set_config(SMALL)
    lab.result = None
    lab.apply_session_state(state)
    assert lab.config() == result.config
    assert lab.result.metrics.test_rmse == result.metrics.test_rmse
    np.testing.assert_array_equal(lab.plots.loss_curve.getData()[1],
                                  lab_plot_data(result.history)["log10_loss"])
    assert lab.table.rowCount() == 4 and lab.analyse_button.isEnabled()
    from gradviz.core.errors import GradvizError
    with pytest.raises(GradvizError, match="unknown training setting"):
        lab.apply_session_state({"config": {"nope": 1}})
    assert lab.result.metrics.test_rmse == result.metrics.test_rmse   # unchanged


def test_closing_the_window_ends_a_run(qtbot):
    window = create_window(Scene(hidden_size=4, steps=12), autosave=False)
    window.open_training_lab()
    lab = window.training_lab().lab
    lab.set_config(SMALL.replace(iters=1_000_000, record_every=0, eval_every=1000))
    assert lab.start()
    qtbot.waitUntil(lambda: lab.progress.value() > 0, timeout=30_000)
    guards = window.close_guards
    assert guards[-1]() is True          # what closing runs last, after the other guards
    assert not lab._thread.isRunning() if lab._thread is not None else True
    qtbot.waitUntil(lambda: not lab.running, timeout=10_000)
    assert lab.result.cancelled
    window.training_lab().close()
    window.close_guards.clear()
    window.close()
    window.controller.wait()


def test_quitting_the_application_ends_a_run(qtbot, close_window):
    from PyQt6.QtWidgets import QApplication
    window = create_window(Scene(hidden_size=4, steps=12), autosave=False)
    lab = window.training_lab().lab
    lab.set_config(SMALL.replace(iters=1_000_000, record_every=0, eval_every=1000))
    assert lab.start()
    qtbot.waitUntil(lambda: lab.progress.value() > 0, timeout=30_000)
    QApplication.instance().aboutToQuit.emit()
    qtbot.waitUntil(lambda: not lab.running, timeout=10_000)
    assert lab.result.cancelled
    close_window(window)


def test_a_closed_window_with_its_lab_is_not_kept_by_the_application(qtbot):
    """The quit hook of a lab window holds neither it nor its main window (a closed window was
    kept until the interpreter's exit, where PyQt's clean-up of it could crash)."""
    import weakref

    from PyQt6 import sip

    from gradviz.gui.app import release_deleted_objects
    window = create_window(Scene(hidden_size=4, steps=12), autosave=False)
    window.training_lab()
    window.controller.start()
    window.controller.wait()
    alive = weakref.ref(window)
    window.close_guards.clear()
    window.close()
    sip.delete(window)
    del window
    release_deleted_objects()      # PyQt lets go of a deleted sender's slots in posted events
    assert alive() is None


@pytest.mark.parametrize("how", ["close", "ctrl-c"])
def test_closing_the_main_window_closes_its_lab(qtbot, close_window, how):
    from gradviz.gui.quit_signals import quit_without_questions
    window = create_window(Scene(hidden_size=4, steps=12), autosave=False)
    window.show()
    window.open_training_lab()
    lab_window = window.training_lab()
    assert lab_window.isVisible()
    if how == "close":
        window.close_guards[:] = window.close_guards[-1:]     # no unsaved-changes question
        assert window.close()
    else:
        quit_without_questions(window)       # what SIGINT / SIGTERM do
    assert not window.isVisible()
    assert not lab_window.isVisible()
    close_window(window)
