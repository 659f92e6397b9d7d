"""The worker thread lets go of what it ran: a controller (and its window) is collected once
nothing else holds it, and its threads end."""
from __future__ import annotations

import gc
import threading
import weakref

from gradviz.gui.worker import LatestRunner


def _worker_threads() -> int:
    return sum(1 for t in threading.enumerate() if t.name == "gradviz-worker" and t.is_alive())


class _Owner:
    """Something a job's bound method holds, as a controller is held by its ``_compute``."""

    def __init__(self):
        self.runner = LatestRunner()

    def job(self, x):
        return x * 2


def test_a_finished_job_is_not_kept_by_the_waiting_thread(qtbot):
    owner = _Owner()
    got = []
    owner.runner.finished.connect(lambda generation, value: got.append(value))
    owner.runner.submit(owner.job, 21)
    qtbot.waitUntil(lambda: got == [42], timeout=5000)
    alive = weakref.ref(owner)
    del owner
    gc.collect()
    assert alive() is None


def test_a_controller_that_ran_its_scene_is_collected_and_its_threads_end(qtbot, wait_idle):
    from gradviz.gui.controller import Controller

    before = _worker_threads()
    controller = Controller()
    controller.start()
    wait_idle(controller)
    assert _worker_threads() > before
    alive = weakref.ref(controller)
    del controller
    gc.collect()
    assert alive() is None
    qtbot.waitUntil(lambda: _worker_threads() == before, timeout=5000)


def test_the_controller_runs_numpy_on_one_blas_thread_however_numpy_was_imported(qtbot, monkeypatch):
    """A program that imported numpy before gradviz (a benchmark, a notebook) had OpenBLAS's
    two threads under the window's worker (measured: an LSTM's first update 300 → 170 ms, its
    redraw 70 → 40 ms when limited): the controller limits it, for run_app too."""
    import gradviz
    from threadpoolctl import threadpool_info, threadpool_limits

    from gradviz.gui.controller import Controller

    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    threadpool_limits(2, user_api="blas")       # as if numpy had been imported first
    monkeypatch.setattr(gradviz, "_blas_limited", False)
    Controller()
    assert {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"} == {1}


def test_after_a_long_redraw_what_waited_goes_before_the_next_result(qtbot):
    """Results are handed on one per poll, and the next poll comes POLL_MS after the last
    one's handler ended: input and timers that waited meanwhile run first (before, a result
    drawn in 30 ms was followed at once by the next, and the GUI answered nothing between)."""
    import time

    from PyQt6.QtCore import QTimer
    runner = LatestRunner(newest_only=True)
    order: list[str] = []

    beat = QTimer()                       # another timer of the window (e.g. playback)
    beat.setSingleShot(True)
    beat.setInterval(1)
    beat.timeout.connect(lambda: order.append("waited"))

    def slow_draw(_generation, value):
        order.append(f"result {value}")
        if value == 1:
            time.sleep(0.03)                  # the redraw
            beat.start()                      # due 1 ms later: before the next poll, or not

    runner.partial.connect(slow_draw)
    release = threading.Event()

    def job():
        yield 1
        yield 2
        release.wait(5)

    runner.submit(job)
    qtbot.waitUntil(lambda: "result 2" in order, timeout=5000)
    release.set()
    qtbot.waitUntil(lambda: not runner.busy, timeout=5000)
    assert order == ["result 1", "waited", "result 2"]
    runner.shutdown()


def test_cancel_stops_the_running_job_at_its_next_check_and_the_runner_goes_on(qtbot):
    """LatestRunner.cancel: the running generator job stops at its next yield (it reports
    nothing more), its should_stop() says so meanwhile, and the next job runs as usual."""
    runner = LatestRunner(cancel_running=True)
    go, asked = threading.Event(), []
    got = []
    runner.partial.connect(lambda generation, value: got.append((generation, value)))
    runner.finished.connect(lambda generation, value: got.append((generation, "done", value)))

    def job():
        yield "first"
        go.wait(5)
        asked.append(runner.should_stop())
        yield "second"
        return "end"

    first = runner.submit(job)
    qtbot.waitUntil(lambda: (first, "first") in got, timeout=5000)
    runner.cancel()
    go.set()
    qtbot.waitUntil(lambda: not runner.busy, timeout=5000)
    assert asked == [True] and got == [(first, "first")]
    go.clear()
    go.set()
    second = runner.submit(job)
    qtbot.waitUntil(lambda: not runner.busy, timeout=5000)
    assert got[1:] == [(second, "first"), (second, "second"), (second, "done", "end")]
    runner.shutdown()
