"""A figure for slides and papers: the chosen views alone, laid out at a chosen size.

The window's views live in docks with rows of buttons, at whatever size the screen gives them.
A figure instead builds fresh copies of the chosen views (same classes, same numbers: the
scene, analysis, step, 2-norm row and the choices in each view's button row, such as the
norm), hides their buttons, and lays them out in a grid on a white widget of the requested
size, off screen. The window is not touched.

Size: ``width`` × ``height`` in cm or px at ``dpi``. Text is in points, so a figure 8.5 cm
wide is laid out 8.5 cm wide (at 96 layout pixels per inch, Qt's logical DPI) and an 11 pt
label is 11 pt on paper; ``dpi`` decides the PNG's pixels (its scale is dpi / 96). A size in
px is the PNG's size: the layout is px / scale. The SVG carries the physical size (cm) and
the PDF page has it, so the three formats agree.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from PyQt6.QtCore import Qt
from PyQt6.QtGui import QColor, QPalette
from PyQt6.QtWidgets import (QAbstractButton, QAbstractSpinBox, QApplication, QCheckBox,
                             QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout,
                             QGridLayout, QGroupBox, QHBoxLayout, QLabel, QSpinBox, QVBoxLayout,
                             QWidget)

from ..core.errors import GradvizError
from ..core.i18n import N_, _
from .views.base import Appearance

#: Qt's logical pixels per inch: the unit figures are laid out in
LAYOUT_DPI = 96.0
#: a view needs at least this much room (logical px) to draw its axes, legend and title
MIN_CELL = (180, 130)
#: the whole dashboard's cells are at least this big (logical px): room for legends and ticks
DASHBOARD_CELL = (480, 320)
UNITS = ("cm", "px")


@dataclass
class FigureSpec:
    """What a figure shows and how big it is."""

    views: list[str]                    # file stems (gradient_flow, states, ..., compare)
    width: float = 16.0
    height: float = 10.0
    unit: str = "cm"                    # cm | px
    dpi: float = 300.0
    columns: int = 0                    # 0: chosen from the number of views
    font_pt: int = 0                    # 0: the window's plot font
    white: bool = True                  # light plots on white (False: the window's theme)
    layout_size: tuple[int, int] = field(default=(0, 0), init=False)

    def __post_init__(self):
        if self.unit not in UNITS:
            raise GradvizError(_("figure size unit {unit!r}: expected cm or px").format(unit=self.unit))
        if not (self.width > 0 and self.height > 0):
            raise GradvizError(_("figure size {w} × {h} {unit}: both must be positive").format(
                w=self.width, h=self.height, unit=self.unit))
        if not 30 <= self.dpi <= 1200:
            raise GradvizError(_("figure DPI {dpi}: expected 30 to 1200").format(dpi=self.dpi))
        if not self.views:
            raise GradvizError(_("choose at least one view for the figure"))
        self.layout_size = (max(1, round(self.width * self.layout_per_unit)),
                            max(1, round(self.height * self.layout_per_unit)))

    @property
    def scale(self) -> float:
        """PNG pixels per layout pixel."""
        return self.dpi / LAYOUT_DPI

    @property
    def layout_per_unit(self) -> float:
        return LAYOUT_DPI / 2.54 if self.unit == "cm" else 1.0 / self.scale

    @property
    def size_cm(self) -> tuple[float, float]:
        """The physical size every format carries."""
        w, h = self.layout_size
        return w / LAYOUT_DPI * 2.54, h / LAYOUT_DPI * 2.54

    @property
    def pixel_size(self) -> tuple[int, int]:
        """The PNG's size in pixels."""
        w, h = self.layout_size
        return max(1, round(w * self.scale)), max(1, round(h * self.scale))

    def grid(self) -> tuple[int, int]:
        n = len(self.views)
        cols = self.columns or (1 if n == 1 else 2 if n <= 4 else 3)
        cols = max(1, min(cols, n))
        return -(-n // cols), cols


def copy_choices(source: QWidget, target: QWidget) -> None:
    """Give ``target``'s row of buttons the choices made in ``source``'s (same view class)."""
    src, dst = getattr(source, "controls", None), getattr(target, "controls", None)
    if not isinstance(src, QWidget) or not isinstance(dst, QWidget):
        return
    for kind in (QComboBox, QAbstractButton, QAbstractSpinBox):
        for a, b in zip(src.findChildren(kind), dst.findChildren(kind)):
            if isinstance(a, QComboBox):
                if a.count() == b.count():
                    b.setCurrentIndex(a.currentIndex())
            elif isinstance(a, QAbstractButton):
                if a.isCheckable():
                    b.setChecked(a.isChecked())
            elif hasattr(a, "value"):
                b.setValue(a.value())


class Figure(QWidget):
    """The chosen views, buttons hidden, in a grid on white, off screen at the spec's size."""

    def __init__(self, window, spec: FigureSpec, appearance: Appearance | None = None):
        super().__init__(None)
        self.spec = spec
        self.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen, True)
        look = appearance or _look(window, spec)
        if spec.white:
            pal = self.palette()
            pal.setColor(QPalette.ColorRole.Window, QColor("white"))
            self.setPalette(pal)
            self.setAutoFillBackground(True)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(0)
        rows, cols = spec.grid()
        w, h = spec.layout_size
        if w / cols < MIN_CELL[0] or h / rows < MIN_CELL[1]:
            raise GradvizError(_(
                "a figure of {n} views in {rows} × {cols} needs at least {w} × {h} layout pixels "
                "(about {wcm:.1f} × {hcm:.1f} cm); make it larger or use fewer views").format(
                    n=len(spec.views), rows=rows, cols=cols, w=MIN_CELL[0] * cols,
                    h=MIN_CELL[1] * rows, wcm=MIN_CELL[0] * cols / LAYOUT_DPI * 2.54,
                    hcm=MIN_CELL[1] * rows / LAYOUT_DPI * 2.54))
        self.views = []
        for k, stem in enumerate(spec.views):
            view = _copy_view(window, stem, look)
            view.setParent(self)
            grid.addWidget(view, k // cols, k % cols)
            self.views.append(view)
        for c in range(cols):
            grid.setColumnStretch(c, 1)
        for r in range(rows):
            grid.setRowStretch(r, 1)
        self.resize(w, h)
        self.show()
        grid.activate()
        QApplication.processEvents()
        from .export_targets import settle_layouts
        settle_layouts()

    def set_step(self, step: int, row) -> None:
        for view in self.views:
            view.set_step(step, row)

    def close_figure(self) -> None:
        self.close()
        self.deleteLater()


def _look(window, spec: FigureSpec) -> Appearance:
    """Light plots (or the window's theme) at the chosen font size (default: the window's
    plot font, without presentation mode's boost)."""
    font = spec.font_pt or int(getattr(window, "font_pt", 0) or Appearance().font_pt)
    dark = not spec.white and bool(getattr(window, "dark", False))
    return Appearance(dark=dark, font_pt=font)


def _live_view(window, stem: str):
    from .export_targets import DASHBOARD, targets

    found = targets(window).get(stem)
    if found is None or stem == DASHBOARD:
        raise GradvizError(_("no view called {name!r}").format(name=stem))
    return found[1]


def _copy_view(window, stem: str, look: Appearance):
    """A fresh instance of the window's view ``stem`` showing the same numbers."""
    live = _live_view(window, stem)
    c = window.controller
    view = type(live)()
    view.controls.hide()
    view.set_appearance(look)
    if stem == "compare":
        if not c.compare or not c.compare_results:
            raise GradvizError(_("the compare view is shown in compare mode only (Compare ▸ Ctrl+M)"))
        copy_choices(live, view)
        view.set_compare(c.compare_results, c.step)
        return view
    if c.analysis is None:
        raise GradvizError(_("nothing computed yet: no figure to make"))
    scene = getattr(live, "scene", None) or c.shown_scene
    analysis = getattr(live, "analysis", None) or c.analysis
    view.set_analysis(scene, analysis)
    copy_choices(live, view)
    step = getattr(live, "step", c.step)
    row = getattr(live, "row", None)
    if row is None or getattr(row, "t", step) != step:
        row = c.row(step) or analysis.row(min(step, analysis.steps))
    view.set_step(step, row)
    return view


def shown_views(window) -> list[str]:
    """The views the window shows now (their docks open), in the dashboard's order."""
    from .export_targets import DASHBOARD, targets

    out = []
    for stem, (_title, widget) in targets(window).items():
        if stem == DASHBOARD or widget is None:
            continue
        if stem == "compare" and not window.controller.compare:
            continue
        if widget.isVisible():
            out.append(stem)
    return out


def dashboard_spec(window, scale: float = 1.0, white: bool = True) -> FigureSpec:
    """"Whole dashboard": every shown view (no menus, toolbars, controls or dock buttons), each
    cell the views' average on-screen size (at least :data:`DASHBOARD_CELL`), up to three to a
    row; PNG at ``scale``."""
    stems = shown_views(window)
    if not stems:
        raise GradvizError(_("no view is shown: show one first (View ▸ Views)"))
    widgets = [_live_view(window, s) for s in stems]
    cols = 1 if len(stems) == 1 else 2 if len(stems) <= 4 else 3
    rows = -(-len(stems) // cols)
    cell_w = max(DASHBOARD_CELL[0], round(sum(w.width() for w in widgets) / len(widgets)))
    cell_h = max(DASHBOARD_CELL[1], round(sum(w.height() for w in widgets) / len(widgets)))
    return FigureSpec(stems, width=cell_w * cols * scale, height=cell_h * rows * scale, unit="px",
                      dpi=LAYOUT_DPI * scale, columns=cols, white=white)


def export_figure_spec(window, spec: FigureSpec, path, fmt: str | None = None,
                       overwrite: bool = False) -> Path:
    """Write the figure of ``spec`` as PNG (``spec.pixel_size``), SVG or PDF (physical size)."""
    from .exporting import export_widget

    figure = Figure(window, spec)
    try:
        w_cm, h_cm = spec.size_cm
        return export_widget(figure, path, fmt, scale=spec.scale, white=spec.white,
                             overwrite=overwrite,
                             title="gradviz — " + ", ".join(spec.views),
                             svg_size=(f"{w_cm:.6g}cm", f"{h_cm:.6g}cm"))
    finally:
        figure.close_figure()


def figure_image(window, spec: FigureSpec):
    """The figure as a QImage (for the clipboard)."""
    from .render import render_image

    figure = Figure(window, spec)
    try:
        return render_image(figure, spec.scale, white=spec.white)
    finally:
        figure.close_figure()


#: formats a figure can be written in: key -> (menu text, file filter)
FIGURE_FILE_FORMATS = {"png": ("PNG", N_("PNG image (*.png)")),
                       "svg": (N_("SVG (vector)"), N_("SVG vector figure (*.svg)")),
                       "pdf": (N_("PDF (vector)"), N_("PDF vector figure (*.pdf)"))}


class FigureDialog(QDialog):
    """Which views, what size (cm or px), what DPI, how many columns, what format."""

    def __init__(self, window, current: str | None = None, last: FigureSpec | None = None):
        super().__init__(window)
        self.setWindowTitle(_("Export figure"))
        self.window_ = window
        from .export_targets import DASHBOARD, targets

        shown = shown_views(window)
        chosen = (last.views if last is not None else
                  shown if current in (None, DASHBOARD) else [current])
        layout = QVBoxLayout(self)
        views = QGroupBox(_("Views (each without its buttons)"))
        vl = QVBoxLayout(views)
        self.boxes: dict[str, QCheckBox] = {}
        for stem, (title, _widget) in targets(window).items():
            if stem == DASHBOARD:
                continue
            box = QCheckBox(_(title))
            box.setEnabled(stem in shown)
            box.setChecked(stem in chosen and stem in shown)
            box.toggled.connect(self._update)
            self.boxes[stem] = box
            vl.addWidget(box)
        layout.addWidget(views)

        form = QFormLayout()
        spec = last or FigureSpec(["x"])
        self.unit = QComboBox()
        for unit in UNITS:
            self.unit.addItem(unit, unit)
        self.unit.setCurrentIndex(UNITS.index(spec.unit))
        self.width_box, self.height_box = QDoubleSpinBox(), QDoubleSpinBox()
        for box, value in ((self.width_box, spec.width), (self.height_box, spec.height)):
            box.setRange(0.5, 20000)
            box.setDecimals(1)
            box.setValue(value)
            box.valueChanged.connect(self._update)
        size = QHBoxLayout()
        size.addWidget(self.width_box)
        size.addWidget(QLabel("×"))
        size.addWidget(self.height_box)
        size.addWidget(self.unit)
        form.addRow(_("Size"), size)
        self.dpi = QSpinBox()
        self.dpi.setRange(30, 1200)
        self.dpi.setValue(round(spec.dpi))
        self.dpi.setSuffix(_(" DPI"))
        self.dpi.valueChanged.connect(self._update)
        form.addRow(_("Resolution"), self.dpi)
        self.columns = QSpinBox()
        self.columns.setRange(0, 6)
        self.columns.setSpecialValueText(_("automatic"))
        self.columns.setValue(spec.columns)
        self.columns.valueChanged.connect(self._update)
        form.addRow(_("Columns"), self.columns)
        self.font_pt = QSpinBox()
        self.font_pt.setRange(0, 40)
        self.font_pt.setSpecialValueText(_("as in the window"))
        self.font_pt.setSuffix(_(" pt"))
        self.font_pt.setValue(spec.font_pt)
        form.addRow(_("Text size"), self.font_pt)
        self.format = QComboBox()
        for key, (text, _filter) in FIGURE_FILE_FORMATS.items():
            self.format.addItem(_(text), key)
        form.addRow(_("Format"), self.format)
        layout.addLayout(form)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self._unit = spec.unit
        self.unit.currentIndexChanged.connect(self._unit_changed)
        self._update()

    def chosen(self) -> list[str]:
        return [stem for stem, box in self.boxes.items() if box.isChecked()]

    def spec(self) -> FigureSpec:
        """The figure asked for (raises GradvizError if it cannot be made)."""
        return FigureSpec(self.chosen(), self.width_box.value(), self.height_box.value(),
                          self.unit.currentData(), float(self.dpi.value()), self.columns.value(),
                          self.font_pt.value())

    def _unit_changed(self, _index=None) -> None:
        """Keep the physical size when switching cm <-> px (px at the chosen DPI)."""
        new = self.unit.currentData()
        if new == self._unit:
            return
        factor = self.dpi.value() / 2.54 if new == "px" else 2.54 / self.dpi.value()
        for box in (self.width_box, self.height_box):
            box.blockSignals(True)
            box.setValue(box.value() * factor)
            box.blockSignals(False)
        self._unit = new
        self._update()

    def _update(self, *_args) -> None:
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok) if hasattr(self, "buttons") else None
        try:
            spec = self.spec()
            rows, cols = spec.grid()
            w, h = spec.layout_size
            if w / cols < MIN_CELL[0] or h / rows < MIN_CELL[1]:
                raise GradvizError(_("too small for {n} views in {rows} × {cols}").format(
                    n=len(spec.views), rows=rows, cols=cols))
        except GradvizError as exc:
            self.summary.setText(str(exc))
            if ok is not None:
                ok.setEnabled(False)
            return
        pw, ph = spec.pixel_size
        wcm, hcm = spec.size_cm
        self.summary.setText(_("{n} view(s) in a grid of {rows} × {cols}; PNG {pw} × {ph} px; "
                               "{wcm:.1f} × {hcm:.1f} cm in SVG and PDF").format(
            n=len(spec.views), rows=rows, cols=cols, pw=pw, ph=ph, wcm=wcm, hcm=hcm))
        if ok is not None:
            ok.setEnabled(True)
