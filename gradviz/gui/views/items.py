"""pyqtgraph items gradviz draws with: titles and axis labels that fit, a legend in its own row.

Only public pyqtgraph and Qt API is used (``sizeHint``, ``resizeEvent``, ``addItem``, the
label's text document); the views build plots from these (see :mod:`.base`).
"""
from __future__ import annotations

import pyqtgraph as pg
from PyQt6.QtCore import QSizeF, Qt
from PyQt6.QtWidgets import QGraphicsItem, QSizePolicy


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

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # a new label text is placed (and scaled) again
        self.label.document().contentsChanged.connect(self.resizeEvent)


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
    def addItem(self, item, name):
        super().addItem(item, name)
        self._relayout()

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

    def sizeHint(self, which, constraint=None):
        if not self.items or not self.isVisible():
            return QSizeF(0, 0)
        return super().sizeHint(which, QSizeF() if constraint is None else constraint)

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
