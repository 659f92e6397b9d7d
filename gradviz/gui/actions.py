"""Window-wide actions: one way to make a QAction with its shortcut, tip and slot."""
from __future__ import annotations

from PyQt6.QtCore import Qt
from PyQt6.QtGui import QAction, QKeySequence


def make_action(parent, text: str, slot, shortcut=None, tip: str | None = None,
                checkable: bool = False) -> QAction:
    """A window-wide action: shortcut, tooltip and status tip, ``slot`` on trigger/toggle."""
    action = QAction(text, parent)
    if shortcut:
        action.setShortcut(QKeySequence(shortcut))
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    if tip:
        action.setStatusTip(tip)
        action.setToolTip(tip)
    action.setCheckable(checkable)
    (action.toggled if checkable else action.triggered).connect(slot)
    return action
