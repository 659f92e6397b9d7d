"""Jacobian at step t: the matrix ∂h_t/∂h_{t-1} as a heatmap and its singular values.

For H = 2 also the complex plane with the unit circle: the eigenvalues of W_hh (RNN) and of
the one-step Jacobian (every cell), inside the circle = that direction shrinks.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QRectF

from ...core import plotdata
from .base import Heatmap, PlotView
from .items import Plot, integer_ticks
from .style import DASH, RIGHT_LABEL
from ...core.i18n import N_, _


class JacobianStepView(PlotView):
    """Left: the one-step Jacobian; middle: its singular values; right (H = 2): eigenvalues."""

    title = N_("Jacobian at step t")
    file_stem = "jacobian_step"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.control_row.addStretch(1)
        self.controls.hide()
        st = self.styler
        self.matrix = st.plot(Plot(), _("∂h<sub>t</sub>/∂h<sub>t−1</sub>"),
                              _("unit of h<sub>t−1</sub>"), _("unit of h<sub>t</sub>"), legend=False,
                              grid=False)
        self.matrix.invertY(True)
        self.matrix.disableAutoRange()
        self.heatmap = Heatmap(self.matrix, st, _("entry"), axis_order="row-major")
        self.sv = st.plot(Plot(), _("Singular values"), "k", _("σ<sub>k</sub>"))
        self.sv.disableAutoRange()
        self.sv_curve = st.curve(pg.PlotDataItem(symbol="o"), "blue", symbol=True)
        self.sv.addItem(self.sv_curve)
        self.sv.legend.addItem(self.sv_curve, _("σ<sub>k</sub>(∂h<sub>t</sub>/∂h<sub>t−1</sub>)"))
        self.sv_one = st.curve(pg.InfiniteLine(pos=1.0, angle=0, movable=False, label="1",
                                               labelOpts=RIGHT_LABEL), "grey", DASH, 0.6)
        self.sv.addItem(self.sv_one)
        self.eig = st.plot(Plot(), _("Eigenvalues"), _("Re λ"), _("Im λ"))
        self.eig.setAspectLocked(True)
        self.eig.disableAutoRange()
        theta = np.linspace(0, 2 * np.pi, 181)
        self.circle = st.curve(pg.PlotDataItem(np.cos(theta), np.sin(theta)), "grey", DASH, 0.6)
        self.eig.addItem(self.circle)
        self.eig.legend.addItem(self.circle, "|λ| = 1")
        self.eig_whh = st.curve(pg.ScatterPlotItem(symbol="o"), "purple")
        self.eig_jac = st.curve(pg.ScatterPlotItem(symbol="x"), "red")
        self.eig.addItem(self.eig_whh)
        self.eig.addItem(self.eig_jac)
        self.eig.legend.addItem(self.eig_jac, _("λ(∂h<sub>t</sub>/∂h<sub>t−1</sub>)"))
        self._whh_in_legend = False
        self._with_eig = None
        self._stacked = False
        self._layout(False)
        self.sv_top = 1.2
        self.data = None
        st.apply(st.appearance)

    def _narrow(self) -> bool:
        """Too narrow for the plots side by side (each needs its axes and a colour bar)."""
        return self.width() < 46 * self.appearance.font_pt * (1.5 if self._with_eig else 1)

    def resizeEvent(self, event):
        super().resizeEvent(event)
        if self._with_eig is not None and self._narrow() != self._stacked:
            self._layout(self._with_eig, force=True)

    def _layout(self, with_eig: bool, force: bool = False) -> None:
        if with_eig == self._with_eig and not force:
            return
        self._with_eig = with_eig
        ci = self.graphics.ci
        ci.clear()
        self._stacked = stacked = self._narrow()
        plots = [self.matrix, self.sv] + ([self.eig] if with_eig else [])
        for k, plot in enumerate(plots):   # in a row, or one above the other when narrow
            ci.addItem(plot, row=k if stacked else 0, col=0 if stacked else k)
        for k, stretch in enumerate((5, 4, 4 if with_eig else 0)):
            if stacked:
                ci.layout.setColumnStretchFactor(k, 1 if k == 0 else 0)
                ci.layout.setRowStretchFactor(k, stretch)
            else:
                ci.layout.setRowStretchFactor(k, 1 if k == 0 else 0)
                ci.layout.setColumnStretchFactor(k, stretch)

    def analysis_changed(self) -> None:
        analysis = self.analysis
        H = analysis.h_size
        m = plotdata.jacobian_extent(analysis)
        m = m if m > 0 else 1.0     # every entry exactly 0 (all relu units off)
        self.heatmap.set_levels(-m, m, diverging=True)
        self.matrix.setXRange(-0.5, H - 0.5, padding=0)
        self.matrix.setYRange(-0.5, H - 0.5, padding=0)
        self.sv.setXRange(0.5, H + 0.5, padding=0)
        integer_ticks(self.matrix.getAxis("left"), H)
        integer_ticks(self.matrix.getAxis("bottom"), H)
        integer_ticks(self.sv.getAxis("bottom"), H)
        self.sv_top = 1.2
        self._layout(H == 2)
        rnn = not self.kind.gates   # an RNN: the eigenvalues of W_hh itself
        if rnn != self._whh_in_legend:
            if rnn:
                self.eig.legend.addItem(self.eig_whh, _("λ(W<sub>hh</sub>)"))
            else:
                self.eig.legend.removeItem(self.eig_whh)
            self._whh_in_legend = rnn
        self.eig.setXRange(-1.3, 1.3, padding=0)
        self.eig.setYRange(-1.3, 1.3, padding=0)

    def draw(self) -> None:
        t = self.step
        if t < 1:   # no step taken yet: nothing to differentiate
            self.data = None
            self.heatmap.show(np.zeros((0, 0)), QRectF())
            self.sv_curve.setData([], [])
            self.eig_jac.setData([], [])
            self.eig_whh.setData([], [])
            self.matrix.setTitle(_("∂h<sub>t</sub>/∂h<sub>t−1</sub> (no step yet at t = 0)"))
            return
        d = plotdata.jacobian_at_step(self.analysis, t)
        self.data = d
        H = d["jacobian"].shape[0]
        self.heatmap.show(d["jacobian"], QRectF(-0.5, -0.5, H, H))
        sv = d["singular_values"]
        self.sv_curve.setData(d["index"], sv, skipFiniteCheck=True)
        top = max(1.2, 1.1 * float(sv[0]))
        if top > self.sv_top or top < 0.5 * self.sv_top:   # rescale rarely, not every frame
            self.sv_top = float(np.ceil(top * 2) / 2)
        self.sv.setYRange(0, self.sv_top, padding=0)
        self.matrix.setTitle(_("∂h<sub>t</sub>/∂h<sub>t−1</sub> at t = {t}").format(t=t))
        if "eig_jac_real" in d:
            self.eig_jac.setData(d["eig_jac_real"], d["eig_jac_imag"])
            if "eig_whh_real" in d:
                self.eig_whh.setData(d["eig_whh_real"], d["eig_whh_imag"])
            else:
                self.eig_whh.setData([], [])
            pts = [d[k] for k in ("eig_jac_real", "eig_jac_imag", "eig_whh_real", "eig_whh_imag")
                   if k in d]
            r = max(1.3, 1.15 * max(float(np.abs(p).max()) for p in pts))
            self.eig.setXRange(-r, r, padding=0)
            self.eig.setYRange(-r, r, padding=0)
