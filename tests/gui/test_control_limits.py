"""Issue 9: the spin boxes' maxima are what this machine can run (gradviz.core.plan, the plan
that refuses a scene in the CLI), not fixed numbers; both ways, with values."""
import pytest

from gradviz.core import plan
from gradviz.core.errors import GradvizError
from gradviz.core.scene import Scene
from gradviz.gui.controls import ControlPanel

BUDGET = 8 * 2**20   # a small machine: 8 MB for one scene's numbers


@pytest.fixture(autouse=True)
def small_machine(monkeypatch):
    """The plan's budget made small and fixed (the real knob, not a stand-in): the limits are
    then the same on every machine and the scenes at them cheap to run."""
    monkeypatch.setattr(plan, "MEMORY_BUDGET", BUDGET)
    monkeypatch.setattr(plan, "available_memory", lambda: None)


def _edge(scene: Scene, field: str) -> int:
    """The largest value of ``field`` that Scene.validate accepts, found by validating."""
    def ok(v):
        try:
            scene.replace(**{field: v}).validate()
        except GradvizError:
            return False
        return True
    lo, hi = 1, 2**31 - 1
    assert ok(lo) and not ok(hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if ok(mid) else (lo, mid)
    return lo


def test_the_maxima_follow_the_scene_model_to_widget(qtbot, controller, wait_idle):
    panel = ControlPanel(controller)
    qtbot.addWidget(panel)
    controller.start()
    wait_idle(controller)
    first = controller.scene   # H = 16, T = 100
    # by hand: T·H·(2·gates + 3)·8 (the run) + T·16 (inputs) + 8·(H(H+2) + H) (weights) ≤ 8 MB
    # gives T ≤ (8388608 − 2432) / 656 = 12783.2 and 8H² + 4024H + 1600 ≤ 8388608, H ≤ 802.8
    assert panel.steps.maximum() == _edge(first, "steps") == 12_783
    assert panel.hidden_size.maximum() == _edge(first, "hidden_size") == 802
    assert panel.input_size.maximum() == _edge(first, "input_size") == 4_816
    # more than the old fixed limits (H ≤ 256, T ≤ 2000, input ≤ 64) on this small machine
    assert panel.hidden_size.maximum() > 256 and panel.steps.maximum() > 2000
    # a scene set elsewhere (a preset, a session) moves the limits: longer T, smaller H
    assert controller.set_scene(Scene(cell="lstm", hidden_size=32, steps=2000))
    lstm = controller.scene
    assert panel.hidden_size.maximum() == _edge(lstm, "hidden_size") == 47
    assert panel.steps.maximum() == _edge(lstm, "steps") == 2_949
    assert panel.hidden_size.value() == 32 and panel.steps.value() == 2000
    assert "47" in panel.hidden_size.toolTip() and "2949" in panel.steps.toolTip()
    wait_idle(controller)


def test_the_maxima_can_be_entered_and_no_more_widget_to_model(qtbot, controller, wait_idle):
    panel = ControlPanel(controller)
    qtbot.addWidget(panel)
    controller.start()
    wait_idle(controller)
    top = panel.steps.maximum()
    panel.steps.setValue(top)                 # the largest T this machine runs: entered
    assert controller.scene.steps == top == 12_783
    wait_idle(controller, timeout=60_000)
    assert controller.analysis.steps == top
    panel.steps.setValue(top + 1)             # one more cannot be entered
    assert panel.steps.value() == top and controller.scene.steps == top
    # at that T the hidden size may not grow past what the plan allows there (memory)
    assert panel.hidden_size.maximum() == _edge(controller.scene, "hidden_size") == 16
    panel.hidden_size.setValue(17)
    assert panel.hidden_size.value() == 16 and controller.scene.hidden_size == 16
    # fewer steps free it again, and a hidden size past the old 256 is entered
    panel.steps.setValue(10)
    assert controller.scene.steps == 10
    assert panel.hidden_size.maximum() == _edge(controller.scene, "hidden_size") == 997
    panel.hidden_size.setValue(300)
    assert controller.scene.hidden_size == 300
    wait_idle(controller, timeout=60_000)
    assert controller.analysis.h_size == 300
