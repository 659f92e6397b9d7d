"""pyqtgraph items gradviz draws with: titles and axis labels that fit, a legend in its own row.

Only public pyqtgraph and Qt API is used (``sizeHint``, ``resizeEvent``, ``addItem``, the
label's text document); the views build plots from these (see :mod:`.base`).
"""
from __future__ import annotations

import math

import pyqtgraph as pg
from PyQt6.QtCore import QSizeF, Qt
from PyQt6.QtGui import QFont, QFontMetricsF
from PyQt6.QtWidgets import QGraphicsItem, QSizePolicy, QWidget


def adopt_menus(plot: pg.PlotItem, owner: QWidget) -> None:
    """Give the parentless Qt objects pyqtgraph makes for a plot (its context menus and their
    widget groups) a Qt parent, ``owner``, the widget the plot is drawn in, so they are
    deleted with it. Left parentless they live as long as their Python objects, and PyQt's
    clean-up at interpreter exit deletes the ones still alive, which can crash: deleting one
    can free its own Python object while PyQt walks the objects."""
    objects = [getattr(plot, "ctrlMenu", None), getattr(plot, "stateGroup", None)]
    box = getattr(plot, "vb", None)      # None while PlotItem.__init__ runs
    menu = getattr(box, "menu", None)
    if menu is not None:
        objects += [menu, *getattr(menu, "widgetGroups", ())]
    for obj in objects:
        if obj is None or obj.parent() is owner:
            continue
        if isinstance(obj, QWidget):
            obj.setParent(owner, obj.windowFlags())     # still a popup menu
        else:
            obj.setParent(owner)


class OwnedMenus:
    """For a pyqtgraph PlotItem class: its menus belong to the widget it is shown in (see
    :func:`adopt_menus`), from the moment it enters that widget's scene."""

    def itemChange(self, change, value):
        result = super().itemChange(change, value)
        if change == QGraphicsItem.GraphicsItemChange.ItemSceneHasChanged:
            scene = self.scene()
            views = scene.views() if scene is not None else []
            if views:
                adopt_menus(self, views[0])
        return result


class ColorBar(OwnedMenus, pg.ColorBarItem):
    """pyqtgraph's ColorBarItem, its menus owned by the widget it is shown in."""


class Title(pg.LabelItem):
    """A plot title that never widens the layout: text too wide for the plot is scaled down
    (to at most ``MIN_SCALE``; beyond that it is cut rather than squeezing the plot)."""

    MIN_SCALE = 0.7

    def updateMin(self):
        super().updateMin()
        self.setMinimumWidth(0)

    def sizeHint(self, which, constraint=None):
        hint = super().sizeHint(which, QSizeF() if constraint is None else constraint)
        if which == Qt.SizeHint.MinimumSize:
            return QSizeF(0.0, hint.height())
        return hint

    def resizeEvent(self, ev):
        natural = self.item.boundingRect().width()
        width = self.rect().width()
        scale = min(1.0, width / natural) if natural > 0 and width > 0 else 1.0
        self.item.setScale(max(scale, self.MIN_SCALE))
        super().resizeEvent(ev)


def fit_tick_spacing(axis: pg.AxisItem, levels, min_val: float, max_val: float, size: float):
    """Coarsen pyqtgraph's tick ``levels`` so that no two tick labels overlap at the axis's
    font: at most one label per label width (plus a gap) along a horizontal axis, per 1.6 line
    heights along a vertical one. pyqtgraph picks the count from the length alone, which at
    presentation fonts piles labels up ("20406080")."""
    span = abs(max_val - min_val)
    if not levels or span == 0 or size <= 0:
        return levels
    font = axis.style.get("tickFont") or QFont()
    fm = QFontMetricsF(font)
    major = levels[0][0]
    if axis.orientation in ("left", "right"):
        extent = fm.height() * 1.6
    else:
        texts = axis.tickStrings([min_val, max_val, (min_val + max_val) / 2], 1.0, major)
        extent = max(fm.horizontalAdvance(t) for t in texts) + fm.horizontalAdvance("00")
    limit = max(1.0, size / extent)
    if span / major <= limit + 1e-9:
        return levels
    raw = span / limit
    k = math.floor(math.log10(raw))
    spacing = next(m * 10.0 ** k for m in (1, 2, 5, 10) if m * 10.0 ** k >= raw - 1e-12)
    if major >= 1 and spacing < 1:
        spacing = 1.0
    return [(spacing, 0.0)]


def fit_ticks(axis: pg.AxisItem) -> None:
    """Give an existing axis (a colour bar's) labels that never overlap (see above)."""
    base = axis.tickSpacing

    def spacing(min_val, max_val, size):
        return fit_tick_spacing(axis, base(min_val, max_val, size), min_val, max_val, size)

    axis.tickSpacing = spacing


class FitAxis(pg.AxisItem):
    """An axis whose label is scaled down (to at most 0.6) when it is longer than the axis, and
    whose tick labels never overlap (:func:`fit_tick_spacing`)."""

    def tickSpacing(self, minVal, maxVal, size):
        return fit_tick_spacing(self, super().tickSpacing(minVal, maxVal, size),
                                minVal, maxVal, size)

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

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # a new label text is placed (and scaled) again
        self.label.document().contentsChanged.connect(self.resizeEvent)
        # kept as a pixmap: a drag repaints the plot under and beside the axis at every tick,
        # and replaying its tick labels cost ~1.3 ms per plot and redraw; its ranges stand
        # still (plotdata.steady_range), and a change of ticks, pens or size redraws it.
        # Exports paint it afresh (render.uncached)
        self.setCacheMode(self.CacheMode.DeviceCoordinateCache)


class Plot(OwnedMenus, pg.PlotItem):
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
        """As PlotItem's; the same title again is nothing to do (a relayout of the plot and
        a new text document otherwise, on every analysis)."""
        key = (title, tuple(sorted(args.items())))
        if key == getattr(self, "_title_key", None):
            return
        self._title_key = key
        super().setTitle(title, **args)
        if title is not None:
            self.titleLabel.setMaximumHeight(self.title_height)
            self.layout.setRowFixedHeight(0, self.title_height)

    def setLabel(self, axis, text=None, units=None, unitPrefix=None, **args):
        """As PlotItem's; the same label again is nothing to do."""
        keys = getattr(self, "_label_keys", None)
        if keys is None:
            keys = self._label_keys = {}
        key = (text, units, unitPrefix, tuple(sorted(args.items())))
        if keys.get(axis) == key:
            return
        keys[axis] = key
        super().setLabel(axis, text=text, units=units, unitPrefix=unitPrefix, **args)

    def resizeEvent(self, ev):
        super().resizeEvent(ev)
        self.fit_legend()

    def fit_legend(self) -> None:
        """The legend above the data when that leaves the data enough height, else in a column
        right of the data: never hidden, never over a curve."""
        lg = getattr(self, "legend", None)
        if not isinstance(lg, Legend) or self.size().height() <= 0 or not lg.items:
            return
        left = self.getAxis("left")
        width = self.size().width() - (left.width() if left.isVisible() else 0) - 4
        title = self.title_height if self.titleLabel.isVisible() else 0
        bottom = self.getAxis("bottom")
        data = self.size().height() - title - (bottom.height() if bottom.isVisible() else 0)
        for compact in (False, True):   # full names, else the symbols alone ("f_t")
            lg.set_compact(compact)
            need = lg.height_in(lg.columns_for(width))
            if data - need >= max(60.0, 1.5 * need):
                lg.place("top")
                lg.fit(width)
                return
            for columns in range(1, len(lg.items) + 1):   # beside the data, few columns
                if lg.height_in(columns) <= data and width - lg.columns_width(columns) >= 120:
                    lg.place("right", columns)
                    return
        # no room anywhere: beside the data by symbol, as few rows as the width allows (the
        # data keeps its height; the legend may reach into the axis below)
        columns = max((c for c in range(1, len(lg.items) + 1)
                       if width - lg.columns_width(c) >= 120), default=1)
        lg.place("right", columns)


class Caption(Title):
    """A line of text that wraps onto more lines when the plot is narrower than it (never cut,
    never scaled below legibility)."""

    def __init__(self, *args, **kwargs):
        self._height = 0.0
        super().__init__(*args, **kwargs)

    def _wrap(self, width: float) -> None:
        self.item.setTextWidth(-1)
        natural = self.item.boundingRect().width()
        self.item.setTextWidth(width if 0 < width < natural else -1)
        self.item.setScale(1.0)
        height = self.item.boundingRect().height()
        if abs(height - self._height) > 0.5:
            self._height = height
            self.setMinimumHeight(height)
            self.setMaximumHeight(height)
            self.updateGeometry()
            plot = self.parentItem()
            if isinstance(plot, pg.PlotItem) and self.rect().width() > 0:
                plot.layout.activate()   # the data moves now, not a frame later

    def updateMin(self):
        super().updateMin()
        self._wrap(self.rect().width())

    def sizeHint(self, which, constraint=None):
        hint = super().sizeHint(which, constraint)
        return QSizeF(hint.width(), max(hint.height(), self._height) if self._height
                      else hint.height())

    def resizeEvent(self, ev):
        self._wrap(self.rect().width())
        pg.LabelItem.resizeEvent(self, ev)


def caption(plot: pg.PlotItem) -> Title:
    """A text between a plot's title and its data (where a legend would sit); it wraps."""
    label = Caption("", justify="left", parent=plot)
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
        self.plot = plot
        self.where = "top"     # "top": a row above the data; "right": a column beside it
        self.beside_columns = 1
        self.enabled = True    # the view wants the legend shown
        self.room = True       # kept for callers: a legend is never hidden for lack of room

    def place(self, where: str, columns: int = 1) -> None:
        """Move the legend above the data ("top") or into ``columns`` columns right of it."""
        self.beside_columns = columns
        if where == self.where:
            if where == "right":
                self._fix_beside()
            return
        self.where = where
        layout = self.plot.layout
        layout.removeItem(self)
        if where == "top":
            self.setMinimumWidth(0)
            self.setMaximumWidth(1e6)
            self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
            layout.addItem(self, 1, 1)
        else:
            self.setColumnCount(columns)
            # beside the data it takes no height of its own: the plot's size decides
            self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Ignored)
            layout.addItem(self, 2, 3, alignment=Qt.AlignmentFlag.AlignTop)
            self._fix_beside()
        self.updateGeometry()
        layout.activate()

    def _fix_beside(self) -> None:
        self.setColumnCount(self.beside_columns)
        width = self.columns_width(self.beside_columns)
        self.setMinimumWidth(width)
        self.setMaximumWidth(width)

    def columns_for(self, width: float) -> int:
        return next((c for c in range(len(self.items), 0, -1)
                     if self.columns_width(c) <= width), 1)

    def height_in(self, columns: int) -> float:
        """Height of the entries laid out in ``columns`` columns."""
        if not self.items:
            return 0.0
        heights = [max(s.boundingRect().height(), lb.itemRect().height()) for s, lb in self.items]
        rows = [max(heights[k:k + columns]) for k in range(0, len(heights), columns)]
        _l, top, _r, bottom = self.layout.getContentsMargins()
        return sum(rows) + top + bottom + max(0, len(rows) - 1) * self.layout.verticalSpacing()

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
    def addItem(self, item, name):
        super().addItem(item, name)
        self.full_names = getattr(self, "full_names", []) + [name]
        self.compact = False
        self._relayout()

    def clear(self):
        super().clear()
        self.full_names, self.compact = [], False

    @staticmethod
    def short_name(name: str) -> str:
        """The symbol that starts an entry ("f<sub>t</sub> forget gate" → "f<sub>t</sub>")."""
        head = name.split(" ")[0]
        return head if head and head != name else name

    def set_names(self, names: list[str]) -> None:
        """New texts for the entries there are (in order); unchanged ones are not set again."""
        self.full_names = list(names)
        for (_sample, label), name in zip(self.items, names):
            text = self.short_name(name) if getattr(self, "compact", False) else name
            if label.text != text:
                label.setText(text)

    def set_compact(self, compact: bool) -> None:
        """Entries by their symbol alone (a short plot), or by their full names again."""
        compact = bool(compact)
        names = getattr(self, "full_names", [])
        if compact == getattr(self, "compact", False) or len(names) != len(self.items):
            return
        self.compact = compact
        for (_sample, label), name in zip(self.items, names):
            label.setText(self.short_name(name) if compact else name)

    def _relayout(self) -> None:
        """Every entry again, row by row (pyqtgraph fills its grid column by column)."""
        for i in range(self.layout.count() - 1, -1, -1):
            self.layout.removeAt(i)
        c = max(1, self.columnCount)
        for k, (sample, label) in enumerate(self.items):
            self.layout.addItem(sample, k // c, 2 * (k % c),
                                alignment=Qt.AlignmentFlag.AlignVCenter)
            self.layout.addItem(label, k // c, 2 * (k % c) + 1)
        self.rowCount = (len(self.items) - 1) // c + 1 if self.items else 0

    def setColumnCount(self, columnCount):
        columnCount = max(1, int(columnCount))
        if columnCount == self.columnCount:
            return
        self.columnCount = columnCount
        self._relayout()
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
        if width <= 0 or not self.items or self.where == "right":
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

    def sizeHint(self, which, constraint=None):
        if not self.items or not self.isVisible():
            return QSizeF(0, 0)
        hint = super().sizeHint(which, QSizeF() if constraint is None else constraint)
        if self.where == "right" and which == Qt.SizeHint.MinimumSize:
            return QSizeF(hint.width(), 0.0)   # beside the data: the plot's height decides
        return hint

    def itemChange(self, change, value):
        out = super().itemChange(change, value)
        if change == QGraphicsItem.GraphicsItemChange.ItemVisibleHasChanged:
            self.updateGeometry()
        return out

    def paint(self, p, *args):
        pass


def integer_ticks(axis, count: int) -> None:
    """Ticks only on whole numbers (unit indices), at most about ten labels."""
    steps = [m * 10 ** k for k in range(6) for m in (1, 2, 5)]
    step = next(s for s in steps if count / s <= 6)
    axis.setTickSpacing(major=step, minor=max(1, step // 5))
