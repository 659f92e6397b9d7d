"""The contract between the window (controller) and every view.

A view is a QWidget that plots arrays the core computed; it never computes dynamics itself.
The controller calls, in this order of frequency:

- ``set_analysis(scene, analysis)`` when new numbers for the whole run exist (after a slider
  move: recomputed off the GUI thread, Frobenius map in float32, see core.scene.analyse);
- ``set_step(step, row)`` when the cursor moves (play, scrub, arrow keys): the view shows the
  run up to ``step`` (plots "grow" while playing) and a cursor at ``step``; ``row`` holds the
  exact 2-norms of ∂h_step/∂h_i (i = 0..step), or None while they are being computed;
- ``set_appearance(appearance)`` on theme / font / presentation-mode changes.

Views emit ``pair_selected(t, i)`` when the user picks a cell of a map (the controller then
moves the cursor to t).
"""
from __future__ import annotations

from dataclasses import dataclass

from PyQt6.QtCore import pyqtSignal
from PyQt6.QtWidgets import QWidget


@dataclass(frozen=True)
class Appearance:
    """How plots look: light theme for projectors, dark for screens; presentation = big."""

    dark: bool = False
    font_pt: int = 11
    line_width: float = 2.0

    @classmethod
    def presentation(cls, dark: bool = False) -> "Appearance":
        return cls(dark=dark, font_pt=18, line_width=4.0)


class View(QWidget):
    """Base class of every dockable view (see module docstring for the call contract)."""

    title: str = "View"
    pair_selected = pyqtSignal(int, int)

    def set_analysis(self, scene, analysis) -> None:
        raise NotImplementedError

    def set_step(self, step: int, row) -> None:
        raise NotImplementedError

    def set_appearance(self, appearance: Appearance) -> None:
        pass
