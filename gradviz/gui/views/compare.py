"""Compare mode: the gradient-flow curves of several cells (RNN, LSTM, GRU) on one plot."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from ...core import plotdata
from ...core.i18n import N_, _
from ...core.kinds import CELL_NAMES
from ...core.plotdata import clip_floor, floor_for
from .base import PlotView
from .gradient_flow import lag_plot
from .style import DASH, DASHDOT, DOT, SOLID

#: colour and pen style per cell name (the same cell always looks the same)
STYLES = {"rnn": ("blue", SOLID), "rnn-relu": ("sky", DASHDOT), "rnn-sigmoid": ("purple", DOT),
          "lstm": ("red", SOLID), "gru": ("green", DASH)}


class CompareView(PlotView):
    """log10 ‖∂h_t/∂h_i‖ against the lag for each cell at the same step t."""

    title = N_("Compare cells")
    file_stem = "compare"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.control_row.addStretch(1)
        self.controls.hide()
        st = self.styler
        self.plot, self.one = lag_plot(self, _("Compare"))
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.results: dict = {}
        self.shown: dict[str, np.ndarray] = {}
        self.floor = -1.0
        st.apply(st.appearance)

    def set_analysis(self, scene, analysis, step=None, row=None) -> None:
        """A single cell (the window's current scene): the compare plot of one."""
        self.scene = scene
        self.set_compare({scene.cell_name if scene is not None else "rnn": analysis}, self.step)

    def set_compare(self, results: dict, step: int) -> None:
        """``results`` maps a cell name (rnn, lstm, gru, ...) to its Analysis on the same input."""
        for name in list(self.curves):
            if name not in results:
                c = self.curves.pop(name)
                self.styler.forget(c)
                self.plot.removeItem(c)
        self.plot.legend.clear()
        for name in results:
            if name not in self.curves:
                color, style = STYLES.get(name, ("grey", SOLID))
                c = self.styler.curve(pg.PlotDataItem(), color, style, 1.1)
                self.plot.addItem(c)
                self.curves[name] = c
            label = CELL_NAMES[name].label if name in CELL_NAMES else name
            self.plot.legend.addItem(self.curves[name], _(label))
        self.styler.apply(self.appearance)
        self.results = dict(results)
        self.analysis = next(iter(results.values()), None)
        if not results:
            return
        exts = [plotdata.finite_extent(*plotdata.jacobian_map(a).values(),
                                       *[r.h_fro for r in a.rows.values()])
                for a in results.values()]
        exts = [e for e in exts if e is not None]
        lo_hi = (min(e[0] for e in exts), max(e[1] for e in exts)) if exts else None
        self.floor, top = floor_for(lo_hi)
        T = max(a.steps for a in results.values())
        self.plot.setXRange(0, max(T, 1), padding=0.01)
        self.plot.setYRange(self.floor, top, padding=0)
        self.set_step(step, None)

    def set_step(self, step: int, row=None) -> None:
        if not self.results:
            return
        self.step = max(0, int(step))
        self.draw()

    def draw(self) -> None:
        self.shown = {}
        norms = set()
        for name, a in self.results.items():
            t = min(self.step, a.steps)
            d = plotdata.gradient_flow(a, t, a.rows.get(t))
            key = "log10_jac_h" if "log10_jac_h" in d else "log10_jac_h_fro"
            if key not in d:   # neither this step's row nor the full map yet
                self.curves[name].setData([], [])
                continue
            norms.add(_("2-norm") if key == "log10_jac_h" else _("Frobenius"))
            self.shown[name] = d[key]
            self.curves[name].setData(d["lag"], clip_floor(d[key], self.floor), skipFiniteCheck=True)
        self.plot.setTitle(_("Gradient flow at t = {step} ({value})")
                           .format(step=self.step, value=', '.join(sorted(norms))))
