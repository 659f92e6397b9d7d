"""Figures that leave the window: PNG at 1×/2×/3×, SVG and PDF that stay vector, clipboard.

Every function renders a QWidget (one view, or the whole dashboard) through ``QWidget.render``
onto a paint device: a QImage for PNG (the painter scaled, so text and lines are redrawn at the
higher resolution rather than upscaled), a QSvgGenerator for SVG, a QPdfWriter for PDF. The last
two keep text as text and curves as paths. pyqtgraph 0.14.0's own SVG exporter raises
ValueError under Qt 6.11, so it is not used. Files are written atomically (temp + rename).
"""
from __future__ import annotations

from pathlib import Path

import re

from PyQt6.QtCore import QBuffer, QIODevice, QMarginsF, QRectF, QSizeF
from PyQt6.QtGui import (QFont, QFontInfo, QFontMetricsF, QGuiApplication, QImage, QPageSize,
                         QPainter, QPdfWriter, QPicture)
from PyQt6.QtSvg import QSvgGenerator
import pyqtgraph as pg
from PyQt6.QtWidgets import QGraphicsView, QWidget

from ..core.errors import GradvizError
from ..core.files import atomic_path
from ..core.svg import portable_svg
from .render import render_image, uncached, white_background
from ..core.i18n import _

FORMATS = ("png", "svg", "pdf")


class _VectorFriendly:
    """Draw curves as one path each and backgrounds without cached pixmaps while exporting.

    pyqtgraph draws thick curves as separate segments, caches each view's background as a
    pixmap and stamps scatter symbols from a pixmap atlas: fine on screen, but a vector file
    would hold hundreds of two-point lines and embedded images.
    """

    def __init__(self, widget: QWidget):
        self.curves = []
        self.scatters = []
        self.views = []
        for view in [widget, *widget.findChildren(QGraphicsView)]:
            if not isinstance(view, QGraphicsView) or view.scene() is None:
                continue
            self.views.append((view, view.cacheMode()))
            for item in view.scene().items():
                if isinstance(item, pg.PlotCurveItem):
                    self.curves.append((item, item.opts.get("segmentedLineMode", "auto")))
                elif isinstance(item, pg.ScatterPlotItem):
                    self.scatters.append((item, item.opts.get("useCache", True)))

    def __enter__(self):
        for view, _cache in self.views:
            view.setCacheMode(QGraphicsView.CacheModeFlag.CacheNone)
            view.resetCachedContent()
        for curve, _cache in self.curves:
            curve.setSegmentedLineMode("off")
        for scatter, _cache in self.scatters:
            scatter.opts["useCache"] = False      # symbols as paths, not cached pixmaps
        return self

    def __exit__(self, *exc):
        for view, mode in self.views:
            view.setCacheMode(mode)
        for curve, mode in self.curves:
            curve.setSegmentedLineMode(mode)
        for scatter, cached in self.scatters:
            scatter.opts["useCache"] = cached
        return False


def _render_vector(widget: QWidget, device) -> None:
    from .views.base import draw_pending
    draw_pending(widget)          # a view behind another tab holds numbers it has not drawn
    with _VectorFriendly(widget), uncached(widget):
        painter = QPainter(device)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        widget.render(painter)
        painter.end()


def _measure(text: str, family: str, size: float, weight: int, italic: bool) -> float:
    """Advance of ``text`` in Qt's metrics (what placed the rich-text runs in the SVG)."""
    font = QFont(family)
    screen = QGuiApplication.primaryScreen()
    font.setPointSizeF(size * 72 / (screen.logicalDotsPerInch() if screen else 96))   # size in px
    font.setWeight(QFont.Weight(max(1, min(1000, weight))))
    font.setItalic(italic)
    return QFontMetricsF(font).horizontalAdvance(text)


def _families(data: bytes) -> dict[str, str]:
    """Family names in Qt's SVG -> the families they resolve to on this system."""
    out = {}
    for name in set(re.findall(rb'font-family="([^"]*)"', data)):
        family = name.decode("utf-8").strip()
        out[family] = QFontInfo(QFont(family)).family() or family
    return out


def svg_bytes(widget: QWidget, title: str = "gradviz", size: tuple[str, str] | None = None) -> bytes:
    """``widget`` as an SVG that renders alike in librsvg, Inkscape, browsers and LibreOffice.

    The widget is painted into a QPicture, which is played into Qt's SVG 1.1 generator (at
    the widget's logical DPI, so text has the size laid out on screen). SVG 1.1 writes clip
    paths, so what the screen clips (a label too long for its plot) is clipped here too;
    painting it directly, Qt 6.11's generator keeps a stale clip path (curves clipped to a
    label's box vanish), replaying the recorded picture gives it each clip explicitly.
    :func:`gradviz.core.svg.portable_svg` then applies each group's matrix to the coordinates,
    so no stroke relies on ``vector-effect``, and merges rich-text runs. ``size`` is the outer
    width and height (default: the widget's size in px).
    """
    picture = QPicture()
    _render_vector(widget, picture)
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    gen = QSvgGenerator(QSvgGenerator.SvgVersion.Svg11)
    gen.setOutputDevice(buffer)
    gen.setResolution(round(widget.logicalDpiX()) or 96)
    gen.setSize(widget.size())
    gen.setViewBox(QRectF(0, 0, widget.width(), widget.height()))
    gen.setTitle(title)
    gen.setDescription("made with gradviz")
    painter = QPainter(gen)
    picture.play(painter)
    painter.end()
    buffer.close()
    data = bytes(buffer.data())
    return portable_svg(data, _families(data), _measure,
                        size or (f"{widget.width()}px", f"{widget.height()}px"))


def write_svg(widget: QWidget, path, title: str = "gradviz", size=None) -> None:
    Path(path).write_bytes(svg_bytes(widget, title, size))


def export_widget(widget: QWidget, path, fmt: str | None = None, scale: float = 2.0,
                  white: bool = True, overwrite: bool = False, title: str = "gradviz",
                  svg_size: tuple[str, str] | None = None) -> Path:
    """Write ``widget`` to ``path`` as PNG (at ``scale``), SVG or PDF; returns the path.

    ``svg_size`` is the SVG's outer width and height (e.g. ``("8.5cm", "5cm")``); by default
    the widget's size in px at 96 per inch. The PDF page is the widget's size at 96 per inch.

    Raises :class:`GradvizError` for an unknown format or an existing file (unless
    ``overwrite``); a failed write leaves no file behind.
    """
    path = Path(path)
    fmt = (fmt or path.suffix.lstrip(".")).lower()
    if fmt not in FORMATS:
        raise GradvizError(_("{name}: unknown figure format {fmt!r}; expected png, svg or pdf")
                           .format(name=path.name, fmt=fmt))
    w, h = widget.width(), widget.height()
    with atomic_path(path, overwrite=overwrite) as tmp:
        if fmt == "png":
            if not render_image(widget, scale, white).save(str(tmp), "PNG"):
                raise GradvizError(_("{path}: could not write the PNG").format(path=path))
            return path
        with white_background(widget, white):
            if fmt == "svg":
                write_svg(widget, tmp, title, svg_size)
            else:
                pdf = QPdfWriter(str(tmp))
                pdf.setTitle(title)
                pdf.setCreator("gradviz")
                pdf.setResolution(96)
                pdf.setPageSize(QPageSize(QSizeF(w * 72 / 96, h * 72 / 96), QPageSize.Unit.Point))
                pdf.setPageMargins(QMarginsF(0, 0, 0, 0))
                _render_vector(widget, pdf)
                del pdf   # flushes the file before the rename
    return path


def copy_to_clipboard(widget: QWidget, scale: float = 2.0, white: bool = True) -> QImage:
    """Put the widget on the clipboard as an image (for pasting into slides)."""
    image = render_image(widget, scale, white)
    QGuiApplication.clipboard().setImage(image)
    return image


def image_to_array(image: QImage):
    """A QImage as an (H, W, 3) uint8 RGB numpy array (for animation frames)."""
    import numpy as np
    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    w, h, stride = rgb.width(), rgb.height(), rgb.bytesPerLine()
    buf = np.frombuffer(rgb.constBits().asarray(stride * h), dtype=np.uint8).reshape(h, stride)
    return buf[:, :w * 3].reshape(h, w, 3).copy()
