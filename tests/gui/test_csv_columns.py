"""The columns dialog: what it offers for a GBK spreadsheet, and the window driven by the choice."""
from __future__ import annotations

import numpy as np
import pytest
from PyQt6.QtCore import QTimer
from PyQt6.QtWidgets import QApplication, QDialogButtonBox

from gradviz.core.inputs import read_table
from gradviz.core.scene import Scene
from gradviz.gui.app import create_window
from gradviz.gui.csv_columns import CsvColumnsDialog, choose_csv_columns

GBK = "日期,乘客数,温度\r\n1949-01,112,3.5\r\n1949-02,118,4.0\r\n1949-03,132,9.1\r\n"


@pytest.fixture
def gbk_csv(tmp_path):
    path = tmp_path / "airline-gbk.csv"
    path.write_bytes(GBK.encode("gbk"))
    return path


def test_the_dialog_offers_the_numbers_and_the_date_as_time_axis(qtbot, gbk_csv):
    dialog = CsvColumnsDialog(read_table(gbk_csv))
    qtbot.addWidget(dialog)
    date, passengers, temperature = dialog.boxes
    assert not date.isEnabled() and not date.isChecked()          # a date is not an input
    assert passengers.isChecked() and temperature.isChecked()
    assert dialog.time_name() == "日期"                           # the date labels the steps
    assert dialog.columns() == "乘客数,温度"
    assert "GB18030" in dialog.findChildren(type(dialog.summary))[0].text()
    assert "2 input unit(s): 乘客数, 温度; T = 3 steps" in dialog.summary.text()
    assert "1949-01 … 1949-03" in dialog.summary.text()
    temperature.setChecked(False)
    assert dialog.columns() == "乘客数" and "1 input unit(s)" in dialog.summary.text()
    passengers.setChecked(False)
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    assert not ok.isEnabled() and "at least one column" in dialog.summary.text()
    dialog.time.setCurrentIndex(dialog.time.findData(1))          # passengers as the time axis
    assert not passengers.isEnabled()
    dialog.time.setCurrentIndex(0)
    assert dialog.time_name() is None and passengers.isEnabled()


def test_a_previous_choice_is_shown_back(qtbot, gbk_csv):
    dialog = CsvColumnsDialog(read_table(gbk_csv), columns="温度", time=None)
    qtbot.addWidget(dialog)
    assert dialog.columns() == "温度"


def test_a_one_column_file_asks_nothing(tmp_path):
    path = tmp_path / "one.csv"
    path.write_bytes("乘客数\n1\n2\n".encode("gbk"))
    assert choose_csv_columns(None, path) == (None, None)


def _accept_dialog_with(qtbot, uncheck: str):
    def press():
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, CsvColumnsDialog):
            QTimer.singleShot(20, press)
            return
        for box in dialog.boxes:
            if box.text().startswith(uncheck):
                box.setChecked(False)
        dialog.accept()
    QTimer.singleShot(20, press)


def test_the_window_runs_on_the_chosen_columns(qtbot, wait_idle, gbk_csv):
    window = create_window(Scene(hidden_size=4, steps=12))
    window.show()
    qtbot.waitExposed(window)
    try:
        window.controller.start()
        wait_idle(window.controller)
        _accept_dialog_with(qtbot, "温度")
        window.open_inputs_csv(str(gbk_csv))
        qtbot.waitUntil(lambda: window.controller.shown_scene.inputs_path == str(gbk_csv),
                        timeout=10_000)
        wait_idle(window.controller)
        scene = window.controller.shown_scene
        assert (scene.inputs_columns, scene.inputs_time) == ("乘客数", "日期")
        assert (scene.steps, scene.input_size) == (3, 1)
        x = window.controller.analysis.trace.inputs
        np.testing.assert_array_equal(x, scene.amplitude * np.array([[112.0], [118.0], [132.0]]))
    finally:
        window.close_guards.clear()
        window.close()
        window.controller.wait()
        window.deleteLater()
