"""The preset gallery (titles left, explanation with its formula right, Open) and Presets menu.

Presets are :mod:`gradviz.core.presets` data files: a scene, a step, compare mode, and the
claim the explanation states. Opening one goes through the controller (``set_scene``,
``set_compare``) like any other change, as a new unsaved document.
"""
from __future__ import annotations

import html
import re

from PyQt6.QtCore import Qt
from PyQt6.QtGui import QAction, QKeySequence
from PyQt6.QtWidgets import (QDialog, QDialogButtonBox, QHBoxLayout, QListWidget, QListWidgetItem,
                             QMenu, QSplitter, QTextBrowser, QVBoxLayout)

from ..core.errors import GradvizError
from ..core.i18n import _
from ..core.kinds import CELL_NAMES, KINDS
from ..core.presets import Preset, list_presets, load_preset
from .controls import CHOICE_TEXT
from .file_dialogs import show_problem

_SUB = re.compile(r"(?<![\w])([A-Za-zα-ωΑ-Ω∏∑)′']|max|min)_(\{[^}]*\}|[A-Za-z0-9]+)")
_SUP = re.compile(r"\^(\([^)]*\)|[A-Za-z0-9]+)")


def formula_html(text: str) -> str:
    """Plain-text formulas with sub/superscripts: σ_max → σ<sub>max</sub>, W^(t−i) → W<sup>t−i</sup>."""
    out = html.escape(text, quote=False)
    out = _SUB.sub(lambda m: f"{m.group(1)}<sub>{m.group(2).strip('{}')}</sub>", out)
    out = _SUP.sub(lambda m: f"<sup>{m.group(1).strip('()')}</sup>", out)
    return out


def scene_summary(preset: Preset) -> str:
    """One line: cell, sizes, input and the sliders that matter."""
    s = preset.scene
    parts = [_(CELL_NAMES[s.cell_name].label)]
    parts.append(f"H = {s.hidden_size}")
    parts.append(f"T = {s.steps}")
    if s.wr_scale is not None:
        parts.append(("w = " if s.hidden_size == 1 else "σ_max(W_R) = ") + f"{s.wr_scale:g}")
    if s.state_dict_path:
        parts.append(_("weights from a file"))
    parts.append(_("input {source} (amplitude {amplitude:g})").format(
        source=_("from a CSV") if s.inputs_path else _(CHOICE_TEXT.get(s.input, s.input)),
        amplitude=s.amplitude))
    kind = KINDS[s.cell]
    if kind.bias_field and getattr(s, kind.bias_field) is not None:
        label = {"forget_bias": _("forget bias"), "update_bias": _("update bias")}.get(
            kind.bias_field, kind.bias_field.replace("_", " "))
        parts.append(f"{label} {getattr(s, kind.bias_field):g}")
    if kind.has_cell and s.forget_clamp is not None:
        parts.append(_("f clamped at {value:g}").format(value=s.forget_clamp))
    if preset.compare:
        parts.append(_("compare mode (RNN, LSTM, GRU)"))
    return " · ".join(parts)


def preset_html(preset: Preset) -> str:
    claims = preset.statements()
    checked = ""
    if claims:
        items = "".join(f"<li>{formula_html(c)}</li>" for c in claims)
        heading = _("Checked by the test suite:")
        checked = (f"<p style='margin-top:12px'><b>{heading}</b></p>"
                   f"<ul style='margin-top:0'>{items}</ul>")
    command = _("Command line:")
    return (f"<h2 style='margin-bottom:4px'>{formula_html(preset.title_text())}</h2>"
            f"<p style='color:gray; margin-top:0'>{formula_html(scene_summary(preset))}</p>"
            f"<p style='line-height:130%'>{formula_html(preset.explanation_text())}</p>{checked}"
            f"<p style='color:gray'>{command} <code>gradviz --preset {preset.name}</code></p>")


class PresetGallery(QDialog):
    """Titles on the left, the explanation (formula, what to look at) on the right, Open."""

    def __init__(self, window, presets: list[Preset], open_preset):
        super().__init__(window)
        self.setWindowTitle(_("Presets — the claims of the lecture notes, one click each"))
        self.presets = presets
        self.open_preset = open_preset
        self.opened: Preset | None = None
        layout = QVBoxLayout(self)
        split = QSplitter(Qt.Orientation.Horizontal)
        self.list = QListWidget()
        self.list.setWordWrap(True)
        self.list.setSpacing(2)
        for n, preset in enumerate(presets, start=1):
            item = QListWidgetItem(f"{n}. {preset.title_text()}")
            item.setToolTip(preset.name)
            item.setData(Qt.ItemDataRole.UserRole, n - 1)
            self.list.addItem(item)
        self.text = QTextBrowser()
        self.text.setOpenExternalLinks(False)
        split.addWidget(self.list)
        split.addWidget(self.text)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        layout.addWidget(split, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.open_button = buttons.addButton(_("&Open"), QDialogButtonBox.ButtonRole.AcceptRole)
        self.open_button.setDefault(True)
        buttons.accepted.connect(self.open_selected)
        buttons.rejected.connect(self.reject)
        row = QHBoxLayout()
        row.addWidget(buttons)
        layout.addLayout(row)
        self.list.currentRowChanged.connect(self._show)
        self.list.itemDoubleClicked.connect(lambda _item: self.open_selected())
        self.resize(1100, 620)
        split.setSizes([420, 680])
        if presets:
            self.list.setCurrentRow(0)

    def select(self, name: str) -> None:
        for k, p in enumerate(self.presets):
            if p.name == name:
                self.list.setCurrentRow(k)

    def _show(self, row: int) -> None:
        if 0 <= row < len(self.presets):
            self.text.setHtml(preset_html(self.presets[row]))
        self.open_button.setEnabled(0 <= row < len(self.presets))

    def open_selected(self) -> None:
        row = self.list.currentRow()
        if not 0 <= row < len(self.presets):
            return
        preset = self.presets[row]
        if self.open_preset(preset):
            self.opened = preset
            self.accept()


class PresetActions:
    """The Presets menu (gallery and every preset by title) and opening a preset."""

    def __init__(self, window, sessions):
        self.window, self.sessions = window, sessions
        self.gallery: PresetGallery | None = None
        try:
            self.presets = list_presets()
            self.problem = None
        except GradvizError as exc:   # a broken preset file must not stop the window
            self.presets, self.problem = [], str(exc)
        menu = QMenu(_("Pre&sets"), window)
        window.menuBar().insertMenu(window.menus["compare"].menuAction(), menu)
        window.menus["presets"] = self.menu = menu
        self.gallery_action = QAction(_("&Gallery…"), window)
        self.gallery_action.setShortcut(QKeySequence("Ctrl+P"))
        self.gallery_action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.gallery_action.setToolTip(_("Every preset with its explanation and formula"))
        self.gallery_action.triggered.connect(lambda _=False: self.show_gallery())
        window.addAction(self.gallery_action)
        menu.addAction(self.gallery_action)
        menu.addSeparator()
        for n, preset in enumerate(self.presets, start=1):
            a = menu.addAction(f"{'&' if n < 10 else ''}{n}  {preset.title_text()}")
            a.setToolTip(preset.explanation_text())
            a.setStatusTip(preset.title_text())
            a.triggered.connect(lambda _=False, p=preset: self.open(p))
        if self.problem:
            text = _("(presets unavailable: {problem})").format(problem=self.problem)
            menu.addAction(text).setEnabled(False)
        menu.setToolTipsVisible(True)

    def open(self, preset: Preset | str) -> bool:
        """Show a preset (by object or name) at once: no question; the scene it replaces stays
        reachable with Edit ▸ Undo (Ctrl+Z) and in the autosave."""
        if isinstance(preset, str):
            try:
                preset = load_preset(preset)
            except GradvizError as exc:
                show_problem(self.window, str(exc), "")
                return False
        if self.sessions.autosave_enabled:
            self.sessions.autosave_now()   # what was on screen, before it is replaced
        self.sessions.open_preset(preset)
        return True

    def show_gallery(self, select: str | None = None) -> PresetGallery:
        if self.gallery is None:
            self.gallery = PresetGallery(self.window, self.presets, self.open)
        if select:
            self.gallery.select(select)
        self.gallery.show()
        self.gallery.raise_()
        self.gallery.activateWindow()
        return self.gallery
