"""A large cursor row arrives in parts, nearest lags first, each part exact: the gradient-flow
view draws each part; the status line waits for the whole row."""
from __future__ import annotations

import numpy as np

from gradviz.core import plotdata
from gradviz.core.scene import Scene
from gradviz.gui import controller as controller_module


def test_the_gradient_flow_grows_part_by_part_to_the_whole_row(qtbot, monkeypatch, close_window):
    from gradviz.gui.app import create_window
    monkeypatch.setattr(controller_module, "PARTIAL_ROW_SECONDS", 0.02)
    # LSTM, H = 64, T = 400: the cursor row (400 products of 128 × 128) is not "quick"
    T = 400
    window = create_window(Scene(cell="lstm", hidden_size=64, steps=T), autosave=False)
    qtbot.addWidget(window)
    window.close_guards.clear()
    window.show()
    view, c = window.views["Gradient flow"], window.controller
    seen = []

    def drawn(step, row):       # connected after the window's own handler: the view has drawn
        x, _y = view.main.getData()
        seen.append((row.first, row.complete, len(x), c.row(step) is row,
                     window.numbers_label.text()))
    c.row_ready.connect(drawn)
    c.start()
    qtbot.waitUntil(lambda: bool(seen) and seen[-1][1], timeout=60_000)
    parts = [s for s in seen if not s[1]]
    assert parts, "the row came whole"
    firsts = [p[0] for p in parts]
    assert firsts == sorted(firsts, reverse=True) and firsts[0] < T
    for first, _complete, length, kept, _text in parts:
        assert length == T - first + 1            # lags 0 .. t - first drawn
        assert not kept                           # a part is never the row of its step
        assert "computing" in _text               # the status line waits for i = 0
    first, complete, length, kept, text = seen[-1]
    assert complete and length == T + 1 and kept and "computing" not in text
    assert f"{c.row(T).h[0]:.2f}" in text
    full = plotdata.gradient_flow(c.analysis, T, c.row(T))
    np.testing.assert_array_equal(view.main.getData()[1][:10],
                                  np.maximum(full["log10_jac_h"][:10], view.floor))
    c.row_ready.disconnect(drawn)     # drawn holds the window: no cycle through Qt is left
    close_window(window)
