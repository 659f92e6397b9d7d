"""An SVG export looks like the PNG export in another renderer (librsvg's rsvg-convert).

librsvg is what GNOME's viewers, many LaTeX/Markdown pipelines and LibreOffice-like tools use;
it does not know SVG Tiny's ``vector-effect``, which is how the bug showed (curves as bands).
``rsvg-convert`` comes from Debian's librsvg2-bin, installed by ``scripts/system-deps.sh --test``
(``make test`` runs it). Images are compared pixel by pixel after a 1.5 px blur that absorbs
the two renderers' different anti-aliasing and glyph hinting.
"""
import shutil
import subprocess
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image, ImageFilter
from PyQt6.QtCore import QBuffer, QIODevice, QRectF
from PyQt6.QtSvg import QSvgGenerator

from gradviz.core.scene import Scene, analyse, simulate
from gradviz.gui.exporting import _render_vector, export_widget
from gradviz.gui.render import _prepare
from gradviz.gui.views import ALL_VIEWS
from gradviz.gui.views.base import Appearance

NS = "{http://www.w3.org/2000/svg}"
SIZE = (640, 400)


def rsvg(svg_path, png_path):
    exe = shutil.which("rsvg-convert")
    assert exe, "rsvg-convert is missing: run `sh scripts/system-deps.sh --test` (librsvg2-bin)"
    subprocess.run([exe, "-b", "white", "-o", str(png_path), str(svg_path)], check=True)


def grey(path):
    return np.asarray(Image.open(path).convert("L"), dtype=np.float64)


def difference(a_path, b_path):
    """(mean |a − b|, share of pixels differing by > 32 of 255), both blurred by 1.5 px."""
    a, b = grey(a_path), grey(b_path)
    assert a.shape == b.shape, (a.shape, b.shape)
    def blur(x):
        return np.asarray(Image.fromarray(x.astype(np.uint8)).filter(ImageFilter.GaussianBlur(1.5)),
                          float)
    d = np.abs(blur(a) - blur(b))
    return d.mean(), (d > 32).mean()


@pytest.fixture(scope="module")
def analyses():
    out = {}
    for cell, kw in (("rnn", {"wr_scale": 1.3}), ("lstm", {})):
        scene = Scene(cell=cell, hidden_size=4, steps=30, **kw)
        out[cell] = scene, analyse(simulate(scene), exact=False, dtype=np.float32)
    return out


def _view(qtbot, cls, scene, a):
    view = cls()
    qtbot.addWidget(view)
    view.set_appearance(Appearance())
    view.set_analysis(scene, a)
    view.set_step(scene.steps, a.row(scene.steps))
    _prepare(view, SIZE)
    return view


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_every_view_renders_in_librsvg_as_in_the_png_export(qtbot, tmp_path, analyses, cell):
    scene, a = analyses[cell]
    for cls in ALL_VIEWS:
        view = _view(qtbot, cls, scene, a)
        png = export_widget(view, tmp_path / f"{cls.file_stem}.png", scale=1)
        svg = export_widget(view, tmp_path / f"{cls.file_stem}.svg")
        rsvg(svg, tmp_path / f"{cls.file_stem}-rsvg.png")
        mean, share = difference(png, tmp_path / f"{cls.file_stem}-rsvg.png")
        assert mean < 3.0 and share < 0.02, (cls.file_stem, mean, share)
        text = svg.read_text()
        assert "vector-effect" not in text and "baseProfile" not in text
        view.close()


def test_qt_s_own_svg_fails_the_same_comparison(qtbot, tmp_path, analyses):
    """The comparison sees the bug: Qt's raw output turns curves into bands in librsvg."""
    scene, a = analyses["lstm"]
    from gradviz.gui.views.gradient_flow import GradientFlowView
    view = _view(qtbot, GradientFlowView, scene, a)
    png = export_widget(view, tmp_path / "g.png", scale=1)
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    gen = QSvgGenerator()
    gen.setOutputDevice(buffer)
    gen.setResolution(96)
    gen.setSize(view.size())
    gen.setViewBox(QRectF(0, 0, *SIZE))
    _render_vector(view, gen)
    buffer.close()
    raw = tmp_path / "raw.svg"
    raw.write_bytes(bytes(buffer.data()))
    assert b"non-scaling-stroke" in raw.read_bytes()
    rsvg(raw, tmp_path / "raw.png")
    mean, share = difference(png, tmp_path / "raw.png")
    assert mean > 10 and share > 0.1


def test_subscripts_stay_in_one_text_and_text_stays_text(qtbot, tmp_path, analyses):
    scene, a = analyses["lstm"]
    from gradviz.gui.views.gradient_flow import GradientFlowView
    view = _view(qtbot, GradientFlowView, scene, a)
    root = ET.parse(export_widget(view, tmp_path / "g.svg")).getroot()
    texts = ["".join(t.itertext()).strip() for t in root.iter(NS + "text")]
    assert "‖∂ht/∂hi‖2" in texts                      # the legend entry, one text object
    assert "log10 ‖∂ht/∂hi‖" in texts                 # the rotated axis label too
    assert "Gradient flow at t = 30" in texts
    legend = next(t for t in root.iter(NS + "text") if "".join(t.itertext()) == "‖∂ht/∂hi‖2")
    assert [s.text for s in legend] == ["t", "/∂h", "i", "‖", "2"]
    assert all(s.get("x") is None for s in legend)
    assert legend.get("font-family").endswith(", sans-serif")
    assert (root.get("width"), root.get("height")) == ("640px", "400px")


def test_chinese_labels_with_subscripts_render_alike(qtbot, tmp_path):
    """CJK glyphs come from the fallback font (fonts-wqy-microhei) in Qt and in librsvg."""
    import pyqtgraph as pg

    plot = pg.PlotWidget()
    qtbot.addWidget(plot)
    plot.setBackground("w")
    plot.resize(480, 300)
    plot.setTitle("梯度流 ‖∂h<sub>t</sub>/∂h<sub>i</sub>‖ 在 t = 30", color="k", size="14pt")
    plot.setLabel("bottom", "滞后 t − i（步）", color="k")
    plot.plot(np.arange(20.0), np.cos(np.arange(20) / 3), pen=pg.mkPen("b", width=3))
    plot.show()
    qtbot.waitExposed(plot)
    png = export_widget(plot, tmp_path / "c.png", scale=1)
    svg = export_widget(plot, tmp_path / "c.svg")
    rsvg(svg, tmp_path / "c-rsvg.png")
    mean, share = difference(png, tmp_path / "c-rsvg.png")
    assert mean < 2.0 and share < 0.02, (mean, share)
    texts = ["".join(t.itertext()).strip() for t in ET.parse(svg).getroot().iter(NS + "text")]
    assert "梯度流 ‖∂ht/∂hi‖ 在 t = 30" in texts
