"""Issue 10: presentation mode and the first window on projectors of every size, checked in a
subprocess whose offscreen screen is 1280 × 720, 1920 × 1080 or 3840 × 2160 (the real window,
its real views); the control panel's value boxes at 1280 × 720 and 1600 × 950."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PyQt6.QtCore import QPoint, QSize

from gradviz.core.presets import load_preset
from gradviz.gui.presentation import fitted_size, presentation_font_pt

ROOT = Path(__file__).resolve().parents[2]
CHECK = Path(__file__).with_name("screen_check.py")


def run_on_screen(tmp_path, width, height, *args, settings=None):
    config = tmp_path / f"screen-{width}x{height}.json"
    config.write_text(json.dumps({"screens": [{
        "name": "projector", "x": 0, "y": 0, "width": width, "height": height,
        "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}]}))
    env = dict(os.environ, QT_QPA_PLATFORM=f"offscreen:configfile={config}",
               GRADVIZ_SETTINGS_DIR=str(settings or tmp_path / "settings"),
               GRADVIZ_DATA_DIR=str(tmp_path / "data"), PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, str(CHECK), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")]
    assert done.returncode == 0 and lines, done.stderr[-3000:]
    return json.loads(lines[-1][len("RESULT "):])


def test_fonts_follow_the_screen_size():
    assert presentation_font_pt(QSize(1280, 720)) == 13
    assert presentation_font_pt(QSize(1920, 1080)) == 20
    assert presentation_font_pt(QSize(3840, 2160)) == 39
    assert fitted_size(QSize(1280, 680)).width() <= 1280
    assert fitted_size(QSize(1280, 680)).height() <= 680
    assert fitted_size(QSize(1920, 1040)) == QSize(1600, 950)


@pytest.mark.parametrize("width,height", [(1280, 720), (1920, 1080), (3840, 2160)])
def test_window_and_presentation_mode_on_a_projector(tmp_path, width, height):
    r = run_on_screen(tmp_path, width, height)
    assert r["screen"] == [width, height]
    assert r["fits"], r["window"]                       # the first window is on the screen
    assert r["window"][2] <= width and r["window"][3] <= height
    assert r["normal_problems"] == []                   # no collapsed plot, hidden legend, ...
    p = r["presentation"]
    assert p["on"] and p["size"] == [width, height]     # full screen
    assert p["busy_width"] == width                     # "computing…" does not widen it
    shown, error_width, message = p["error"]                # nor a refused value's message
    assert shown and error_width == width and message.startswith("this scene needs about")
    assert not p["menu"] and p["toolbars"] == ["transport"]   # menus, export toolbar hidden
    assert p["docks"] == ["GradientFlowView", "JacobianMapView"]
    assert min(p["widths"]) >= 0.45 * width             # two views, large
    assert p["font_pt"] == presentation_font_pt(QSize(width, height))
    assert p["problems"] == []                          # legends kept, no overlapping ticks
    assert sorted(r["compare"]["docks"]) == ["GradientFlowView", "compare"]
    assert r["compare"]["problems"] == []
    assert r["after_esc"] == {"on": False, "menu": True, "controls": True}   # Esc leaves


def test_layout_is_remembered_per_screen_size(tmp_path):
    settings = tmp_path / "shared-settings"
    small = run_on_screen(tmp_path, 1280, 720, "quick", "1150x640", settings=settings)
    assert small["window"][2:] == [1264, 680]           # fitted at first
    big = run_on_screen(tmp_path, 1920, 1080, "quick", settings=settings)
    assert big["window"][2:] == [1600, 950]             # the small screen's size is not used
    again = run_on_screen(tmp_path, 1280, 720, "quick", settings=settings)
    assert again["window"][2:] == [1150, 640]           # remembered for 1280 × 720


# ---------------------------------------------------------------- the control panel

def _boxes_inside(panel):
    """Every shown value box lies inside the panel's visible width."""
    from PyQt6.QtWidgets import QAbstractSpinBox, QScrollArea
    scroll = panel.findChild(QScrollArea)
    width = scroll.viewport().width()
    bad = []
    for box in panel.findChildren(QAbstractSpinBox):
        if not box.isVisibleTo(panel):
            continue
        right = box.mapTo(scroll.viewport(), QPoint(box.width(), 0)).x()
        if right > width + 1:
            bad.append((box.toolTip()[:30], right, width))
    return bad


@pytest.mark.parametrize("size", [(1280, 720), (1600, 950)])
def test_value_boxes_stay_on_the_panel_with_loaded_weights(qtbot, wait_idle, size):
    from gradviz.gui.app import create_window

    window = create_window(autosave=False)
    qtbot.addWidget(window)
    window.resize(*size)
    window.show()
    qtbot.waitExposed(window)
    window.controller.start()
    wait_idle(window.controller)
    assert _boxes_inside(window.controls) == []
    with_files = [load_preset(name) for name in ("lstm-carousel", "nonnormal")]
    assert all(p.scene.state_dict_path for p in with_files)   # weights loaded from a .pt
    for preset in with_files:
        window.lecture.presets.open(preset)
        qtbot.waitUntil(lambda p=preset: window.controller.shown_scene is not None and
                        window.controller.shown_scene.spec() == p.scene.spec()
                        and not window.controller.is_busy, timeout=20_000)
        qtbot.wait(50)
        assert _boxes_inside(window.controls) == [], preset.name
        assert window.controls.wr_note.wordWrap()
    window.close_guards.clear()
    window.close()
    window.controller.wait()
