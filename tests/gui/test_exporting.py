"""Figures written by gradviz.gui.exporting open as what they claim to be."""
import xml.etree.ElementTree as ET

import numpy as np
import pyqtgraph as pg
import pytest
from PyQt6.QtGui import QImage
from PyQt6.QtWidgets import QLabel, QVBoxLayout, QWidget

from gradviz.core.errors import GradvizError
from gradviz.gui.exporting import copy_to_clipboard, export_widget, image_to_array


@pytest.fixture
def figure(qtbot):
    w = QWidget()
    lay = QVBoxLayout(w)
    lay.addWidget(QLabel("Gradient flow"))
    plot = pg.PlotWidget()
    plot.setLabel("bottom", "lag t − i")
    plot.setLabel("left", "log10 norm")
    plot.plot(np.arange(40.0), np.sin(np.arange(40) / 5.0), pen=pg.mkPen("b", width=3))
    lay.addWidget(plot)
    qtbot.addWidget(w)
    w.resize(640, 400)
    w.show()
    qtbot.waitExposed(w)
    return w


@pytest.mark.parametrize("scale", [1, 2, 3])
def test_png_has_the_requested_resolution_and_ink(figure, tmp_path, scale):
    path = export_widget(figure, tmp_path / "f.png", scale=scale)
    img = QImage(str(path))
    assert (img.width(), img.height()) == (640 * scale, 400 * scale)
    rgb = image_to_array(img)
    assert rgb[0, 0].tolist() == [255, 255, 255]          # white background for slides
    blue = (rgb[:, :, 2] > 200) & (rgb[:, :, 0] < 80) & (rgb[:, :, 1] < 80)
    assert blue.sum() > 100 * scale                        # the curve is drawn


def test_svg_keeps_text_as_text_and_curves_as_paths(figure, tmp_path):
    path = export_widget(figure, tmp_path / "f.svg")
    root = ET.parse(path).getroot()
    ns = "{http://www.w3.org/2000/svg}"
    texts = "".join("".join(t.itertext()) for t in root.iter(ns + "text"))
    assert "Gradient" in texts and "lag" in texts
    paths = [p.get("d", "") for p in root.iter(ns + "path")]
    assert max(p.count("L") for p in paths) >= 39          # the 40-point curve is one path
    assert root.get("viewBox") == "0 0 640 400"


def test_pdf_keeps_text_and_vector_paths(figure, tmp_path):
    from pypdf import PdfReader
    path = export_widget(figure, tmp_path / "f.pdf")
    reader = PdfReader(str(path))
    assert len(reader.pages) == 1
    text = reader.pages[0].extract_text()
    assert "Gradient" in text and "lag" in text
    content = reader.pages[0].get_contents().get_data()
    assert content.count(b" l\n") + content.count(b" l ") >= 39   # lineto operators: a path
    box = reader.pages[0].mediabox
    assert float(box.width) == pytest.approx(640 * 0.75, abs=1)


def test_existing_file_is_not_overwritten_without_asking(figure, tmp_path):
    target = tmp_path / "f.png"
    target.write_bytes(b"keep me")
    with pytest.raises(GradvizError):
        export_widget(figure, target)
    assert target.read_bytes() == b"keep me"
    export_widget(figure, target, overwrite=True)
    assert QImage(str(target)).width() == 1280


def test_unknown_format_is_a_clear_error_and_writes_nothing(figure, tmp_path):
    with pytest.raises(GradvizError, match="png, svg or pdf"):
        export_widget(figure, tmp_path / "f.bmpx")
    assert list(tmp_path.iterdir()) == []


def test_clipboard_holds_the_image(figure, qapp):
    image = copy_to_clipboard(figure, scale=1)
    assert qapp.clipboard().image().size() == image.size()
