"""Jacobian map: log10 ‖∂h_t/∂h_i‖ for every pair i ≤ t as a heatmap, centred on 0.

Blue = vanishing (< 10^0), red = exploding (> 10^0), symmetric fixed levels per run, a colour
bar, a crosshair at the current row t and the selected column i. Rows after the current step
are not drawn (the map grows while playing). Clicking a cell emits ``pair_selected(t, i)``.
The image holds no NaN: unused cells (i > t) carry :data:`SENTINEL`, drawn in the background
colour by the first entry of the lookup table.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QRectF
from PyQt6.QtWidgets import QComboBox, QLabel

from ...core import plotdata
from ...core.i18n import N_, _
from ...core.jacobians import LOG10_ZERO
from .base import PlotView
from .items import ColorBar, Plot, caption
from .style import DASH, diverging_cmap

SENTINEL = -1e30
_N_LUT = 256
#: map choices: (data key (first present wins), menu text, colour-bar label)
MAPS = {
    "h": (("log10_jac_h", "log10_jac_h_fro"), "‖∂h_t/∂h_i‖",
          "log<sub>10</sub> ‖∂h<sub>t</sub>/∂h<sub>i</sub>‖"),
    "c": (("log10_jac_c", "log10_jac_c_fro"), N_("‖∂c_t/∂c_i‖ (cell state)"),
          "log<sub>10</sub> ‖∂c<sub>t</sub>/∂c<sub>i</sub>‖"),
    "bound": (("log10_bound_h",), N_("Pascanu bound"), N_("log<sub>10</sub> bound")),
    "forget": (("log10_forget_path",), N_("forget path ∏ f"), N_("log<sub>10</sub> max ∏ f")),
    "update": (("log10_update_path",), N_("update path ∏ z"), N_("log<sub>10</sub> max ∏ z")),
}


def choices(kind) -> list[str]:
    """The maps offered for a cell kind: ‖∂h_t/∂h_i‖, ‖∂c_t/∂c_i‖ with a cell state, its theory."""
    theory = path_word(kind) if kind.path_gate else "bound"
    return ["h"] + (["c"] if kind.has_cell else []) + [theory]


def path_word(kind) -> str:
    """'forget' for the LSTM's forget-gate path, 'update' for the GRU's (from its array name)."""
    return kind.path_array.removeprefix("log10_").removesuffix("_path")


def symmetric_level(values: np.ndarray) -> float:
    """The colour scale's half-width: the largest |log10| over real values, rounded up, ≥ 1."""
    ext = plotdata.finite_extent(values)
    if ext is None:
        return 1.0
    return float(max(1.0, np.ceil(max(abs(ext[0]), abs(ext[1])))))


def display_map(values: np.ndarray, level: float) -> np.ndarray:
    """Clip to ±level (LOG10_ZERO lands on the deepest blue); NaN (i > t) -> SENTINEL."""
    out = np.clip(values, -level, level)
    out[~np.isfinite(values)] = SENTINEL
    return out


class JacobianMapView(PlotView):
    """Heatmap of [t, i] (t down the rows, i along the columns, like the matrix it is)."""

    title = N_("Jacobian map")
    file_stem = "jacobian_map"
    uses_map = True

    def __init__(self, parent=None):
        super().__init__(parent)
        self.control_row.addWidget(QLabel(_("Map of")))
        self.map_box = QComboBox()
        self.map_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.map_box.setToolTip(_("Which quantity the map shows for every pair (t, i): the true "
                                "norm of ∂h_t/∂h_i, or what theory predicts for it"))
        self.map_box.currentIndexChanged.connect(self._map_changed)
        self.control_row.addWidget(self.map_box)
        self.control_row.addStretch(1)
        st = self.styler
        self.plot = st.plot(Plot(), _("Jacobian map"), _("i (earlier step)"), _("t (later step)"),
                            legend=False, grid=False)
        self.plot.disableAutoRange()
        self.plot.invertY(True)
        self.plot.setAspectLocked(False)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.image)
        self.bar = ColorBar(values=(-1.0, 1.0), colorMap=diverging_cmap(), interactive=False,
                            width=18, rounding=1e-6, colorMapMenu=False)
        st.bar(self.bar, MAPS["h"][2])
        self.graphics.ci.addItem(self.plot, row=0, col=0)
        self.bar.setImageItem(self.image, insert_in=self.plot)
        self.row_line = st.curve(pg.InfiniteLine(angle=0, movable=False), "fg", DASH, 0.5)
        self.col_line = st.curve(pg.InfiniteLine(angle=90, movable=False), "fg", DASH, 0.5)
        self.plot.addItem(self.row_line)
        self.plot.addItem(self.col_line)
        # the numbers of the selected pair, above the map (never over it)
        self.readout = caption(self.plot)
        self.graphics.scene().sigMouseClicked.connect(self._clicked)
        self.selected_i = 0
        self.level = 1.0
        self.values = None      # the chosen [t, i] map (NaN above the diagonal)
        self.display = None     # what the image holds (clipped, sentinel)
        self.stride = 1         # the map's rows and columns are every stride-th step
        self.waiting = False    # the chosen map of this analysis is still being computed
        self._title = ""        # the title of the map on screen
        st.apply(st.appearance)
        self._restyled()

    @property
    def choice(self) -> str:
        return self.map_box.currentData()

    def _restyled(self) -> None:
        bg = pg.mkColor(self.styler.color("bg"))
        table = diverging_cmap().getLookupTable(nPts=_N_LUT - 1, alpha=False)
        lut = np.vstack([[bg.red(), bg.green(), bg.blue()], table]).astype(np.uint8)
        self.image.setLookupTable(lut)

    def _levels(self) -> tuple[float, float]:
        """Levels that put index 0 (the sentinel colour) just below -level, 0 in the middle.

        A value v lands on index floor((v - lo)·N/(L - lo)); -level (where exact zeros are
        drawn) must land on 1, the deepest blue, with room to spare for rounding.
        """
        L = self.level
        return (-L - 3.0 * L / (_N_LUT - 1), L)

    def kind_changed(self, kind) -> None:
        self.map_box.blockSignals(True)
        self.map_box.clear()
        for name in choices(kind):
            self.map_box.addItem(_(MAPS[name][1]), name)
        self.map_box.blockSignals(False)

    def analysis_changed(self) -> None:
        self._maps = plotdata.jacobian_map(self.analysis) if self.analysis.jac is not None else {}
        T = self.analysis.steps
        self.plot.setXRange(-0.5, T + 0.5, padding=0)
        self.plot.setYRange(-0.5, T + 0.5, padding=0)
        self._fill()
        self.selected_i = min(self.selected_i, T)

    def _fill(self) -> None:
        keys, _title, bar_label = MAPS[self.choice]
        key = next((k for k in keys if k in self._maps), None)
        self.waiting = key is None
        if key is None:   # keep the map on screen until this analysis' map arrives, and say so
            self.plot.setTitle(_("Jacobian map (computing…)") if self.display is None else
                               self._title + " " + _("(updating…)"))
            return
        self.key = key
        self.stride = plotdata.map_stride(self.analysis)
        self.values = self._maps[key]
        self.level = symmetric_level(self.values)
        self.display = display_map(self.values, self.level)
        self.image.setLevels(self._levels())
        # the colour bar's axis is laid out again by every setLevels/setLabel: only on a change
        if tuple(self.bar.levels()) != (-self.level, self.level):
            self.bar.setLevels((-self.level, self.level))
        norm = (_("Frobenius") if key.endswith("_fro") else
                _("2-norm") if key in ("log10_jac_h", "log10_jac_c") else _("theory"))
        if self.bar.axis.labelText != _(bar_label):
            self.bar.axis.setLabel(_(bar_label))
        name = _(MAPS[self.choice][1]).replace("_t", "<sub>t</sub>").replace("_i", "<sub>i</sub>")
        pairs = (_("all pairs i ≤ t") if self.stride == 1 else
                 _("every {stride}th step (exact there)").format(stride=self.stride))
        self._title = f"{name}, {pairs} ({norm})"
        self.plot.setTitle(self._title)

    def _map_changed(self, _index) -> None:
        if self.analysis is not None:
            self._fill()
            self.draw()

    def draw(self) -> None:
        t = self.step
        i = min(self.selected_i, t)
        self.row_line.setPos(t)
        self.col_line.setPos(i)
        if self.display is None:
            return
        s = self.stride
        n = self.display.shape[1]
        rows = min(t // s + 1, self.display.shape[0])
        self.image.setImage(self.display[:rows], autoLevels=False, levels=self._levels())
        # grid point a·s is drawn centred on step a·s, covering s steps
        self.image.setRect(QRectF(-0.5 * s, -0.5 * s, n * s, rows * s))
        self._show_readout(t, i)

    def _show_readout(self, t: int, i: int) -> None:
        s = self.stride
        a, b = min(t // s, self.values.shape[0] - 1), min(i // s, self.values.shape[1] - 1)
        v = self.values[a, b]
        text = _("−∞ (exactly 0)") if v <= LOG10_ZERO else f"{v:.2f}".replace("-", "−")
        where = f"t = {t}, i = {i}" if s == 1 else f"t = {a * s}, i = {b * s}"
        c = self.styler.color
        self.readout.setText(
            _("{where}: log<sub>10</sub> = <b>{text}</b> &nbsp; <span style='color:{blue}'>blue</span> = "
              "vanishing, <span style='color:{red}'>red</span> = exploding")
            .format(where=where, text=text, blue=c('blue'), red=c('red')),
            color=c("fg"), size=f"{self.appearance.font_pt}pt")

    def _clicked(self, event) -> None:
        if self.analysis is None:
            return
        vb = self.plot.vb
        pos = event.scenePos()
        if not vb.sceneBoundingRect().contains(pos):
            return
        p = vb.mapSceneToView(pos)
        i, t = int(np.floor(p.x() + 0.5)), int(np.floor(p.y() + 0.5))
        if 0 <= i <= t <= self.analysis.steps:
            self.selected_i = i
            event.accept()
            self.pair_selected.emit(t, i)
            self.col_line.setPos(i)
