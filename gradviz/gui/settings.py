"""What the window remembers between runs: layout, theme, font size, last-used scene.

Stored with QSettings under the organisation "gradviz". ``$GRADVIZ_SETTINGS_DIR`` (tests, a
portable install) puts them in an INI file in that folder instead of the user's settings.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from PyQt6.QtCore import QByteArray, QSettings

from ..core.errors import GradvizError
from ..core.scene import Scene

ORGANISATION = "gradviz"
APPLICATION = "gradviz"
FONT_RANGE = (8, 40)


def open_settings() -> QSettings:
    """The settings store: ``$GRADVIZ_SETTINGS_DIR/gradviz.ini`` if set, else the user's."""
    folder = os.environ.get("GRADVIZ_SETTINGS_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        return QSettings(str(Path(folder) / f"{APPLICATION}.ini"), QSettings.Format.IniFormat)
    return QSettings(ORGANISATION, APPLICATION)


class Settings:
    """Typed access to the stored values (a missing or broken value reads as the default)."""

    def __init__(self, store: QSettings | None = None):
        self.store = store if store is not None else open_settings()
        #: the screen size ("1280x720") the layout is remembered for ("": any, the last one)
        self.layout_key = ""

    def _layout(self, name: str) -> str:
        return f"window/{name}@{self.layout_key}" if self.layout_key else f"window/{name}"

    # window layout (opaque bytes from QMainWindow.saveGeometry / saveState), per screen size
    def geometry(self) -> QByteArray | None:
        return self._bytes(self._layout("geometry"))

    def window_state(self) -> QByteArray | None:
        return self._bytes(self._layout("state"))

    def set_layout(self, geometry: QByteArray, state: QByteArray) -> None:
        for key in {self._layout("geometry"), "window/geometry"}:
            self.store.setValue(key, geometry)
        for key in {self._layout("state"), "window/state"}:
            self.store.setValue(key, state)

    @property
    def dark(self) -> bool:
        return str(self.store.value("view/theme", "light")) == "dark"

    @dark.setter
    def dark(self, value: bool) -> None:
        self.store.setValue("view/theme", "dark" if value else "light")

    @property
    def font_pt(self) -> int | None:
        try:
            value = int(self.store.value("view/font_pt", 0))
        except (TypeError, ValueError):
            return None
        return value if FONT_RANGE[0] <= value <= FONT_RANGE[1] else None

    @font_pt.setter
    def font_pt(self, value: int) -> None:
        self.store.setValue("view/font_pt", int(value))

    @property
    def speed(self) -> int | None:
        try:
            return int(self.store.value("transport/speed", 0)) or None
        except (TypeError, ValueError):
            return None

    @speed.setter
    def speed(self, value: int) -> None:
        self.store.setValue("transport/speed", int(value))

    def scene(self) -> Scene | None:
        """The last-used scene, or None (absent, unreadable, or its files are gone)."""
        text = self.store.value("scene/last", None)
        if not text:
            return None
        try:
            scene = Scene.from_dict(json.loads(str(text)), source="settings")
        except (GradvizError, ValueError, TypeError):
            return None
        for key in ("state_dict_path", "inputs_path"):
            path = getattr(scene, key)
            if path and not Path(path).is_file():
                scene = scene.replace(**{key: None})
        return scene

    def set_scene(self, scene: Scene) -> None:
        self.store.setValue("scene/last", json.dumps(scene.to_dict()))

    def sync(self) -> None:
        self.store.sync()

    def _bytes(self, key: str) -> QByteArray | None:
        value = self.store.value(key, None)
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None
