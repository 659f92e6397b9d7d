"""The status line: the numbers to say aloud stay; passing messages go beside them.

QStatusBar.showMessage hides the bar's normal widgets (the numbers) while a message shows;
:class:`StatusLine` shows the message in a label of its own to the right instead, so "saved …"
or "wrote …" never replaces σ_max(W_hh) and log10 ‖∂h_t/∂h_0‖.
"""
from __future__ import annotations

from PyQt6.QtCore import Qt, QTimer
from PyQt6.QtGui import QPainter
from PyQt6.QtWidgets import QFrame, QLabel, QSizePolicy, QStatusBar


class ElidedLabel(QLabel):
    """A one-line plain-text label that ends in "…" when it is narrower than its text (the
    status line gives it only the room the numbers leave); ``text()`` stays the whole text."""

    def __init__(self, text: str = "", parent=None):
        super().__init__(text, parent)
        self.setWordWrap(False)
        self.setMinimumWidth(1)     # never as wide as its text by force: that is what "…" is for

    def paintEvent(self, event) -> None:
        QFrame.paintEvent(self, event)         # the style sheet's background and frame
        rect = self.contentsRect()
        shown = self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight,
                                              rect.width())
        painter = QPainter(self)
        self.style().drawItemText(painter, rect, int(self.alignment()), self.palette(),
                                  self.isEnabled(), shown, self.foregroundRole())
        painter.end()


class StatusLine(QStatusBar):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.message_label = QLabel("")
        self.message_label.setObjectName("message")
        self.message_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.clearMessage)

    def add_message_label(self) -> None:
        """Place the message label (after the numbers, which keep their stretch)."""
        self.addWidget(self.message_label, 0)
        self.message_label.hide()

    def showMessage(self, text: str, msecs: int = 0) -> None:
        self.message_label.setText(text)
        self.message_label.setToolTip(text)
        self.message_label.setMinimumWidth(min(self.message_label.sizeHint().width(),
                                               max(120, self.width() // 3)))
        self.message_label.setVisible(bool(text))
        if msecs > 0:
            self._timer.start(msecs)
        else:
            self._timer.stop()

    def clearMessage(self) -> None:
        self._timer.stop()
        self.message_label.setText("")
        self.message_label.hide()

    def currentMessage(self) -> str:
        return self.message_label.text()
