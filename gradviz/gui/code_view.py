"""The Code view and File ▸ Export as Python script… (issue 12, "show me the code").

:func:`install_code_view` adds to a :class:`~gradviz.gui.window.MainWindow`:

- a dock "Code" (bottom, full width; View ▸ Views ▸ Code or Ctrl+Shift+K shows it): the current
  cell's equations as the notes write them, mapped to torch's layout; where notes and torch
  differ; the hand-written step in plain torch (the exported script's ``cell_step``); and the
  numbers at the cursor step, updated as the cursor moves. The text comes from
  :mod:`gradviz.core.codeview` and the numbers from the controller's Analysis: nothing is
  computed here.
- File ▸ Export as Python script… : :func:`export_script` (what tests call) writes
  :func:`gradviz.core.codegen.write_script` for the scene on screen and its cursor.
"""
from __future__ import annotations

import html
import math
from pathlib import Path

from PyQt6.QtCore import Qt, QTimer
from PyQt6.QtWidgets import QSplitter, QTextBrowser, QVBoxLayout, QWidget

from ..core import codeview
from ..core.codegen import write_script
from ..core.errors import GradvizError
from ..core.i18n import N_, _
from .actions import make_action
from .file_dialogs import ask_save_path, write_or_ask

#: units listed in the numbers table (the rest are summarised by "…")
MAX_UNITS = 16


def _fmt(v: float) -> str:
    if not math.isfinite(v):
        return "—"
    return f"{v:.4g}" if abs(v) < 1e5 else f"{v:.3e}"


def _head(text: str) -> str:
    return f"<p style='font-weight:600; font-size:large'>{html.escape(text)}</p>"


class CodeView(QWidget):
    """Equations ↔ torch layout, the hand-written step, the numbers at the cursor."""

    title = N_("Code")

    def __init__(self, controller, parent=None):
        super().__init__(parent)
        self.controller = controller
        self.equations = QTextBrowser(self)
        self.code = QTextBrowser(self)
        self.numbers = QTextBrowser(self)
        for browser, name in ((self.equations, "code-equations"), (self.code, "code-step"),
                              (self.numbers, "code-numbers")):
            browser.setObjectName(name)
            browser.setOpenLinks(False)
        # side by side: formula ↔ torch layout | the hand-written step | the numbers at t
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        for browser in (self.equations, self.code, self.numbers):
            self.splitter.addWidget(browser)
        self.splitter.setSizes([400, 460, 420])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.splitter)
        self._spec_key = None
        self.on_screen, self._stale = True, False
        controller.analysis_ready.connect(self._on_analysis)
        controller.step_changed.connect(self._on_step)
        controller.row_ready.connect(self._on_row)
        if controller.analysis is not None:
            self._on_analysis(controller.shown_scene, controller.analysis)

    # ------------------------------------------------------------------ updates

    def _on_analysis(self, _scene, analysis) -> None:
        spec = analysis.trace.net.spec
        key = (spec, analysis.layer, analysis.direction)
        if key != self._spec_key:
            self._spec_key = key
            self.equations.setHtml(self._equations_html(spec, analysis.layer, analysis.direction))
            self.code.setHtml(self._code_html(spec))
        self._show_numbers()

    def _on_step(self, _step: int) -> None:
        self._show_numbers()

    def _on_row(self, step: int, _row) -> None:
        if step == self.controller.step:
            self._show_numbers()

    def set_on_screen(self, on_screen: bool) -> None:
        """Its dock came to the front (True) or went behind another tab (False)."""
        self.on_screen = bool(on_screen)
        if self.on_screen and self._stale:
            self._show_numbers()

    def showEvent(self, event):
        super().showEvent(event)
        if self._stale:
            self._show_numbers()

    def _show_numbers(self) -> None:
        c = self.controller
        if c.analysis is None:
            return
        from .views.base import out_of_sight
        if out_of_sight(self, self.on_screen):   # hidden (the default): nothing to compute
            self._stale = True
            return
        self._stale = False
        view = codeview.step_view(c.analysis, c.step, c.row(c.step))
        bar = self.numbers.verticalScrollBar().value()
        self.numbers.setHtml(self._numbers_html(view, c.analysis))
        self.numbers.verticalScrollBar().setValue(bar)
        self.last_view = view

    # ------------------------------------------------------------------ HTML (formatting only)

    @staticmethod
    def _equations_html(spec, layer, direction) -> str:
        cell = {"rnn": _("{phi} RNN").format(phi=spec.nonlinearity), "lstm": "LSTM",
                "gru": "GRU"}[spec.kind]
        where = _("layer {layer}, direction {direction}").format(layer=layer, direction=direction)
        title = _("Equations as in the notes — {cell}, {where}").format(cell=cell, where=where)
        parts = [_head(title), "<table cellspacing='0' cellpadding='3'>"]
        for eq in codeview.equations(spec, layer, direction):
            parts.append(f"<tr><td><b><code>{html.escape(eq.notes)}</code></b></td></tr>"
                         f"<tr><td style='padding-left:18px'>↳ {html.escape(eq.torch)}</td></tr>")
        parts.append("</table>")
        parts.append(_head(_('Where the notes and torch differ')) + "<ul>")
        parts += [f"<li>{html.escape(text)}</li>" for text in codeview.differences(spec)]
        parts.append("</ul>")
        return "".join(parts)

    @staticmethod
    def _code_html(spec) -> str:
        code = codeview.hand_step_code(spec.kind)
        head = _("The hand-written step in plain torch (the exported script's cell_step)")
        return (_head(head) + "<pre style='font-family: monospace; white-space: pre-wrap'>"
                + html.escape(code) + "</pre>")

    @staticmethod
    def _numbers_html(view, analysis) -> str:
        head = _("Numbers at t = {t} of {T}").format(t=view.step, T=view.steps)
        parts = [_head(head)]
        if view.step == 0:
            parts.append(f"<p>{html.escape(_('t = 0: the initial state, no step taken yet.'))}</p>")
        if view.clamp is not None:
            parts.append("<p>" + html.escape(_("forget gate clamped: f_t = {f}").format(
                f=view.clamp)) + "</p>")
        parts.append("<p>" + "".join(f"<b>{html.escape(k)}</b> = <code>{_fmt(v)}</code><br>"
                                     for k, v in view.factors) + "</p>")
        x = view.units.get("x_t")
        if x is not None:
            shown = ", ".join(_fmt(v) for v in x[:MAX_UNITS]) + (" …" if len(x) > MAX_UNITS else "")
            parts.append(f"<p><b>x_t</b> = [{html.escape(shown)}]</p>")
        cols = [k for k in view.units if k != "x_t"]
        parts.append("<table cellspacing='0' cellpadding='3' border='1'><tr><th>j</th>"
                     + "".join(f"<th nowrap>{html.escape(k)}</th>" for k in cols) + "</tr>")
        n = max(len(view.units[k]) for k in cols)
        for j in range(min(n, MAX_UNITS)):
            cells = []
            for k in cols:
                values = view.units[k]
                cells.append(f"<td align='right' nowrap><code>{_fmt(values[j])}</code></td>"
                             if j < len(values) else "<td></td>")
            parts.append(f"<tr><td>{j}</td>{''.join(cells)}</tr>")
        if n > MAX_UNITS:
            more = _("… {n} more units").format(n=n - MAX_UNITS)
            parts.append(f"<tr><td colspan='{len(cols) + 1}'>{html.escape(more)}</td></tr>")
        parts.append("</table>")
        return "".join(parts)


# ---------------------------------------------------------------- export

def export_script(window, path, overwrite: bool = False) -> list[Path]:
    """The scene on screen, at its cursor step, as one runnable torch script (+ data files)."""
    c = window.controller
    scene = c.shown_scene
    if scene is None or c.analysis is None:
        raise GradvizError(_("nothing computed yet: no scene to export"))
    raw = c.raw_inputs()
    inputs = scene.amplitude * raw if raw is not None else None
    return write_script(path, scene, base=c.base_net(), inputs=inputs, step=c.step,
                        overwrite=overwrite)


def _ask_and_export(window) -> None:
    path = ask_save_path(window, _("Export as Python script"), "gradviz_scene.py",
                         _("Python script (*.py)"))
    if not path:
        return
    if not path.endswith(".py"):
        path += ".py"
    written = write_or_ask(window, lambda overwrite: export_script(window, path, overwrite), path)
    if written:
        window.statusBar().showMessage(
            _("wrote {files}").format(files=", ".join(p.name for p in written)), 8000)


# ---------------------------------------------------------------- installing

def install_code_view(window) -> CodeView:
    """The Code dock (hidden until asked for) and File ▸ Export as Python script…"""
    view = CodeView(window.controller)
    dock = window._dock("code", _("Code"), view)
    window.place_dock("code", area=Qt.DockWidgetArea.BottomDockWidgetArea, hidden=True)
    toggle = dock.toggleViewAction()
    toggle.setText(_("&Code (equations ↔ torch)"))
    toggle.setShortcut("Ctrl+Shift+K")
    toggle.setStatusTip(_("The cell's equations, torch's weight layout, the hand-written step "
                          "and the numbers at the cursor"))
    window.menus["view"].addAction(toggle)
    window.addAction(toggle)

    def shown(visible):
        if visible and not dock.isFloating():
            QTimer.singleShot(0, lambda: window.resizeDocks(
                [dock], [int(window.height() * 0.45)], Qt.Orientation.Vertical))
    toggle.toggled.connect(shown)
    action = make_action(window, _("Export as &Python script…"), lambda: _ask_and_export(window),
                         tip=_("The scene as one runnable torch script: hand-written loop, "
                               "torch.nn check, autograd norms, the numbers on screen"))
    window.add_file_action(action, "export")
    window.actions_["export_script"] = action
    window.actions_["code_view"] = toggle
    window.code_view = view
    return view
