"""The Qt objects PyQt's exit handler would delete: what a test run must not leave behind.

PyQt's exit handler deletes every parentless QObject still owned by Python, walking sip's map
of objects; deleting one can free its own Python object during that walk, and the walk then
reads freed memory (the intermittent segmentation fault at the end of GUI test runs)."""
from __future__ import annotations

import gc
import warnings

from PyQt6 import sip
from PyQt6.QtCore import QObject


def parentless_qt_objects() -> dict[int, str]:
    """id → class name of every live, parentless QObject owned by Python."""
    found = {}
    with warnings.catch_warnings():     # isinstance() on torch's deprecated module attributes
        warnings.simplefilter("ignore", FutureWarning)
        objects = gc.get_objects()
        for obj in objects:
            try:
                if (isinstance(obj, QObject) and not sip.isdeleted(obj)
                        and sip.ispyowned(obj) and obj.parent() is None):
                    found[id(obj)] = type(obj).__name__
            except RuntimeError:
                pass
    return found
