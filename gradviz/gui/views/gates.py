"""Gates view: each gate's mean ± range over units against time, and one gate per unit as a heatmap.

LSTM i, f, g, o; GRU r, z, n (torch's z = fraction of h_{t-1} kept); RNN the pre-activation
a_t and φ'(a_t), the factor that multiplies W_hh in every one-step Jacobian.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QRectF
from PyQt6.QtWidgets import QComboBox, QLabel

from ...core import plotdata
from ...core.plotdata import all_finite, display_exponent
from .base import Heatmap, PlotView
from .items import Plot, integer_ticks
from .style import DASH, times_ten
from ...core.i18n import N_, _

#: legend text, colour key and heatmap levels (None: symmetric from the data) per quantity
GATES = {
    "i": (N_("i<sub>t</sub> input gate"), "blue", (0.0, 1.0)),
    "f": (N_("f<sub>t</sub> forget gate"), "orange", (0.0, 1.0)),
    "g": (N_("g<sub>t</sub> candidate"), "green", (-1.0, 1.0)),
    "o": (N_("o<sub>t</sub> output gate"), "purple", (0.0, 1.0)),
    "r": (N_("r<sub>t</sub> reset gate"), "blue", (0.0, 1.0)),
    "z": (N_("z<sub>t</sub> update gate (share of h<sub>t-1</sub> kept)"), "orange", (0.0, 1.0)),
    "n": (N_("n<sub>t</sub> candidate"), "green", (-1.0, 1.0)),
    "a": (N_("a<sub>t</sub> pre-activation"), "blue", None),
    "dphi": (N_("φ′(a<sub>t</sub>)"), "red", (0.0, 1.0)),
}
#: the heatmap starts on the kind's path gate (f, z), or on φ'(a_t) for an RNN
_PLAIN = {"i": "i_t", "f": "f_t", "g": "g_t", "o": "o_t", "r": "r_t", "z": "z_t", "n": "n_t",
          "a": "a_t", "dphi": "φ'(a_t)"}


class GatesView(PlotView):
    """Top: mean over units (line) and min…max band per gate. Bottom: one gate, unit by unit."""

    title = N_("Gates")
    file_stem = "gates"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.control_row.addWidget(QLabel(_("Heatmap of")))
        self.gate_box = QComboBox()
        self.gate_box.setToolTip(_("Which gate the lower plot shows per unit j (colour = value of "
                                 "the gate at step t; a gate near 1 passes, near 0 blocks)"))
        self.gate_box.currentIndexChanged.connect(self._gate_changed)
        self.control_row.addWidget(self.gate_box)
        self.control_row.addStretch(1)
        st = self.styler
        self.lines = st.plot(Plot(), _("Gates: mean over units, band = min…max"), _("step t"),
                             _("gate value"))
        self.lines.disableAutoRange()
        self.grid = st.plot(Plot(), "", _("step t"), _("unit j"), legend=False, grid=False)
        self.grid.disableAutoRange()
        self.heatmap = Heatmap(self.grid, st, _("value"))
        ci = self.graphics.ci
        ci.addItem(self.lines, row=0, col=0)
        ci.addItem(self.grid, row=1, col=0)
        ci.layout.setRowStretchFactor(0, 3)
        ci.layout.setRowStretchFactor(1, 2)
        self.cursors = []
        for p in (self.lines, self.grid):
            c = st.curve(pg.InfiniteLine(angle=90, movable=False), "cursor", DASH, 0.6)
            p.addItem(c)
            self.cursors.append(c)
        self.means: dict[str, pg.PlotDataItem] = {}
        self.bands: dict[str, tuple] = {}
        self.names: tuple[str, ...] = ()
        self.data = None
        st.apply(st.appearance)

    # the per-gate items exist for the current cell kind only --------------------------------
    def _make_items(self, names) -> None:
        for name in self.names:
            self.styler.forget(self.means[name])
            self.lines.removeItem(self.means[name])
            lo, hi, fill = self.bands[name]
            for it in (lo, hi, fill):
                self.lines.removeItem(it)
        self.lines.legend.clear()
        self.means, self.bands, self.names = {}, {}, tuple(names)
        for name in names:
            text, color, _rest = GATES[name]
            text = _(text)
            lo, hi = pg.PlotDataItem(), pg.PlotDataItem()
            fill = pg.FillBetweenItem(lo, hi)
            mean = pg.PlotDataItem()
            for it in (fill, lo, hi, mean):
                self.lines.addItem(it)
            self.styler.curve(mean, color)
            self.lines.legend.addItem(mean, text)
            self.means[name], self.bands[name] = mean, (lo, hi, fill)
        self.gate_box.blockSignals(True)
        self.gate_box.clear()
        for name in names:
            self.gate_box.addItem(_PLAIN[name], name)
        self.gate_box.blockSignals(False)
        self.styler.apply(self.appearance)
        self._restyled()

    def _restyled(self) -> None:
        for name, (lo, hi, fill) in self.bands.items():
            color = pg.mkColor(self.styler.color(GATES[name][1]))
            color.setAlpha(50)
            fill.setBrush(pg.mkBrush(color))
            lo.setPen(pg.mkPen(None))
            hi.setPen(pg.mkPen(None))

    @property
    def heatmap_gate(self) -> str:
        return self.gate_box.currentData()

    def kind_changed(self, kind) -> None:
        self._make_items(kind.per_unit)
        start = kind.path_gate or "dphi"
        self.gate_box.blockSignals(True)   # the levels follow in analysis_changed
        self.gate_box.setCurrentIndex(kind.per_unit.index(start))
        self.gate_box.blockSignals(False)

    def analysis_changed(self) -> None:
        analysis, kind = self.analysis, self.kind
        data = plotdata.gates(analysis)
        self.data = data
        self.finite = all_finite(*data.values())
        names = kind.per_unit
        # mean/min/max as drawn: a relu pre-activation near the float64 limit in units of 10^k
        stats = [f"{n}_{s}" for n in names for s in ("mean", "min", "max")]
        k = display_exponent(*(data[s] for s in stats))
        self.lines_data = {s: data[s] / 10.0 ** k if k else data[s] for s in stats}
        T = analysis.steps
        lo = min((data[f"{n}_min"].min() for n in names if data[f"{n}_min"].size), default=0.0)
        hi = max((data[f"{n}_max"].max() for n in names if data[f"{n}_max"].size), default=1.0)
        lo, hi = lo / 10.0 ** k, hi / 10.0 ** k
        lo, hi = min(lo, 0.0), max(hi, 1.0)
        pad = 0.04 * (hi - lo)
        # the same x range in both plots (not linked: the heatmap's colour bar makes its data
        # narrower, and linked views line up in pixels, not in steps)
        for p in (self.lines, self.grid):
            p.setXRange(0, max(T, 1), padding=0.01)
        self.set_steady_y(self.lines, lo - pad, hi + pad)
        self.lines.setLabel("left", (_("gate value") if kind.gates else _("value (a<sub>t</sub>, φ′)"))
                            + times_ten(k))
        self._set_heatmap_levels()

    def _set_heatmap_levels(self) -> None:
        name = self.heatmap_gate
        if self.data is None or name is None:
            return
        levels = GATES[name][2]
        if levels is None:
            v = self.data[name]
            m = float(np.abs(v).max()) if v.size else 1.0
            levels = (-max(m, 1e-12), max(m, 1e-12))
        self.heatmap.set_levels(*levels, diverging=levels[0] < 0)
        H = self.data[name].shape[1]
        self.grid.setYRange(-0.5, H - 0.5, padding=0)
        integer_ticks(self.grid.getAxis("left"), H)
        self.grid.setTitle(_("{value} per unit j")
                           .format(value=GATES[name][0].split(' ')[0]), color=self.styler.color("fg"),
                           size=f"{self.appearance.font_pt + 1}pt")
        self.heatmap.bar.axis.setLabel(GATES[name][0].split(" ")[0])

    def _gate_changed(self, _index) -> None:
        if self.analysis is not None:
            self._set_heatmap_levels()
            self.draw()

    def draw(self) -> None:
        n = self.step
        d, drawn = self.data, self.lines_data
        t = d["t"][:n]
        skip = self.finite
        for name in self.names:
            self.means[name].setData(t, drawn[f"{name}_mean"][:n], skipFiniteCheck=skip)
            lo, hi, _rest = self.bands[name]
            lo.setData(t, drawn[f"{name}_min"][:n], skipFiniteCheck=skip)
            hi.setData(t, drawn[f"{name}_max"][:n], skipFiniteCheck=skip)
        v = d[self.heatmap_gate]
        # pixel k covers step k+1 (gates exist from step 1)
        self.heatmap.show(v[:n], QRectF(0.5, -0.5, n, v.shape[1]))
        for c in self.cursors:
            c.setPos(self.step)
