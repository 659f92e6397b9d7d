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
