"""The window in Chinese and English: no English word outside formulas in Chinese, View ▸
Language switching the open window at once with everything on screen kept, remembered, Qt's
own buttons in Chinese, a CJK font with glyphs for every character shown."""
from __future__ import annotations

import pytest
from PyQt6.QtGui import QFontMetrics, QRawFont
from PyQt6.QtWidgets import QApplication, QDialogButtonBox, QMessageBox

from gradviz.core import i18n
from gradviz.core.scene import Scene
from gradviz.gui import language
from gradviz.gui.language import current_window

from gui_texts import english_words, use_this_checkouts_assets, widget_texts

SMALL = Scene(hidden_size=4, steps=12)


@pytest.fixture(autouse=True)
def english_after(monkeypatch):
    use_this_checkouts_assets(monkeypatch)
    yield
    language.apply_language("en")


@pytest.fixture
def windows(open_window, close_window):
    made = []

    def make(scene=SMALL, lang="zh_CN", **kwargs):
        window = open_window(scene, language=lang, autosave=False, **kwargs)
        made.append(window)
        return window

    yield made, make
    close_window(current_window())      # the window a language switch built


def english_in(widget) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for where, text in widget_texts(widget):
        for word in english_words(text):
            found.setdefault(word, []).append(f"{where}: {text[:80]!r}")
    return found


def test_the_checker_finds_english_and_passes_formulas():
    assert english_words("Open session") == ["Open", "session"]
    assert english_words("‖∂h<sub>t</sub>/∂h<sub>i</sub>‖ σ_max(W_hh) = 0.9, tanh RNN") == []
    assert english_words("梯度流（LSTM，Frobenius 范数）") == []


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_chinese_window_shows_no_english_word_outside_formulas(windows, qtbot, wait_idle, cell):
    _made, make = windows
    window = make(Scene(cell=cell, hidden_size=4, steps=12))
    window.controller.set_compare(True)
    qtbot.waitUntil(lambda: window.controller.compare_results is not None, timeout=8000)
    wait_idle(window.controller)
    assert english_in(window) == {}
    assert window.windowTitle() == "未命名[*] — gradviz"


def test_the_busy_label_is_chinese_while_the_worker_computes(windows):
    _made, make = windows
    window = make()
    window.controller.busy.emit(True)          # what the controller says while it works
    assert window.busy_label.text() == "计算中…"
    assert english_in(window) == {}
    window.controller.busy.emit(False)
    assert window.busy_label.text() == ""


def test_english_window_is_english(windows):
    _made, make = windows
    window = make(lang="en")
    found = english_in(window)
    assert {"Open", "session", "Gradient", "flow", "Controls"} <= set(found)
    assert window.docks["GradientFlowView"].windowTitle() == "Gradient flow"


def test_chinese_dialogs(windows, qtbot):
    from gradviz.gui.animation_export import AnimationDialog
    from gradviz.gui.csv_columns import CsvColumnsDialog
    from gradviz.gui.figure import FigureDialog
    from gradviz.core.inputs import read_table
    _made, make = windows
    window = make()
    dialogs = [FigureDialog(window, "gradient_flow"), AnimationDialog(window, "gradient_flow"),
               window.lecture.presets.show_gallery(), window.training_lab()]
    import pathlib
    import tempfile
    csv = pathlib.Path(tempfile.mkdtemp()) / "s.csv"
    csv.write_text("月份,乘客数,温度\n1949-01,112,3.5\n1949-02,118,4.0\n", encoding="utf-8")
    dialogs.append(CsvColumnsDialog(read_table(csv), window))
    for dialog in dialogs:
        dialog.show()
        qtbot.waitExposed(dialog)
        assert english_in(dialog) == {}, type(dialog).__name__
        dialog.close()
    gallery = dialogs[2]
    assert "梯度按几何级数消失" in gallery.text.toPlainText() or gallery.list.count() > 0


def test_view_language_switches_the_open_window_and_keeps_what_was_on_screen(windows, qtbot,
                                                                           wait_idle, tmp_path):
    made, make = windows
    window = make(Scene(cell="lstm", hidden_size=5, steps=30, forget_bias=1.0), lang="en")
    c = window.controller
    c.set_step(7)
    c.set_compare(True)
    window.docks["StatesView"].hide()
    window.set_font_pt(13)
    path = tmp_path / "lecture.gradviz.json"
    window.lecture.sessions.save_to(path)
    c.update(hidden_size=6)             # an unsaved change
    wait_idle(c)
    assert window.lecture.sessions.is_dirty()
    assert window.docks["GradientFlowView"].windowTitle() == "Gradient flow"

    window.language_actions["zh_CN"].trigger()          # View ▸ Language ▸ 简体中文
    new = current_window()
    assert new is not window and i18n.language() == "zh_CN"
    wait_idle(new.controller)
    qtbot.waitUntil(lambda: new.controller.compare_results is not None, timeout=8000)
    n = new.controller
    assert n.scene == c.scene and n.scene.hidden_size == 6 and n.scene.cell == "lstm"
    assert n.step == 7 and n.compare
    assert not new.docks["StatesView"].isVisible() and new.docks["GradientFlowView"].isVisible()
    assert new.font_pt == 13
    s = new.lecture.sessions
    assert s.path == path and s.is_dirty()
    assert new.windowTitle() == "lecture.gradviz.json[*] — gradviz"
    assert new.docks["GradientFlowView"].windowTitle() == "梯度流"
    assert new.menus["view"].title() == "视图(&V)"
    assert new.language_actions["zh_CN"].isChecked()
    assert english_in(new) == {}
    assert language.remembered_language(new.settings) == "zh_CN"
    assert language.qt_translation_loaded()
    from PyQt6 import sip
    QApplication.processEvents()
    assert sip.isdeleted(window) or not window.isVisible()

    new.language_actions["en"].trigger()                 # and back, without restarting
    back = current_window()
    wait_idle(back.controller)
    assert back.docks["GradientFlowView"].windowTitle() == "Gradient flow"
    assert back.controller.step == 7 and back.controller.scene.hidden_size == 6
    assert language.remembered_language(back.settings) == "en"
    assert not language.qt_translation_loaded()
    made.append(back)


def test_the_remembered_language_is_chosen_at_start(monkeypatch):
    from gradviz.gui.settings import Settings
    settings = Settings()
    monkeypatch.delenv(i18n.ENV, raising=False)
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    monkeypatch.delenv("LANGUAGE", raising=False)
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    assert i18n.choose_language(None, language.remembered_language(settings)) == "en"
    language.remember_language(settings, "zh_CN")
    assert i18n.choose_language(None, language.remembered_language(Settings())) == "zh_CN"
    assert i18n.choose_language("en", language.remembered_language(Settings())) == "en"


def test_qt_own_buttons_follow_in_chinese(qtbot):
    language.apply_language("zh_CN")
    box = QMessageBox(QMessageBox.Icon.Question, "gradviz", "?",
                      QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                      | QMessageBox.StandardButton.Cancel)
    texts = {b.text().replace("&", "") for b in box.buttons()}
    assert {"保存", "取消"} <= {t.split("(")[0] for t in texts}, texts
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                               | QDialogButtonBox.StandardButton.Cancel)
    assert buttons.button(QDialogButtonBox.StandardButton.Cancel).text().startswith("取消")
    language.apply_language("en")
    box = QMessageBox(QMessageBox.Icon.Question, "gradviz", "?", QMessageBox.StandardButton.Cancel)
    assert box.buttons()[0].text().replace("&", "") == "Cancel"


def test_a_cjk_font_is_chosen_and_has_every_glyph_shown(windows):
    _made, make = windows
    window = make()
    family = language.cjk_family()
    assert family is not None, "no CJK font installed (scripts/system-deps.sh installs one)"
    app_font = QApplication.instance().font()
    assert family in app_font.families()
    raw = QRawFont.fromFont(app_font)
    texts = "".join(text for _where, text in widget_texts(window))
    chinese = {ch for ch in texts if "\u4e00" <= ch <= "\u9fff"}
    assert len(chinese) > 100
    cjk = QRawFont.fromFont(type(app_font)(family))
    missing = [ch for ch in chinese if not (raw.supportsCharacter(ch) or cjk.supportsCharacter(ch))]
    assert not missing, missing[:20]
    assert QFontMetrics(app_font).horizontalAdvance("梯度消失") > 0


def test_chinese_exports_keep_text_as_text_and_embed_the_font(windows, tmp_path):
    """SVG: the Chinese labels are <text> (not paths); PDF: the CJK font is embedded and the
    text extracts as Chinese; pdftoppm renders the page; CSV headers stay symbols."""
    import re
    import shutil
    import subprocess
    import xml.etree.ElementTree as ET

    from pypdf import PdfReader

    from gradviz.core.tables import read_csv_table
    from gradviz.gui.export_actions import export_csv, export_figure
    _made, make = windows
    window = make()
    svg = export_figure(window, "gradient_flow", tmp_path / "f.svg")
    texts = "".join("".join(e.itertext()) for e in ET.parse(svg).iter()
                    if e.tag.endswith("text"))
    assert "梯度流" in texts and "滞后 t − i" in texts
    pdf = export_figure(window, "gradient_flow", tmp_path / "f.pdf")
    reader = PdfReader(str(pdf))
    page = reader.pages[0]
    assert "梯度流" in page.extract_text().replace(" ", "")
    fonts = []
    for font in page["/Resources"]["/Font"].values():
        font = font.get_object()
        for desc in [font] + [d.get_object() for d in font.get("/DescendantFonts", [])]:
            fd = desc.get("/FontDescriptor")
            if fd is not None:
                fd = fd.get_object()
                fonts.append((str(fd["/FontName"]),
                              any(k in fd for k in ("/FontFile", "/FontFile2", "/FontFile3"))))
    cjk = language.cjk_family().replace(" ", "")
    assert any(cjk in name and embedded for name, embedded in fonts), fonts
    pdftoppm = shutil.which("pdftoppm")
    assert pdftoppm, "run `sh scripts/system-deps.sh --test` (poppler-utils)"
    subprocess.run([pdftoppm, "-png", "-r", "60", "-singlefile", str(pdf), str(tmp_path / "p")],
                   check=True, capture_output=True, timeout=60)
    assert (tmp_path / "p.png").stat().st_size > 2000
    csv = export_csv(window, "gradient_flow", tmp_path / "f.csv")
    header = list(read_csv_table(csv))
    assert header and all(re.fullmatch(r"[A-Za-z0-9_]+", name) for name in header), header


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_controls_and_menus_fit_at_1280x720(windows, qtbot, lang):
    """No label, check box or button of the control panel, the transport bar or the status
    line is narrower than its text at 1280×720 (Chinese is not clipped), nor the menu bar."""
    from PyQt6.QtWidgets import QCheckBox, QLabel, QPushButton
    _made, make = windows
    window = make(Scene(cell="lstm", hidden_size=4, steps=12), lang=lang)
    qtbot.wait(300)
    clipped = []
    for root in (window.controls, window.transport):
        for w in root.findChildren((QLabel, QCheckBox, QPushButton)):
            if not w.isVisible() or not w.text() or (isinstance(w, QLabel) and w.wordWrap()):
                continue
            if w.width() < w.sizeHint().width() - 1:
                clipped.append((w.text(), w.width(), w.sizeHint().width()))
    assert not clipped, clipped
    bar = window.menuBar()
    assert bar.sizeHint().width() <= window.width()
    assert all(bar.actionGeometry(a).right() <= window.width() for a in bar.actions())
