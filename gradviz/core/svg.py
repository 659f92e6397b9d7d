"""Make Qt's SVG output render the same everywhere (librsvg, Inkscape, browsers, LibreOffice).

Qt's QSvgGenerator writes SVG Tiny 1.2. Two habits of it break other renderers:

- Every paint state becomes a ``<g transform="matrix(...)">``. pyqtgraph paints a curve in
  data coordinates, so the matrix scales x and y very unevenly (pixels per step vs. pixels per
  decade), and its pens are *cosmetic* (width in device pixels), which Qt expresses with
  ``vector-effect="non-scaling-stroke"``. A renderer without that Tiny-1.2 property (librsvg,
  LibreOffice) strokes the path in data units, scaled by the matrix: a 2 px line becomes a band
  hundreds of pixels wide. Here the matrix is applied to the coordinates instead ("baked"):
  lines and Bézier curves are affine-invariant, so the geometry is exact, and the stroke width
  is then in plain user units, which every renderer agrees on.
- Rich text (``‖∂h<sub>t</sub>/∂h<sub>i</sub>‖``) becomes one ``<text>`` per run, each placed
  at an absolute x that Qt measured with its own font. With another font (or another family
  name resolution, "Sans Serif" is a Qt alias) the runs overlap or come apart. Runs that Qt
  laid out end to end are merged here into one ``<text>`` with ``<tspan>`` children that flow
  (the renderer advances by its own glyph widths) and shift the baseline with ``dy``.

:func:`portable_svg` does both, names real font families, and drops the Tiny profile. It is
Qt-free (ElementTree); the caller passes a function that measures text with Qt's metrics.
"""
from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable

SVG = "http://www.w3.org/2000/svg"
XLINK = "http://www.w3.org/1999/xlink"
XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"
_NS = "{" + SVG + "}"

#: measure(text, family, size, weight, italic) -> advance width in user units
Measure = Callable[[str, str, float, int, bool], float]

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_TOKEN = re.compile(rf"([MLCQZmlcqzHhVvSsTtAa])|({_NUMBER})")
#: path commands Qt writes (absolute) and how many numbers each takes
_ARITY = {"M": 2, "L": 2, "C": 6, "Q": 4, "Z": 0}
_TEXT_ATTRS = ("fill", "fill-opacity", "font-family", "font-size", "font-weight", "font-style")


class _Unbakeable(Exception):
    """Geometry this module does not rewrite (it keeps its transform instead)."""


def _matrix(text: str | None):
    if not text:
        return None
    m = re.fullmatch(r"\s*matrix\(([^)]*)\)\s*", text)
    if m is None:
        raise _Unbakeable(text)
    values = [float(v) for v in re.split(r"[\s,]+", m.group(1).strip())]
    if len(values) != 6:
        raise _Unbakeable(text)
    return tuple(values)


def _fmt(v: float) -> str:
    text = f"{v:.4f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _apply(m, x: float, y: float) -> tuple[float, float]:
    a, b, c, d, e, f = m
    return a * x + c * y + e, b * x + d * y + f


def _bake_path(d: str, m) -> str:
    tokens = _TOKEN.findall(d)
    out, i = [], 0
    while i < len(tokens):
        cmd = tokens[i][0]
        if not cmd or cmd not in _ARITY:
            raise _Unbakeable(d)             # relative or other commands: Qt does not write them
        i += 1
        n = _ARITY[cmd]
        if n == 0:
            out.append(cmd)
            continue
        first = True
        while i < len(tokens) and not tokens[i][0]:
            nums = [float(t[1]) for t in tokens[i:i + n]]
            if len(nums) != n or any(t[0] for t in tokens[i:i + n]):
                raise _Unbakeable(d)
            i += n
            pts = [_apply(m, nums[k], nums[k + 1]) for k in range(0, n, 2)]
            out.append((cmd if first else "") + " ".join(f"{_fmt(x)},{_fmt(y)}" for x, y in pts))
            first = False
    return " ".join(out)


def _bake_points(points: str, m) -> str:
    nums = [float(v) for v in re.findall(_NUMBER, points)]
    if len(nums) % 2:
        raise _Unbakeable(points)
    return " ".join(f"{_fmt(x)},{_fmt(y)}"
                    for x, y in (_apply(m, nums[k], nums[k + 1]) for k in range(0, len(nums), 2)))


def _f(el, name, default=0.0) -> float:
    v = el.get(name)
    return default if v is None else float(v)


def _bake(el, m) -> bool:
    """Rewrite ``el``'s geometry through ``m`` in place; False if it must keep a transform."""
    tag = el.tag.removeprefix(_NS)
    a, b, c, d = m[:4]
    axis_aligned = b == 0 and c == 0
    if tag == "path":
        el.set("d", _bake_path(el.get("d", ""), m))
    elif tag in ("polyline", "polygon"):
        el.set("points", _bake_points(el.get("points", ""), m))
    elif tag == "line":
        x1, y1 = _apply(m, _f(el, "x1"), _f(el, "y1"))
        x2, y2 = _apply(m, _f(el, "x2"), _f(el, "y2"))
        for k, v in zip(("x1", "y1", "x2", "y2"), (x1, y1, x2, y2)):
            el.set(k, _fmt(v))
    elif tag == "rect" and not el.get("rx") and not el.get("ry"):
        x, y, w, h = _f(el, "x"), _f(el, "y"), _f(el, "width"), _f(el, "height")
        corners = [(x, y), (x + w, y), (x + w, y + h), (x, y + h)]
        if axis_aligned:
            (x0, y0), (x1, y1) = _apply(m, x, y), _apply(m, x + w, y + h)
            for k, v in zip(("x", "y", "width", "height"),
                            (min(x0, x1), min(y0, y1), abs(x1 - x0), abs(y1 - y0))):
                el.set(k, _fmt(v))
        else:
            el.tag = _NS + "polygon"
            for k in ("x", "y", "width", "height"):
                el.attrib.pop(k, None)
            el.set("points", " ".join(f"{_fmt(px)},{_fmt(py)}"
                                      for px, py in (_apply(m, *p) for p in corners)))
    elif tag == "ellipse" and axis_aligned:
        cx, cy = _apply(m, _f(el, "cx"), _f(el, "cy"))
        el.set("cx", _fmt(cx))
        el.set("cy", _fmt(cy))
        el.set("rx", _fmt(abs(a) * _f(el, "rx")))
        el.set("ry", _fmt(abs(d) * _f(el, "ry")))
    else:
        return False
    return True


def _is_identity(m) -> bool:
    return m is None or all(abs(v - w) < 1e-12 for v, w in zip(m, (1, 0, 0, 1, 0, 0)))


def _strokes_scale(el, group) -> bool:
    """Whether ``el``'s stroke is drawn in its own (transformed) units: a non-cosmetic pen."""
    stroke = el.get("stroke", group.get("stroke"))
    return stroke not in (None, "none") and el.get("vector-effect") != "non-scaling-stroke"


def _flatten_group(group) -> None:
    """Apply the group's matrix to its children (exact) and drop it from the group."""
    try:
        m = _matrix(group.get("transform"))
    except _Unbakeable:
        return
    if _is_identity(m):
        group.attrib.pop("transform", None)
        for el in group:
            el.attrib.pop("vector-effect", None)      # identity: stroke widths already right
        return
    text = group.get("transform")
    for el in list(group):
        own = el.get("transform")
        baked = False
        if not _strokes_scale(el, group) and own is None:
            try:
                baked = _bake(el, m)
            except _Unbakeable:
                baked = False
        if baked:
            el.attrib.pop("vector-effect", None)
        else:                                         # text, images, non-cosmetic strokes
            el.set("transform", f"{text} {own}" if own else text)
    group.attrib.pop("transform")


def _style(el, parent) -> dict:
    return {k: el.get(k, parent.get(k)) for k in _TEXT_ATTRS}


def _leaves(root):
    """(element, parent) of every drawn element in painting order (groups opened)."""
    out = []

    def walk(node):
        for child in list(node):
            if child.tag == _NS + "g":
                walk(child)
            elif child.tag not in (_NS + "title", _NS + "desc", _NS + "defs"):
                out.append((child, node))
    walk(root)
    return out


def _merge_runs(root, measure: Measure) -> None:
    """Merge ``<text>`` runs that Qt laid end to end on (nearly) one baseline into one text.

    Qt starts a new group whenever the colour changes, so runs are neighbours in painting
    order, not necessarily siblings. A run joins the previous one when it starts where that
    one ends (Qt's advance, within a fifth of the font size) and its baseline is within 0.6
    of the font size (a sub- or superscript); tick labels, spaced apart, stay apart.
    """
    leaves = _leaves(root)
    k = 0
    while k < len(leaves):
        first, first_parent = leaves[k]
        if first.tag != _NS + "text" or len(first):
            k += 1
            continue
        run = [(first, first_parent)]
        base = _style(first, first_parent)
        base_size = float(base["font-size"] or 12)
        while k + len(run) < len(leaves):
            (prev, prev_parent), (nxt, nxt_parent) = run[-1], leaves[k + len(run)]
            if nxt.tag != _NS + "text" or len(nxt) or nxt.get("transform") != first.get("transform"):
                break
            ps, ns_ = _style(prev, prev_parent), _style(nxt, nxt_parent)
            size = float(ps["font-size"] or 12)
            end = _f(prev, "x") + measure(prev.text or "", ps["font-family"] or "sans-serif",
                                          size, int(float(ps["font-weight"] or 400)),
                                          ps["font-style"] == "italic")
            if abs(_f(nxt, "x") - end) > 0.2 * max(size, float(ns_["font-size"] or 12)) \
                    or abs(_f(nxt, "y") - _f(first, "y")) > 0.6 * base_size:
                break
            run.append((nxt, nxt_parent))
        y_prev = _f(first, "y")
        for piece, parent in run[1:]:
            span = ET.SubElement(first, _NS + "tspan")
            style = _style(piece, parent)
            for name in _TEXT_ATTRS:
                if style[name] is not None and style[name] != base[name]:
                    span.set(name, style[name])
            dy = _f(piece, "y") - y_prev
            if abs(dy) > 1e-9:
                span.set("dy", _fmt(dy))
            y_prev = _f(piece, "y")
            span.text = piece.text
            parent.remove(piece)
        k += len(run)


def _crisp_image(img, most: int = 4096) -> None:
    """Heat-map cells stay cells: a magnified raster is enlarged by whole factors (nearest).

    Renderers scale an embedded image smoothly unless they honour ``image-rendering`` (librsvg
    2.54 does not), so a 4×4 Jacobian would become a blur. Enlarged ``k`` times with nearest
    neighbours it is the same picture, and smoothing only softens the outer pixel of a cell.
    """
    img.set("image-rendering", "optimizeSpeed")
    img.set("style", "image-rendering:pixelated")
    href = img.get("{" + XLINK + "}href") or img.get("href") or ""
    prefix = "data:image/png;base64,"
    if not href.startswith(prefix):
        return
    import base64
    import io

    from PIL import Image

    try:
        m = _matrix(img.get("transform")) or (1, 0, 0, 1, 0, 0)
    except _Unbakeable:
        return
    drawn_w = _f(img, "width") * math.hypot(m[0], m[1])
    drawn_h = _f(img, "height") * math.hypot(m[2], m[3])
    picture = Image.open(io.BytesIO(base64.b64decode(href[len(prefix):])))
    w, h = picture.size
    fx = max(1, min(math.ceil(2 * drawn_w / w), most // w))
    fy = max(1, min(math.ceil(2 * drawn_h / h), most // h))
    if fx == 1 and fy == 1:
        return
    out = io.BytesIO()
    picture.resize((w * fx, h * fy), Image.Resampling.NEAREST).save(out, "PNG", optimize=True)
    img.set("{" + XLINK + "}href", prefix + base64.b64encode(out.getvalue()).decode("ascii"))


def portable_svg(data: bytes, families: dict[str, str] | None = None,
                 measure: Measure | None = None, size: tuple[str, str] | None = None) -> bytes:
    """Qt's SVG ``data`` rewritten to render the same in every renderer (see module doc).

    ``families`` maps the family names Qt wrote ("Sans Serif") to what they resolved to
    ("DejaVu Sans"); every family list ends with the generic ``sans-serif``. ``measure`` gives
    text advances (to merge rich-text runs; without it runs stay apart). ``size`` replaces the
    outer width and height (e.g. ``("8.5cm", "5.3cm")``); the viewBox stays.
    """
    ET.register_namespace("", SVG)
    ET.register_namespace("xlink", XLINK)
    root = ET.fromstring(data)
    root.set("version", "1.1")
    root.attrib.pop("baseProfile", None)
    if size is not None:
        root.set("width", size[0])
        root.set("height", size[1])
    families = families or {}
    for el in root.iter():
        family = el.get("font-family")
        if family is not None:
            name = family.strip().strip("'\"")
            real = families.get(name, name)
            el.set("font-family", real if real.lower() == "sans-serif" else f"{real}, sans-serif")
    for group in list(root.iter(_NS + "g")):
        _flatten_group(group)
    for clip in root.iter(_NS + "clipPath"):        # clip shapes are in device units already
        for el in clip.iter():
            if clip.get("transform") is None and el.get("transform") is None:
                el.attrib.pop("vector-effect", None)
    # merge after the families are rewritten, measuring with the names Qt resolved
    if measure is not None:
        _merge_runs(root, lambda text, family, size_, weight, italic: measure(
            text, family.split(",")[0].strip(), size_, weight, italic))
    for img in root.iter(_NS + "image"):
        _crisp_image(img)
    return b'<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n' + \
        ET.tostring(root, encoding="utf-8", xml_declaration=False)

