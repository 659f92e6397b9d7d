"""Step factors: the per-step factor whose product decides vanishing or exploding, and that product.

RNN: max_j|φ'(a_t)_j|·σ_max(W_hh) (≤ σ_max, drawn as a line) and its running product, the
Pascanu bound on ‖∂h_t/∂h_0‖. LSTM: mean and max of f_t and the forget path ∏ f. GRU: mean and
max of z_t and the update path ∏ z. The line 1.0 (10^0 in log10) separates shrink from grow.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from ...core import plotdata
from ...core.i18n import N_, _
from ...core.jacobians import LOG10_ZERO
from ...core.plotdata import all_finite, clip_floor, floor_for
from .base import PlotView
from .items import Plot
from .jacobian_map import path_word
from .style import DASH, DOT, RIGHT_LABEL



def upper_curves(kind) -> list[tuple[str, str, str, object]]:
    """Curves of the upper (linear) plot: (data key, legend, colour, pen style)."""
    g = kind.path_gate
    if g is None:
        return [("step_factor", "max<sub>j</sub>|φ′(a<sub>t</sub>)<sub>j</sub>|·σ<sub>max</sub>"
                 "(W<sub>hh</sub>)", "blue", None)]
    return [(f"{g}_mean", _("mean<sub>j</sub> {g}<sub>t</sub>[j]").format(g=g), "orange", None),
            (f"{g}_max", _("max<sub>j</sub> {g}<sub>t</sub>[j]").format(g=g), "red", DASH)]


def lower_curve(kind) -> tuple[str, str]:
    """The lower (log10) plot: the running product from step 0 (data key, legend)."""
    g = kind.path_gate
    if g is None:
        return ("log10_running_product", _("∏<sub>k≤t</sub> max|φ′|·σ<sub>max</sub> (bound on "
                                           "‖∂h<sub>t</sub>/∂h<sub>0</sub>‖)"))
    path = _("forget path") if path_word(kind) == "forget" else _("update path")
    return (kind.path_array, _("max<sub>j</sub> ∏<sub>k≤t</sub> {g}<sub>k</sub>[j] ({path})")
            .format(g=g, path=path))


def upper_title(kind) -> str:
    g = kind.path_gate
    if g is None:
        return _("Per-step factor of ‖∂h<sub>t</sub>/∂h<sub>t−1</sub>‖ (bound)")
    if path_word(kind) == "forget":
        return _("Forget gate {g}<sub>t</sub> per step").format(g=g)
    return _("Update gate {g}<sub>t</sub> per step").format(g=g)


class StepFactorsView(PlotView):
    """Upper: the factor per step with the line 1.0. Lower: the log10 of its running product."""

    title = N_("Step factors")
    file_stem = "step_factors"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.control_row.addStretch(1)
        self.controls.hide()
        st = self.styler
        self.upper = st.plot(Plot(), _("Per-step factor"), _("step t"), _("factor (×)"))
        self.lower = st.plot(Plot(), _("Running product from step 0"), _("step t"),
                             _("log<sub>10</sub> product"))
        for p in (self.upper, self.lower):
            p.disableAutoRange()
        # the same x range on both, set in analysis_changed (an X link matches pixels, which
        # differ when one plot's legend sits beside its data)
        self.graphics.ci.addItem(self.upper, row=0, col=0)
        self.graphics.ci.addItem(self.lower, row=1, col=0)
        self.one = st.curve(pg.InfiniteLine(pos=1.0, angle=0, movable=False, label="1.0",
                                            labelOpts=RIGHT_LABEL), "grey", DASH, 0.6)
        self.zero = st.curve(pg.InfiniteLine(pos=0.0, angle=0, movable=False, label="10⁰ = 1",
                                             labelOpts=RIGHT_LABEL), "grey", DASH, 0.6)
        # σ_max(W_hh), the factor's ceiling: a line with its value in the legend (RNN only)
        self.sigma = st.curve(pg.PlotDataItem(), "purple", DOT, 0.8)
        self.upper.addItem(self.one)
        self.upper.addItem(self.sigma)
        self.lower.addItem(self.zero)
        self.cursors = []
        for p in (self.upper, self.lower):
            c = st.curve(pg.InfiniteLine(angle=90, movable=False), "cursor", DASH, 0.6)
            p.addItem(c)
            self.cursors.append(c)
        self.product = st.curve(pg.PlotDataItem(), "blue")
        self.lower.addItem(self.product)
        self.curves: list[tuple[str, pg.PlotDataItem]] = []
        self.data = None
        self.floor = -1.0
        self.zero_from = None
        st.apply(st.appearance)

    def kind_changed(self, kind) -> None:
        for _name, c in self.curves:
            self.styler.forget(c)
            self.upper.removeItem(c)
        self.upper.legend.clear()
        self.curves = []
        for key, text, color, style in upper_curves(kind):
            c = self.styler.curve(pg.PlotDataItem(), color, style or pg.QtCore.Qt.PenStyle.SolidLine)
            self.upper.addItem(c)
            self.upper.legend.addItem(c, text)
            self.curves.append((key, c))
        bound = kind.path_gate is None
        if bound:
            self.upper.legend.addItem(self.sigma, _("σ<sub>max</sub>(W<sub>hh</sub>)"))
        self.lower.legend.clear()
        self.lower.legend.addItem(self.product, lower_curve(kind)[1])
        self.upper.setTitle(upper_title(kind))
        self.sigma.setVisible(bound)
        self.styler.apply(self.appearance)

    def analysis_changed(self) -> None:
        analysis, kind = self.analysis, self.kind
        d = plotdata.step_factors(analysis)
        self.data = d
        self.finite = all_finite(*d.values())
        T = analysis.steps
        hi = max([1.0] + [float(d[k].max()) for k, _ in self.curves if d[k].size])
        if kind.path_gate is None:
            s = analysis.sigma_max
            self.sigma.setData([0.0, max(T, 1)], [s, s])
            lg = self.upper.legend
            text = _("σ<sub>max</sub>(W<sub>hh</sub>) = {s:.2f}").format(s=s)
            if lg.full_names[-1] != text:
                lg.set_names(lg.full_names[:-1] + [text])
                lg.updateSize()
            hi = max(hi, s)
        self.upper.setXRange(0, max(T, 1), padding=0.01)
        self.lower.setXRange(0, max(T, 1), padding=0.01)
        lo = min([1.0] + [float(d[k].min()) for k, _ in self.curves if d[k].size])
        # gates close to 1 are the story: zoom in unless the factors spread over [0, 1]
        lo = 0.0 if lo < 0.5 else np.floor(lo * 10) / 10 - 0.1
        self.set_steady_y(self.upper, lo, lo + (hi - lo) * 1.08)
        key = lower_curve(kind)[0]
        lo, top = floor_for(plotdata.finite_extent(d[key]))
        self.floor = lo
        self.set_steady_y(self.lower, lo, top)
        dead = np.flatnonzero(d[key] <= LOG10_ZERO)
        self.zero_from = int(d["t"][dead[0]]) if dead.size else None

    def draw(self) -> None:
        n, d = self.step, self.data
        t = d["t"][:n]
        for key, c in self.curves:
            c.setData(t, d[key][:n], skipFiniteCheck=self.finite)
        product = d[lower_curve(self.kind)[0]][:n]
        # exact zeros (LOG10_ZERO: no gradient at all) are drawn on the floor of the axis
        self.product.setData(t, clip_floor(product, self.floor), skipFiniteCheck=self.finite)
        for c in self.cursors:
            c.setPos(self.step)
        z = self.zero_from
        self.set_note("zero", None if z is None or self.step < z else
                      _("The running product is exactly 0 from step {z} on{why}: drawn on the "
                        "bottom edge.").format(z=z, why=_(" (φ′ = 0 in every unit)")
                                               if not self.kind.gates else ""))


