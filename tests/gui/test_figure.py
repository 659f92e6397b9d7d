"""Figure export: the chosen views alone, at a size in cm or px and a DPI, in the real window."""
from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image, ImageFilter
from PyQt6.QtGui import QImage
from PyQt6.QtWidgets import QDialogButtonBox, QDockWidget, QMenuBar, QToolBar

from gradviz.core import plotdata
from gradviz.core.errors import GradvizError
from gradviz.core.scene import Scene
from gradviz.gui.export_actions import DASHBOARD, copy_view, export_figure
from gradviz.gui.exporting import image_to_array
from gradviz.gui.figure import (Figure, FigureDialog, FigureSpec, dashboard_spec,
                                export_figure_spec, shown_views)

NS = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def window(open_window):
    return open_window(Scene(cell="lstm", hidden_size=4, steps=20), (1300, 850))


def blurred(path, size=None):
    img = Image.open(path).convert("L")
    if size is not None and img.size != size:
        assert abs(img.size[0] - size[0]) <= 1 and abs(img.size[1] - size[1]) <= 1
        img = img.crop((0, 0, *size)) if img.size >= size else img.resize(size)
    return np.asarray(img.filter(ImageFilter.GaussianBlur(1.5)), dtype=np.float64)


# ---------------------------------------------------------------- sizes (no window needed)

def test_a_size_in_cm_is_laid_out_in_points_and_rasterised_at_the_dpi():
    spec = FigureSpec(["gradient_flow"], width=8.5, height=6, unit="cm", dpi=300)
    assert spec.layout_size == (321, 227)                 # 8.5 cm at 96 layout px per inch
    assert spec.pixel_size == (1003, 709)                 # 321 × 300/96
    assert spec.size_cm == pytest.approx((8.493, 6.006), abs=1e-3)
    px = FigureSpec(["states"], width=1200, height=800, unit="px", dpi=192)
    assert px.layout_size == (600, 400) and px.pixel_size == (1200, 800)
    assert px.size_cm == pytest.approx((1200 / 192 * 2.54, 800 / 192 * 2.54))


def test_grid_and_bad_sizes():
    assert FigureSpec(["a"]).grid() == (1, 1)
    assert FigureSpec(["a", "b", "c"]).grid() == (2, 2)
    assert FigureSpec(list("abcde")).grid() == (2, 3)
    assert FigureSpec(list("abc"), columns=3).grid() == (1, 3)
    assert FigureSpec(list("abc"), columns=9).grid() == (1, 3)
    with pytest.raises(GradvizError, match="cm or px"):
        FigureSpec(["a"], unit="in")
    with pytest.raises(GradvizError, match="positive"):
        FigureSpec(["a"], width=0)
    with pytest.raises(GradvizError, match="30 to 1200"):
        FigureSpec(["a"], dpi=5000)
    with pytest.raises(GradvizError, match="at least one view"):
        FigureSpec([])


# ---------------------------------------------------------------- in the window

def test_a_figure_holds_the_chosen_views_alone(window):
    spec = FigureSpec(["gradient_flow", "jacobian_map"], width=17, height=7, unit="cm", dpi=150)
    live = window.views["Gradient flow"]
    live_size = live.size()
    figure = Figure(window, spec)
    try:
        assert [type(v) for v in figure.views] == [type(live), type(window.views["Jacobian map"])]
        assert figure.findChildren(QMenuBar) == [] and figure.findChildren(QToolBar) == []
        assert figure.findChildren(QDockWidget) == []
        assert all(not v.controls.isVisible() for v in figure.views)     # no buttons
        assert (figure.width(), figure.height()) == spec.layout_size
        a, b = figure.views
        assert a.x() == 0 and b.x() == pytest.approx(spec.layout_size[0] / 2, abs=1)
        assert a.step == live.step == 20                                  # same numbers
        np.testing.assert_array_equal(a.shown["main"], live.shown["main"])
    finally:
        figure.close_figure()
    assert live.controls.isVisible() and live.size() == live_size         # the window untouched


def test_choices_in_a_view_s_buttons_carry_over(window):
    live = window.views["Gradient flow"]
    live.norm_box.setCurrentIndex(live.norm_box.findData("fro"))
    figure = Figure(window, FigureSpec(["gradient_flow"], width=12, height=8))
    try:
        copy = figure.views[0]
        assert copy.norm == "fro"
        np.testing.assert_array_equal(copy.shown["main"], live.shown["main"])
        fro = plotdata.gradient_flow(window.controller.analysis, 20, live.row)["log10_jac_h_fro"]
        np.testing.assert_array_equal(copy.shown["main"], fro)
    finally:
        figure.close_figure()


def test_png_svg_and_pdf_of_a_figure_agree(window, tmp_path):
    from pypdf import PdfReader

    spec = FigureSpec(["gradient_flow", "states"], width=16, height=6, unit="cm", dpi=120)
    png = export_figure_spec(window, spec, tmp_path / "f.png")
    svg = export_figure_spec(window, spec, tmp_path / "f.svg")
    pdf = export_figure_spec(window, spec, tmp_path / "f.pdf")
    img = QImage(str(png))
    assert (img.width(), img.height()) == spec.pixel_size
    rgb = image_to_array(img)
    assert rgb[0, 0].tolist() == [255, 255, 255] and rgb[-1, -1].tolist() == [255, 255, 255]

    root = ET.parse(svg).getroot()
    w_cm, h_cm = spec.size_cm
    assert float(root.get("width").removesuffix("cm")) == pytest.approx(w_cm, abs=1e-3)
    assert float(root.get("height").removesuffix("cm")) == pytest.approx(h_cm, abs=1e-3)
    texts = " ".join("".join(t.itertext()) for t in root.iter(NS + "text"))
    assert "Gradient flow at t = 20" in texts and "Hidden state" in texts
    assert "Norm" not in texts                                          # no buttons

    page = PdfReader(str(pdf)).pages[0]
    assert float(page.mediabox.width) == pytest.approx(w_cm / 2.54 * 72, abs=0.5)
    assert float(page.mediabox.height) == pytest.approx(h_cm / 2.54 * 72, abs=0.5)
    assert "Gradient flow at t = 20" in " ".join(page.extract_text().replace("\ufb02", "fl").split())

    # the vector files drawn by other programs look like the PNG (pixel by pixel, blurred)
    rsvg, pdftoppm = shutil.which("rsvg-convert"), shutil.which("pdftoppm")
    assert rsvg and pdftoppm, "run `sh scripts/system-deps.sh --test` (librsvg2-bin, poppler-utils)"
    subprocess.run([rsvg, "-b", "white", "-d", "120", "-p", "120", "-o", str(tmp_path / "s.png"),
                    str(svg)], check=True)
    subprocess.run([pdftoppm, "-png", "-r", "120", "-singlefile", str(pdf), str(tmp_path / "p")],
                   check=True)
    ref = blurred(png)
    for other in ("s.png", "p.png"):
        d = np.abs(blurred(tmp_path / other, spec.pixel_size) - ref)
        assert d.mean() < 3.5 and (d > 32).mean() < 0.03, (other, d.mean(), (d > 32).mean())


def test_the_whole_dashboard_is_the_shown_views_not_the_window(window, tmp_path):
    shown = shown_views(window)
    assert "compare" not in shown and len(shown) == len(window.views)
    spec = dashboard_spec(window)
    n = len(shown)   # up to three views to a row
    assert spec.views == shown and spec.grid() == (-(-n // 3), min(3, n))
    path = export_figure(window, DASHBOARD, tmp_path / "all.png", scale=2)
    img = QImage(str(path))
    assert (img.width(), img.height()) == dashboard_spec(window, scale=2).pixel_size
    assert (img.width(), img.height()) != (2 * window.width(), 2 * window.height())
    copied = copy_view(window, DASHBOARD, scale=1)
    assert (copied.width(), copied.height()) == dashboard_spec(window).pixel_size
    window.docks[type(window.views["States"]).__name__].hide()
    assert "states" not in shown_views(window)
    assert len(dashboard_spec(window).views) == len(shown) - 1


def test_a_figure_too_small_for_its_views_says_how_big_it_must_be(window, tmp_path):
    spec = FigureSpec(["gradient_flow", "states", "gates"], width=5, height=3, unit="cm")
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(GradvizError, match="needs at least"):
        export_figure_spec(window, spec, out / "f.png")
    assert list(out.iterdir()) == []


def test_the_dialog_builds_the_spec_and_keeps_the_physical_size(window, qtbot):
    dialog = FigureDialog(window, "gradient_flow")
    qtbot.addWidget(dialog)
    assert dialog.chosen() == ["gradient_flow"]
    dialog.boxes["jacobian_map"].setChecked(True)
    dialog.width_box.setValue(17)
    dialog.height_box.setValue(6)
    dialog.dpi.setValue(300)
    spec = dialog.spec()
    assert (spec.views, spec.width, spec.height, spec.unit, spec.dpi) == (
        ["gradient_flow", "jacobian_map"], 17, 6, "cm", 300)
    assert "PNG 2009 × 709 px" in dialog.summary.text()
    dialog.unit.setCurrentIndex(dialog.unit.findData("px"))              # same size in px
    assert dialog.width_box.value() == pytest.approx(17 / 2.54 * 300, abs=0.1)
    assert dialog.spec().pixel_size == pytest.approx(spec.pixel_size, abs=1)
    dialog.unit.setCurrentIndex(dialog.unit.findData("cm"))
    dialog.width_box.setValue(2)
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    assert not ok.isEnabled() and "too small" in dialog.summary.text()
    again = FigureDialog(window, "states", last=spec)                   # the last choices back
    qtbot.addWidget(again)
    assert again.chosen() == ["gradient_flow", "jacobian_map"] and again.dpi.value() == 300


def test_the_export_menu_and_toolbar_offer_the_figure(window):
    exporter = window.lecture.exporter
    texts = [a.text() for a in window.menus["export"].actions()]
    assert any("Figure: chosen views" in t for t in texts)
    assert exporter.figure_layout_action.shortcut().toString() == "Ctrl+Shift+E"
    assert "figure" in exporter.toolbar_actions
