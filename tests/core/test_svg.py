"""gradviz.core.svg: Qt's SVG made renderer-independent (baked matrices, merged text runs)."""
import base64
import io
import xml.etree.ElementTree as ET

import pytest
from PIL import Image

from gradviz.core.svg import portable_svg

NS = "{http://www.w3.org/2000/svg}"
HEAD = ('<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n<svg width="169.333mm" '
        'height="105.833mm" viewBox="0 0 640 400" xmlns="http://www.w3.org/2000/svg" '
        'xmlns:xlink="http://www.w3.org/1999/xlink" version="1.2" baseProfile="tiny">\n')


def svg(body: str) -> bytes:
    return (HEAD + body + "\n</svg>").encode()


def numbers(text: str) -> list[float]:
    return [float(v) for v in text.replace(",", " ").replace("M", " ").replace("L", " ").split()]


def test_a_cosmetic_stroke_under_uneven_scaling_is_baked_into_the_coordinates():
    # what pyqtgraph gives Qt: data coordinates, 20 px per step in x, -30 px per decade in y
    body = ('<g stroke="#0060a8" stroke-width="2.5" fill="none" transform="matrix(20,0,0,-30,70,80)">'
            '<path vector-effect="non-scaling-stroke" fill-rule="evenodd" d="M0,0 L1,-0.5 L2,-1.25 "/>'
            '<polyline fill="none" vector-effect="non-scaling-stroke" points="-0.5,0 30.5,0 " />'
            '</g>')
    root = ET.fromstring(portable_svg(svg(body)))
    group = root.find(NS + "g")
    assert group.get("transform") is None
    path, line = list(group)
    assert path.get("vector-effect") is None and line.get("vector-effect") is None
    assert numbers(path.get("d")) == pytest.approx([70, 80, 90, 95, 110, 117.5])
    assert numbers(line.get("points")) == pytest.approx([60, 80, 680, 80])
    assert group.get("stroke-width") == "2.5"         # now in plain user units = device px
    assert root.get("version") == "1.1" and root.get("baseProfile") is None


def test_bezier_and_close_commands_are_mapped_point_by_point():
    body = ('<g fill="#ff0000" stroke="none" transform="matrix(2,0,0,3,10,20)">'
            '<path fill-rule="evenodd" d="M0,0 C1,0 1,1 0,1 L0,0 Z"/></g>')
    path = ET.fromstring(portable_svg(svg(body))).find(f"{NS}g/{NS}path")
    assert path.get("d").endswith("Z")
    assert numbers(path.get("d").replace("C", " ").replace("Z", " ")) == pytest.approx(
        [10, 20, 12, 20, 12, 23, 10, 23, 10, 20])


def test_fills_and_rects_are_baked_and_rotated_rects_become_polygons():
    body = ('<g fill="#ffffff" stroke="none" transform="matrix(2,0,0,4,1,1)">'
            '<rect x="1" y="1" width="3" height="2"/></g>'
            '<g fill="#ffffff" stroke="none" transform="matrix(0,-1,1,0,0,100)">'
            '<rect x="0" y="0" width="10" height="5"/></g>')
    g1, g2 = ET.fromstring(portable_svg(svg(body))).findall(NS + "g")
    rect = g1.find(NS + "rect")
    assert [float(rect.get(k)) for k in ("x", "y", "width", "height")] == [3, 5, 6, 8]
    poly = g2.find(NS + "polygon")
    assert numbers(poly.get("points")) == pytest.approx([0, 100, 0, 90, 5, 90, 5, 100])


def test_a_non_cosmetic_stroke_keeps_its_matrix_on_the_element():
    body = ('<g stroke="#000000" stroke-width="0.1" fill="none" transform="matrix(20,0,0,-30,70,80)">'
            '<path d="M0,0 L1,1"/><text x="0" y="0" font-size="10">a</text></g>')
    group = ET.fromstring(portable_svg(svg(body))).find(NS + "g")
    path, text = list(group)
    assert path.get("d") == "M0,0 L1,1"                   # a pen in data units scales, as it should
    assert path.get("transform") == text.get("transform") == "matrix(20,0,0,-30,70,80)"


def _text(x, y, s, size=14.6667, fill="#111111", weight=400):
    return (f'<text fill="{fill}" fill-opacity="1" stroke="none" xml:space="preserve" x="{x}" '
            f'y="{y}" font-family="Sans Serif" font-size="{size}" font-weight="{weight}" '
            f'font-style="normal">{s}</text>')


def advance(text, family, size, weight, italic):
    return 0.5 * size * len(text)                       # a monospaced font of half-em glyphs


def test_rich_text_runs_become_one_text_with_tspans_and_tick_labels_stay_apart():
    # "‖∂h<sub>t</sub>/∂h<sub>i</sub>‖" as Qt writes it: one <text> per run, absolute x; the
    # colour change puts a run in a group of its own
    runs = (_text(4, 17.92, "‖∂h") + _text(4 + 3 * 7.33333, 19.56, "t", size=9.33333)
            + _text(4 + 3 * 7.33333 + 4.66667, 17.92, "/∂h"))
    red = _text(4 + 6 * 7.33333 + 4.66667, 17.92, "red", fill="#d55e00")
    ticks = _text(0.7, 18.9, "0") + _text(91.9, 18.9, "5") + _text(178.3, 18.9, "10")
    body = (f'<g transform="matrix(1,0,0,1,107,36)">{runs}</g>'
            f'<g transform="matrix(1,0,0,1,107,36)">{red}</g>'
            f'<g transform="matrix(1,0,0,1,71,346)">{ticks}</g>')
    root = ET.fromstring(portable_svg(svg(body), {"Sans Serif": "DejaVu Sans"}, advance))
    texts = list(root.iter(NS + "text"))
    assert ["".join(t.itertext()) for t in texts] == ["‖∂ht/∂hred", "0", "5", "10"]
    label = texts[0]
    spans = label.findall(NS + "tspan")
    assert [s.text for s in spans] == ["t", "/∂h", "red"]
    assert [s.get("dy") for s in spans] == ["1.64", "-1.64", None]      # sub, back, same line
    assert spans[0].get("font-size") == "9.33333" and spans[1].get("font-size") is None
    assert spans[2].get("fill") == "#d55e00"
    assert label.get("transform") == "matrix(1,0,0,1,107,36)"
    assert all(t.get("x") is None for t in spans)      # they flow: no gaps in any font
    assert label.get("font-family") == "DejaVu Sans, sans-serif"
    assert root.find(NS + "g")[0] is label


def test_a_magnified_heat_map_is_enlarged_by_whole_factors():
    cells = Image.new("RGB", (2, 2))
    cells.putdata([(255, 0, 0), (0, 0, 255), (0, 255, 0), (255, 255, 255)])
    buf = io.BytesIO()
    cells.save(buf, "PNG")
    href = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
    body = (f'<g transform="matrix(50,0,0,40,10,10)"><image x="0" y="0" width="2" height="2" '
            f'preserveAspectRatio="none" xlink:href="{href}"/></g>')
    image = ET.fromstring(portable_svg(svg(body))).find(f"{NS}g/{NS}image")
    data = image.get("{http://www.w3.org/1999/xlink}href").split(",", 1)[1]
    big = Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB")
    assert big.size == (200, 160)                      # 2 × drawn size, nearest neighbour
    assert big.getpixel((99, 79)) == (255, 0, 0) and big.getpixel((100, 79)) == (0, 0, 255)
    assert big.getpixel((100, 80)) == (255, 255, 255)
    assert image.get("transform") == "matrix(50,0,0,40,10,10)"


def test_the_outer_size_can_be_given_in_centimetres():
    root = ET.fromstring(portable_svg(svg(""), size=("8.5cm", "5.3125cm")))
    assert (root.get("width"), root.get("height")) == ("8.5cm", "5.3125cm")
    assert root.get("viewBox") == "0 0 640 400"


def test_an_element_with_its_own_matrix_keeps_both_in_order():
    body = ('<g fill="#000000" stroke="none" transform="matrix(2,0,0,2,0,0)">'
            '<path transform="matrix(1,0,0,1,5,5)" d="M0,0 L1,1"/></g>')
    path = ET.fromstring(portable_svg(svg(body))).find(f"{NS}g/{NS}path")
    assert path.get("transform") == "matrix(2,0,0,2,0,0) matrix(1,0,0,1,5,5)"
    assert path.get("d") == "M0,0 L1,1"
