"""The contract between the window and every view, and the base class that keeps it.

A view is a QWidget that plots arrays the core computed; it never computes dynamics itself.
The window calls, in this order of frequency:

- ``set_analysis(scene, analysis, step, row)`` when new numbers for the whole run exist (after a
  slider move: recomputed off the GUI thread), with the cursor step and its row if known;
- ``set_step(step, row)`` when the cursor moves (play, scrub, arrow keys): the view shows the
  run up to ``step`` (plots "grow" while playing) and a cursor at ``step``; ``row`` holds the
  exact 2-norms of ∂h_step/∂h_i (i = 0..step), or None while they are being computed;
- ``set_appearance(appearance)`` on theme / font / presentation-mode changes;
- ``set_on_screen(bool)`` when its dock's tab is brought to the front or hidden behind another.

A :class:`PlotView` that is not on screen (a tab behind another, a closed dock) keeps the
numbers it is handed and draws them when it is shown, or when it is rendered for an export
(:func:`draw_pending`): a slider move redraws only the plots a user can see.

:class:`PlotView` turns that into one template: ``kind_changed`` (the cell kind is new: make
the per-kind items), ``analysis_changed`` (once per analysis: ranges, levels) and ``draw`` (the
step): each analysis is drawn once, each step once. Views emit ``pair_selected(t, i)`` when
the user picks a cell of a map (the window then moves the cursor to t).
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from ...core import plotdata
from ...core.i18n import _
from .items import ColorBar
from .style import Appearance, Styler, colors, diverging_cmap, sequential_cmap

__all__ = ["Appearance", "Heatmap", "PlotView", "View", "draw_pending", "scaffold"]


class View(QWidget):
    """Base class of every dockable view (see the module docstring for the call contract)."""

    title: str = "View"
    pair_selected = pyqtSignal(int, int)

    def set_analysis(self, scene, analysis, step: int | None = None, row=None) -> None:
        raise NotImplementedError

    def set_step(self, step: int, row=None) -> None:
        raise NotImplementedError

    def set_appearance(self, appearance: Appearance) -> None:
        pass

    def set_on_screen(self, on_screen: bool) -> None:
        """Its dock was brought to the front (True) or hidden behind another tab (False)."""


def out_of_sight(widget: QWidget, on_screen: bool) -> bool:
    """A widget a user cannot see now: its dock is a tab behind another (``on_screen`` False,
    from the dock's visibilityChanged) or closed while its window is shown."""
    return not on_screen or (widget.window().isVisible() and not widget.isVisible())


def draw_pending(widget: QWidget) -> None:
    """Draw every view in ``widget`` (itself included) that holds numbers it has not drawn
    because it was off screen: before ``widget`` is rendered into a file or the clipboard."""
    views = widget.findChildren(PlotView)
    if isinstance(widget, PlotView):
        views.append(widget)
    for view in views:
        view.draw_now()


def scaffold(view: View) -> tuple[pg.GraphicsLayoutWidget, QHBoxLayout]:
    """The standard layout of a view: a row of controls above a graphics layout."""
    outer = QVBoxLayout(view)
    outer.setContentsMargins(0, 0, 0, 0)
    outer.setSpacing(2)
    view.controls = QWidget(view)
    row = QHBoxLayout(view.controls)
    row.setContentsMargins(6, 2, 6, 0)
    outer.addWidget(view.controls)
    # why the run looks the way it does (it stopped early, a gradient is exactly zero, ...)
    view.notice = QLabel(view)
    view.notice.setObjectName("notice")
    view.notice.setWordWrap(True)
    view.notice.setTextFormat(Qt.TextFormat.RichText)
    view.notice.hide()
    outer.addWidget(view.notice)
    glw = pg.GraphicsLayoutWidget(view)
    glw.ci.setContentsMargins(6, 6, 10, 6)
    outer.addWidget(glw, 1)
    view.graphics = glw
    return glw, row


class PlotView(View):
    """A view made of pyqtgraph plots under a row of controls, restyled by a :class:`Styler`.

    Subclasses implement :meth:`draw` and, where they need them, :meth:`kind_changed` and
    :meth:`analysis_changed`; :meth:`set_analysis` and :meth:`set_step` call them.
    """

    def __init__(self, parent=None):
        super().__init__(parent)
        self.graphics, self.control_row = scaffold(self)
        self.styler = Styler(self.graphics)
        self._style_notice()
        self.scene = None
        self.analysis = None
        self.kind = None
        self.step = 0
        self.row = None
        self.notes: dict[str, str] = {}
        self.on_screen = True
        self._pending: str | None = None     # "analysis" or "step": not drawn while off screen
        self._steady: dict[int, tuple[float, float]] = {}   # y-ranges set by set_steady_y

    # the template ------------------------------------------------------------------------------
    #: the view draws the map of every pair: it is handed the analysis again when a finer map
    #: arrives (the window's ``map_ready``); the other views are not
    uses_map = False

    def set_analysis(self, scene, analysis, step: int | None = None, row=None) -> None:
        """New numbers: per-kind items if the kind changed, ranges once, then one draw (when
        the view is next on screen, if it is not now)."""
        self.scene, self.analysis = scene, analysis
        self._cursor(self.step if step is None else step, row)
        if out_of_sight(self, self.on_screen):
            self._pending = "analysis"
            return
        self._draw_analysis()

    def _draw_analysis(self) -> None:
        self._pending = None
        analysis = self.analysis
        kind = analysis.kind
        if kind != self.kind:
            self.kind = kind
            self._steady.clear()
            self.kind_changed(kind)
        self.note_run(analysis)
        self.analysis_changed()
        self._draw_settled()

    def set_steady_y(self, plot, lo: float, hi: float, fresh: bool = False) -> None:
        """Show [lo, hi] on ``plot``'s y axis, or keep the range it shows while that still holds
        the data well (:func:`gradviz.core.plotdata.steady_range`): a drag moves no axis.
        ``fresh``: exactly [lo, hi] (the plot shows something else now)."""
        shown = None if fresh else self._steady.get(id(plot))
        lo, hi = plotdata.steady_range(shown, (lo, hi))
        self._steady[id(plot)] = (lo, hi)
        plot.setYRange(lo, hi, padding=0)

    def set_step(self, step: int, row=None) -> None:
        """The cursor moved: remember it (and the row if it is this step's) and draw."""
        if self.analysis is None:
            return
        self._cursor(step, row)
        if out_of_sight(self, self.on_screen):
            self._pending = self._pending or "step"
            return
        self._draw_settled()

    def _cursor(self, step: int, row) -> None:
        self.step = max(0, min(int(step), self.analysis.steps))
        self.row = row if row is not None and row.t == self.step else None

    def set_on_screen(self, on_screen: bool) -> None:
        self.on_screen = bool(on_screen)
        if self.on_screen:
            self.draw_now()

    def showEvent(self, event):
        super().showEvent(event)
        if self.on_screen:
            self.draw_now()     # its dock was opened again

    def draw_now(self) -> None:
        """Draw what arrived while the view was off screen (nothing if it is up to date)."""
        if self._pending == "analysis":
            self._draw_analysis()
        elif self._pending == "step":
            self._pending = None
            self._draw_settled()

    def _draw_settled(self) -> None:
        """:meth:`draw`, then each plot's new range applied at once: pyqtgraph applies it
        when painting, which moves its items and so paints the plot a second time (an RNN's
        step factors: two paints per tick, 7 ms instead of 3.5)."""
        self.draw()
        for plot in self.styler.plots:
            plot.getViewBox().updateMatrix()

    def kind_changed(self, kind) -> None:
        """Hook: the cell kind (a :class:`~gradviz.core.kinds.CellKind`) differs from the last."""

    def analysis_changed(self) -> None:
        """Hook: once per analysis, before the draw (axis ranges, colour levels)."""

    def draw(self) -> None:
        """Show ``self.analysis`` up to ``self.step`` (with ``self.row`` when not None)."""
        raise NotImplementedError

    def redraw(self) -> None:
        """Draw again (a view option changed)."""
        if self.analysis is None:
            return
        if out_of_sight(self, self.on_screen):
            self._pending = self._pending or "step"
            return
        if self._pending == "analysis":
            self._draw_analysis()
            return
        self._pending = None
        self._draw_settled()

    # appearance ----------------------------------------------------------------------------
    @property
    def appearance(self) -> Appearance:
        return self.styler.appearance

    def set_appearance(self, appearance: Appearance) -> None:
        self.styler.apply(appearance)
        self._style_notice()
        self._restyled()
        self.redraw()

    def _restyled(self) -> None:
        """Hook: re-colour things a Styler does not know (images, per-unit palettes)."""

    # the notice line above the plots ---------------------------------------------------------
    def set_note(self, key: str, text: str | None) -> None:
        """Show (or with None, drop) one sentence of the notice line; cheap when unchanged."""
        if self.notes.get(key) == text or (text is None and key not in self.notes):
            return
        if text is None:
            del self.notes[key]
        else:
            self.notes[key] = text
        self.notice.setText("<br>".join(self.notes.values()))
        self.notice.setVisible(bool(self.notes))

    def note_run(self, analysis) -> None:
        """Say where and why a run stopped early (a relu state leaving float64)."""
        step = analysis.trace.overflow_step
        self.set_note("overflow", None if step is None else
                      _("⚠ The state overflowed float64 at step {step} "
                        "(|h| &gt; 1.8·10<sup>308</sup>): the run stops at t = {steps}.")
                      .format(step=step, steps=analysis.steps))

    def _style_notice(self) -> None:
        c = colors(self.appearance)
        self.notice.setStyleSheet(
            f"QLabel#notice {{ background: {c['bg']}; color: {c['red']}; "
            f"font-size: {self.appearance.font_pt}pt; font-weight: bold; padding: 2px 8px; }}")


class Heatmap:
    """An ImageItem in ``plot`` with a fixed-level colour bar beside it (placed by the view).

    ``axis_order`` 'col-major': image[x, y]; 'row-major': image[y, x].
    """

    def __init__(self, plot: pg.PlotItem, styler: Styler, bar_label: str,
                 axis_order: str = "col-major"):
        self.plot = plot
        self.image = pg.ImageItem(axisOrder=axis_order)
        plot.addItem(self.image)
        self._diverging = True
        self.bar = ColorBar(values=(-1.0, 1.0), colorMap=diverging_cmap(), interactive=False,
                            width=18, rounding=1e-6, colorMapMenu=False)
        self.bar.setImageItem(self.image, insert_in=plot)   # right of the data, as tall
        styler.bar(self.bar, bar_label)

    def set_levels(self, lo: float, hi: float, diverging: bool) -> None:
        """Colour map and levels (each change lays the bar's axis out again: only changes)."""
        if diverging != self._diverging:
            self._diverging = diverging
            self.bar.setColorMap(diverging_cmap() if diverging else sequential_cmap())
        if tuple(self.bar.levels()) != (lo, hi):
            self.bar.setLevels((lo, hi))

    def show(self, values: np.ndarray, rect) -> None:
        """Draw ``values`` over ``rect``; an empty array hides the image."""
        if values.size == 0:
            self.image.setVisible(False)
            return
        self.image.setVisible(True)
        self.image.setImage(values, autoLevels=False)
        self.image.setRect(rect)
