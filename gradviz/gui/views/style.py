"""Shared look of every view: theme colours, fonts, pens, colour maps, and the plot scaffold.

A view registers its plots and curves with a :class:`Styler` once; ``Styler.apply`` restyles
them all when the :class:`Appearance` changes (theme, font size, line
width), so a lecturer's presentation mode reaches every label and line.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import Qt
from PyQt6.QtGui import QFont, QFontMetricsF

from .items import Legend, Plot, fit_ticks


@dataclass(frozen=True)
class Appearance:
    """How plots look: light theme for projectors, dark for screens; presentation = big."""

    dark: bool = False
    font_pt: int = 11
    line_width: float = 2.0

    @classmethod
    def presentation(cls, dark: bool = False) -> Appearance:
        return cls(dark=dark, font_pt=18, line_width=4.0)



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

    @property
    def plots(self) -> list[pg.PlotItem]:
        """The plots registered, in order."""
        return [plot for plot, _title in self._plots]

    # registration ---------------------------------------------------------------------------
    def plot(self, plot: pg.PlotItem, title: str, x_label: str, y_label: str,
             legend: bool = True, grid: bool = True) -> pg.PlotItem:
        """Register a plot; its legend (if any) sits in a row above the data (``plot.legend``)."""
        plot.setMenuEnabled(False)
        plot.hideButtons()
        plot.setLabel("bottom", x_label)
        plot.setLabel("left", y_label)
        plot.showGrid(x=grid, y=grid, alpha=0.15)
        if legend:
            plot.legend = Legend(plot)
            self._legends.append(plot.legend)
        for name in ("left", "bottom"):
            plain_numbers(plot.getAxis(name))
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

    def bar(self, bar: pg.ColorBarItem, label: str):
        fit_ticks(bar.axis)
        self._bars.append((bar, label))
        return bar

    def relabel_bar(self, bar: pg.ColorBarItem, label: str) -> None:
        """Change a colour bar's label (kept across appearance changes); the same label again
        is nothing to do."""
        if any(b is bar and lb == label for b, lb in self._bars):
            return
        self._bars = [(b, label if b is bar else lb) for b, lb in self._bars]
        c = colors(self.appearance)
        bar.axis.setLabel(label, **{"color": c["fg"], "font-size": f"{self.appearance.font_pt + 1}pt"})

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
        title_font = QFont()
        title_font.setPointSizeF(pt + 2)
        title_font.setBold(True)
        title_height = int(QFontMetricsF(title_font).height() * 1.2) + 6
        for plot, title in self._plots:
            if isinstance(plot, Plot):
                plot.title_height = title_height
            plot.setTitle(title, color=c["fg"], size=f"{pt + 2}pt", bold=True)
            for name in ("left", "bottom", "right", "top"):
                axis = plot.getAxis(name)
                plain_numbers(axis)
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
            for _sample, label in lg.items:
                label.setText(label.text)
            lg.updateSize()
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
            plain_numbers(bar.axis)
            bar.axis.setPen(pg.mkPen(c["fg"], width=1))
            bar.axis.setTextPen(pg.mkPen(c["fg"]))
            bar.axis.setTickFont(tick_font)
            bar.axis.setWidth(int(pt * 4.6) + 14)
            bar.axis.setLabel(label, **{"color": c["fg"], "font-size": f"{pt + 1}pt"})


def plain_numbers(axis: pg.AxisItem) -> None:
    """Tick labels in the data's own numbers, never SI-scaled (0.2 must not read as 200).

    pyqtgraph's ``enableAutoSIPrefix(False)`` still picks a scale when the axis label is
    visible and the range lies within (0, 1); an empty set of enable ranges forces scale 1.
    """
    axis.setSIPrefixEnableRanges(())
    axis.enableAutoSIPrefix(False)


def times_ten(k: int) -> str:
    """The axis-label suffix for values drawn in units of 10^k."""
    return f" (×10<sup>{k}</sup>)" if k else ""
