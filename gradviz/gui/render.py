"""Headless PNG rendering of the window's views: what ``gradviz export`` writes as figures.

The same view classes as the live window draw the same core numbers; here each is built
offscreen, given the analysis and a step, and painted into an image at ``scale`` times its
pixel size (text and lines scale with it, so scale 2 or 3 gives print-sharp figures).
"""
from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

from ..core.errors import GradvizError
from ..core.files import atomic_path
from ..core.i18n import _

#: default size of one exported view, in logical pixels
VIEW_SIZE = (960, 600)


def ensure_app():
    """The running QApplication, or a new one (offscreen when there is no display)."""
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY") \
            and sys.platform.startswith("linux"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PyQt6.QtWidgets import QApplication
    app = QApplication.instance()
    if app is None:
        app = QApplication(sys.argv[:1])
    return app


def render_image(widget, scale: float = 1.0, white: bool = True):
    """``widget`` painted into an ARGB QImage ``scale`` × its size: the one PNG renderer.

    The painter is scaled, so text and lines are redrawn at the higher resolution rather than
    upscaled. With ``white`` the widget's own background is painted white for the moment
    (slides); otherwise the image starts in the widget's window colour. Used by ``gradviz
    export``, the Export menu, the clipboard and the animation frames.
    """
    from PyQt6.QtGui import QColor, QImage, QPainter, QPalette

    from .views.base import draw_pending
    draw_pending(widget)          # a view behind another tab holds numbers it has not drawn
    size = widget.size()
    image = QImage(max(1, round(size.width() * scale)), max(1, round(size.height() * scale)),
                   QImage.Format.Format_ARGB32)
    image.fill(QColor("white") if white else widget.palette().color(QPalette.ColorRole.Window))
    with white_background(widget, white), scaled_pens(widget, scale), antialiased(widget), \
            uncached(widget):
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        painter.scale(scale, scale)
        widget.render(painter)
        painter.end()
    return image


#: where pyqtgraph items keep the pens they stroke with (attributes and ``opts`` keys)
_PEN_ATTRS = ("pen", "currentPen", "hoverPen", "_pen", "border")
_PEN_OPTS = ("pen", "shadowPen")


@contextlib.contextmanager
def scaled_pens(widget, scale: float):
    """Cosmetic pens ``scale`` times wider while the block runs.

    pyqtgraph strokes with cosmetic pens (width in device pixels, whatever the transform), so a
    scaled painter would draw a 2 px curve 2 px wide in a 3× image: three times thinner than
    the text, and than the same figure in SVG or PDF (where the width is in layout pixels).
    Widening them by the scale keeps every line in proportion.
    """
    if abs(scale - 1.0) < 1e-9:
        yield
        return
    from PyQt6.QtCore import Qt
    from PyQt6.QtGui import QPen

    changed = []   # (dict holding it, key, original pen)

    def widen(pen):
        wide = QPen(pen)
        wide.setWidthF(max(pen.widthF(), 1.0) * scale)
        return wide

    for item in _scene_items(widget):
        holders = [(item.__dict__, _PEN_ATTRS)]
        if isinstance(item.__dict__.get("opts"), dict):
            holders.append((item.opts, _PEN_OPTS))
        for holder, keys in holders:
            for key in keys:
                pen = holder.get(key)
                if isinstance(pen, QPen) and pen.isCosmetic() and pen.style() != Qt.PenStyle.NoPen:
                    changed.append((holder, key, pen))
                    holder[key] = widen(pen)
    try:
        yield
    finally:
        for holder, key, pen in changed:
            holder[key] = pen


def _scene_items(widget):
    from PyQt6.QtWidgets import QGraphicsView

    for view in [widget, *widget.findChildren(QGraphicsView)]:
        if isinstance(view, QGraphicsView) and view.scene() is not None:
            yield from view.scene().items()


@contextlib.contextmanager
def uncached(widget):
    """Every item painted afresh while the block runs: an axis kept as a pixmap on screen
    (views.items.FitAxis) is drawn as text and lines into a figure, at its resolution."""
    from PyQt6.QtWidgets import QGraphicsItem

    changed = []
    for item in _scene_items(widget):
        mode = item.cacheMode()
        if mode != QGraphicsItem.CacheMode.NoCache:
            changed.append((item, mode))
            item.setCacheMode(QGraphicsItem.CacheMode.NoCache)
    try:
        yield
    finally:
        for item, mode in changed:
            item.setCacheMode(mode)


@contextlib.contextmanager
def antialiased(widget):
    """Curves drawn with anti-aliasing while the block runs (pyqtgraph's default is off, which
    is quick on screen but leaves stair-stepped lines in a figure)."""
    changed = []
    for item in _scene_items(widget):
        opts = item.__dict__.get("opts")
        if isinstance(opts, dict) and opts.get("antialias") is False:
            changed.append(opts)
            opts["antialias"] = True
    try:
        yield
    finally:
        for opts in changed:
            opts["antialias"] = False


@contextlib.contextmanager
def white_background(widget, enabled: bool = True):
    """Paint ``widget``'s own background white while the block runs (for slides)."""
    if not enabled:
        yield
        return
    from PyQt6.QtGui import QColor, QPalette

    palette, fill = widget.palette(), widget.autoFillBackground()
    white = QPalette(palette)
    white.setColor(QPalette.ColorRole.Window, QColor("white"))
    widget.setPalette(white)
    widget.setAutoFillBackground(True)
    try:
        yield
    finally:
        widget.setPalette(palette)
        widget.setAutoFillBackground(fill)


def grab_png(widget, path: Path, scale: float = 1.0) -> Path:
    """Paint ``widget`` into a PNG at ``scale`` × its size on white; written atomically."""
    image = render_image(widget, scale, white=True)
    path = Path(path)
    with atomic_path(path, overwrite=True) as tmp:
        if not image.save(str(tmp), "PNG"):
            raise GradvizError(_("{path}: could not write the PNG (disk full or not writable?)")
                               .format(path=path))
    return path


def _prepare(view, size):
    view.controls.hide()   # figures show plots, not the window's buttons
    view.resize(*size)
    view.setAttribute(_wa_dont_show(), True)
    view.show()
    from PyQt6.QtWidgets import QApplication
    QApplication.processEvents()


def _wa_dont_show():
    from PyQt6.QtCore import Qt
    return Qt.WidgetAttribute.WA_DontShowOnScreen


def render_views(scene, analysis, out_dir, scale: float = 1.0, step: int | None = None,
                 appearance=None, size: tuple[int, int] = VIEW_SIZE) -> list[Path]:
    """One PNG per view (states.png, gates.png, ...) of ``analysis`` at ``step`` (default: last).

    The 2-norm row of ``step`` is computed exactly (``analysis.row``). Returns the paths written.
    """
    if not scale > 0:
        raise GradvizError(_("scale must be positive, got {scale}").format(scale=scale))
    app = ensure_app()
    from .views import ALL_VIEWS
    from .views.base import Appearance

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    step = analysis.steps if step is None else int(step)
    if not 0 <= step <= analysis.steps:
        raise GradvizError(_("step must lie in 0..{steps}, got {step}")
                           .format(steps=analysis.steps, step=step))
    row = analysis.row(step)
    appearance = appearance or Appearance()
    paths = []
    for cls in ALL_VIEWS:
        view = cls()
        try:
            view.set_appearance(appearance)
            view.set_analysis(scene, analysis)
            view.set_step(step, row)
            _prepare(view, size)
            paths.append(grab_png(view, out / f"{cls.file_stem}.png", scale))
        finally:
            view.close()
            view.deleteLater()
    app.processEvents()
    return paths


def render_compare(results: dict, out_path, step: int | None = None, scale: float = 1.0,
                   appearance=None, size: tuple[int, int] = VIEW_SIZE) -> Path:
    """The compare-mode plot (gradient flow of several cells on one plot) as one PNG."""
    app = ensure_app()
    from .views.base import Appearance
    from .views.compare import CompareView

    view = CompareView()
    try:
        view.set_appearance(appearance or Appearance())
        last = min(a.steps for a in results.values())
        view.set_compare(results, last if step is None else int(step))
        _prepare(view, size)
        path = Path(out_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        return grab_png(view, path, scale)
    finally:
        view.close()
        view.deleteLater()
        app.processEvents()


def render_phase(result, path, scale: float = 1.0, size: tuple[int, int] = (960, 720)) -> Path:
    """``gradviz phase``'s figure: the window's phase-diagram plot of ``result``
    (core.phase.PhaseResult) painted offscreen."""
    from ..core.phase import theory_curve
    from .phase_dock import PhasePlot
    from .views.base import Appearance

    app = ensure_app()
    view = PhasePlot()
    view.interactive = False
    try:
        view.set_appearance(Appearance())
        view.set_result(result, theory_curve(result.spec))
        _prepare(view, size)
        return grab_png(view, Path(path), scale)
    finally:
        view.close()
        view.deleteLater()
        app.processEvents()


def render_training_pngs(result, folder, scale: float = 1.0) -> list[Path]:
    """One PNG per plot of ``result`` into ``folder`` (what ``gradviz train`` writes)."""
    from PyQt6.QtCore import Qt
    from PyQt6.QtWidgets import QApplication

    from ..core.i18n import _
    from ..core.training import adding_baseline, copy_baseline
    from .training_lab import TrainingPlots

    app = ensure_app()   # noqa: F841 - kept alive while the widgets exist
    folder = Path(folder)
    plots = TrainingPlots()
    plots.resize(1280, 1000)
    plots.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen, True)
    plots.show()
    cfg = result.config
    if cfg.task == "adding":
        plots.set_baseline(adding_baseline(), _("always 1: MSE 1/6"))
    elif cfg.task == "copy":
        plots.set_baseline(copy_baseline(cfg.steps), _("no memory: 10·ln 8/(T+20)"))
    plots.update_history(result.history, max(1, result.iterations))
    plots.show_forecast(result)
    names = ["loss", "grad_norm", "sigma"]
    if result.history.grad_h:
        names += ["grad_h", "grad_heatmap", "whh_contrib"]
    if result.data is not None:
        names.append("forecast")
    if result.model is None:
        names = ["forecast"]
    out = []
    for name in names:
        w = plots.widgets[name]
        w.resize(900, 560)
        if w.parent() is plots:
            w.setParent(None)
            w.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen, True)
            w.show()
        QApplication.processEvents()
        out.append(grab_png(w, folder / f"{name}.png", scale=scale))
    plots.close()
    plots.deleteLater()
    return out
