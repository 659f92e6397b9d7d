"""The status line's labels: a message narrower than its text ends in "…", whole in text()."""
from __future__ import annotations

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QLabel

from gradviz.gui.status_line import ElidedLabel

MESSAGE = "  ⚠ this scene needs about 610.9 GB to run; reduce the steps to at most 2455198  "


def _shown(label, width):
    label.resize(width, label.sizeHint().height())
    return label.grab().toImage()


def test_a_narrow_message_ends_in_an_ellipsis_and_keeps_its_whole_text(qtbot):
    label = ElidedLabel(MESSAGE)
    qtbot.addWidget(label)
    width = label.sizeHint().width() // 3
    elided = label.fontMetrics().elidedText(MESSAGE, Qt.TextElideMode.ElideRight,
                                            width - 2 * label.margin())
    assert elided.endswith("…") and len(elided) < len(MESSAGE)
    plain = QLabel(elided)
    qtbot.addWidget(plain)
    assert _shown(label, width) == _shown(plain, width)      # what is painted: the elided text
    assert label.text() == MESSAGE                            # what is read: all of it
    wide = label.sizeHint().width() + 20                      # with room: the whole text
    plain.setText(MESSAGE)
    assert _shown(label, wide) == _shown(plain, wide)
