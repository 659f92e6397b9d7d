"""Undo / Redo of scene changes (Edit menu, Ctrl+Z / Ctrl+Shift+Z): the previous scene is
always one key away, so opening a preset never needs to ask "save this scene first?".

:class:`SceneHistory` listens to the controller: every scene that reached the screen (with the
compare flag) is a state; a slider drag (changes of the same settings less than
:attr:`SceneHistory.COALESCE_S` apart) is one step, not one per tick. Undo and Redo go back
through ``controller.set_scene`` / ``set_compare`` like any other change, so loaded weights
and CSV inputs (cached by the controller) come back with their scene.
"""
from __future__ import annotations

import time
from dataclasses import fields

from PyQt6.QtCore import QObject, pyqtSignal
from PyQt6.QtCore import Qt
from PyQt6.QtGui import QKeySequence
from PyQt6.QtWidgets import QMenu

from ..core.i18n import _
from .actions import make_action

LIMIT = 200


def _changed_keys(a, b) -> frozenset:
    if a is None or b is None:
        return frozenset()
    keys = {f.name for f in fields(a[0]) if getattr(a[0], f.name) != getattr(b[0], f.name)}
    if a[1] != b[1]:
        keys.add("compare")
    return frozenset(keys)


class SceneHistory(QObject):
    """The controller's history of scenes on screen (see the module docstring)."""

    changed = pyqtSignal()   # can_undo / can_redo may have changed
    COALESCE_S = 1.0

    def __init__(self, controller, parent=None, limit: int = LIMIT):
        super().__init__(parent if parent is not None else controller)
        self.controller = controller
        self.limit = limit
        self.undo_stack: list[tuple] = []
        self.redo_stack: list[tuple] = []
        self.current: tuple | None = None
        self._target: tuple | None = None      # the state an undo / redo is bringing back
        self._last_keys: frozenset = frozenset()
        self._last_time = 0.0
        controller.analysis_ready.connect(lambda *_: self._record())
        controller.compare_changed.connect(lambda *_: self._record())

    def _state(self):
        c = self.controller
        if c.shown_scene is None:
            return None
        return (c.shown_scene, bool(c.compare))

    def _record(self) -> None:
        state = self._state()
        if state is None or state == self.current:
            return
        if self._target is not None:
            if state[0] != self._target[0]:
                return   # an older scene still arriving on the way back
            self.current = state
            if state == self._target:
                self._target = None
            return
        keys = _changed_keys(self.current, state)
        now = time.monotonic()
        if (self.current is not None and self.undo_stack and keys and keys == self._last_keys
                and now - self._last_time < self.COALESCE_S):
            self.current = state            # the same drag goes on: one step in the history
        else:
            if self.current is not None:
                self.undo_stack.append(self.current)
                del self.undo_stack[:-self.limit]
            self.current = state
            self.redo_stack.clear()
        self._last_keys, self._last_time = keys, now
        self.changed.emit()

    def new_step(self) -> None:
        """The next scene is its own step (a session or preset opened just after a slider
        drag of the same setting is not merged into the drag)."""
        self._last_keys = frozenset()

    @property
    def can_undo(self) -> bool:
        return bool(self.undo_stack)

    @property
    def can_redo(self) -> bool:
        return bool(self.redo_stack)

    def undo(self) -> bool:
        if not self.undo_stack:
            return False
        if self.current is not None:
            self.redo_stack.append(self.current)
        self._go(self.undo_stack.pop())
        return True

    def redo(self) -> bool:
        if not self.redo_stack:
            return False
        if self.current is not None:
            self.undo_stack.append(self.current)
        self._go(self.redo_stack.pop())
        return True

    def _go(self, state: tuple) -> None:
        self._target = state
        self._last_keys = frozenset()
        scene, compare = state
        c = self.controller
        c.set_scene(scene)
        c.set_compare(compare)
        self.changed.emit()


def install_history(window) -> SceneHistory:
    """An Edit menu (before View) with Undo / Redo of scene changes; ``window.history``."""
    history = SceneHistory(window.controller, parent=window)
    menu = QMenu(_("&Edit"), window)
    window.menuBar().insertMenu(window.menus["view"].menuAction(), menu)
    window.menus["edit"] = menu
    undo = make_action(window, _("&Undo scene change"), lambda _=False: history.undo(),
                       QKeySequence.StandardKey.Undo,
                       _("Back to the scene before the last change (a preset, a slider, a file)"))
    redo = make_action(window, _("&Redo scene change"), lambda _=False: history.redo(),
                       None, _("Forward again to the scene undone"))
    redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
    redo.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    for action in (undo, redo):
        menu.addAction(action)
        window.addAction(action)

    def enable() -> None:
        undo.setEnabled(history.can_undo)
        redo.setEnabled(history.can_redo)

    history.changed.connect(enable)
    enable()
    window.history = history
    window.actions_["undo"], window.actions_["redo"] = undo, redo
    return history
