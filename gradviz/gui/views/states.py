"""States view: h_t per unit over time (lines, or a heatmap for many units) and c_t for LSTM."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QRectF
from PyQt6.QtWidgets import QCheckBox

from ...core import plotdata
from ...core.plotdata import all_finite, display_exponent
from .base import Heatmap, PlotView
from .items import Plot, integer_ticks
from .style import DASH, times_ten, unit_colors
from ...core.i18n import N_, _

#: above this many units the view starts as a heatmap
HEATMAP_ABOVE = 16
#: per-unit legend entries up to this many units (else one entry for all lines)
LEGEND_UNITS = 4
#: more units than this are drawn in 1-pixel lines (Qt's fast path: 32 wide lines of 500
#: points cost ~45 ms per repaint here, thin ones a fraction); up to it, in the theme's width
THIN_ABOVE = 8


class _Panel:
    """One quantity (h or c): a plot with one line per unit, or a heatmap, and a cursor."""

    def __init__(self, view: StatesView, name: str, title: str, y_label: str):
        self.view, self.name, self.title, self.y_label = view, name, title, y_label
        st = view.styler
        self.plot = st.plot(Plot(), title, _("step t"), y_label)
        self.plot.disableAutoRange()
        self.legend = self.plot.legend
        self.curves: list[pg.PlotDataItem] = []
        self.heatmap = Heatmap(self.plot, st, f"{name}<sub>t</sub>[j]")
        self.cursor = st.curve(pg.InfiniteLine(angle=90, movable=False), "cursor", DASH, 0.6)
        self.plot.addItem(self.cursor)
        self.values = None      # what is drawn: the state, in units of 10^exponent
        self.exponent = 0
        self.finite = True
        self._axes_for = None   # (heatmap, H, steps, exponent) the axes are set up for
        self._levels = (-1.0, 1.0)

    def set_units(self, n: int) -> None:
        """Exactly ``n`` line items (created once per size change, reused on every step)."""
        while len(self.curves) < n:
            c = pg.PlotDataItem()
            self.plot.addItem(c)
            self.curves.append(c)
        while len(self.curves) > n:
            self.plot.removeItem(self.curves.pop())
        self.legend.clear()
        sym = f"{self.name}<sub>t</sub>"
        if n <= LEGEND_UNITS:
            for j, c in enumerate(self.curves):
                self.legend.addItem(c, f"{sym}[{j}]")
        elif n:
            self.legend.addItem(self.curves[0], _("{sym}[j], one line per unit j = 0…{last}")
                                .format(sym=sym, last=n - 1))

    def set_values(self, values: np.ndarray, steps: int, heatmap: bool) -> None:
        # a relu state near the float64 limit is drawn in units of 10^k (see style.BIG)
        self.exponent = display_exponent(values)
        if self.exponent:
            values = values / 10.0 ** self.exponent
        self.values = values
        self.finite = all_finite(values)
        H = values.shape[1]
        if len(self.curves) != H and not heatmap:   # line items only when lines are shown
            self.set_units(H)
            self.recolor(self.view.appearance)
        for c in self.curves:
            c.setVisible(not heatmap)
        self.heatmap.image.setVisible(heatmap)
        self.legend.setVisible(not heatmap)
        finite = values[np.isfinite(values)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (-1.0, 1.0)
        # the axes' set-up only when it changes: each of these calls makes pyqtgraph draw the
        # axis again (a tick of a drag changes the values, not the mode or the sizes)
        layout = (heatmap, H, steps, self.exponent)
        fresh = layout != self._axes_for
        self._axes_for = layout
        if heatmap:
            m = max(abs(lo), abs(hi), 1e-12)
            m = plotdata.steady_range(None if fresh else self._levels, (-m, m))[1]
            if fresh or m != self._levels[1]:
                self.heatmap.set_levels(-m, m, diverging=True)
            self._levels = (-m, m)
            self.view.styler.relabel_bar(self.heatmap.bar,
                                         f"{self.name}<sub>t</sub>[j]" + times_ten(self.exponent))
            if fresh:
                self.plot.setXRange(-0.5, steps + 0.5, padding=0)
                self.plot.setYRange(-0.5, H - 0.5, padding=0)
                self.plot.showGrid(x=False, y=False)
                integer_ticks(self.plot.getAxis("left"), H)
            self.plot.setLabel("left", _("unit j"))
            self.plot.setTitle(_("{title} (colour = value)").format(title=self.title))
        else:
            pad = max(0.05 * (hi - lo), 0.05)
            if fresh:
                self.plot.setXRange(0, max(steps, 1), padding=0.01)
                self.plot.showGrid(x=True, y=True, alpha=0.15)
                self.plot.getAxis("left").setTickSpacing()
            self.view.set_steady_y(self.plot, lo - pad, hi + pad, fresh=fresh)
            self.plot.setLabel("left", self.y_label + times_ten(self.exponent))
            self.plot.setTitle(self.title)

    def show_step(self, step: int, heatmap: bool) -> None:
        n = step + 1
        v = self.values
        if heatmap:
            self.heatmap.show(v[:n], QRectF(-0.5, -0.5, n, v.shape[1]))
        else:
            if len(self.curves) != v.shape[1]:
                self.set_units(v.shape[1])
                self.recolor(self.view.appearance)
            t = np.arange(n, dtype=np.float64)
            for j, c in enumerate(self.curves):
                c.setData(t, v[:n, j], skipFiniteCheck=self.finite)
        self.cursor.setPos(step)

    def recolor(self, appearance) -> None:
        n = len(self.curves)
        width = 1.0 if n > THIN_ABOVE else max(1.0, appearance.line_width * 0.75)
        for c, color in zip(self.curves, unit_colors(n, appearance)):
            c.setPen(pg.mkPen(color, width=width))


class StatesView(PlotView):
    """h_t[j] per unit over time; c_t[j] below it for an LSTM."""

    title = N_("States")
    file_stem = "states"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.heatmap_box = QCheckBox(_("Heatmap"))
        self.heatmap_box.setToolTip(_("Show h_t[j] as a heatmap (time → right, unit j ↑, colour = value) "
                                      "instead of one line per unit; the default above {HEATMAP_ABOVE} units")
                                    .format(HEATMAP_ABOVE=HEATMAP_ABOVE))
        self.heatmap_box.toggled.connect(self._mode_changed)
        self.control_row.addWidget(self.heatmap_box)
        self.control_row.addStretch(1)
        self._auto_mode = True
        self.panels = {"h": _Panel(self, "h", _("Hidden state h<sub>t</sub>"), "h<sub>t</sub>[j]"),
                       "c": _Panel(self, "c", _("Cell state c<sub>t</sub> (LSTM)"), "c<sub>t</sub>[j]")}
        self._shown: list[str] = []
        self._layout(["h"])
        self.styler.apply(self.styler.appearance)

    def _layout(self, names: list[str]) -> None:
        if names == self._shown:
            return
        ci = self.graphics.ci
        ci.clear()
        for r, name in enumerate(names):
            p = self.panels[name]
            ci.addItem(p.plot, row=r, col=0)
        if len(names) == 2:
            self.panels["c"].plot.setXLink(self.panels["h"].plot)
        self._shown = names

    @property
    def heatmap(self) -> bool:
        return self.heatmap_box.isChecked()

    def analysis_changed(self) -> None:
        data = plotdata.states(self.analysis)
        names = ["h", "c"] if "c" in data else ["h"]
        self._layout(names)
        if self._auto_mode:
            self.heatmap_box.blockSignals(True)
            self.heatmap_box.setChecked(data["h"].shape[1] > HEATMAP_ABOVE)
            self.heatmap_box.blockSignals(False)
        self._fill(data)

    def _fill(self, data) -> None:
        for name in self._shown:
            p = self.panels[name]
            units = len(p.curves)
            p.set_values(data[name], self.analysis.steps, self.heatmap)
            p.heatmap.bar.setVisible(self.heatmap)
            if len(p.curves) != units:    # new line items: their colours (else kept)
                p.recolor(self.appearance)

    def _mode_changed(self, _checked) -> None:
        self._auto_mode = False
        if self.analysis is not None:
            self._fill(plotdata.states(self.analysis))
            self.draw()

    def draw(self) -> None:
        for name in self._shown:
            self.panels[name].show_step(self.step, self.heatmap)

    def _restyled(self) -> None:
        for p in self.panels.values():
            p.recolor(self.appearance)
            p._axes_for = None   # a new style: the axes are set up again at the next draw
