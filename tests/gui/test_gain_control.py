"""Issue 14: the recurrent gain g of a Gaussian W_hh (entries N(0, g²/H)) as a control, shown
when it applies; both ways, the numbers checked against torch."""
import numpy as np
import pytest
import torch

from gradviz.core.cells import init_net
from gradviz.core.scene import Scene
from gradviz.gui.controls import ControlPanel

GAUSSIAN = Scene(init="gaussian", wr_scale=None, hidden_size=64, steps=20, gain=1.0)


@pytest.fixture
def panel(qtbot, controller, wait_idle):
    torch.set_num_threads(1)
    p = ControlPanel(controller)
    qtbot.addWidget(p)
    controller.start()
    wait_idle(controller)
    return p


def _gain_row_shown(panel) -> bool:
    return panel.forms["Recurrent weights W_hh"].isRowVisible(panel.gain)


def test_the_gain_is_shown_for_a_gaussian_w_hh_only(panel, controller, wait_idle):
    assert controller.scene.init == "orthogonal" and not _gain_row_shown(panel)   # the default
    assert controller.set_scene(GAUSSIAN)
    assert _gain_row_shown(panel)
    assert controller.set_scene(GAUSSIAN.replace(hidden_size=1))   # H = 1: w itself instead
    assert not _gain_row_shown(panel)
    assert controller.set_scene(GAUSSIAN.replace(init="default"))
    assert not _gain_row_shown(panel)
    wait_idle(controller)


def test_model_to_widget(panel, controller, wait_idle):
    assert controller.set_scene(GAUSSIAN.replace(gain=2.0))
    assert panel.gain.value() == 2.0 and panel.gain.slider.value() == panel.gain.to_tick(2.0)
    assert controller.set_scene(GAUSSIAN.replace(gain=0.5))
    assert panel.gain.value() == 0.5
    assert controller.set_scene(GAUSSIAN.replace(gain=None))        # no gain: g = 1
    assert panel.gain.value() == 1.0
    tip = panel.gain.toolTip()
    assert "N(0, g²/H)" in tip and "σ_max(W_hh) ≈ 2g" in tip
    wait_idle(controller)


def test_widget_to_model_with_torchs_sigma_max(panel, controller, wait_idle):
    assert controller.set_scene(GAUSSIAN.replace(wr_scale=1.5))     # a W_R scale in force
    wait_idle(controller)
    panel.gain.slider.setValue(panel.gain.to_tick(2.0))              # the mark g = 2
    assert controller.scene.gain == 2.0 and controller.scene.wr_scale is None
    wait_idle(controller)
    assert controller.analysis is not None and controller.shown_scene.gain == 2.0
    # σ_max of the W_hh on screen is torch's 2-norm of g × the seed's N(0, 1/H) draw
    draw = init_net(GAUSSIAN.spec(), seed=GAUSSIAN.seed, init="gaussian").params["weight_hh_l0"]
    expected = torch.linalg.matrix_norm(torch.from_numpy(2.0 * draw), ord=2).item()
    assert controller.analysis.sigma_max == pytest.approx(expected, rel=1e-12)
    assert 1.7 * 2.0 <= expected <= 2.3 * 2.0                       # ≈ 2g at H = 64
    # entries N(0, g²/H): their spread is g/√H
    assert np.std(2.0 * draw) == pytest.approx(2.0 / 8.0, rel=0.05)
    panel.gain.spin.setValue(0.25)                                   # typed into the box
    assert controller.scene.gain == 0.25
    wait_idle(controller)
