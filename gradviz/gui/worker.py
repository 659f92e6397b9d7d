"""Run one job at a time off the GUI thread, newest wins.

While a slider drags, the controller submits a recomputation per tick. A :class:`LatestRunner`
runs one job at a time on its own thread; a job submitted while another runs replaces any job
still waiting (the superseded values are never computed). Every finished job is reported in
order, so the window keeps redrawing at the speed the computation allows and ends on the
newest value.
"""
from __future__ import annotations

import traceback

from PyQt6.QtCore import QObject, QRunnable, QThreadPool, pyqtSignal, pyqtSlot

from ..core.errors import GradvizError


def error_message(exc: BaseException) -> str:
    """One line for the user: a GradvizError as it is, anything else named (never a traceback)."""
    if isinstance(exc, GradvizError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return "out of memory: choose a smaller hidden size or fewer steps"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"internal error ({type(exc).__name__}{': ' + text if text else ''})"


class _Relay(QObject):
    """Carries a finished job from the worker thread back to the GUI thread (queued)."""

    done = pyqtSignal(int, bool, object)


class _Job(QRunnable):
    def __init__(self, generation: int, fn, args, relay: _Relay):
        super().__init__()
        # Python keeps the job (LatestRunner._job) until it reports: a runnable that Qt deletes
        # while its Python wrapper is collected can abort the process (pure virtual call).
        self.setAutoDelete(False)
        self.generation, self.fn, self.args, self.relay = generation, fn, args, relay

    def run(self) -> None:
        try:
            value = self.fn(*self.args)
            ok = True
        except Exception as exc:
            if not isinstance(exc, GradvizError):
                traceback.print_exc()
            value, ok = error_message(exc), False
        self.relay.done.emit(self.generation, ok, value)


class LatestRunner(QObject):
    """A single-thread job queue of length one: submitting replaces the waiting job.

    ``finished(generation, value)`` and ``failed(generation, message)`` arrive on the GUI
    thread; ``generation`` is what :meth:`submit` returned, so a receiver can tell whether a
    newer job is on its way (:attr:`latest`).
    """

    finished = pyqtSignal(int, object)
    failed = pyqtSignal(int, str)
    busy_changed = pyqtSignal(bool)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._relay = _Relay(self)
        self._relay.done.connect(self._on_done)
        self._pending = None
        self._job = None
        self._running = False
        self.latest = 0

    @property
    def busy(self) -> bool:
        return self._running

    def submit(self, fn, *args) -> int:
        """Run ``fn(*args)`` after the running job; replaces a job that has not started."""
        self.latest += 1
        job = (self.latest, fn, args)
        if self._running:
            self._pending = job
        else:
            self._start(job)
        return self.latest

    def discard_pending(self) -> None:
        """Forget the waiting job (the running one still reports)."""
        self._pending = None

    def wait(self, msecs: int = -1) -> bool:
        """Block until the running job ends (for shutdown and tests)."""
        return self._pool.waitForDone(msecs)

    def _start(self, job) -> None:
        first = not self._running
        self._running = True
        generation, fn, args = job
        self._job = _Job(generation, fn, args, self._relay)
        self._pool.start(self._job)
        if first:
            self.busy_changed.emit(True)

    @pyqtSlot(int, bool, object)
    def _on_done(self, generation: int, ok: bool, value) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            generation_next, fn, args = pending
            self._job = _Job(generation_next, fn, args, self._relay)
            self._pool.start(self._job)
        else:
            self._running = False
        if ok:
            self.finished.emit(generation, value)
        else:
            self.failed.emit(generation, value)
        if pending is None and not self._running:
            self.busy_changed.emit(False)
