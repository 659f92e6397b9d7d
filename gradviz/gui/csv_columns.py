"""Which columns of a spreadsheet's CSV drive the cell, and which one is the time axis.

Opening an inputs CSV with more than one column asks once, in a small dialog: every column
of numbers is offered (checked), a date or text column can be the time axis (its values label
the steps) or is left out, and the dialog says how the file was read (encoding, header). The
choice goes into the scene (``inputs_columns``, ``inputs_time``), so a session and ``gradviz
export --columns`` reproduce it.
"""
from __future__ import annotations

from PyQt6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFormLayout,
                             QGroupBox, QLabel, QVBoxLayout)

from ..core.errors import GradvizError
from ..core.i18n import N_, _
from ..core.inputs import CsvTable, read_table

KIND_TEXT = {"number": N_("numbers"), "mixed": N_("numbers, some cells not"),
             "date": N_("dates"), "text": N_("text")}


class CsvColumnsDialog(QDialog):
    """Pick the input columns and the time axis of ``table``."""

    def __init__(self, table: CsvTable, parent=None, columns=None, time=None):
        super().__init__(parent)
        self.table = table
        self.setWindowTitle(_("Columns of {name}").format(name=table.path.name))
        layout = QVBoxLayout(self)
        about = QLabel(_("{rows} rows, read as {encoding}; {header}.").format(
            rows=len(table.rows), encoding=table.encoding_name,
            header=_("the first row is a header") if table.has_header
            else _("no header row (every row is data)")))
        about.setWordWrap(True)
        layout.addWidget(about)
        box = QGroupBox(_("Inputs x_t (one unit per column)"))
        bl = QVBoxLayout(box)
        chosen = None if columns in (None, "") else {table.index(c) for c in str(columns).split(",")}
        self.boxes: list[QCheckBox] = []
        for k, (name, kind) in enumerate(zip(table.names, table.kinds)):
            check = QCheckBox(f"{name}  ({_(KIND_TEXT[kind])})")
            usable = kind in ("number", "mixed")
            check.setEnabled(usable)
            check.setChecked(usable if chosen is None else k in chosen)
            check.toggled.connect(self._update)
            bl.addWidget(check)
            self.boxes.append(check)
        layout.addWidget(box)
        form = QFormLayout()
        self.time = QComboBox()
        self.time.addItem(_("none: the rows' order"), None)
        for k, name in enumerate(table.names):
            self.time.addItem(name, k)
        if time not in (None, ""):
            self.time.setCurrentIndex(table.index(time) + 1)
        else:
            dates = [k for k, kind in enumerate(table.kinds) if kind == "date"]
            if dates:
                self.time.setCurrentIndex(dates[0] + 1)
        self.time.currentIndexChanged.connect(self._time_changed)
        form.addRow(_("Time axis (labels the steps)"), self.time)
        layout.addLayout(form)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self._time_changed()

    def time_index(self) -> int | None:
        return self.time.currentData()

    def columns(self) -> str:
        """The chosen input columns as ``--columns`` takes them (names; numbers if a name has a
        comma)."""
        chosen = [k for k, b in enumerate(self.boxes) if b.isChecked() and b.isEnabled()]
        names = [self.table.names[k] for k in chosen]
        if any("," in n for n in names):
            return ",".join(str(k + 1) for k in chosen)
        return ",".join(names)

    def time_name(self) -> str | None:
        k = self.time_index()
        return None if k is None else self.table.names[k]

    def _time_changed(self, *_args) -> None:
        t = self.time_index()
        for k, check in enumerate(self.boxes):
            usable = self.table.kinds[k] in ("number", "mixed") and k != t
            if not usable:
                check.setChecked(False)
            check.setEnabled(usable)
        self._update()

    def _update(self, *_args) -> None:
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        try:
            if not self.columns():
                raise GradvizError(_("choose at least one column of numbers"))
            chosen = self.table.select(self.columns(), self.time_name())
        except GradvizError as exc:
            self.summary.setText(str(exc))
            ok.setEnabled(False)
            return
        text = _("{k} input unit(s): {names}; T = {rows} steps").format(
            k=len(chosen.names), names=", ".join(chosen.names), rows=chosen.values.shape[0])
        if chosen.time_name:
            text += "; " + _("steps labelled by {name} ({first} … {last})").format(
                name=chosen.time_name, first=chosen.time_labels[0], last=chosen.time_labels[-1])
            if chosen.sorted_by_time:
                text += "; " + _("rows put in its order")
        self.summary.setText(text)
        ok.setEnabled(True)


def choose_csv_columns(parent, path, columns=None, time=None):
    """(columns, time) for the CSV at ``path``: asked in a dialog when it has several columns.

    None when the user cancels. A file with one column needs no question: (None, None).
    Raises :class:`GradvizError` when the file cannot be read (encoding, ragged rows, ...).
    """
    table = read_table(path)
    if len(table.names) == 1:
        return None, None
    dialog = CsvColumnsDialog(table, parent, columns, time)
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return None
    return dialog.columns(), dialog.time_name()
