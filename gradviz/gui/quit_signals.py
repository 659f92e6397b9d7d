"""Ctrl+C in the terminal (SIGINT) and SIGTERM quit the window cleanly.

Python runs a signal handler only between bytecodes, and Qt's event loop runs in C++: a
wake-up socket (``signal.set_wakeup_fd``) tells a QSocketNotifier, the handler asks the window
to close. Closing this way asks nothing (the session is autosaved first, the settings keep the
scene), then the usual clean quit removes the crash marker: the next start offers no restore.
"""
from __future__ import annotations

import signal
import socket
import weakref

from PyQt6 import sip
from PyQt6.QtCore import QCoreApplication, QSocketNotifier, QTimer

QUIT_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_installed: list = []    # the wake-up socket pair in use and its notifier


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
    target = weakref.ref(window)    # the handler does not keep a closed window alive

    def handler(signum, _frame) -> None:
        if requested:   # a second Ctrl+C while closing: leave at once, still without a crash
            return
        requested.append(signum)
        QTimer.singleShot(0, lambda: quit_without_questions(target()))

    for sig in QUIT_SIGNALS:
        signal.signal(sig, handler)
    # the sockets stay open while Python may write to them: until the next install (after a
    # language switch), which first stops the old window's notifier
    old = _installed[:]
    _installed[:] = [reader, writer, notifier]
    if old:
        old_reader, old_writer, old_notifier = old
        if not sip.isdeleted(old_notifier):
            old_notifier.setEnabled(False)
        old_reader.close()
        old_writer.close()


def quit_without_questions(window) -> None:
    """Close the window, skipping the close guards' questions (the autosave keeps the scene);
    with no window left (``None``), quit the application."""
    if window is None or sip.isdeleted(window):
        QCoreApplication.quit()
        return
    kit = getattr(window, "lecture", None)
    if kit is not None and kit.sessions.autosave_enabled:
        kit.sessions.autosave_now()
    window.close_guards.clear()
    window.close()
