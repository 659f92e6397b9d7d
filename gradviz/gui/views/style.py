"""Shared look of every view: theme colours, fonts, pens, colour maps, and the plot scaffold.

A view registers its plots and curves with a :class:`Styler` once; ``Styler.apply`` restyles
them all when the :class:`~gradviz.gui.views.base.Appearance` changes (theme, font size, line
width), so a lecturer's presentation mode reaches every label and line.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QSizeF, Qt
from PyQt6.QtGui import QFont, QFontMetricsF
from PyQt6.QtWidgets import (QGraphicsItem, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout,
                             QWidget)

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


class Title(pg.LabelItem):
    """A plot title that never widens the layout: text too wide for the plot is scaled down
    (to at most ``MIN_SCALE``; beyond that it is cut rather than squeezing the plot)."""

    MIN_SCALE = 0.7

    def updateMin(self):
        super().updateMin()
        self.setMinimumWidth(0)
        self._sizeHint[Qt.SizeHint.MinimumSize] = (0.0, self._sizeHint[Qt.SizeHint.MinimumSize][1])

    def resizeEvent(self, ev):
        natural = self.item.boundingRect().width()
        width = self.rect().width()
        scale = min(1.0, width / natural) if natural > 0 and width > 0 else 1.0
        self.item.setScale(max(scale, self.MIN_SCALE))
        super().resizeEvent(ev)


class FitAxis(pg.AxisItem):
    """An axis whose label is scaled down (to at most 0.6) when it is longer than the axis."""

    def resizeEvent(self, ev=None):
        super().resizeEvent(ev)
        if self.label is None:
            return
        br = self.label.boundingRect()
        vertical = self.orientation in ("left", "right")
        length = self.size().height() if vertical else self.size().width()
        scale = max(0.6, min(1.0, length / br.width())) if br.width() > 0 and length > 0 else 1.0
        self.label.setScale(scale)
        p = self.label.pos()
        if vertical:
            p.setY(int(self.size().height() / 2 + scale * br.width() / 2))
        else:
            p.setX(int(self.size().width() / 2 - scale * br.width() / 2))
            p.setY(int(self.size().height() - scale * br.height() + 5))
        self.label.setPos(p)

    def _updateLabel(self):
        super()._updateLabel()
        self.resizeEvent()


class Plot(pg.PlotItem):
    """A PlotItem whose title row fits the font (``title_height``), with long titles and axis
    labels scaled down to fit, and room for a :class:`Legend` or :func:`caption` row."""

    def __init__(self, **kwargs):
        kwargs.setdefault("axisItems", {"left": FitAxis("left"), "bottom": FitAxis("bottom")})
        super().__init__(**kwargs)
        old = self.titleLabel
        self.layout.removeItem(old)
        old.setParentItem(None)
        old.deleteLater()
        self.titleLabel = Title("", size="11pt", parent=self)
        self.layout.addItem(self.titleLabel, 0, 1)
        self.title_height = 30
        self.setTitle(None)

    def setTitle(self, title=None, **args):
        super().setTitle(title, **args)
        if title is not None:
            self.titleLabel.setMaximumHeight(self.title_height)
            self.layout.setRowFixedHeight(0, self.title_height)

    def resizeEvent(self, ev):
        super().resizeEvent(ev)
        self.fit_legend()

    def fit_legend(self) -> None:
        """Hide the legend when showing it would leave the data too little height."""
        lg = getattr(self, "legend", None)
        if not isinstance(lg, Legend) or self.size().height() <= 0:
            return
        left = self.getAxis("left")
        lg.fit(self.size().width() - (left.width() if left.isVisible() else 0) - 4)
        title = self.title_height if self.titleLabel.isVisible() else 0
        bottom = self.getAxis("bottom")
        data = self.size().height() - title - (bottom.height() if bottom.isVisible() else 0)
        need = lg.natural_height()
        lg.set_room(data - need >= max(60.0, 1.5 * need))


def attach_bar(plot: pg.PlotItem, bar: pg.ColorBarItem) -> None:
    """Put a colour bar right of the plot's data, exactly as tall as the data (not the title)."""
    plot.layout.addItem(bar, 2, 3)
    plot.layout.setColumnSpacing(2, 6)


def caption(plot: pg.PlotItem) -> Title:
    """A one-line text between a plot's title and its data (where a legend would sit)."""
    label = Title("", justify="left", parent=plot)
    label.setFlag(QGraphicsItem.GraphicsItemFlag.ItemClipsChildrenToShape)
    top = plot.getAxis("top")
    plot.layout.removeItem(top)
    top.hide()
    plot.layout.addItem(label, 1, 1)
    plot.layout.setRowStretchFactor(1, 0)
    return label


class Legend(pg.LegendItem):
    """A legend in its own row between a plot's title and its data, so it never hides a curve.

    It takes the place of the (unused) top axis; its entries flow into as many columns as the
    plot's width allows, and it takes no height when hidden or empty.
    """

    SPACING = 12

    def __init__(self, plot: pg.PlotItem):
        super().__init__(offset=None, horSpacing=self.SPACING, verSpacing=-4, frame=False)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations, False)
        self.setParentItem(plot)
        top = plot.getAxis("top")
        plot.layout.removeItem(top)
        top.hide()
        plot.layout.addItem(self, 1, 1)
        plot.layout.setRowStretchFactor(1, 0)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setMinimumWidth(0)
        self.layout.setContentsMargins(4, 0, 4, 2)
        self._fitted_width = 0.0
        self.enabled = True    # the view wants the legend shown
        self.room = True       # the plot has height to spare for it

    def setVisible(self, visible: bool) -> None:
        """The view's choice; the legend still hides while the plot is too short for it."""
        self.enabled = bool(visible)
        self._update_visible()

    def set_room(self, room: bool) -> None:
        if room != self.room:
            self.room = room
            self._update_visible()

    @property
    def shown(self) -> bool:
        return self.enabled and self.room

    def _update_visible(self) -> None:
        pg.LegendItem.setVisible(self, self.shown)
        self.updateGeometry()

    def natural_height(self) -> float:
        if not self.items:
            return 0.0
        return pg.LegendItem.sizeHint(self, Qt.SizeHint.PreferredSize, QSizeF()).height()

    # entries are placed row by row, ``columnCount`` per row ----------------------------------
    def _addItemToLayout(self, sample, label):
        k = len(self.layout_items())
        c = max(1, self.columnCount)
        self.layout.addItem(sample, k // c, 2 * (k % c), alignment=Qt.AlignmentFlag.AlignVCenter)
        self.layout.addItem(label, k // c, 2 * (k % c) + 1)
        self.rowCount = k // c + 1

    def layout_items(self) -> list:
        """The (sample, label) pairs currently in the internal layout."""
        placed = {id(self.layout.itemAt(i)) for i in range(self.layout.count())}
        return [(s, lb) for s, lb in self.items if id(s) in placed]

    def setColumnCount(self, columnCount):
        columnCount = max(1, int(columnCount))
        if columnCount == self.columnCount:
            return
        self.columnCount = columnCount
        for i in range(self.layout.count() - 1, -1, -1):
            self.layout.removeAt(i)
        for sample, label in self.items:
            self._addItemToLayout(sample, label)
        self.updateGeometry()

    def columns_width(self, columns: int) -> float:
        """Width the entries need in ``columns`` columns."""
        widths = [(s.boundingRect().width(), lb.itemRect().width()) for s, lb in self.items]
        total = 0.0
        for k in range(columns):
            col = widths[k::columns]
            if col:
                total += max(w for w, _ in col) + max(w for _, w in col) + self.SPACING
        left, _, right, _ = self.layout.getContentsMargins()
        return total + (columns - 1) * self.SPACING + left + right

    def fit(self, width: float) -> None:
        """As many columns as fit in ``width`` (at least one)."""
        if width <= 0 or not self.items:
            return
        columns = next((c for c in range(len(self.items), 0, -1)
                        if self.columns_width(c) <= width), 1)
        self.setColumnCount(columns)
        self._fitted_width = width

    def updateSize(self):
        self.fit(self.rect().width())
        self.updateGeometry()

    def resizeEvent(self, ev):
        super().resizeEvent(ev)
        if self.rect().width() != self._fitted_width:
            self.fit(self.rect().width())

    def sizeHint(self, which, constraint=QSizeF()):
        if not self.items or not self.isVisible():
            return QSizeF(0, 0)
        return super().sizeHint(which, constraint)

    def itemChange(self, change, value):
        out = super().itemChange(change, value)
        if change == QGraphicsItem.GraphicsItemChange.ItemVisibleHasChanged:
            self.updateGeometry()
        return out

    def paint(self, p, *args):
        pass


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
        self._texts = [t for t in self._texts if id(t[0]) not in drop]

    def bar(self, bar: pg.ColorBarItem, label: str):
        self._bars.append((bar, label))
        return bar

    def relabel_bar(self, bar: pg.ColorBarItem, label: str) -> None:
        """Change a colour bar's label (kept across appearance changes)."""
        self._bars = [(b, label if b is bar else lb) for b, lb in self._bars]
        c = colors(self.appearance)
        bar.axis.setLabel(label, **{"color": c["fg"], "font-size": f"{self.appearance.font_pt + 1}pt"})

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
            for sample, label in lg.items:
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
        for item, color, size in self._texts:
            font = QFont()
            font.setPointSizeF(pt * size)
            item.setFont(font)
            item.setColor(self.color(color))


def plain_numbers(axis: pg.AxisItem) -> None:
    """Tick labels in the data's own numbers, never SI-scaled (0.2 must not read as 200).

    pyqtgraph's ``enableAutoSIPrefix(False)`` still picks a scale when the axis label is
    visible and the range lies within (0, 1); an empty set of enable ranges forces scale 1.
    """
    axis.setSIPrefixEnableRanges(())
    axis.enableAutoSIPrefix(False)


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
    # why the run looks the way it does (it stopped early, a gradient is exactly zero, ...)
    view.notice = QLabel(view)
    view.notice.setObjectName("notice")
    view.notice.setWordWrap(True)
    view.notice.setTextFormat(Qt.TextFormat.RichText)
    view.notice.hide()
    outer.addWidget(view.notice)
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


#: values this large are drawn in units of 10^k (pyqtgraph views end at ±1e307)
BIG = 1e6


def display_exponent(*arrays) -> int:
    """k such that values / 10^k stay readable and drawable: 0 unless some |value| ≥ BIG."""
    m = max((float(np.abs(a[np.isfinite(a)]).max()) for a in arrays
             if a is not None and np.isfinite(a).any()), default=0.0)
    return int(np.floor(np.log10(m))) if m >= BIG else 0


def times_ten(k: int) -> str:
    """The axis-label suffix for values drawn in units of 10^k."""
    return f" (×10<sup>{k}</sup>)" if k else ""


def all_finite(*arrays) -> bool:
    return all(a is None or bool(np.all(np.isfinite(a))) for a in arrays)


class PlotView(View):
    """A view made of pyqtgraph plots under a row of controls, restyled by a :class:`Styler`."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.graphics, self.control_row = scaffold(self)
        self.styler = Styler(self.graphics)
        self._style_notice()
        self.scene = None
        self.analysis = None
        self.step = 0
        self.row = None
        self.notes: dict[str, str] = {}

    @property
    def appearance(self) -> Appearance:
        return self.styler.appearance

    def set_appearance(self, appearance: Appearance) -> None:
        self.styler.apply(appearance)
        self._style_notice()
        self._restyled()
        if self.analysis is not None:
            self.set_step(self.step, self.row)

    def _restyled(self) -> None:
        """Hook: re-colour things a Styler does not know (images, per-unit palettes)."""

    # the notice line above the plots ---------------------------------------------------------
    def set_note(self, key: str, text: str | None) -> None:
        """Show (or with None, drop) one sentence of the notice line; cheap when unchanged."""
        if self.notes.get(key) == text or (text is None and key not in self.notes):
            return
        if text is None:
            del self.notes[key]
        else:
            self.notes[key] = text
        self.notice.setText("<br>".join(self.notes.values()))
        self.notice.setVisible(bool(self.notes))

    def note_run(self, analysis) -> None:
        """Say where and why a run stopped early (a relu state leaving float64)."""
        step = analysis.trace.overflow_step
        self.set_note("overflow", None if step is None else
                      f"⚠ The state overflowed float64 at step {step} "
                      f"(|h| &gt; 1.8·10<sup>308</sup>): the run stops at t = {analysis.steps}.")

    def _style_notice(self) -> None:
        c = colors(self.appearance)
        self.notice.setStyleSheet(
            f"QLabel#notice {{ background: {c['bg']}; color: {c['red']}; "
            f"font-size: {self.appearance.font_pt}pt; font-weight: bold; padding: 2px 8px; }}")

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
        attach_bar(plot, self.bar)

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
