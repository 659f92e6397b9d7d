"""Ctrl+C in the terminal (SIGINT) and SIGTERM quit the window cleanly.

Python runs a signal handler only between bytecodes, and Qt's event loop runs in C++: a
wake-up socket (``signal.set_wakeup_fd``) tells a QSocketNotifier, the handler asks the window
to close. Closing this way asks nothing (the session is autosaved first, the settings keep the
scene), then the usual clean quit removes the crash marker: the next start offers no restore.
"""
from __future__ import annotations

import signal
import socket

from PyQt6.QtCore import QSocketNotifier, QTimer

QUIT_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def install_quit_signals(window) -> None:
    """SIGINT and SIGTERM close ``window`` without questions (call once, in the main thread)."""
    reader, writer = socket.socketpair()
    reader.setblocking(False)
    writer.setblocking(False)
    signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    notifier = QSocketNotifier(reader.fileno(), QSocketNotifier.Type.Read, window)

    def drain() -> None:
        try:
            while reader.recv(64):
                pass
        except (BlockingIOError, InterruptedError):
            pass

    notifier.activated.connect(lambda *_: drain())
    requested = []

    def handler(signum, _frame) -> None:
        if requested:   # a second Ctrl+C while closing: leave at once, still without a crash
            return
        requested.append(signum)
        QTimer.singleShot(0, lambda: quit_without_questions(window))

    for sig in QUIT_SIGNALS:
        signal.signal(sig, handler)
    window._quit_signal_parts = (reader, writer, notifier)   # kept alive with the window


def quit_without_questions(window) -> None:
    """Close the window, skipping the close guards' questions (the autosave keeps the scene)."""
    kit = getattr(window, "lecture", None)
    if kit is not None and kit.sessions.autosave_enabled:
        kit.sessions.autosave_now()
    window.close_guards.clear()
    window.close()
