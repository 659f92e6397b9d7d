"""What the Export menu can write (each view, the compare view, the whole dashboard) and how a
figure is prepared: the light theme for slides, the views' rows of buttons hidden.

"Whole dashboard" is every shown view laid out alone (:func:`gradviz.gui.figure.dashboard_spec`),
never the window with its menus, toolbars, controls and dock buttons: it has no widget here.

Shared by the figure/CSV export (:mod:`gradviz.gui.export_actions`) and the animation export
(:mod:`gradviz.gui.animation_export`).
"""
from __future__ import annotations

import contextlib

from PyQt6.QtCore import QEvent
from PyQt6.QtWidgets import QApplication, QWidget

from ..core.errors import GradvizError
from ..core.i18n import _

DASHBOARD = "dashboard"


def targets(window) -> dict[str, tuple[str, QWidget | None]]:
    """Export targets: view file stem -> (title, widget), then the whole dashboard (None)."""
    out = {}
    for title, view in window.views.items():
        stem = getattr(type(view), "file_stem", None) or title.lower().replace(" ", "_")
        out[stem] = (_(title), view)
    if window.compare_view is not None:
        out["compare"] = (_(type(window.compare_view).title), window.compare_view)
    out[DASHBOARD] = (_("Whole dashboard"), None)
    return out


def target_widget(window, target: str) -> QWidget:
    """The shown view ``target`` (not the dashboard: see :mod:`gradviz.gui.figure`)."""
    if target == DASHBOARD:
        raise GradvizError(_("the whole dashboard is exported as a figure of its views"))
    found = targets(window).get(target)
    if found is None:
        raise GradvizError(_("no view called {target!r}").format(target=target))
    title, widget = found
    if target == "compare" and not window.controller.compare:
        raise GradvizError(_("the compare view is shown in compare mode only (Compare ▸ Ctrl+M)"))
    if not widget.isVisible():
        raise GradvizError(_("the {title} view is hidden: show it first (View ▸ Views)").format(title=title))
    return widget


@contextlib.contextmanager
def light(window, white: bool):
    with (window.light_appearance(white) if hasattr(window, "light_appearance")
          else contextlib.nullcontext()):
        yield


@contextlib.contextmanager
def figure_mode(widgets):
    """Views without their row of buttons (a figure shows plots, not the window's controls)."""
    hidden = []
    for w in widgets:
        controls = getattr(w, "controls", None)
        if isinstance(controls, QWidget) and controls.isVisible() and w.layout() is not None:
            controls.hide()
            w.layout().activate()
            hidden.append(w)
    if hidden:
        settle_layouts()
    try:
        yield
    finally:
        for w in hidden:
            w.controls.show()
            w.layout().activate()
        if hidden:
            settle_layouts()


def settle_layouts() -> None:
    """Let resized plots re-lay out their titles and legends before they are painted."""
    for _pass in range(3):
        QApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)
