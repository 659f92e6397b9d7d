"""The lecture kit in the window (issue 4): Export menu and toolbar, sessions, presets.

:func:`install_lecture_kit` adds all three to a :class:`~gradviz.gui.window.MainWindow`
through its hooks (File menu sections, close guards, ``closed``); ``create_window`` calls it.
"""
from __future__ import annotations

from dataclasses import dataclass

from .export_actions import Exporter
from .presets_dialog import PresetActions
from .session_actions import SessionManager


@dataclass
class LectureKit:
    exporter: Exporter
    sessions: SessionManager
    presets: PresetActions


def install_lecture_kit(window, autosave: bool = True) -> LectureKit:
    """Export, sessions (with autosave and crash recovery unless ``autosave`` is False), presets."""
    sessions = SessionManager(window, autosave=autosave)
    kit = LectureKit(exporter=Exporter(window), sessions=sessions,
                     presets=PresetActions(window, sessions))
    window.lecture = kit
    state = window.settings.window_state()
    if state is not None:   # the remembered layout again, now that the export toolbar exists
        window.restoreState(state)
    return kit
