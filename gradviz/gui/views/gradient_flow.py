"""Gradient flow: log10 ‖∂h_t/∂h_i‖ against the lag t − i for the current step t, with theory.

Overlays: RNN the Pascanu bound and the pure σ_max^(t−i) line; LSTM ‖∂c_t/∂c_i‖ and the
forget-gate path ∏ f; GRU the update-gate path ∏ z; always the line 10^0 = 1. Exact 2-norms
come from the controller's row; until it arrives the Frobenius norm is shown (and says so).
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtWidgets import QComboBox, QLabel

from ...core import plotdata
from ...core.i18n import N_, _
from ...core.jacobians import LOG10_ZERO
from ...core.plotdata import clip_floor, floor_for
from .base import PlotView
from .items import Plot
from .style import DASH, DOT, RIGHT_LABEL, SOLID

H_NORM = "‖∂h<sub>t</sub>/∂h<sub>i</sub>‖"
C_NORM = "‖∂c<sub>t</sub>/∂c<sub>i</sub>‖"
#: how each overlay is drawn, by its plotdata key: (legend, colour, style, width factor)
OVERLAY_STYLES = {
    "log10_bound_h": (N_("Pascanu bound ∏ max|φ′|·σ<sub>max</sub>"), "green", DASH, 1.0),
    "log10_sigma_power": ("σ<sub>max</sub>(W<sub>hh</sub>)<sup>t−i</sup>", "purple", DOT, 0.7),
    "log10_jac_c": (N_("{norm} (cell state)"), "red", SOLID, 0.8),
    "log10_forget_path": (N_("forget path max<sub>j</sub> ∏ f<sub>k</sub>[j]"), "green", DASH, 1.0),
    "log10_update_path": (N_("update path max<sub>j</sub> ∏ z<sub>k</sub>[j]"), "green", DASH, 1.0),
}


def overlay_legend(key: str, sub: str = "") -> str:
    """The legend of an overlay in the current language."""
    return _(OVERLAY_STYLES[key][0]).format(norm=C_NORM + sub)


def overlays(kind) -> list[str]:
    """The theory curves drawn beside ‖∂h_t/∂h_i‖ for a cell kind (asked of the registry)."""
    keys = ["log10_jac_c"] if kind.has_cell else []
    return keys + ([kind.path_array] if kind.path_gate else ["log10_bound_h", "log10_sigma_power"])
NORMS = {"2": (N_("2-norm"), "<sub>2</sub>"), "fro": (N_("Frobenius"), "<sub>F</sub>")}



def lag_plot(view, title: str):
    """A log10-norm-against-lag plot with the 10^0 line, placed in ``view``'s graphics."""
    st = view.styler
    plot = st.plot(Plot(), title, _("lag t − i (steps back in time)"), f"log<sub>10</sub> {H_NORM}")
    plot.disableAutoRange()
    view.graphics.ci.addItem(plot, row=0, col=0)
    one = st.curve(pg.InfiniteLine(pos=0.0, angle=0, movable=False, label="10⁰ = 1",
                                   labelOpts=RIGHT_LABEL), "grey", DASH, 0.6)
    plot.addItem(one)
    return plot, one

class GradientFlowView(PlotView):
    """One curve per quantity against the lag; the x range is the whole run, fixed."""

    title = N_("Gradient flow")
    file_stem = "gradient_flow"
    uses_map = True

    def __init__(self, parent=None):
        super().__init__(parent)
        self.control_row.addWidget(QLabel(_("Norm")))
        self.norm_box = QComboBox()
        self.norm_box.addItem(_("2-norm ‖·‖₂ (largest singular value)"), "2")
        self.norm_box.addItem(_("Frobenius ‖·‖_F"), "fro")
        self.norm_box.setToolTip(_("‖∂h_t/∂h_i‖₂ = σ_max of the product of Jacobians (what the "
                                 "Pascanu bound bounds); ‖·‖_F = sqrt of the sum of squares, "
                                 "between ‖·‖₂ and √H·‖·‖₂"))
        self.norm_box.currentIndexChanged.connect(lambda _i: self.redraw())
        self.control_row.addWidget(self.norm_box)
        self.control_row.addStretch(1)
        st = self.styler
        self.plot, self.one = lag_plot(self, _("Gradient flow"))
        self.main = st.curve(pg.PlotDataItem(), "blue", SOLID, 1.25)
        self.plot.addItem(self.main)
        self.overlays: list[tuple[str, pg.PlotDataItem]] = []
        self.floor = -1.0
        self.shown: dict[str, np.ndarray] = {}
        self._fallback = self._want_2 = None
        st.apply(st.appearance)

    @property
    def norm(self) -> str:
        return self.norm_box.currentData()

    def kind_changed(self, kind) -> None:
        for _name, c in self.overlays:
            self.styler.forget(c)
            self.plot.removeItem(c)
        self.overlays = []
        for key in overlays(kind):
            _text, color, style, width = OVERLAY_STYLES[key]
            c = self.styler.curve(pg.PlotDataItem(), color, style, width)
            self.plot.addItem(c)
            self.overlays.append((key, c))
        self._fallback = self._want_2 = None
        self.styler.apply(self.appearance)

    def _legend(self, fallback: bool = False) -> None:
        lg = self.plot.legend
        sub = NORMS["fro" if fallback or self.norm == "fro" else "2"][1]
        text = f"{H_NORM}{sub}" + (_(" (Frobenius until the 2-norm is computed)") if fallback else "")
        names = [text] + [overlay_legend(key, sub) for key, _c in self.overlays]
        if len(lg.items) == len(names):
            # the same entries (a row's 2-norms arrived, or not yet): their texts only, not a
            # new legend (a rebuild lays the plot out again, twice per tick of a drag)
            lg.set_names(names)
        else:
            lg.clear()
            for name, item in zip(names, [self.main] + [c for _k, c in self.overlays]):
                lg.addItem(item, name)
        self._fallback = fallback

    def analysis_changed(self) -> None:
        analysis = self.analysis
        # the map and its theory once computed; before that this row and the theory from step 0
        maps = plotdata.jacobian_map(analysis) if analysis.jac is not None else {
            "theory": analysis.theory_from_start()}
        T = analysis.steps
        row = [self.row.h_fro] + ([self.row.c_fro] if self.row.c_fro is not None else []) \
            if self.row is not None else []
        lo_hi = plotdata.finite_extent(*maps.values(), *row)
        if lo_hi is not None and (analysis.jac is None or analysis.jac.h is None):
            # a 2-norm is at most √H below the Frobenius norm
            lo_hi = (lo_hi[0] - 0.5 * np.log10(max(analysis.h_size, 1)), lo_hi[1])
        if "log10_sigma_power" in dict(self.overlays):
            sp = plotdata.gradient_flow(analysis, T)["log10_sigma_power"]
            ext = plotdata.finite_extent(sp)
            if ext is not None and lo_hi is not None:
                lo_hi = (min(lo_hi[0], ext[0]), max(lo_hi[1], ext[1]))
        self.floor, top = floor_for(lo_hi)
        self.plot.setXRange(0, max(T, 1), padding=0.01)
        self.set_steady_y(self.plot, self.floor, top)

    def draw(self) -> None:
        d = plotdata.gradient_flow(self.analysis, self.step, self.row)
        want_2 = self.norm == "2"
        key = "log10_jac_h" if want_2 and "log10_jac_h" in d else "log10_jac_h_fro"
        fallback = want_2 and key == "log10_jac_h_fro"
        if fallback != self._fallback or want_2 != self._want_2:
            self._want_2 = want_2
            self._legend(fallback)
        lag = d["lag"]
        shown = {"lag": lag}
        if key in d:
            shown["main"] = d[key]
            # a partial row (computed back to some lag so far) is shorter than lag
            self.main.setData(lag[:len(d[key])], clip_floor(d[key], self.floor),
                              skipFiniteCheck=True)
            self._note_zeros(d[key])
        else:   # this step's row is still being computed: the theory is drawn already
            self.main.setData([], [])
        for k, c in self.overlays:
            if k == "log10_jac_c":
                k = "log10_jac_c" if want_2 and "log10_jac_c" in d else "log10_jac_c_fro"
            if k not in d:
                c.setData([], [])
                continue
            shown[k] = d[k]
            c.setData(lag[:len(d[k])], clip_floor(d[k], self.floor), skipFiniteCheck=True)
        self.shown = shown
        partial = self.row is not None and not self.row.complete
        self.plot.setTitle(_("Gradient flow at t = {step}").format(step=self.step)
                           + ("" if key in d else _(" (computing ‖∂h_t/∂h_i‖…)"))
                           + (_(" (computed back to lag {lag}…)").format(
                               lag=self.step - self.row.first) if partial else ""))

    def _note_zeros(self, main: np.ndarray) -> None:
        """Exact zeros (LOG10_ZERO) are drawn on the floor; say so, and from which lag."""
        zero = main <= LOG10_ZERO
        text = None
        if zero.any():
            why = _(" (φ′ = 0 in every unit at some step)") if not self.kind.gates else ""
            text = _("‖∂h<sub>t</sub>/∂h<sub>i</sub>‖ = 0 exactly from lag {lag} on{why}: no gradient "
                     "reaches further back; drawn on the bottom edge.").format(lag=int(np.argmax(zero)),
                                                                              why=why)
        self.set_note("zero", text)
