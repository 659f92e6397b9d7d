"""Thin dialogs around the lecture kit's file actions: choose a path, confirm overwriting, report.

The actions themselves (export, save, open) take explicit paths and raise
:class:`~gradviz.core.errors.GradvizError`; these helpers are the only places that show a
QFileDialog or a QMessageBox, so tests call the actions directly.
"""
from __future__ import annotations

from pathlib import Path
from collections.abc import Callable

from PyQt6.QtWidgets import QFileDialog, QMessageBox, QWidget

from ..core.errors import GradvizError
from ..core.files import TargetExistsError
from .worker import error_message
from ..core.i18n import _

#: settings key of the folder a file dialog opens in (the last one used)
LAST_DIR_KEY = "lecture/last_dir"


def last_dir(settings) -> str:
    value = settings.store.value(LAST_DIR_KEY, "") if settings is not None else ""
    return str(value) if value and Path(str(value)).is_dir() else str(Path.home())


def remember_dir(settings, path) -> None:
    if settings is not None:
        settings.store.setValue(LAST_DIR_KEY, str(Path(path).parent))


def ask_save_path(window, title: str, suggested: str, filters: str) -> str | None:
    """A save dialog; overwriting is confirmed afterwards by :func:`write_or_ask`."""
    start = str(Path(last_dir(getattr(window, "settings", None))) / suggested)
    path, _filter = QFileDialog.getSaveFileName(
        window, title, start, filters, options=QFileDialog.Option.DontConfirmOverwrite)
    if path:
        remember_dir(getattr(window, "settings", None), path)
    return path or None


def ask_open_path(window, title: str, filters: str) -> str | None:
    path, _filter = QFileDialog.getOpenFileName(window, title, last_dir(getattr(window, "settings", None)),
                                          filters)
    if path:
        remember_dir(getattr(window, "settings", None), path)
    return path or None


def ask_overwrite(parent: QWidget, path) -> bool:
    """'x already exists. Replace it?' — Yes / No (No is the default)."""
    box = QMessageBox(QMessageBox.Icon.Question, "gradviz",
                      _("{name} already exists. Replace it?").format(name=Path(path).name),
                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, parent)
    box.setInformativeText(_("in {parent}").format(parent=Path(path).parent))
    box.setDefaultButton(QMessageBox.StandardButton.No)
    return box.exec() == QMessageBox.StandardButton.Yes


def show_problem(window, message: str, detail: str | None = None) -> None:
    """A failed action: the window's error line and a message box (``detail`` default:
    "Nothing was written.")."""
    if detail is None:
        detail = _("Nothing was written.")
    if hasattr(window, "show_error"):
        window.show_error(message)
    box = QMessageBox(QMessageBox.Icon.Warning, "gradviz", message, QMessageBox.StandardButton.Ok,
                      window)
    if detail:
        box.setInformativeText(detail)
    box.exec()


def write_or_ask(window, write: Callable[[bool], object], path) -> object | None:
    """Run ``write(overwrite)``; an existing target asks first; errors become a message.

    Returns what ``write`` returned, or None when the user declined or the write failed.
    """
    try:
        try:
            return write(False)
        except TargetExistsError:
            if not ask_overwrite(window, path):
                return None
            return write(True)
    except GradvizError as exc:
        show_problem(window, str(exc))
    except Exception as exc:
        show_problem(window, error_message(exc))
    return None
