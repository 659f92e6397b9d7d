"""Shared look of every view: theme colours, fonts, pens, colour maps, and the plot scaffold.

A view registers its plots and curves with a :class:`Styler` once; ``Styler.apply`` restyles
them all when the :class:`~gradviz.gui.views.base.Appearance` changes (theme, font size, line
width), so a lecturer's presentation mode reaches every label and line.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import Qt
from PyQt6.QtGui import QFont
from PyQt6.QtWidgets import QHBoxLayout, QVBoxLayout, QWidget

from .base import Appearance, View

SOLID, DASH, DOT, DASHDOT = (Qt.PenStyle.SolidLine, Qt.PenStyle.DashLine, Qt.PenStyle.DotLine,
                             Qt.PenStyle.DashDotLine)

# Okabe–Ito colours (colour-blind safe); 'fg' is the text colour of the theme.
_LIGHT = {"bg": "#ffffff", "fg": "#111111", "grid": "#111111", "blue": "#0060a8",
          "orange": "#e69f00", "green": "#009e73", "red": "#d55e00", "purple": "#b8589a",
          "sky": "#3d9bd6", "yellow": "#c9b000", "grey": "#666666", "cursor": "#d55e00",
          "legend_bg": (255, 255, 255, 215)}
_DARK = {"bg": "#16181c", "fg": "#e8e8e8", "grid": "#e8e8e8", "blue": "#56b4e9",
         "orange": "#f0b030", "green": "#2cc69b", "red": "#ff7a3d", "purple": "#e08fc6",
         "sky": "#8fd0ff", "yellow": "#f0e442", "grey": "#aaaaaa", "cursor": "#ff7a3d",
         "legend_bg": (22, 24, 28, 215)}


def colors(appearance: Appearance) -> dict:
    return _DARK if appearance.dark else _LIGHT


#: InfiniteLine label options: text right-aligned at the right end of a horizontal line
RIGHT_LABEL = {"position": 0.985, "anchors": [(1, 0), (1, 1)]}

#: the floor (in decades below the lowest real value) where exact zeros (LOG10_ZERO) are drawn
ZERO_MARGIN = 1.0


def diverging_cmap() -> pg.ColorMap:
    """Blue (vanishing, < 0) - white/grey (0) - red (exploding, > 0)."""
    return pg.colormap.get("CET-D1A")


def sequential_cmap() -> pg.ColorMap:
    return pg.colormap.get("viridis")


def unit_colors(n: int, appearance: Appearance) -> list:
    """One distinguishable colour per unit (viridis without its pale end on white)."""
    cmap = pg.colormap.get("viridis" if not appearance.dark else "plasma")
    lo, hi = (0.0, 0.85) if not appearance.dark else (0.25, 1.0)
    pos = np.linspace(lo, hi, max(n, 1))
    return [cmap.map(p, mode="qcolor") for p in pos]


class Styler:
    """Remembers plots, curves and texts of one view and restyles them on appearance changes."""

    def __init__(self, widget: pg.GraphicsLayoutWidget):
        self.widget = widget
        self.appearance = Appearance()
        self._plots = []      # (PlotItem, title)
        self._curves = []     # (item, color key or QColor, style, width factor, kind)
        self._legends = []
        self._bars = []
        self._texts = []      # (TextItem, color key, size factor)

    # registration ---------------------------------------------------------------------------
    def plot(self, plot: pg.PlotItem, title: str, x_label: str, y_label: str,
             legend: bool = True, grid: bool = True, corner: str = "top-left",
             legend_columns: int = 1) -> pg.PlotItem:
        """Register a plot; ``corner`` is where its legend sits (where the curves are not)."""
        plot.setMenuEnabled(False)
        plot.hideButtons()
        plot.setLabel("bottom", x_label)
        plot.setLabel("left", y_label)
        plot.showGrid(x=grid, y=grid, alpha=0.15)
        if legend:
            dx = 8 if "left" in corner else -8
            dy = 8 if "top" in corner else -8
            lg = plot.addLegend(offset=(dx, dy), verSpacing=-4, colCount=legend_columns)
            self._legends.append(lg)
        for name in ("left", "bottom"):
            plot.getAxis(name).enableAutoSIPrefix(False)
            if grid:   # grid lines at major ticks only: minor levels cost ~10 ms per repaint
                plot.getAxis(name).setStyle(maxTickLevel=0)
        self._plots.append((plot, title))
        return plot

    def curve(self, item, color, style=SOLID, width: float = 1.0, symbol: bool = False):
        """Register a PlotDataItem / InfiniteLine; ``color`` is a theme key or a QColor."""
        self._curves.append((item, color, style, width, symbol))
        return item

    def forget(self, *items) -> None:
        """Stop restyling items the view removed."""
        drop = {id(i) for i in items}
        self._curves = [c for c in self._curves if id(c[0]) not in drop]
        self._texts = [t for t in self._texts if id(t[0]) not in drop]

    def bar(self, bar: pg.ColorBarItem, label: str):
        self._bars.append((bar, label))
        return bar

    def text(self, item: pg.TextItem, color="fg", size: float = 1.0):
        self._texts.append((item, color, size))
        return item

    # appearance -----------------------------------------------------------------------------
    def color(self, key):
        return colors(self.appearance)[key] if isinstance(key, str) else key

    def pen(self, key, style=SOLID, width: float = 1.0):
        return pg.mkPen(self.color(key), width=max(1.0, self.appearance.line_width * width),
                        style=style)

    def apply(self, appearance: Appearance) -> None:
        self.appearance = appearance
        c = colors(appearance)
        pt = appearance.font_pt
        self.widget.setBackground(c["bg"])
        tick_font = QFont()
        tick_font.setPointSizeF(pt)
        for plot, title in self._plots:
            plot.setTitle(title, color=c["fg"], size=f"{pt + 2}pt", bold=True)
            for name in ("left", "bottom", "right", "top"):
                axis = plot.getAxis(name)
                axis.setPen(pg.mkPen(c["fg"], width=1))
                axis.setTextPen(pg.mkPen(c["fg"]))
                axis.setTickFont(tick_font)
                axis.label.setFont(tick_font)
                axis.setStyle(tickTextOffset=max(4, pt // 2), tickLength=-max(5, pt // 2))
                if axis.labelText:
                    axis.setLabel(axis.labelText, **{"color": c["fg"], "font-size": f"{pt + 1}pt"})
            # room for the tick labels at large fonts
            plot.getAxis("left").setWidth(int(pt * 4.6) + 14)
            plot.getAxis("bottom").setHeight(int(pt * 3.4) + 10)
        for lg in self._legends:
            lg.setBrush(pg.mkBrush(c["legend_bg"]))
            lg.setPen(pg.mkPen(c["grey"], width=1))
            lg.setLabelTextColor(c["fg"])
            lg.setLabelTextSize(f"{pt}pt")
            for sample, label in lg.items:
                label.setText(label.text)
        for item, color, style, width, symbol in self._curves:
            pen = self.pen(color, style, width)
            if isinstance(item, pg.InfiniteLine):
                item.setPen(pen)
                if getattr(item, "label", None) is not None:
                    item.label.setColor(self.color(color))
                    font = QFont()
                    font.setPointSizeF(pt)
                    item.label.setFont(font)
            elif isinstance(item, pg.ScatterPlotItem):
                item.setPen(pg.mkPen(self.color(color), width=max(1.0, appearance.line_width / 2)))
                item.setBrush(pg.mkBrush(self.color(color)))
                item.setSize(pt * 0.9 + 4)
            else:
                item.setPen(pen)
                if symbol:
                    item.setSymbolPen(pen)
                    item.setSymbolBrush(pg.mkBrush(self.color(color)))
                    item.setSymbolSize(pt * 0.8 + 3)
        for bar, label in self._bars:
            bar.axis.enableAutoSIPrefix(False)
            bar.axis.setPen(pg.mkPen(c["fg"], width=1))
            bar.axis.setTextPen(pg.mkPen(c["fg"]))
            bar.axis.setTickFont(tick_font)
            bar.axis.setWidth(int(pt * 4.6) + 14)
            bar.axis.setLabel(label, **{"color": c["fg"], "font-size": f"{pt + 1}pt"})
        for item, color, size in self._texts:
            font = QFont()
            font.setPointSizeF(pt * size)
            item.setFont(font)
            item.setColor(self.color(color))


def label(html_name: str, unit: str | None = None) -> str:
    return html_name if not unit else f"{html_name} [{unit}]"


def scaffold(view: View) -> tuple[pg.GraphicsLayoutWidget, QHBoxLayout]:
    """The standard layout of a view: a row of controls above a graphics layout."""
    outer = QVBoxLayout(view)
    outer.setContentsMargins(0, 0, 0, 0)
    outer.setSpacing(2)
    view.controls = QWidget(view)
    row = QHBoxLayout(view.controls)
    row.setContentsMargins(6, 2, 6, 0)
    outer.addWidget(view.controls)
    glw = pg.GraphicsLayoutWidget(view)
    glw.ci.setContentsMargins(6, 6, 10, 6)
    outer.addWidget(glw, 1)
    view.graphics = glw
    return glw, row


def floor_for(extent: tuple[float, float] | None, default: tuple[float, float] = (-1.0, 1.0)):
    """y-range (lo, hi) for log10 curves with a floor one margin below the lowest real value."""
    lo, hi = extent if extent is not None else default
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    span = max(hi - lo, 1.0)
    pad = 0.06 * span
    return lo - ZERO_MARGIN * max(pad, 0.5), hi + pad


def clip_floor(values: np.ndarray, floor: float) -> np.ndarray:
    """Display copy with exact zeros (LOG10_ZERO) and anything below ``floor`` drawn at it."""
    return np.maximum(values, floor)


def integer_ticks(axis, count: int) -> None:
    """Ticks only on whole numbers (unit indices), at most about ten labels."""
    steps = [m * 10 ** k for k in range(6) for m in (1, 2, 5)]
    step = next(s for s in steps if count / s <= 6)
    axis.setTickSpacing(major=step, minor=max(1, step // 5))


def all_finite(*arrays) -> bool:
    return all(a is None or bool(np.all(np.isfinite(a))) for a in arrays)


class PlotView(View):
    """A view made of pyqtgraph plots under a row of controls, restyled by a :class:`Styler`."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.graphics, self.control_row = scaffold(self)
        self.styler = Styler(self.graphics)
        self.scene = None
        self.analysis = None
        self.step = 0
        self.row = None

    @property
    def appearance(self) -> Appearance:
        return self.styler.appearance

    def set_appearance(self, appearance: Appearance) -> None:
        self.styler.apply(appearance)
        self._restyled()
        if self.analysis is not None:
            self.set_step(self.step, self.row)

    def _restyled(self) -> None:
        """Hook: re-colour things a Styler does not know (images, per-unit palettes)."""

    def _clamped(self, step: int) -> int:
        return max(0, min(int(step), self.analysis.steps))


class Heatmap:
    """An ImageItem in ``plot`` with a fixed-level colour bar beside it (placed by the view).

    ``axis_order`` 'col-major': image[x, y]; 'row-major': image[y, x].
    """

    def __init__(self, plot: pg.PlotItem, styler: Styler, bar_label: str,
                 axis_order: str = "col-major"):
        self.plot = plot
        self.image = pg.ImageItem(axisOrder=axis_order)
        plot.addItem(self.image)
        self.bar = pg.ColorBarItem(values=(-1.0, 1.0), colorMap=diverging_cmap(), interactive=False,
                                   width=18, rounding=1e-6, colorMapMenu=False)
        self.bar.setImageItem(self.image)
        styler.bar(self.bar, bar_label)

    def set_levels(self, lo: float, hi: float, diverging: bool) -> None:
        self.bar.setColorMap(diverging_cmap() if diverging else sequential_cmap())
        self.bar.setLevels((lo, hi))

    def show(self, values: np.ndarray, rect) -> None:
        """Draw ``values`` over ``rect``; an empty array hides the image."""
        if values.size == 0:
            self.image.setVisible(False)
            return
        self.image.setVisible(True)
        self.image.setImage(values, autoLevels=False)
        self.image.setRect(rect)
