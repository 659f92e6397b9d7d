"""The edge of chaos in the window: the Lyapunov view, the phase-diagram dock, λ₁ on the status
line. :func:`install_phase` adds them to a :class:`~gradviz.gui.window.MainWindow`.

- After every analysis the exponents of the scene's run are computed off the GUI thread
  (:func:`gradviz.core.phase.scene_lyapunov`) and drawn by
  :class:`~gradviz.gui.views.lyapunov.LyapunovView`; λ₁ goes on the status line.
- The phase dock computes λ₁ over gain × a second setting of the scene on screen
  (:func:`gradviz.core.phase.compute_phase`, off the GUI thread, coarse to fine, with progress
  and Cancel, cached), draws it as a heatmap centred on 0 with the 0 contour (the edge of
  chaos) and the current scene marked; a click opens that point's scene. Below: λ₁ against g
  along one row, with the mean-field curve when it applies.

``gradviz phase`` draws its PNG with the same :class:`PhasePlot` (``gui.render.render_phase``).
"""
from __future__ import annotations

import math
import threading
import time

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QObject, Qt, QTimer, pyqtSignal
from PyQt6.QtWidgets import (QComboBox, QDoubleSpinBox, QGridLayout, QHBoxLayout, QLabel,
                             QProgressBar, QPushButton, QSizePolicy, QSpinBox, QVBoxLayout,
                             QWidget)

from ..core import phase as core_phase
from ..core.i18n import N_, _
from ..core.phase import (PhaseCache, PhaseResult, PhaseSpec, Y_AXES, Y_LABELS, lin_range,
                          log_range, nearest_point, point_scene, scene_point, x_kind, x_label)
from .views.base import Heatmap, PlotView
from .views.items import Plot, caption
from .views.lyapunov import LyapunovView
from .views.style import DASH, DOT, SOLID
from .worker import LatestRunner

#: the gain axis ticks (log axis: positions are log10 g)
G_TICKS = (0.1, 0.2, 0.5, 1.0, 2.0, 4.0, 10.0)
X_MODES = {"gain": N_("gain g (Gaussian W_hh, entries N(0, g²/H))"),
           "sigma_max": N_("target σ_max(W_hh) (the scene's init)")}


class PhasePlot(PlotView):
    """The heatmap of λ₁ (rows y, columns g on a log axis) and λ₁ against g along one row."""

    title = N_("Phase diagram")
    file_stem = "phase"
    point_clicked = pyqtSignal(int, int)      # ix, iy

    def __init__(self, parent=None):
        super().__init__(parent)
        self.control_row.addStretch(1)
        self.controls.hide()
        st = self.styler
        self.map = st.plot(Plot(), _("λ₁ per step: blue vanishes, red explodes"), "g", "y",
                           legend=False, grid=False)
        self.map.disableAutoRange()
        self.graphics.ci.addItem(self.map, row=0, col=0)
        self.heat = Heatmap(self.map, st, "λ₁", axis_order="row-major")
        self.contour = pg.IsocurveItem(level=0.0)
        self.contour.setParentItem(self.heat.image)
        self.contour.setZValue(5)
        self.marker = pg.ScatterPlotItem(symbol="o")
        self.marker.setZValue(10)
        self.map.addItem(self.marker)
        self.row_line = st.curve(pg.InfiniteLine(angle=0, movable=False), "grey", DOT, 0.6)
        self.map.addItem(self.row_line)
        self.line = st.plot(Plot(), _("λ₁ against the gain along one row"), "g",
                            _("λ₁ (ln per step)"))
        self.line.disableAutoRange()
        self.graphics.ci.addItem(self.line, row=1, col=0)
        self.graphics.ci.layout.setRowStretchFactor(0, 3)
        self.graphics.ci.layout.setRowStretchFactor(1, 2)
        self.info = caption(self.map)
        self.zero = st.curve(pg.InfiniteLine(pos=0.0, angle=0, movable=False), "grey", DASH, 0.6)
        self.line.addItem(self.zero)
        self.band_hi, self.band_lo = pg.PlotDataItem(), pg.PlotDataItem()
        self.band = pg.FillBetweenItem(self.band_lo, self.band_hi)
        self.line.addItem(self.band)
        self.measured = st.curve(pg.PlotDataItem(), "blue", SOLID, 1.2, symbol=True)
        self.theory = st.curve(pg.PlotDataItem(), "red", DASH, 1.0)
        self.deviation = st.curve(pg.PlotDataItem(), "green", DOT, 0.9)
        for c in (self.measured, self.theory, self.deviation):
            self.line.addItem(c)
        self.line.legend.addItem(self.measured, "λ₁ ± " + _("std"))
        self._theory_in_legend = False
        self.result: PhaseResult | None = None
        self.theory_data = None
        self.grid_row = 0
        self.limit = 1.0
        self.current: tuple[float, float] | None = None
        self._clicks_connected = False
        self.interactive = True     # False for a figure (no marker, no "click" hint)
        st.apply(st.appearance)

    # the View contract: the diagram does not follow the cursor -------------------------------
    def draw(self) -> None:
        pass

    def showEvent(self, event):
        super().showEvent(event)
        self._connect_clicks()

    def _connect_clicks(self) -> None:
        if not self._clicks_connected and self.map.scene() is not None:
            self.map.scene().sigMouseClicked.connect(self._clicked)
            self._clicks_connected = True

    # drawing -----------------------------------------------------------------------------
    def _xpos(self, values) -> np.ndarray:
        return np.log10(np.asarray(values, dtype=np.float64))

    def set_result(self, result: PhaseResult, theory=None, current=None) -> None:
        """Draw ``result`` (partial or complete); ``theory`` = (g, λ) or None; ``current`` =
        (x, y) of the scene on screen or None."""
        self.result, self.theory_data = result, theory
        spec = result.spec
        values, self.limit = result.display()
        self.heat.set_levels(-self.limit, self.limit, diverging=True)
        gx, y = self._xpos(spec.g), np.asarray(spec.y, dtype=np.float64)
        dx = (gx[-1] - gx[0]) / (len(gx) - 1) if len(gx) > 1 else 0.2
        dy = (y[-1] - y[0]) / (len(y) - 1) if len(y) > 1 else 0.2
        rect = pg.QtCore.QRectF(gx[0] - dx / 2, y[0] - dy / 2, dx * len(gx), dy * len(y))
        self.heat.show(values, rect)
        # IsocurveItem works in the image's pixel coordinates, indexed [column, row]
        self.contour.setData(values.T if values.shape[0] > 1 and values.shape[1] > 1 else None)
        self.map.setXRange(rect.left(), rect.right(), padding=0)
        self.map.setYRange(rect.top(), rect.bottom(), padding=0)
        lo, hi = 10 ** rect.left(), 10 ** rect.right()
        ticks = [(math.log10(v), f"{v:g}") for v in G_TICKS if lo <= v <= hi]
        if len(ticks) < 2:
            ticks = [(float(p), f"{10 ** p:.3g}") for p in (gx[0], gx[-1])]
        self.map.getAxis("bottom").setTicks([ticks])
        self.line.getAxis("bottom").setTicks([ticks])
        self.map.setLabel("bottom", x_label(spec.scene))
        self.line.setLabel("bottom", x_label(spec.scene))
        self.map.setLabel("left", _(Y_LABELS[spec.y_axis]))
        self.styler.apply(self.appearance)
        self._restyled()
        self.set_current(current)
        self._connect_clicks()

    def set_current(self, current: tuple[float, float] | None) -> None:
        """Mark the scene on screen (x, y) and draw the curve along its row (else row y = 0)."""
        self.current = current
        r = self.result
        if r is None:
            return
        spec = r.spec
        if current is not None:
            self.marker.setData([math.log10(current[0])], [current[1]])
            self.marker.setVisible(True)
            self.grid_row = nearest_point(spec, current[0], current[1])[1]
        else:
            self.marker.setVisible(False)
            self.grid_row = int(np.argmin(np.abs(np.asarray(spec.y))))
        self._draw_row()

    def _draw_row(self) -> None:
        r, iy = self.result, self.grid_row
        spec = r.spec
        self.row_line.setPos(spec.y[iy])
        gx = self._xpos(spec.g)
        lam, std = r.lambda1[iy], r.lambda1_std[iy]
        ok = r.done[iy] & np.isfinite(lam)
        band = ok & np.isfinite(std)
        self.measured.setData(gx[ok], lam[ok])
        self.band_hi.setData(gx[band], (lam + std)[band])
        self.band_lo.setData(gx[band], (lam - std)[band])
        shown = [lam[ok]]
        zero_input = spec.scene.input == "zeros" or (spec.y_axis == "amplitude" and spec.y[iy] == 0)
        theory = self.theory_data if zero_input else None
        self._theory_legend(theory is not None)
        if theory is not None:
            tg, tl = theory
            self.theory.setData(self._xpos(tg), tl)
            dev = lam - np.interp(gx, self._xpos(tg), tl)
            self.deviation.setData(gx[ok], dev[ok])
            shown += [tl, dev[ok]]
        else:
            self.theory.setData([], [])
            self.deviation.setData([], [])
        self.theory.setVisible(theory is not None)
        self.deviation.setVisible(theory is not None)
        vals = np.concatenate([v[np.isfinite(v)] for v in shown] + [np.zeros(1)])
        vals = np.clip(vals, -3.0, 3.0)
        pad = 0.08 * max(float(vals.max() - vals.min()), 0.1)
        self.line.setXRange(gx[0] - 0.02, gx[-1] + 0.02, padding=0)
        self.line.setYRange(float(vals.min()) - pad, float(vals.max()) + pad, padding=0)
        self.line.setTitle(_("λ₁ against the gain along the row {name} = {y:g}").format(
            name=_(Y_LABELS[spec.y_axis]), y=spec.y[iy]))
        self.info.setText(self.summary())

    def _theory_legend(self, on: bool) -> None:
        if on == self._theory_in_legend:
            return
        legend = self.line.legend
        if on:
            legend.addItem(self.theory, _("mean field ½ ln(g² E[sech⁴(√q* z)]), zero input"))
            legend.addItem(self.deviation, _("finite-H deviation λ₁ − mean field"))
        else:
            legend.removeItem(self.theory)
            legend.removeItem(self.deviation)
        self._theory_in_legend = on
        self.styler.apply(self.appearance)
        self._restyled()

    def summary(self) -> str:
        r = self.result
        if r is None:
            return ""
        done, total = int(r.done.sum()), r.done.size
        state = (_("complete") if r.complete else
                 _("{done} of {total} points (nearest computed shown)").format(done=done, total=total))
        text = _("{state}, {s:.1f} s; colours ±{lim:.2f}; line: λ₁ = 0, the edge of chaos").format(
            state=state, s=r.seconds, lim=self.limit)
        if self.interactive:
            text += "; " + _("○ the scene on screen; click a point to open it")
        return text

    def _restyled(self) -> None:
        pen = self.styler.pen("fg", SOLID, 1.2)
        self.contour.setPen(pen)
        color = pg.mkColor(self.styler.color("blue"))
        color.setAlpha(60)
        self.band.setBrush(pg.mkBrush(color))
        self.marker.setBrush(pg.mkBrush(0, 0, 0, 0))
        self.marker.setSize(self.appearance.font_pt + 8)
        self.marker.setPen(pg.mkPen(self.styler.color("fg"), width=max(2.0, self.appearance.line_width)))

    def csv_columns(self) -> dict:
        """Export ▸ CSV of the diagram (the core's numbers, NaN where not computed)."""
        from ..core.errors import GradvizError
        if self.result is None:
            raise GradvizError(_("no phase diagram yet: press Compute in its dock"))
        return self.result.columns()

    # clicks ------------------------------------------------------------------------------
    def point_at(self, scene_pos) -> tuple[int, int] | None:
        """Grid index under a position of the graphics scene (None outside the map)."""
        if self.result is None or not self.map.vb.sceneBoundingRect().contains(scene_pos):
            return None
        p = self.map.vb.mapSceneToView(scene_pos)
        return nearest_point(self.result.spec, 10 ** p.x(), p.y())

    def _clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        found = self.point_at(event.scenePos())
        if found is not None:
            self.point_clicked.emit(*found)


# ---------------------------------------------------------------------- the dock

class PhaseDock(QWidget):
    """Settings of the grid, Compute / Cancel with a progress bar, and the :class:`PhasePlot`."""

    def __init__(self, controller, parent=None):
        super().__init__(parent)
        self.controller = controller
        self.cache = PhaseCache()
        self.runner = LatestRunner(self, cancel_running=True)
        self.runner.partial.connect(self._progress)
        self.runner.finished.connect(self._finished)
        self.runner.failed.connect(self._failed)
        self._cancel = threading.Event()
        self._job = 0
        self._cell = None
        self.spec: PhaseSpec | None = None
        self.result: PhaseResult | None = None
        self.theory = None
        self._theories: dict = {}     # gain values -> mean-field curve (or None)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 2, 4, 2)
        grid = QGridLayout()
        grid.setHorizontalSpacing(6)
        grid.setVerticalSpacing(2)
        self.x_mode = QComboBox()
        for key, text in X_MODES.items():
            self.x_mode.addItem(_(text), key)
        self.x_mode.setToolTip(_("gain g: W_hh with entries N(0, g²/H) (spectral radius ≈ g, "
                                 "σ_max ≈ 2g); σ_max: the scene's W_hh rescaled to this σ_max"))
        self.g_lo, self.g_hi = self._double(0.1, 0.01, 100.0), self._double(4.0, 0.01, 100.0)
        self.g_n = self._int(32, 1, 128)
        self.y_axis = QComboBox()
        self.y_lo, self.y_hi = self._double(0.0, -20.0, 20.0), self._double(3.0, -20.0, 20.0)
        self.y_n = self._int(16, 1, 128)
        self.seeds = self._int(1, 1, 10)
        self.seeds.setToolTip(_("seeds per point: λ₁ is their mean, ± their standard deviation "
                                "(one seed: the block standard error)"))
        self.compute_button = QPushButton(_("Compute"))
        self.cancel_button = QPushButton(_("Cancel"))
        self.cancel_button.setEnabled(False)
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(0)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        grid.addWidget(QLabel("x"), 0, 0)
        grid.addWidget(self.x_mode, 0, 1)
        for k, w in enumerate((self.g_lo, self.g_hi, self.g_n)):
            grid.addWidget(w, 0, 2 + k)
        grid.addWidget(QLabel("y"), 1, 0)
        grid.addWidget(self.y_axis, 1, 1)
        for k, w in enumerate((self.y_lo, self.y_hi, self.y_n)):
            grid.addWidget(w, 1, 2 + k)
        grid.setColumnStretch(1, 3)
        for k in range(2, 5):
            grid.setColumnStretch(k, 1)
        for w, tip in ((self.g_lo, _("first value")), (self.g_hi, _("last value")),
                       (self.g_n, _("number of points (log-spaced)")), (self.y_lo, _("first value")),
                       (self.y_hi, _("last value")), (self.y_n, _("number of points"))):
            w.setToolTip(tip)
        buttons = QHBoxLayout()
        buttons.addWidget(QLabel(_("seeds")))
        buttons.addWidget(self.seeds)
        buttons.addWidget(self.compute_button)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.progress_bar)
        buttons.addWidget(self.status, 1)
        self.progress_bar.setMaximumWidth(160)
        self.status.setWordWrap(False)
        # nothing here may widen the dock column it shares (long texts are cut, not pushing)
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        for combo in (self.x_mode, self.y_axis):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(8)
        outer.addLayout(grid)
        outer.addLayout(buttons)
        self.plot = PhasePlot(self)
        outer.addWidget(self.plot, 1)
        self.compute_button.clicked.connect(self.compute)
        self.cancel_button.clicked.connect(self.cancel)
        self.plot.point_clicked.connect(self.open_point)
        self.y_axis.currentIndexChanged.connect(self._y_axis_changed)
        controller.analysis_ready.connect(self._analysis_ready)
        self._fill_y_axes(controller.scene.cell)

    @staticmethod
    def _double(value, lo, hi):
        box = QDoubleSpinBox()
        box.setRange(lo, hi)
        box.setDecimals(2)
        box.setSingleStep(0.1)
        box.setValue(value)
        return box

    @staticmethod
    def _int(value, lo, hi):
        box = QSpinBox()
        box.setRange(lo, hi)
        box.setValue(value)
        return box

    @staticmethod
    def _range_row(*widgets) -> QWidget:
        w = QWidget()
        row = QHBoxLayout(w)
        row.setContentsMargins(0, 0, 0, 0)
        for x in widgets:
            row.addWidget(x, 1)
        return w

    def _fill_y_axes(self, cell: str) -> None:
        """The second axes that act on ``cell``; a new cell starts on its own (forget bias for
        LSTM, update bias for GRU, amplitude for RNN)."""
        if cell == self._cell:
            return
        self._cell = cell
        self.y_axis.blockSignals(True)
        self.y_axis.clear()
        for key, (_field, cells) in Y_AXES.items():
            if cell in cells:
                self.y_axis.addItem(_(Y_LABELS[key]), key)
        self.y_axis.setCurrentIndex(self.y_axis.findData(core_phase.default_y_axis(cell)))
        self.y_axis.blockSignals(False)
        self._y_axis_changed()

    def _y_axis_changed(self, _index=None) -> None:
        amplitude = self.y_axis.currentData() == "amplitude"
        self.y_lo.setValue(0.0 if amplitude else -3.0)
        self.y_hi.setValue(3.0)

    # -------------------------------------------------------------- what to compute
    def base_scene(self):
        scene = self.controller.shown_scene or self.controller.scene
        if self.x_mode.currentData() == "gain":
            scene = scene.replace(init="gaussian", state_dict_path=None, wr_scale=None)
        return scene

    def make_spec(self) -> PhaseSpec:
        """The grid the dock's settings describe, on the scene on screen."""
        scene = self.base_scene()
        g = log_range(self.g_lo.value(), self.g_hi.value(), self.g_n.value()) \
            if self.g_n.value() > 1 else (self.g_lo.value(),)
        y = lin_range(self.y_lo.value(), self.y_hi.value(), self.y_n.value()) \
            if self.y_n.value() > 1 else (self.y_lo.value(),)
        spec = PhaseSpec(scene, g, self.y_axis.currentData(), y, seeds=self.seeds.value())
        spec.validate()
        return spec

    def compute(self) -> bool:
        """Start computing the grid (off the GUI thread); False with a message if it cannot."""
        from ..core.errors import GradvizError
        try:
            spec = self.make_spec()
        except GradvizError as exc:
            self.status.setText("⚠ " + str(exc))
            return False
        self._cancel.set()                 # a running job stops; the new one starts after it
        self._cancel = threading.Event()
        self.spec = spec
        self.result = None
        self.progress_bar.setRange(0, spec.shape[0] * spec.shape[1])
        self.progress_bar.setValue(0)
        self.cancel_button.setEnabled(True)
        self.status.setText(_("computing {ny} × {nx} points…").format(ny=spec.shape[0],
                                                                      nx=spec.shape[1]))
        cancel, cache, theories = self._cancel, self.cache, self._theories
        job = self._job = self._job + 1

        def work():
            """A generator job: a snapshot per level (plain data: no Qt object leaves the GUI
            thread), then the mean-field curve (a fraction of a second, cached per range)."""
            key = (spec.g, spec.scene.cell, spec.scene.nonlinearity, x_kind(spec.scene))
            theory = theories.get(key)
            steps = core_phase.iter_phase(spec, cancel=cancel.is_set, cache=cache)
            while True:
                try:
                    snapshot = next(steps)
                except StopIteration as stop:
                    result = stop.value
                    break
                yield job, snapshot, theory
            if key not in theories:
                theories[key] = core_phase.theory_curve(spec, points=120)
            return job, result, theories[key]

        self.runner.submit(work)
        return True

    def cancel(self) -> None:
        self._cancel.set()

    def wait(self, msecs: int = 30_000) -> bool:
        return self.runner.wait(msecs)

    @property
    def busy(self) -> bool:
        return self.runner.busy

    # -------------------------------------------------------------- results
    def _current(self):
        scene = self.controller.shown_scene
        return scene_point(self.spec, scene) if (scene is not None and self.spec) else None

    def _progress(self, _generation, value) -> None:
        job, result, theory = value
        if job != self._job:
            return
        self.result, self.theory = result, theory
        self.progress_bar.setValue(int(result.done.sum()))
        self.plot.set_result(result, theory, self._current())

    def _finished(self, _generation, value) -> None:
        job, result, theory = value
        if job != self._job:
            return
        self.result, self.theory = result, theory
        self.cancel_button.setEnabled(False)
        self.progress_bar.setValue(int(result.done.sum()))
        self.plot.set_result(result, theory, self._current())
        n = result.done.size
        if result.complete:
            self.status.setText(_("{n} points in {s:.1f} s ({c} from the cache)").format(
                n=n, s=result.seconds, c=result.cached))
        else:
            self.status.setText(_("cancelled: {done} of {n} points").format(
                done=int(result.done.sum()), n=n))

    def _failed(self, _generation, message) -> None:
        self.cancel_button.setEnabled(False)
        self.status.setText("⚠ " + message)

    def _analysis_ready(self, scene, _analysis) -> None:
        self._fill_y_axes(scene.cell)
        if self.result is not None:
            self.plot.set_current(self._current())

    def open_point(self, ix: int, iy: int) -> bool:
        """Open the scene of grid point (ix, iy) in the window."""
        if self.spec is None:
            return False
        return self.controller.set_scene(point_scene(self.spec, ix, iy))


# ---------------------------------------------------------------------- the Lyapunov view

#: λ₁ is computed once the scene has rested this long (ms): during a drag each analysis would
#: start a QR run (0.2 s for an LSTM with H = 64, T = 200) that takes a core from the drawing
LYAPUNOV_REST_MS = 250
#: ... and until the controller's workers are idle (its maps and rows come first), but no
#: longer than this after the last change (a large model's row takes a minute)
LYAPUNOV_DEFER_S = 3.0


class LyapunovPanel(QObject):
    """Computes the exponents of the analysis on screen off the GUI thread, for the view and
    the status line, once the scene rests (not at every tick of a drag)."""

    def __init__(self, window, view: LyapunovView):
        super().__init__(window)
        self.window, self.view = window, view
        self.runner = LatestRunner(self)
        self.runner.finished.connect(self._finished)
        self.runner.failed.connect(self._failed)
        self.label = QLabel("")
        self.label.setObjectName("lyapunov")
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setToolTip(_("The growth rate λ₁ = lim (1/t) ln ‖∂h_t/∂h_0‖ per step (top "
                                "Lyapunov exponent of the Jacobians' product, QR method, first "
                                "T/5 steps discarded): < 0 gradients vanish, > 0 they explode."))
        window.statusBar().addWidget(self.label)
        self.result = None
        self.mean_field = None
        self._waiting = None               # (scene, analysis) on screen, not yet computed
        self._rested_since = 0.0           # time.monotonic() of the last change
        self._rest = QTimer(self)
        self._rest.setSingleShot(True)
        self._rest.setInterval(LYAPUNOV_REST_MS)
        self._rest.timeout.connect(self._compute_waiting)
        window.controller.analysis_ready.connect(self._analysis_ready)
        window.controller.scene_changed.connect(self._not_resting)

    @property
    def busy(self) -> bool:
        """An analysis waits for the scene to rest, or its exponents are being computed."""
        return self._waiting is not None or self.runner.busy

    def _analysis_ready(self, scene, analysis) -> None:
        if analysis.steps < 1:
            return
        if self._waiting is None:
            self.label.setText("λ₁ …")
        self._waiting = (scene, analysis)
        self._rested_since = time.monotonic()
        self._rest.start()

    def _not_resting(self, _scene) -> None:
        if self._waiting is not None:
            self._rested_since = time.monotonic()
            self._rest.start()             # a tick of a drag: wait until it stops

    def rest(self) -> None:
        """Forget the analysis waiting for its λ₁ (the window is closing)."""
        self._rest.stop()
        self._waiting = None

    def _compute_waiting(self) -> None:
        if self._waiting is None:
            return
        controller = self.window.controller
        if controller.is_busy and time.monotonic() - self._rested_since < LYAPUNOV_DEFER_S:
            self._rest.start()     # the maps and rows first: they share the machine with it
            return
        scene, analysis = self._waiting
        self._waiting = None
        self.runner.submit(lambda: (scene, *core_phase.scene_lyapunov(scene, analysis.jacobians)))

    def _finished(self, generation, value) -> None:
        if generation != self.runner.latest:
            return
        scene, result, mean_field = value
        self.result, self.mean_field = result, mean_field
        self.view.set_lyapunov(scene, result, mean_field)
        if self._waiting is None:          # else a newer scene's λ₁ follows: "λ₁ …" stays
            self.label.setText(self.text())

    def _failed(self, _generation, message) -> None:
        self.label.setText("λ₁ ⚠ " + message)

    def text(self) -> str:
        r = self.result
        if r is None:
            return ""
        err = r.lambda1_err if np.isfinite(r.lambda1_err) else 0.0
        verdict = _("explodes") if r.lambda1 > err else (_("vanishes") if r.lambda1 < -err
                                                          else _("at the edge"))
        return _("λ₁ = <b>{lam:+.3f}</b> ± {err:.2g} /step ({verdict})").format(
            lam=r.lambda1, err=err, verdict=verdict)


def install_phase(window):
    """Add the Lyapunov view (a tab beside the step factors), the phase-diagram dock (a tab
    beside the Jacobian map), λ₁ on the status line, and View-menu entries for both."""

    from .actions import make_action
    view = LyapunovView()
    window.views[view.title] = view
    view.pair_selected.connect(window._pair_selected)
    lyap_dock = window._dock("LyapunovView", _("Lyapunov exponents"), view)
    dock_widget = PhaseDock(window.controller)
    phase_dock = window._dock("phase", _("Phase diagram"), dock_widget)
    window.views[PhasePlot.title] = dock_widget.plot     # themes and figure export reach it
    panel = LyapunovPanel(window, view)

    window.place_dock("LyapunovView", beside="StepFactorsView")
    window.place_dock("phase", beside="JacobianMapView")
    menu = window.menus["view"]
    for dock, key in ((lyap_dock, "lyapunov"), (phase_dock, "phase")):
        toggle = dock.toggleViewAction()
        menu.addAction(toggle)
        window.actions_[key + "_dock"] = toggle

    def show_phase():
        """Show the diagram big enough to read: a docked tab too small for it floats, centred
        over the window (dock it back by double-clicking its title)."""
        phase_dock.show()
        phase_dock.raise_()
        if not phase_dock.isFloating() and (phase_dock.height() < 480 or phase_dock.width() < 560):
            geo = window.geometry()
            width = min(1000, max(560, int(geo.width() * 0.8)))
            height = min(760, max(480, int(geo.height() * 0.9)))
            phase_dock.setFloating(True)
            phase_dock.resize(width, height)
            phase_dock.move(geo.x() + (geo.width() - width) // 2,
                            geo.y() + (geo.height() - height) // 2)
    window.actions_["phase"] = make_action(window, _("Phase diagram (edge of chaos)…"), show_phase,
                                           "Ctrl+Shift+D", _("λ₁ over gain × a second setting; "
                                                              "click a point to open it"))
    menu.addAction(window.actions_["phase"])
    window.addAction(window.actions_["phase"])
    view.set_appearance(window.appearance())
    dock_widget.plot.set_appearance(window.appearance())

    def stop():
        """The window closed: no new jobs, the running ones cancelled, both threads ended."""
        for signal, slot in ((window.controller.analysis_ready, panel._analysis_ready),
                             (window.controller.scene_changed, panel._not_resting)):
            try:
                signal.disconnect(slot)
            except TypeError:
                pass
        panel.rest()    # no λ₁ waits to be started any more
        dock_widget.cancel()
        for runner in (dock_widget.runner, panel.runner):
            runner.discard_pending()
            runner.shutdown(300)   # closing never waits for a long λ₁ (a daemon thread)
    window.closed.connect(stop)
    window.phase = dock_widget
    window.lyapunov = panel
    return dock_widget, panel
