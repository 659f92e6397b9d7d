"""Run by tests/gui/test_presentation.py in a subprocess whose offscreen screen has a given
size: opens the real window, checks its geometry in both modes, prints one JSON line."""
from __future__ import annotations

import json
import sys
import time

from PyQt6.QtCore import QEventLoop, Qt, QTimer
from PyQt6.QtTest import QTest
from PyQt6.QtWidgets import QApplication


def wait(ms: int) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def until(check, ms: int = 20_000) -> None:
    for _ in range(ms // 50):
        if check():
            return
        wait(50)
    raise AssertionError("timed out")


def rect(item):
    return item.mapRectToScene(item.boundingRect())


def layout_problems(window) -> list[str]:
    """Legends hidden or over data, plots cut off or collapsed, tick labels overlapping."""
    from gradviz.gui.views.items import FitAxis
    problems = []
    views = [v for v in window.views.values()   # shown, not behind another tab
             if v.isVisible() and not v.visibleRegion().isEmpty()]
    if window.compare_view is not None and window.compare_view.isVisible():
        views.append(window.compare_view)
    for view in views:
        width = min(view.graphics.width(), view.width())   # what the dock shows of it
        for plot, _title in view.styler._plots:
            if not plot.isVisible() or plot.scene() is None:
                continue
            name = f"{type(view).__name__}:{plot.titleLabel.text[:30]}"
            data = rect(plot.vb)
            if data.right() > width + 1 or data.height() < 40 or data.width() < 60:
                problems.append(f"{name} data {data}")
            lg = getattr(plot, "legend", None)
            if lg is not None and lg.enabled and lg.items:
                box = rect(lg)
                if not lg.isVisible() or box.adjusted(1, 1, -1, -1).intersects(data) \
                        or box.right() > width + 1:
                    problems.append(f"{name} legend {box} data {data}")
            for side in ("left", "bottom"):
                axis = plot.getAxis(side)
                if not isinstance(axis, FitAxis) or not axis.isVisible():
                    continue
                lo, hi = axis.range
                size = axis.height() if side == "left" else axis.width()
                levels = axis.tickSpacing(min(lo, hi), max(lo, hi), size)
                if levels:
                    ticks = abs(hi - lo) / levels[0][0]
                    fm = QApplication.fontMetrics() if axis.style.get("tickFont") is None \
                        else None
                    from PyQt6.QtGui import QFontMetricsF
                    fm = QFontMetricsF(axis.style.get("tickFont"))
                    extent = fm.height() if side == "left" else fm.horizontalAdvance("-000")
                    if ticks * extent > size:
                        problems.append(f"{name} {side} ticks {ticks:.0f} in {size:.0f} px")
    return problems


def finish(window, out: dict, size) -> None:
    """Leave ``size`` behind as the remembered one, close, print the result, and delete the
    window while the QApplication exists (as run_app does)."""
    if size is not None:
        window.resize(*size)
        wait(200)
    window.close_guards.clear()
    window.close()
    window.controller.wait()
    print("RESULT " + json.dumps(out), flush=True)
    from PyQt6 import sip
    sip.delete(window)


def main() -> None:
    args = sys.argv[1:]
    quick = "quick" in args   # the window's geometry only (no views checked, no presenting)
    args = [a for a in args if a != "quick"]
    geometry = args[0] if args else ""
    app = QApplication(["gradviz"])
    from gradviz.gui.app import create_window
    from gradviz.gui.window import use_fusion_style
    use_fusion_style(app)
    window = create_window(autosave=False)
    if geometry:   # a remembered size to leave behind: "1000x600"
        w, h = (int(x) for x in geometry.split("x"))
    window.show()
    window.controller.start()
    if quick:
        wait(300)
        out = {"window": [window.x(), window.y(), window.width(), window.height()]}
        finish(window, out, (w, h) if geometry else None)
        return
    until(lambda: window.controller.analysis is not None and window.controller.analysis.jac
          is not None and not window.controller.is_busy)
    wait(300)
    screen = window.screen()
    avail = screen.availableGeometry()
    out = {"screen": [screen.size().width(), screen.size().height()],
           "window": [window.frameGeometry().x(), window.frameGeometry().y(),
                      window.width(), window.height()],
           "fits": avail.contains(window.geometry()),
           "normal_problems": layout_problems(window),
           "normal_docks": {n: [d.isVisible(), d.width(), d.height()]
                            for n, d in window.docks.items()}}
    QTest.keyClick(window, Qt.Key.Key_F11)
    wait(600)
    docks = [name for name, d in window.docks.items() if d.isVisible()]
    out["presentation"] = {
        "on": window.presentation, "size": [window.width(), window.height()],
        "menu": window.menuBar().isVisible(),
        "toolbars": [b.objectName() for b in window.toolbars() if b.isVisible()],
        "docks": docks,
        "widths": [window.docks[n].width() for n in docks],
        "font_pt": window.appearance().font_pt,
        "problems": layout_problems(window)}
    # while it computes ("computing…" in the status line) the window stays on the screen
    widest = window.width()
    window.controller.update(wr_scale=1.3)
    end = time.monotonic() + 5
    while time.monotonic() < end and window.controller.is_busy:
        app.processEvents()
        widest = max(widest, window.width())
        time.sleep(0.005)
    out["presentation"]["busy_width"] = widest
    window.controller.update(steps=10**9)       # refused: a long message in the status line
    wait(300)
    out["presentation"]["error"] = [window.error_label.isVisible(), window.width(),
                                    window.error_label.toolTip()[:40]]
    window.controller.set_compare(True)
    until(lambda: window.controller.compare_results is not None)
    wait(600)
    out["compare"] = {"docks": [n for n, d in window.docks.items() if d.isVisible()],
                      "problems": layout_problems(window)}
    QTest.keyClick(window, Qt.Key.Key_Escape)
    wait(300)
    out["after_esc"] = {"on": window.presentation, "menu": window.menuBar().isVisible(),
                        "controls": window.docks["controls"].isVisible()}
    window.controller.set_compare(False)
    wait(300)
    finish(window, out, (w, h) if geometry else None)


if __name__ == "__main__":
    main()
