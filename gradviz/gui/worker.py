"""Run work off the GUI thread, newest wins, with partial results and cancel.

While a slider drags, the controller submits a recomputation per tick. A :class:`LatestRunner`
runs one job at a time on its own Python thread; a job submitted while another runs replaces any
job still waiting, and a job written as a generator is abandoned at its next ``yield`` once a
newer one waits (``cancel_running=True``), so a stale computation never delays a new one.

The worker thread never touches a Qt object: it puts what a job yields or returns on a queue,
and a timer on the GUI thread hands it on (``partial``, ``finished``, ``failed``). A window or
controller can therefore be destroyed at any moment without a queued signal reaching a deleted
object (the "pure virtual method called" abort of earlier versions came from QRunnable jobs and
cross-thread signals outliving their receivers).
"""
from __future__ import annotations

import inspect
import queue
import threading
import traceback
import weakref
from collections.abc import Callable

from PyQt6.QtCore import QObject, QTimer, pyqtSignal

from ..core.errors import GradvizError
from ..core.i18n import _

#: how often the GUI thread looks for results while a job runs (ms)
POLL_MS = 4


def error_message(exc: BaseException) -> str:
    """One line for the user: a GradvizError as it is, anything else named (never a traceback)."""
    if isinstance(exc, GradvizError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return _("out of memory: choose a smaller hidden size or fewer steps")
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return _("internal error ({what})").format(
        what=type(exc).__name__ + (": " + text if text else ""))


class _Worker:
    """The thread and its job slots; plain Python, shared by a runner and its thread only."""

    def __init__(self, cancel_running: bool):
        self.cancel_running = cancel_running
        self.results: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Condition()
        self._pending = None          # (generation, fn, args) waiting to start
        self._running = None          # generation of the job running now
        self._cancelled = None        # a generation asked to stop (see LatestRunner.cancel)
        self._stop = False
        self._thread: threading.Thread | None = None

    # -- called from the GUI thread
    def submit(self, job) -> None:
        with self._lock:
            self._pending = job
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="gradviz-worker",
                                                daemon=True)
                self._thread.start()
            self._lock.notify_all()

    def discard_pending(self) -> None:
        with self._lock:
            self._pending = None

    def cancel(self) -> None:
        with self._lock:
            self._pending = None
            self._cancelled = self._running

    def active(self) -> bool:
        with self._lock:
            return self._pending is not None or self._running is not None

    def wait_idle(self, seconds: float | None) -> bool:
        with self._lock:
            return self._lock.wait_for(lambda: self._pending is None and self._running is None,
                                       timeout=seconds)

    def stop(self, seconds: float = 5.0) -> None:
        with self._lock:
            self._stop = True
            self._pending = None
            self._lock.notify_all()
        if self._thread is not None and seconds > 0 and self._thread is not threading.current_thread():
            self._thread.join(seconds)

    # -- the worker thread
    def _superseded(self) -> bool:
        return (self._stop or (self.cancel_running and self._pending is not None)
                or (self._running is not None and self._running == self._cancelled))

    def _loop(self) -> None:
        while True:
            with self._lock:
                self._lock.wait_for(lambda: self._pending is not None or self._stop)
                if self._stop:
                    return
                job, self._pending = self._pending, None
                self._running = job[0]
            self._run(job)
            # the job is dropped before the thread waits again: a job's bound method holds its
            # controller, and the thread's frame would keep that (and its window) alive for good
            del job

    def _run(self, job) -> None:
        generation, fn, args = job
        try:
            value = fn(*args)
            if inspect.isgenerator(value):
                value = self._drain(generation, value)
            if value is not _CANCELLED:
                self.results.put(("finished", generation, value))
        except Exception as exc:
            if not isinstance(exc, GradvizError):
                traceback.print_exc()
            self.results.put(("failed", generation, error_message(exc)))
        finally:
            with self._lock:
                self._running = None
                self._lock.notify_all()

    def _drain(self, generation: int, gen):
        """Run a generator job: each yield is a partial result, handed on (newer than what is on
        screen while a slider drags), except None; once a newer job waits, the job stops at
        its next yield."""
        try:
            while True:
                item = next(gen)
                if generation == self._cancelled:   # cancelled: nothing of it is wanted
                    gen.close()
                    return _CANCELLED
                if item is not None:      # None: only a point where a newer job takes over
                    self.results.put(("partial", generation, item))
                if self._superseded():
                    gen.close()
                    return _CANCELLED
        except StopIteration as stop:
            return stop.value


_CANCELLED = object()


class LatestRunner(QObject):
    """A single-thread job queue of length one: submitting replaces the waiting job.

    ``partial(generation, value)`` for every value a generator job yields, then
    ``finished(generation, value)`` (its return value) or ``failed(generation, message)``, all
    on the GUI thread and in order; ``generation`` is what :meth:`submit` returned, so a receiver
    can tell whether a newer job is on its way (:attr:`latest`). With ``cancel_running`` a
    generator job stops at its next yield when a newer job waits (it then reports nothing more).
    """

    partial = pyqtSignal(int, object)
    finished = pyqtSignal(int, object)
    failed = pyqtSignal(int, str)
    busy_changed = pyqtSignal(bool)

    def __init__(self, parent: QObject | None = None, cancel_running: bool = False,
                 newest_only: bool = False):
        super().__init__(parent)
        self._worker = _Worker(cancel_running)
        self.newest_only = newest_only
        self._backlog: list = []      # results of the newest job not yet handed on
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self.deliver)
        self._busy = False
        self._shut = False
        self.latest = 0
        # the thread ends when the runner is collected (no Qt signal: destroyed() may fire while
        # the garbage collector tears the wrapper down, and a Python slot then crashes)
        weakref.finalize(self, self._worker.stop, 0.0)

    @property
    def busy(self) -> bool:
        """A job waits, runs, or has results not yet handed on."""
        return self._busy

    def submit(self, fn: Callable, *args) -> int:
        """Run ``fn(*args)`` after (or, for generators, instead of) the running job; after
        :meth:`shutdown`, nothing (the generation is still counted)."""
        self.latest += 1
        if self._shut:
            return self.latest
        self._worker.submit((self.latest, fn, args))
        self._set_busy(True)
        if not self._timer.isActive():
            self._timer.start()
        return self.latest

    def discard_pending(self) -> None:
        """Forget the waiting job (the running one still reports)."""
        self._worker.discard_pending()

    def cancel(self) -> None:
        """Forget the waiting job and stop the running one at its next check (its results
        are no longer wanted: a row of an analysis no longer on screen)."""
        self._worker.cancel()

    def should_stop(self) -> bool:
        """For a running job (any thread): a newer job waits or the runner shuts down."""
        return self._worker._superseded()

    def wait(self, msecs: int = -1) -> bool:
        """Block until no job runs or waits (shutdown, tests); results come with :meth:`deliver`."""
        return self._worker.wait_idle(None if msecs < 0 else msecs / 1000)

    def shutdown(self, msecs: int = 5000) -> None:
        """Stop the thread (the running job is abandoned at its next yield); later submissions
        are ignored, so no timer of a closed window runs on."""
        self._shut = True
        self._timer.stop()
        self._worker.stop(msecs / 1000)

    def deliver(self) -> None:
        """Hand on the results the worker has put on the queue (GUI thread).

        Every result, in order; with ``newest_only``, only those of the newest job among them
        (an older job's are stale once a newer one reports), and one per call: the window
        paints what one result changed before the next is handed on (at the next poll), so a
        burst of results never holds the GUI thread for several redraws at once.
        """
        results = self._worker.results
        items = self._backlog
        while True:
            try:
                items.append(results.get_nowait())
            except queue.Empty:
                break
        if self.newest_only and items:
            newest = max(generation for _kind, generation, _value in items)
            items = [item for item in items if item[1] == newest]
            take, self._backlog = items[:1], items[1:]
        else:
            take, self._backlog = items, []
        signals = {"partial": self.partial, "finished": self.finished, "failed": self.failed}
        for kind, generation, value in take:
            signals[kind].emit(generation, value)
        if not self._worker.active() and results.empty() and not self._backlog:
            self._timer.stop()
            self._set_busy(False)
        elif take:
            # the next poll POLL_MS after this one's drawing ended, not at once: the input and
            # timers that waited meanwhile go first (else two redraws ran back to back)
            self._timer.start()

    def _set_busy(self, busy: bool) -> None:
        if busy != self._busy:
            self._busy = busy
            self.busy_changed.emit(busy)
