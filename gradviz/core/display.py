"""Is there a screen? One answer for the window, the headless export and its figures."""
from __future__ import annotations

import os
import sys


def has_display() -> bool:
    """True unless this is Linux with neither an X11 nor a Wayland display."""
    return (not sys.platform.startswith("linux") or bool(os.environ.get("DISPLAY"))
            or bool(os.environ.get("WAYLAND_DISPLAY")))


def offscreen_without_display() -> None:
    """Let Qt draw without a screen (figures of ``gradviz export``) when there is none."""
    if not has_display():
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
