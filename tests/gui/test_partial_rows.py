"""A large cursor row arrives in parts, nearest lags first, each part exact: the gradient-flow
view draws each part; the status line waits for the whole row."""
from __future__ import annotations

import numpy as np

from gradviz.core import plotdata
from gradviz.core.scene import Scene
from gradviz.gui import controller as controller_module


def test_the_gradient_flow_grows_part_by_part_to_the_whole_row(qtbot, monkeypatch, close_window):
    """A row too dear for the first stage: its Frobenius norms in parts (nearest lags first,
    none kept as the row of its step), then whole, then its 2-norms whole (a part of those
    would replace what the view shows of the farther lags by nothing)."""
    from gradviz.gui.app import create_window
    monkeypatch.setattr(controller_module, "PARTIAL_ROW_SECONDS", 0.002)
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
                     window.numbers_label.text(), row.exact))
    c.row_ready.connect(drawn)
    c.start()
    qtbot.waitUntil(lambda: bool(seen) and seen[-1][1] and seen[-1][5], timeout=60_000)
    parts = [s for s in seen if not s[1]]
    assert parts, "the row came whole"
    assert all(not exact for *_rest, exact in parts)       # the Frobenius norms come in parts
    firsts = [p[0] for p in parts]
    assert firsts == sorted(firsts, reverse=True) and firsts[0] < T
    for first, _complete, length, kept, _text, _exact in parts:
        assert length == T - first + 1            # lags 0 .. t - first drawn
        assert not kept                           # a part is never the row of its step
        assert "computing" in _text               # the status line waits for i = 0
    wholes = [s for s in seen if s[1]]
    assert [s[5] for s in wholes] == [False, True]        # Frobenius whole, then 2-norms whole
    assert [k for k, s in enumerate(seen) if s is wholes[0]] == [len(parts)]   # after the parts
    for _first, complete, length, _kept, text, _exact in wholes:
        assert complete and length == T + 1 and "computing" not in text
    assert wholes[-1][3]                                  # the 2-norms are the step's row
    assert f"{c.row(T).h[0]:.2f}" in wholes[-1][4]
    full = plotdata.gradient_flow(c.analysis, T, c.row(T))
    np.testing.assert_array_equal(view.main.getData()[1][:10],
                                  np.maximum(full["log10_jac_h"][:10], view.floor))
    c.row_ready.disconnect(drawn)     # drawn holds the window: no cycle through Qt is left
    close_window(window)


def test_a_dear_row_the_cursor_moves_to_comes_as_frobenius_norms_first(controller, qtbot,
                                                                         monkeypatch):
    """The cursor moved to a step whose row is too dear for the GUI thread or the first
    stage: its Frobenius norms come (in parts, then whole) before its 2-norms (whole); moving
    on stops the job and shows nothing stale."""
    monkeypatch.setattr(controller_module, "PARTIAL_ROW_SECONDS", 0.002)
    c = controller
    c.set_scene(Scene(cell="lstm", hidden_size=64, steps=400))
    qtbot.waitUntil(lambda: c.analysis is not None and not c.is_busy, timeout=60_000)
    seen = []
    c.row_ready.connect(lambda t, row: seen.append((t, row)))
    c.set_step(390)
    qtbot.waitUntil(lambda: c.row(390) is not None and c.row(390).exact, timeout=60_000)
    rows = [row for t, row in seen if t == 390]
    assert all(t == 390 for t, _row in seen)
    wholes = [row for row in rows if row.complete]
    assert [row.exact for row in wholes] == [False, True]
    assert [k for k, row in enumerate(rows) if row is wholes[0]] == [len(rows) - 2]
    assert len(rows) >= 3                                       # parts first
    assert not any(row.exact for row in rows[:-1])
    np.testing.assert_allclose(wholes[0].h_fro, wholes[1].h_fro, rtol=0, atol=1e-4)
    np.testing.assert_allclose(wholes[0].c_fro, wholes[1].c_fro, rtol=0, atol=1e-4)
    seen.clear()
    c.set_step(380)
    c.set_step(370)
    qtbot.waitUntil(lambda: c.row(370) is not None and c.row(370).exact, timeout=60_000)
    assert {t for t, _row in seen} <= {380, 370} and seen[-1][0] == 370
    # left while its 2-norms were computed: back there, its Frobenius norms are drawn at
    # once and its 2-norms asked for again (they were lost for good: found in review)
    c.set_step(360)
    qtbot.waitUntil(lambda: c.row(360) is not None, timeout=60_000)
    assert not c.row(360).exact
    c.set_step(350)
    qtbot.waitUntil(lambda: c.row(350) is not None and c.row(350).exact, timeout=60_000)
    seen.clear()
    c.set_step(360)
    assert not c.row(360).exact               # what the views draw at once (the cached row)
    qtbot.waitUntil(lambda: c.row(360).exact, timeout=60_000)
    assert [(t, row.exact, row.complete) for t, row in seen] == [(360, True, True)]


def test_a_row_of_an_analysis_that_leaves_the_screen_stops(controller, qtbot, monkeypatch):
    """A dear row's 2-norms are computed for the analysis on screen; a new scene shown stops
    them (a trained model's take ~50 s of a core the new scene's stages need)."""
    from gradviz.core.jacobians import Stopped
    from gradviz.core.scene import Analysis
    stopped = []
    row = Analysis.row

    def recording(self, *args, **kwargs):
        try:
            return row(self, *args, **kwargs)
        except Stopped:
            stopped.append(self)
            raise

    monkeypatch.setattr(Analysis, "row", recording)
    c = controller
    c.set_scene(Scene(cell="lstm", hidden_size=64, steps=400))
    qtbot.waitUntil(lambda: c.analysis is not None and not c.is_busy, timeout=60_000)
    first = c.analysis
    c.set_step(390)
    qtbot.waitUntil(lambda: c.row(390) is not None, timeout=60_000)   # its 2-norms now run
    assert not c.row(390).exact
    c.update(steps=60)
    qtbot.waitUntil(lambda: c.analysis is not first and not c.is_busy, timeout=60_000)
    assert stopped == [first]
