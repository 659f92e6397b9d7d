"""Figures that leave the window: PNG at 1×/2×/3×, SVG and PDF that stay vector, clipboard.

Every function renders a QWidget (one view, or the whole dashboard) through ``QWidget.render``
onto a paint device: a QImage for PNG (the painter scaled, so text and lines are redrawn at the
higher resolution rather than upscaled), a QSvgGenerator for SVG, a QPdfWriter for PDF. The last
two keep text as text and curves as paths. pyqtgraph 0.14.0's own SVG exporter raises
ValueError under Qt 6.11, so it is not used. Files are written atomically (temp + rename).
"""
from __future__ import annotations

from pathlib import Path

from PyQt6.QtCore import QMarginsF, QRectF, QSizeF
from PyQt6.QtGui import QGuiApplication, QImage, QPageSize, QPainter, QPdfWriter
from PyQt6.QtSvg import QSvgGenerator
import pyqtgraph as pg
from PyQt6.QtWidgets import QGraphicsView, QWidget

from ..core.errors import GradvizError
from ..core.files import atomic_path
from .render import render_image, white_background

FORMATS = ("png", "svg", "pdf")


class _VectorFriendly:
    """Draw curves as one path each and backgrounds without cached pixmaps while exporting.

    pyqtgraph draws thick curves as separate segments and caches each view's background as a
    pixmap: both are fine on screen, but a vector file would hold hundreds of two-point lines
    and an embedded image.
    """

    def __init__(self, widget: QWidget):
        self.curves = []
        self.views = []
        for view in [widget, *widget.findChildren(QGraphicsView)]:
            if not isinstance(view, QGraphicsView) or view.scene() is None:
                continue
            self.views.append((view, view.cacheMode()))
            for item in view.scene().items():
                if isinstance(item, pg.PlotCurveItem):
                    self.curves.append((item, item.opts.get("segmentedLineMode", "auto")))

    def __enter__(self):
        for view, _ in self.views:
            view.setCacheMode(QGraphicsView.CacheModeFlag.CacheNone)
            view.resetCachedContent()
        for curve, _ in self.curves:
            curve.setSegmentedLineMode("off")
        return self

    def __exit__(self, *exc):
        for view, mode in self.views:
            view.setCacheMode(mode)
        for curve, mode in self.curves:
            curve.setSegmentedLineMode(mode)
        return False


def _render_vector(widget: QWidget, device) -> None:
    with _VectorFriendly(widget):
        painter = QPainter(device)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        widget.render(painter)
        painter.end()


def export_widget(widget: QWidget, path, fmt: str | None = None, scale: float = 2.0,
                  white: bool = True, overwrite: bool = False, title: str = "gradviz") -> Path:
    """Write ``widget`` to ``path`` as PNG (at ``scale``), SVG or PDF; returns the path.

    Raises :class:`GradvizError` for an unknown format or an existing file (unless
    ``overwrite``); a failed write leaves no file behind.
    """
    path = Path(path)
    fmt = (fmt or path.suffix.lstrip(".")).lower()
    if fmt not in FORMATS:
        raise GradvizError(f"{path.name}: unknown figure format {fmt!r}; expected png, svg or pdf")
    w, h = widget.width(), widget.height()
    with atomic_path(path, overwrite=overwrite) as tmp:
        if fmt == "png":
            if not render_image(widget, scale, white).save(str(tmp), "PNG"):
                raise GradvizError(f"{path}: could not write the PNG")
            return path
        with white_background(widget, white):
            if fmt == "svg":
                gen = QSvgGenerator()
                gen.setFileName(str(tmp))
                gen.setSize(widget.size())
                gen.setViewBox(QRectF(0, 0, w, h))
                gen.setTitle(title)
                gen.setDescription("made with gradviz")
                _render_vector(widget, gen)
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
