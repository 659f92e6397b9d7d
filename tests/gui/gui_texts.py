"""Every text a user can read in a window (for the language tests): menus, actions and their
tooltips, dock titles, labels, buttons, check boxes, group boxes, combo-box items, tooltips,
and the plots' titles, axis labels and legends."""
from __future__ import annotations

import html
import re

import pyqtgraph as pg
from PyQt6.QtWidgets import (QAbstractButton, QComboBox, QDockWidget, QGroupBox, QLabel,
                             QMenu, QTextBrowser, QWidget)

#: words that are names or notation, the same in every language
KEEP = {"gradviz", "torch", "RNN", "LSTM", "GRU", "IRNN", "tanh", "relu", "sigmoid", "CSV",
        "PNG", "SVG", "PDF", "GIF", "MP4", "DPI", "Frobenius", "Pascanu", "Adam", "SGD", "MSE",
        "RMSE", "MAE", "state_dict", "Ctrl", "Shift", "Space", "Home", "End", "Conv1d",
        "NumPy", "npz", "json", "English", "float64", "log", "max", "min", "mean", "diag",
        "Python", "Inkscape", "LibreOffice", "LaTeX", "Re", "Im", "Hochreiter", "Schmidhuber",
        "Gers", "Jozefowicz", "Jaitly", "Hinton", "Box", "Jenkins", "AR", "lr", "epoch", "H.264",
        "Lyapunov", "lim", "QR", "ln", "sech",
        "exact", "bias_ih", "bias_hh", "proj_size", "look_back", "clip_grad_norm_", "autograd",
        "nn", "Linear", "cell_step", "head", "pt", "px", "cm", "Qt", "default", "gaussian",
        "orthogonal", "identity", "xvfb", "DISPLAY", "UTF", "BOM", "GBK", "GB18030", "Excel"}


def english_words(text: str) -> list[str]:
    """English words of ``text`` outside formulas: runs of 3+ ASCII letters that are not
    notation (symbols with subscripts, function names) and not in :data:`KEEP`."""
    text = re.sub(r"(?s)<pre[^>]*>.*?</pre>", " ", text)                  # code is code
    text = re.sub(r"`[^`]*`", " ", text)                                   # commands
    text = html.unescape(re.sub(r"<[^>]+>", " ", text))
    text = re.sub(r"\S*[_∂‖σφ∏⊙=/(){}\[\]^|·√∇λ′'@]\S*", " ", text)   # formula tokens
    text = re.sub(r"\S+\.(?:py|pt|csv|json|npz|png|svg|pdf|gif|mp4)\b", " ", text)
    text = re.sub(r"--?[a-z][\w-]*", " ", text)                          # options
    words = re.findall(r"(?<![\w.])[A-Za-z][A-Za-z]{2,}(?![\w])", text)
    return [w for w in words if w not in KEEP and w.lower() not in {k.lower() for k in KEEP}]


def _menu_texts(menu: QMenu, where: str):
    yield where, menu.title()
    for action in menu.actions():
        if action.isSeparator():
            continue
        if action.menu() is not None:
            yield from _menu_texts(action.menu(), f"{where} ▸ {action.menu().title()}")
            continue
        yield f"{where} ▸ action", action.text()
        if action.toolTip() and action.toolTip() != action.text().replace("&", ""):
            yield f"{where} ▸ tooltip", action.toolTip()


def _plot_texts(widget: pg.GraphicsLayoutWidget):
    for item in widget.scene().items():
        if isinstance(item, pg.LabelItem):
            yield "plot label", item.text
        elif isinstance(item, pg.AxisItem) and item.label.isVisible():
            yield "axis label", item.labelText
        elif isinstance(item, pg.LegendItem):
            for _sample, label in item.items:
                yield "legend", label.text


def _in_menu(widget) -> bool:
    """Inside a menu (such as a plot's context menu: gradviz turns those off, but they belong
    to the plot's widget)."""
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QMenu):
            return True
        parent = parent.parentWidget()
    return False


def widget_texts(window):
    """(where, text) for everything readable in ``window`` and its children."""
    yield "title", window.windowTitle()
    bar = window.menuBar() if hasattr(window, "menuBar") else None
    for action in bar.actions() if bar is not None else ():
        if action.menu() is not None:
            yield from _menu_texts(action.menu(), action.menu().title())
    for widget in window.findChildren(QWidget):
        if isinstance(widget, QMenu) or _in_menu(widget):   # menus: through the menu bar
            continue
        if widget.toolTip():
            yield f"tooltip of {type(widget).__name__}", widget.toolTip()
        if isinstance(widget, QDockWidget):
            yield "dock", widget.windowTitle()
        elif isinstance(widget, QLabel):
            yield "label", widget.text()
        elif isinstance(widget, QAbstractButton):
            yield "button", widget.text()
        elif isinstance(widget, QGroupBox):
            yield "group", widget.title()
        elif isinstance(widget, QComboBox):
            for k in range(widget.count()):
                yield "choice", widget.itemText(k)
        elif isinstance(widget, QTextBrowser):
            plain = widget.toPlainText()   # without the code listing (code is code)
            yield "text", "\n".join(line for line in plain.splitlines()
                                     if not re.match(r"\s*(def |return |#)|\s{2,}\S", line))
        elif isinstance(widget, pg.GraphicsLayoutWidget):
            yield from _plot_texts(widget)


def use_this_checkouts_assets(monkeypatch) -> None:
    """Presets from this checkout's assets/ (an editable install shared between checkouts maps
    gradviz.assets to one of them; in a fresh install this changes nothing)."""
    from pathlib import Path

    from gradviz.core import presets, training_presets
    root = Path(__file__).resolve().parents[2] / "assets"
    for fn in (presets.preset_from_dict, presets.preset_files, presets.list_presets,
               presets.preset_names, presets.load_preset):
        monkeypatch.setattr(fn, "__defaults__", tuple(root / "presets" if d == presets.PRESETS_DIR
                                                      else d for d in fn.__defaults__))
    monkeypatch.setattr(training_presets, "TRAINING_DIR", root / "training")
