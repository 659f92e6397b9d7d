"""The one owner of what the window shows: the scene, its numbers, and the selected step.

Widgets never touch a scene: they call :meth:`Controller.update`, :meth:`set_step`,
:meth:`load_state_dict`, :meth:`load_inputs_csv` or :meth:`set_scene`, and listen to signals.
Recomputation runs off the GUI thread, newest wins (see :mod:`gradviz.gui.worker`).

Two scenes are kept: :attr:`scene` is the newest one asked for (what the controls show);
:attr:`shown_scene` is the one whose :attr:`analysis` is on screen. A request that fails (a bad
file, a state that overflows at once) leaves :attr:`shown_scene` as it was, reverts
:attr:`scene` to it (``scene_changed`` again, so the controls follow) and emits ``error``.
"""
from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field

import numpy as np
from PyQt6.QtCore import QObject, QTimer, pyqtSignal

from ..core.cells import RecurrentNet
from ..core.errors import GradvizError
from ..core.i18n import _
from ..core.jacobians import (LOG10_ZERO, JacobianMap, RowNorms, Stopped, coarse_map,
                              jacobian_map_steps)
from ..core.kinds import CELL_NAMES, KINDS
from ..core.plan import plan_map, row_cost, svd_flops
from ..core.scene import Analysis, Scene, analyse, resolve, simulate
from .worker import LatestRunner

#: scene settings that decide the base weights (a change drops a loaded state_dict)
STRUCTURE_KEYS = ("cell", "hidden_size", "input_size", "num_layers", "bidirectional",
                  "proj_size", "seed", "init")
#: scene settings that decide the input signal (a change drops a loaded CSV)
SIGNAL_KEYS = ("input", "steps", "input_size")
#: cells of compare mode, in plotting order: every kind of the registry
COMPARE_CELLS = tuple(KINDS)
#: a row is computed on the GUI thread when its cost t·n³ stays below this (about a millisecond)
SYNC_ROW_COST = 2_000_000
#: the first map shown after a change is the finest that costs at most this (seconds, planned):
#: it fits between two ticks of a drag (an RNN's or GRU's at H = 64, T = 200: stride 8, ~7 ms;
#: with only the next one, 20-25 ms, the map did not follow a drag once ticks could stop it)
DRAG_MAP_SECONDS = 0.015
#: ... then the finest that costs at most this, when it is finer and the full map is dearer
COARSE_SECONDS = 0.05
#: the full map (or the finest coarse one) the window computes when the slider rests
FINE_SECONDS = 4.0
#: ... on this many threads (the machine's two cores; the numbers are the same as on one)
FINE_THREADS = 2
#: a model too large for that (a trained one) still gets the finest map that costs at most
#: this (planned, seconds; its blocks by step factors where its kind has them), after its
#: cursor row: an LSTM with H = 512, T = 1000 its coarsest (16 rows, 46 s planned)
LARGE_MAP_SECONDS = 50.0
#: a cursor row is exact (2-norms) in the first stage when it costs at most this many flops
#: with its t SVDs (plan.svd_flops: a few ms here; at H = 16, T = 500 they cost an LSTM's
#: first stage 16 ms more, and its first update came after 60-65 ms instead of ~40), in the
#: first stage at all (Frobenius norms, float32: ~12 ms for an LSTM at H = 64, T = 200) up to
#: QUICK_ROW; a dearer one follows the run
QUICK_EXACT_ROW = 6e8
QUICK_ROW = 1e9
#: a row that takes longer is shown in parts this often (seconds), nearest lags first
PARTIAL_ROW_SECONDS = 0.3


@dataclass
class _Result:
    scene: Scene
    analysis: Analysis
    base: RecurrentNet
    raw_inputs: np.ndarray | None
    step: int
    row: RowNorms | None
    drawn: threading.Event = field(default_factory=threading.Event)   # set once painted


#: after the first stage the worker waits (at most this long, seconds) until the window has
#: drawn and painted it: the heavy stages after it would otherwise run beside the painting on
#: the other core and, sharing its cache and memory, double the time of every redraw
DRAW_WAIT_SECONDS = 0.25


@dataclass(frozen=True)
class StepNumbers:
    """What a lecturer reads aloud at step t (NaN where it does not apply)."""

    step: int
    steps: int
    sigma_max: float
    factor: float           # RNN max|φ'(a_t)|·σ_max; LSTM mean f_t; GRU mean z_t (t ≥ 1)
    factor_name: str
    log10_norm: float       # log10 ‖∂h_t/∂h_0‖ (2-norm when exact, else Frobenius)
    norm_exact: bool
    f_mean: float           # LSTM only
    overflow_step: int | None


def step_numbers(analysis: Analysis, step: int, row: RowNorms | None) -> StepNumbers:
    """The status-line numbers, read from the core's results (no new math)."""
    kind = analysis.kind
    t = max(0, min(step, analysis.steps))
    nan = float("nan")
    factor, name, f_mean = nan, "", nan
    if t >= 1:
        name = _(kind.factor_label)
        if kind.path_gate is None:
            log_factor = float(analysis.step_factor[t - 1])
            factor = 0.0 if log_factor <= LOG10_ZERO else 10.0 ** log_factor
        else:
            factor = float(analysis.gate_stats[f"{kind.path_gate}_mean"][t - 1])
            if kind.path_gate == "f":
                f_mean = factor
    jac = analysis.jac
    if row is not None and row.t == t:
        exact = row.h is not None
        log_norm = float(row.h[0] if row.h is not None else row.h_fro[0])
    elif jac is not None and jac.full and jac.h is not None:
        log_norm, exact = float(jac.h[t, 0]), True
    elif jac is not None and jac.full:
        log_norm, exact = float(jac.h_fro[t, 0]), False
    else:   # the row of this step is still being computed
        log_norm, exact = float("nan"), False
    return StepNumbers(step=t, steps=analysis.steps, sigma_max=analysis.sigma_max, factor=factor,
                       factor_name=name, log10_norm=log_norm, norm_exact=exact, f_mean=f_mean,
                       overflow_step=analysis.trace.overflow_step)


def compare_scene(scene: Scene, cell: str) -> Scene:
    """The scene run with another cell kind: same input, seed, sizes and W_R scale."""
    name = CELL_NAMES[cell]
    nonlinearity = name.nonlinearity
    if scene.cell == name.kind:          # the scene's own RNN keeps its nonlinearity
        nonlinearity = scene.nonlinearity
    return scene.replace(cell=name.kind, nonlinearity=nonlinearity, state_dict_path=None,
                         num_layers=1, bidirectional=False, proj_size=0, layer=0, direction=0)


class Controller(QObject):
    """Owns the scene, caches of loaded files, the analysis on screen and the cursor step."""

    scene_changed = pyqtSignal(object)            # Scene: the controls show it
    analysis_ready = pyqtSignal(object, object)   # Scene, Analysis: views redraw everything
    map_ready = pyqtSignal(object)                # Analysis with a finer map: map views redraw
    step_changed = pyqtSignal(int)                # the cursor moved (views: set_step(t, row|None))
    row_ready = pyqtSignal(int, object)           # t, RowNorms: exact 2-norms of the cursor row
    compare_ready = pyqtSignal(object, int)       # {cell: Analysis}, step
    compare_changed = pyqtSignal(bool)
    error = pyqtSignal(str)
    busy = pyqtSignal(bool)

    def __init__(self, scene: Scene | None = None, parent: QObject | None = None):
        super().__init__(parent)
        from .. import single_threaded_blas
        single_threaded_blas()      # one BLAS thread per worker, however numpy was imported
        self.scene: Scene = scene if scene is not None else Scene()
        self.shown_scene: Scene | None = None
        self.analysis: Analysis | None = None
        self.step = 0
        self.follow_end = True            # keep the cursor on the last step when T changes
        self.compare = False
        self.compare_results: dict[str, Analysis] | None = None
        self._rows: dict[int, RowNorms] = {}
        self._bases: dict[tuple, RecurrentNet] = {}
        self._csv: dict[tuple, np.ndarray] = {}
        self._shown_generation = 0
        self._pipeline_step = -1            # the step whose row the analysis pipeline brings
        self._painting: threading.Event | None = None   # (worker) the last first stage's drawn
        self._blocked = False       # the GUI thread waits in wait(): nothing is drawn meanwhile
        # newest_only: a result of an older request is never drawn once a newer one reported,
        # and one result is drawn (and painted) per poll
        self._analysis_runner = LatestRunner(self, cancel_running=True, newest_only=True)
        self._row_runner = LatestRunner(self, cancel_running=True, newest_only=True)
        self._compare_runner = LatestRunner(self, cancel_running=True, newest_only=True)
        self._analysis_runner.partial.connect(self._on_stage)
        self._analysis_runner.failed.connect(self._on_analysis_failed)
        self._row_runner.finished.connect(self._on_row)
        self._row_runner.partial.connect(self._on_row)
        self._row_runner.failed.connect(self._on_side_failed)
        self._compare_runner.partial.connect(self._on_compare)
        self._compare_runner.failed.connect(self._on_side_failed)
        for runner in self._runners:
            runner.busy_changed.connect(self._on_busy)

    # ------------------------------------------------------------------ requests

    @property
    def _runners(self):
        return (self._analysis_runner, self._row_runner, self._compare_runner)

    @property
    def is_busy(self) -> bool:
        return any(r.busy for r in self._runners)

    def start(self) -> None:
        """Compute the initial scene (call once the views are connected; once is enough)."""
        if self._analysis_runner.latest == 0:
            self._request(self.scene)

    def update(self, **changes) -> bool:
        """Change scene settings (from a control); False and ``error`` if the result is invalid.

        Changing the structure (cell, sizes, seed, init) drops a loaded state_dict; changing the
        signal, steps or input size drops a loaded inputs CSV.
        """
        if changes.get("cell") in CELL_NAMES and changes["cell"] not in KINDS:   # e.g. "rnn-relu"
            name = CELL_NAMES[changes["cell"]]
            changes = {**changes, "cell": name.kind, "nonlinearity": name.nonlinearity}
        current = self.scene
        if current.state_dict_path and "state_dict_path" not in changes and any(
                k in changes and changes[k] != getattr(current, k) for k in STRUCTURE_KEYS):
            changes["state_dict_path"] = None
        if current.inputs_path and "inputs_path" not in changes and any(
                k in changes and changes[k] != getattr(current, k) for k in SIGNAL_KEYS):
            changes["inputs_path"] = changes["inputs_columns"] = changes["inputs_time"] = None
        try:
            candidate = current.replace(**changes)
            candidate.validate()
        except (GradvizError, TypeError) as exc:
            self._refuse(str(exc))
            return False
        if candidate == current:
            return True
        self._request(candidate)
        return True

    def set_scene(self, scene: Scene, step: int | None = None, base: RecurrentNet | None = None,
                  raw_inputs: np.ndarray | None = None) -> bool:
        """Show another scene (a preset, a session). ``base``/``raw_inputs`` (CSV values before the
        amplitude) replace reading ``state_dict_path`` / ``inputs_path`` from disk."""
        try:
            scene.validate()
        except GradvizError as exc:
            self._refuse(str(exc))
            return False
        if base is not None:
            self._bases[self._base_key(scene)] = base
        if raw_inputs is not None and scene.inputs_path:
            self._csv[self._csv_key(scene)] = np.asarray(raw_inputs, dtype=np.float64)
        if step is not None:
            self.step, self.follow_end = max(0, int(step)), False
        self._request(scene)
        return True

    def load_state_dict(self, path: str) -> None:
        """Use a torch state_dict file's weights (sizes from the file; sliders reset)."""
        self._request(self.scene.replace(state_dict_path=str(path), wr_scale=None,
                                         forget_bias=None, update_bias=None, forget_clamp=None))

    def load_inputs_csv(self, path: str, columns: str | None = None, time: str | None = None) -> None:
        """Drive the cell with a CSV of inputs (T rows × input_size columns; it decides T);
        ``columns``/``time`` choose its input columns and time axis (see core.inputs)."""
        self._request(self.scene.replace(inputs_path=str(path), inputs_columns=columns or None,
                                         inputs_time=time or None))

    def set_compare(self, enabled: bool) -> None:
        """Compare mode: RNN, LSTM and GRU on the current input and seed (computed off-thread)."""
        enabled = bool(enabled)
        if enabled == self.compare:
            return
        self.compare = enabled
        self.compare_results = None
        if enabled and self.shown_scene is not None:   # else it follows the first analysis
            self._request_compare(self.shown_scene)
        self.compare_changed.emit(enabled)

    # ------------------------------------------------------------------ the cursor

    @property
    def steps(self) -> int:
        return self.analysis.steps if self.analysis is not None else self.scene.steps

    def set_step(self, step: int) -> None:
        """Move the cursor to step t (0..T); cheap: views get the cached or pending row."""
        step = max(0, min(int(step), self.steps))
        self.follow_end = step == self.steps
        if step == self.step:
            return
        self.step = step
        self.step_changed.emit(step)
        self._ask_row(step)

    def row(self, step: int | None = None) -> RowNorms | None:
        """The exact row of ``step`` (default: the cursor) if already computed."""
        return self._rows.get(self.step if step is None else step)

    def base_net(self):
        """The weights before the sliders of the scene on screen (for saving a session)."""
        return self._bases.get(self._base_key(self.shown_scene)) if self.shown_scene else None

    def raw_inputs(self):
        """The CSV values (before the amplitude) of the scene on screen, or None."""
        s = self.shown_scene
        return self._csv.get(self._csv_key(s)) if s is not None and s.inputs_path else None

    def numbers(self) -> StepNumbers | None:
        if self.analysis is None:
            return None
        return step_numbers(self.analysis, self.step, self.row())

    def wait(self, msecs: int = 10_000) -> None:
        """Block until the workers are idle (tests)."""
        for runner in self._runners:
            runner.discard_pending()
        self._blocked = True         # nothing is drawn meanwhile: the worker does not wait
        try:
            for runner in self._runners:
                runner.wait(msecs)
        finally:
            self._blocked = False

    def shutdown(self, msecs: int = 1000) -> None:
        """Stop every worker: running work ends at its next check (closing the window)."""
        for runner in self._runners:
            runner.shutdown(msecs)

    # ------------------------------------------------------------------ worker side

    @staticmethod
    def _base_key(scene: Scene) -> tuple:
        if scene.state_dict_path:
            return ("file", scene.state_dict_path)
        return ("init",) + tuple(getattr(scene, k) for k in STRUCTURE_KEYS) + (scene.nonlinearity,)

    @staticmethod
    def _csv_key(scene: Scene) -> tuple:
        return (scene.inputs_path, scene.input_size, scene.inputs_columns, scene.inputs_time)

    def _compute(self, scene: Scene, step: int, follow_end: bool, bases: dict, csv: dict):
        """The worker's pipeline for one scene, newest wins between its stages (a generator):

        1. ("analysis", _Result): the run, its one-step Jacobians, the theory and the cursor
           row (Frobenius; 2-norms too when cheap) — what every view but the map needs;
        2. ("map", JacobianMap): a coarse map exact at every s-th step, fast;
        3. ("map", JacobianMap): the full map (or the finest that fits this machine); with a
           cell state its ∂h_t/∂h_i part first (what the map shows), ∂c_t/∂c_i after 4;
        4. ("row", RowNorms): the cursor row's 2-norms, when they were not cheap.

        A row too large for the first stage (a trained model's) comes before the maps instead,
        its Frobenius norms in parts (there nothing else shows how gradients flow), its
        2-norms after the h map, whole. A drag's next scene starts
        once the window has painted the last first stage (or DRAW_WAIT_SECONDS).
        """
        # the scene before first painted: its drawing and this run would share the GIL, and
        # both took 1.3-1.6x longer side by side (the views' redraw 42-47 ms instead of 28)
        painting = self._painting
        if painting is not None:
            self._wait_drawn(painting)
            if self._analysis_runner.should_stop():
                yield None    # a newer scene waits: it runs instead (and this hands on nothing)
                return
        try:
            r = resolve(scene, base=bases.get(self._base_key(scene)),
                        raw_inputs=csv.get(self._csv_key(scene)) if scene.inputs_path else None)
            trace = simulate(r.scene, base=r.base, inputs=r.inputs)
            analysis = analyse(trace, r.scene.layer, r.scene.direction, exact=False, stride=None)
            t = analysis.steps if follow_end else min(step, analysis.steps)
            cost = row_cost(analysis.jacobians.shape[1], t)
            # Frobenius norms in float32 like the map, unless the exact 2-norms are cheap too
            n, hs = analysis.jacobians.shape[1], analysis.h_size
            svds = t * (svd_flops(hs) + (svd_flops(n - hs) if n > hs else 0.0))
            row = (analysis.row(t, exact=cost + svds <= QUICK_EXACT_ROW, dtype=np.float32)
                   if cost <= QUICK_ROW else None)
            analysis.theory_from_start()    # cached here, off the GUI thread, for the views
        except BaseException:
            # a refused scene paints nothing: the next does not wait for a first stage whose
            # result its failure may have dropped from the window's poll
            self._painting = None
            raise
        result = _Result(r.scene, analysis, r.base, r.raw_inputs, t, row)
        self._painting = result.drawn
        yield "analysis", result
        # the one-step Jacobians once the window has drawn (computing them beside the drawing
        # slowed it: a piece at a time holds the GIL now and then); a view that reads one
        # meanwhile (the Jacobian at step t) gets its piece only
        self._wait_drawn(result.drawn)
        if self._analysis_runner.should_stop():
            yield None    # a newer scene waits: nothing more of this one is worth computing
            return
        stop = self._analysis_runner.should_stop   # a newer scene: leave between blocks

        def exact_row():
            # the 2-norms whole: the row's Frobenius norms are drawn whole already (a part would
            # replace what the view shows of the farther lags by nothing)
            steps = analysis.row_steps(t, should_stop=stop, every=None)
            yield "row", (yield from _row_parts(steps, lambda row: ("row", row)))

        try:
            analysis.jacobians.load(should_stop=stop)
            row_done = row is not None and row.h is not None
            if row is None:
                # its Frobenius norms first, in parts on both cores (float32, by the step
                # factors: a trained LSTM's at H = 512, T = 1000 in ~6 s, its 2-norms ~50 s)
                row = yield from _quick_row_parts(analysis, t, stop, lambda row: ("row", row))
            for stage in self._maps(analysis, stop):
                if stage != "h done":
                    yield stage
                elif not row_done:
                    yield from exact_row()
                    row_done = True
            if not row_done:
                yield from exact_row()
        except Stopped:
            return

    @staticmethod
    def _maps(analysis: Analysis, stop):
        """(worker) The map stages of :meth:`_compute`: ("map", JacobianMap) items, None where a
        newer scene may take over, and "h done" between a cell state's h and c parts."""
        n, hs, T = analysis.jacobians.shape[1], analysis.h_size, analysis.steps
        fine = plan_map(n, hs, T, FINE_SECONDS)
        coarse = plan_map(n, hs, T, COARSE_SECONDS)
        factors = None
        if fine is None:
            # a trained model's: the finest map of a longer plan, its blocks by step factors
            factors = analysis.step_factors(np.float32, FINE_THREADS)
            fine = plan_map(n, hs, T, LARGE_MAP_SECONDS, factored=factors is not None)

        def with_theory(jac):   # the theory at the map's stride, here rather than when drawn
            analysis.theory_map(jac.stride)
            return jac

        shown = None        # the stride of the last map handed on
        for plan in (plan_map(n, hs, T, DRAG_MAP_SECONDS), coarse):
            if (plan is not None and (fine is None or plan.stride > fine.stride)
                    and (shown is None or plan.stride < shown)):
                yield "map", with_theory(coarse_map(analysis.jacobians, hs, plan.stride,
                                                    dtype=np.float32, should_stop=stop))
                shown = plan.stride
        if fine is None:
            return
        # the finest map on both cores: it starts once the slider rests (the coarse one and
        # the redraws it brings take ~100 ms), when the GUI thread has nothing to draw
        if fine.stride > 1:
            yield "map", with_theory(coarse_map(analysis.jacobians, hs, fine.stride,
                                                dtype=np.float32, should_stop=stop,
                                                threads=FINE_THREADS, factors=factors))
            return
        # a yield every ~5 ms of work: a newer scene or closing the window abandons the map
        # (every ~30 ms made a drag's next scene wait up to that long)
        every = max(1, min(16, int(2.5e8 // max(1.0, row_cost(n, T)))))
        steps = jacobian_map_steps(analysis.jacobians, hs, exact=False, dtype=np.float32,
                                   every=every, h_first=True, threads=FINE_THREADS)
        while True:
            try:
                value = next(steps)
            except StopIteration as done:
                yield "map", with_theory(done.value)
                return
            if isinstance(value, JacobianMap):   # the h part, the c part still to come
                yield "map", with_theory(value)
                yield "h done"
            else:
                yield None   # a point where a newer scene takes over (nothing to hand on)

    def _wait_drawn(self, drawn: threading.Event) -> None:
        """(worker) Until the window has painted the first stage, a newer scene waits, the
        GUI thread is blocked in :meth:`wait`, or DRAW_WAIT_SECONDS have passed."""
        end = time.monotonic() + DRAW_WAIT_SECONDS
        while not drawn.wait(0.004):
            if self._blocked or self._analysis_runner.should_stop() or time.monotonic() > end:
                return

    def _request(self, scene: Scene) -> None:
        self.scene = scene
        self.scene_changed.emit(scene)
        self._analysis_runner.submit(self._compute, scene, self.step, self.follow_end,
                                     dict(self._bases), dict(self._csv))

    def _refuse(self, message: str) -> None:
        self.error.emit(message)
        self.scene_changed.emit(self.scene)   # controls snap back to the scene in force

    def _on_stage(self, generation: int, stage) -> None:
        """A stage of the pipeline arrived: shown unless something newer is on screen already."""
        name, value = stage
        if name == "analysis":
            if generation >= self._shown_generation:
                self._shown_generation = generation
                self._show(generation, value)
                # set after the paint: a 0 ms timer runs once the posted repaints are done
                QTimer.singleShot(0, value.drawn.set)
            else:
                value.drawn.set()
            return
        if generation != self._shown_generation or self.analysis is None:
            return   # a stage of a scene no longer on screen
        if name == "row":
            if value.complete:     # a partial row is drawn, never kept as the row of its step
                self._rows[value.t] = value
            if value.t == self.step:
                self.row_ready.emit(value.t, value)
        elif name == "map" and (self.analysis.jac is None
                                or value.stride <= self.analysis.jac.stride):
            self.analysis.jac = value   # the same analysis, a finer map (GUI thread only)
            self.map_ready.emit(self.analysis)

    def _show(self, generation: int, result: _Result) -> None:
        self._bases[self._base_key(result.scene)] = result.base
        if result.raw_inputs is not None:
            self._csv[self._csv_key(result.scene)] = result.raw_inputs
        newest = generation == self._analysis_runner.latest
        if newest and result.scene != self.scene:
            # sizes from a loaded file, T from a CSV: the controls show what is in force
            self.scene = result.scene
            self.scene_changed.emit(result.scene)
        if result.analysis is not self.analysis:
            # a row of the analysis leaving the screen (a trained model's 2-norms take ~50 s)
            # would hold a core beside the new scene's stages for nothing
            self._row_runner.cancel()
        self.shown_scene, self.analysis = result.scene, result.analysis
        self._rows = {result.step: result.row} if result.row is not None else {}
        self._pipeline_step = result.step     # the pipeline brings this step's row and 2-norms
        steps = result.analysis.steps
        self.step = steps if self.follow_end else min(self.step, steps)
        self.analysis_ready.emit(result.scene, result.analysis)
        self.step_changed.emit(self.step)
        if self.step in self._rows:
            self.row_ready.emit(self.step, self._rows[self.step])
        elif self.step != result.step:   # (the pipeline brings the row of result.step)
            self._ask_row(self.step)
        if newest and self.compare:
            self._request_compare(result.scene)

    def _on_analysis_failed(self, generation: int, message: str) -> None:
        if generation != self._analysis_runner.latest:
            return   # a newer request is on its way
        self._shown_generation = generation
        if self.shown_scene is not None:
            self.scene = self.shown_scene
        elif self.scene != Scene():
            self.error.emit(message)
            self._request(Scene())
            return
        self._refuse(message)

    def _ask_row(self, step: int) -> None:
        if self.analysis is None:
            return
        known = self._rows.get(step)
        if known is not None and (known.exact or (step == self._pipeline_step
                                                  and self._analysis_runner.busy)):
            return    # exact, or the pipeline brings its 2-norms
        n = self.analysis.jacobians.shape[1]
        if step * n ** 3 <= SYNC_ROW_COST and self.analysis.jacobians.eager:
            self._rows[step] = self.analysis.row(step)
            self.row_ready.emit(step, self._rows[step])
        else:
            # a step left while its 2-norms were computed has its Frobenius norms only: they
            # stay drawn, and the job computes the 2-norms (whole) again
            self._row_runner.submit(_row_job, self.analysis, step, self._row_runner.should_stop,
                                    known is not None)

    def _on_row(self, generation: int, value) -> None:
        if value is None:
            return          # a row job the cursor left (stopped: nothing to show)
        analysis, step, row = value
        if analysis is not self.analysis:
            return
        if row.complete:
            self._rows[step] = row
        if step == self.step:
            self.row_ready.emit(step, row)

    def _request_compare(self, scene: Scene) -> None:
        self._compare_runner.submit(_compare_job, scene, dict(self._csv), self.step)

    def _on_compare(self, generation: int, results: dict) -> None:
        if not self.compare or generation != self._compare_runner.latest:
            return
        self.compare_results = results
        self.compare_ready.emit(results, self.step)

    def _on_side_failed(self, generation: int, message: str) -> None:
        self.error.emit(message)

    def _on_busy(self, _busy: bool) -> None:
        self.busy.emit(self.is_busy)


def _row_parts(steps, wrap):
    """Yield ``wrap(part)`` for each partial row of the generator ``steps`` (see
    Analysis.row_steps); return the complete row."""
    while True:
        try:
            yield wrap(next(steps))
        except StopIteration as done:
            return done.value


def _quick_row_parts(analysis: Analysis, t: int, should_stop, wrap):
    """(worker) Yield ``wrap(part)`` for the Frobenius row t in parts (float32, the h and c
    rows on both cores), then ``wrap(the complete row)``, and return the complete row: what a
    row too large for the first stage shows before its 2-norms."""
    steps = analysis.row_steps(t, exact=False, should_stop=should_stop,
                               every=PARTIAL_ROW_SECONDS, dtype=np.float32, threads=FINE_THREADS)
    row = yield from _row_parts(steps, wrap)
    yield wrap(row)
    return row


def _row_job(analysis: Analysis, step: int, should_stop, have_frobenius: bool = False):
    """The row of a step the cursor moved to: in parts when it is large (a generator); when
    it does not come at once, its Frobenius norms first (in parts), then its 2-norms whole;
    only the 2-norms (whole) when its Frobenius norms are drawn already."""
    def wrap(row):
        return analysis, step, row

    try:
        if have_frobenius:
            return wrap(analysis.row(step, should_stop=should_stop))
        if row_cost(analysis.jacobians.shape[1], step) > QUICK_ROW:
            yield from _quick_row_parts(analysis, step, should_stop, wrap)
            return wrap(analysis.row(step, should_stop=should_stop))
        steps = analysis.row_steps(step, should_stop=should_stop, every=PARTIAL_ROW_SECONDS)
        return wrap((yield from _row_parts(steps, wrap)))
    except Stopped:
        return None      # the cursor moved on: a newer row job runs instead


def _compare_job(scene: Scene, csv: dict, step: int):
    """RNN, LSTM and GRU on the same input and seed: first each run with its row at ``step``
    (exact), then each with its map (Frobenius, float32, as fine as fits), newest wins."""
    results: dict[str, Analysis] = {}
    for cell in COMPARE_CELLS:
        s = compare_scene(scene, cell)   # keyed by cell name: rnn (or rnn-relu, ...), lstm, gru
        r = resolve(s, raw_inputs=csv.get(Controller._csv_key(s)) if s.inputs_path else None)
        trace = simulate(r.scene, base=r.base, inputs=r.inputs)
        a = analyse(trace, exact=False, stride=None)
        a.rows = {min(step, a.steps): a.row(min(step, a.steps))}
        results[s.cell_name] = a
    yield dict(results)
    for name, a in list(results.items()):
        fine = plan_map(a.jacobians.shape[1], a.h_size, a.steps, FINE_SECONDS / 3)
        if fine is not None:
            results[name] = a.with_map(coarse_map(a.jacobians, a.h_size, fine.stride,
                                                  dtype=np.float32))
            yield dict(results)


_HTML = (("σ_max(W_hh)", "σ<sub>max</sub>(W<sub>hh</sub>)"), ("φ′(a_t)", "φ′(a<sub>t</sub>)"),
         ("·σ_max", "·σ<sub>max</sub>"), ("‖∂h_t/∂h_0‖₂", "‖∂h<sub>t</sub>/∂h<sub>0</sub>‖<sub>2</sub>"),
         ("‖∂h_t/∂h_0‖_F", "‖∂h<sub>t</sub>/∂h<sub>0</sub>‖<sub>F</sub>"), ("log10", "log<sub>10</sub>"),
         ("f_t", "f<sub>t</sub>"), ("z_t", "z<sub>t</sub>"))


def format_numbers_html(n: StepNumbers) -> str:
    """The status line as rich text (subscripts), the numbers in bold."""
    parts = []
    for part in format_numbers(n).split("    "):
        for plain, rich in _HTML:
            part = part.replace(plain, rich)
        if " = " in part:
            name, value = part.rsplit(" = ", 1)
            part = f"{name} = <b>{value}</b>"
        parts.append(part)
    return "&nbsp;&nbsp;&nbsp;&nbsp;".join(parts)


def format_numbers(n: StepNumbers) -> str:
    """The status line: σ_max(W_hh), this step's factor, log10‖∂h_t/∂h_0‖ (and mean f_t)."""
    parts = [f"t = {n.step}/{n.steps}", f"σ_max(W_hh) = {n.sigma_max:.3g}"]
    if n.factor_name and not math.isnan(n.factor):
        parts.append(f"{n.factor_name} = {n.factor:.3g}")
    norm = "‖∂h_t/∂h_0‖₂" if n.norm_exact else "‖∂h_t/∂h_0‖_F"
    if math.isnan(n.log10_norm):
        parts.append(_("{norm}: computing…").format(norm=norm))
    elif n.log10_norm <= LOG10_ZERO:
        parts.append(f"{norm} = 0")
    else:
        parts.append(f"log10 {norm} = {n.log10_norm:.2f}")
    if n.overflow_step:
        parts.append(_("state overflowed at step {step}: run stops there").format(step=n.overflow_step))
    return "    ".join(parts)
