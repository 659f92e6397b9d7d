"""Lyapunov exponents: the growth rate of ∂h_t/∂h_0 as a number, converging with t.

Upper plot: the running estimates λ_i(t) = (1/(t − t₀)) Σ ln|R_k[i, i]| of the QR method
(t₀ = the transient, run but not measured) for the top exponents, λ₁ with its block standard
error as a band, the line 0 (the edge between vanishing and exploding) and, for a tanh RNN
with Gaussian W_hh of gain g at zero input, the mean-field rate. Lower plot: the spectrum
λ_1 ≥ … ≥ λ_k at the end of the run (the whole spectrum for n ≤ 256, else λ₁ only). The numbers
come from :func:`gradviz.core.lyapunov.lyapunov`, computed off the GUI thread by
:mod:`gradviz.gui.phase_dock`; this view only draws them.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from ...core.i18n import N_, _
from .base import PlotView
from .items import Plot, caption
from .style import DASH, DOT, RIGHT_LABEL, SOLID

#: running curves drawn besides λ₁ (the rest of the spectrum is in the lower plot)
SHOWN = 5
_COLORS = ("blue", "orange", "green", "purple", "sky")


class LyapunovView(PlotView):
    """Running estimates of the top exponents against t, and the spectrum."""

    title = N_("Lyapunov exponents")
    file_stem = "lyapunov"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.control_row.addStretch(1)
        self.controls.hide()
        st = self.styler
        self.upper = st.plot(Plot(), _("Growth rate λ₁ = lim (1/t) ln ‖∂h_t/∂h_0‖, per step"),
                             _("step t"), _("λ (ln per step)"))
        self.lower = st.plot(Plot(), _("Lyapunov spectrum at t = T"), _("index i"),
                             _("λ_i (ln per step)"), legend=False)
        for p in (self.upper, self.lower):
            p.disableAutoRange()
        self.graphics.ci.addItem(self.upper, row=0, col=0)
        self.graphics.ci.addItem(self.lower, row=1, col=0)
        self.graphics.ci.layout.setRowStretchFactor(0, 3)
        self.graphics.ci.layout.setRowStretchFactor(1, 2)
        self.info = caption(self.lower)
        self.zero = st.curve(pg.InfiniteLine(pos=0.0, angle=0, movable=False,
                                             label=_("0: edge of chaos"), labelOpts=RIGHT_LABEL),
                             "grey", DASH, 0.6)
        self.upper.addItem(self.zero)
        self.zero2 = st.curve(pg.InfiniteLine(pos=0.0, angle=0, movable=False), "grey", DASH, 0.6)
        self.lower.addItem(self.zero2)
        self.band_hi = pg.PlotDataItem()
        self.band_lo = pg.PlotDataItem()
        self.band = pg.FillBetweenItem(self.band_lo, self.band_hi)
        self.upper.addItem(self.band)
        self.curves = []
        for k in range(SHOWN):
            c = st.curve(pg.PlotDataItem(), _COLORS[k], SOLID, 1.25 if k == 0 else 0.8)
            self.upper.addItem(c)
            self.curves.append(c)
        self.upper.legend.addItem(self.curves[0], "λ₁(t) ± " + _("block std. error"))
        self.upper.legend.addItem(self.curves[1], "λ₂ … λ₅")
        self.theory = st.curve(pg.InfiniteLine(angle=0, movable=False, label=_("mean field"),
                                               labelOpts={"position": 0.1,
                                                          "anchors": [(0, 1), (0, 1)]}),
                               "red", DOT, 1.0)
        self.upper.addItem(self.theory)
        self.theory.setVisible(False)
        self.transient_line = st.curve(pg.InfiniteLine(angle=90, movable=False), "grey", DOT, 0.6)
        self.upper.addItem(self.transient_line)
        self.cursor = st.curve(pg.InfiniteLine(angle=90, movable=False), "cursor", DASH, 0.6)
        self.upper.addItem(self.cursor)
        self.spectrum = st.curve(pg.PlotDataItem(), "blue", SOLID, 0.8, symbol=True)
        self.lower.addItem(self.spectrum)
        self.result = None      # core.lyapunov.Lyapunov for self.scene
        self.mean_field = None  # float or None
        st.apply(st.appearance)

    # ------------------------------------------------------------------ the view contract

    def analysis_changed(self) -> None:
        """A new run: its exponents follow in :meth:`set_lyapunov` (computed off-thread)."""
        self.set_note("pending", _("computing the Lyapunov exponents…"))

    def set_lyapunov(self, scene, result, mean_field: float | None) -> None:
        """Draw ``result`` (core.lyapunov.Lyapunov) of ``scene``; ``mean_field`` or None."""
        self.scene, self.result, self.mean_field = scene, result, mean_field
        self.set_note("pending", None)
        self._band_colour()
        r = result
        T = int(r.t[-1])
        k = min(SHOWN, r.exponents.shape[0])
        for j, c in enumerate(self.curves):
            c.setVisible(j < k)
        self.upper.legend.setVisible(True)
        lo = float(np.min(r.running[:, :k][np.isfinite(r.running[:, :k])], initial=0.0))
        hi = float(np.max(r.running[:, :k][np.isfinite(r.running[:, :k])], initial=0.0))
        # the first steps of a running mean swing widely: fit the range to the settled part
        settled = r.running[min(len(r.t) - 1, max(0, len(r.t) // 5)):, :k]
        lo_s, hi_s = float(np.min(settled, initial=0.0)), float(np.max(settled, initial=0.0))
        if mean_field is not None:
            lo_s, hi_s = min(lo_s, mean_field), max(hi_s, mean_field)
        span = max(hi_s - lo_s, 0.05)
        self.upper.setYRange(max(lo, lo_s - 0.4 * span), min(hi, hi_s + 0.4 * span) + 0.05 * span,
                             padding=0)
        self.upper.setXRange(0, max(T, 1), padding=0.01)
        self.transient_line.setPos(r.transient)
        self.theory.setVisible(mean_field is not None)
        if mean_field is not None:
            self.theory.setPos(mean_field)
        n = r.exponents.shape[0]
        idx = np.arange(1, n + 1, dtype=np.float64)
        self.spectrum.setData(idx, r.exponents)
        e_lo, e_hi = float(r.exponents.min()), float(r.exponents.max())
        pad = 0.08 * max(e_hi - e_lo, 0.1)
        self.lower.setXRange(0.5, n + 0.5, padding=0)
        self.lower.setYRange(min(e_lo, 0.0) - pad, max(e_hi, 0.0) + pad, padding=0)
        self.info.setText(self.summary())
        self.redraw()

    def summary(self) -> str:
        """The caption under the title of the lower plot (numbers to say aloud)."""
        r = self.result
        if r is None:
            return ""
        err = r.lambda1_err
        text = _("λ₁ = {lam:+.4f} ± {err:.4f} per step (steps {a}–{b}; ‖∂h_t/∂h_0‖ ≈ e^(λ₁·t))").format(
            lam=r.lambda1, err=err if np.isfinite(err) else 0.0, a=r.transient + 1, b=int(r.t[-1]))
        if self.mean_field is not None:
            text += "   " + _("mean field {mf:+.4f}, finite-H deviation {d:+.4f}").format(
                mf=self.mean_field, d=r.lambda1 - self.mean_field)
        if not r.full:
            text += "   " + _("(top exponent only: n = {n} > 256)").format(n=r.n)
        return text

    def csv_columns(self) -> dict:
        """Export ▸ CSV of this view (the core's numbers)."""
        from ...core.errors import GradvizError
        if self.result is None:
            raise GradvizError(_("the Lyapunov exponents are not computed yet"))
        return self.result.columns()

    def draw(self) -> None:
        r = self.result
        if r is None:
            return
        self.cursor.setPos(self.step)
        m = int(np.searchsorted(r.t, self.step, side="right"))   # entries with t ≤ step
        t = r.t[:m].astype(np.float64)
        k = min(SHOWN, r.exponents.shape[0])
        for j in range(k):
            self.curves[j].setData(t, r.running[:m, j])
        err = r.running_err[:m, 0]
        ok = np.isfinite(err)
        lam = r.running[:m, 0]
        self.band_hi.setData(t[ok], (lam + err)[ok])
        self.band_lo.setData(t[ok], (lam - err)[ok])

    def _restyled(self) -> None:
        self._band_colour()

    def _band_colour(self) -> None:
        color = pg.mkColor(self.styler.color("blue"))
        color.setAlpha(60)
        self.band.setBrush(pg.mkBrush(color))
