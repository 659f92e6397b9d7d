"""Sessions in the window: save / open (Ctrl+S / Ctrl+O), recent files, unsaved changes, autosave.

A session file (:mod:`gradviz.core.session`) holds the scene on screen, the selected step, the
compare flag, the dock layout, when the weights or inputs came from files their numbers, and
the training lab's setup and last run with its trained weights (when the lab was opened).
"Unsaved" means the scene, step, compare mode or the lab's run differ from what was last saved
or opened; quitting then asks Save / Discard / Cancel. Opening a session asks nothing: the
scene it replaces is one Edit ▸ Undo (Ctrl+Z) away, as after a preset. Every change is
autosaved after a pause; a marker file written at start and removed at a clean quit tells the
next start that the last run crashed, and it offers the autosave back.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from PyQt6.QtCore import QObject, QTimer, pyqtSignal
from PyQt6.QtGui import QAction, QKeySequence
from PyQt6.QtWidgets import QMenu, QMessageBox

from ..core import session as core_session
from ..core.errors import GradvizError
from ..core.i18n import N_, _
from ..core.session import OutsideFileError, Session, load_session, save_session
from ..core.session import session_base_net
from .file_dialogs import ask_open_path, ask_save_path, show_problem, write_or_ask
from .actions import make_action
from .worker import error_message

RECENT_KEY = "sessions/recent"
RECENT_MAX = 8
AUTOSAVE_DELAY_MS = 2000
MARKER_NAME = "running.marker"
FILTER = N_("gradviz session (*.gradviz.json *.json);;All files (*)")


# ---------------------------------------------------------------- recent list (QSettings)

def recent_sessions(settings) -> list[str]:
    text = settings.store.value(RECENT_KEY, "")
    try:
        items = json.loads(str(text)) if text else []
    except ValueError:
        return []
    return [str(p) for p in items if isinstance(p, str)][:RECENT_MAX]


def set_recent_sessions(settings, paths: list[str]) -> None:
    settings.store.setValue(RECENT_KEY, json.dumps(list(paths)[:RECENT_MAX]))


def add_recent_session(settings, path) -> list[str]:
    path = str(Path(path).resolve())
    items = [path] + [p for p in recent_sessions(settings) if p != path]
    set_recent_sessions(settings, items)
    return items[:RECENT_MAX]


# ---------------------------------------------------------------- crash marker

def marker_path() -> Path:
    return core_session.data_dir() / MARKER_NAME


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def previous_run_crashed() -> bool:
    """A marker is left by a run that did not quit cleanly (not by another running gradviz)."""
    path = marker_path()
    if not path.is_file():
        return False
    try:
        pid = int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return True
    return pid == os.getpid() or not _pid_alive(pid)


def write_marker() -> None:
    path = marker_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{os.getpid()}\n")
    except OSError:
        pass   # no autosave recovery then, but the window works


def remove_marker() -> None:
    try:
        path = marker_path()
        if path.is_file() and path.read_text().split()[:1] == [str(os.getpid())]:
            path.unlink()
    except (OSError, IndexError):
        pass


class _Same:
    """Compares by identity (the lab's run in the unsaved-changes state)."""

    __slots__ = ("obj",)

    def __init__(self, obj):
        self.obj = obj

    def __eq__(self, other) -> bool:
        return isinstance(other, _Same) and other.obj is self.obj

    def __hash__(self) -> int:
        return id(self.obj)


def _built_lab(window):
    """The training lab if its window was built (and still exists), else None."""
    getter = getattr(window, "training_lab_if_built", None)
    holder = getter() if getter is not None else None
    if holder is None:
        return None
    try:
        return holder.lab
    except RuntimeError:    # its window is already gone
        return None


def _new_history_step(window) -> None:
    """What opens next is one Undo step of its own (Edit ▸ Undo, gui/history.py)."""
    history = getattr(window, "history", None)
    if history is not None:
        history.new_step()


def restore_training(session, source: str):
    """(setup, run) of a session's training part, rebuilt by the core (torch loaded), or
    None; raises GradvizError (one line naming ``source``) before anything changes."""
    if session.training is None:
        return None
    from ..core.training import restore_lab_state
    return restore_lab_state(session.training, source=f"{source}: training")


def apply_session(window, session, training=None) -> None:
    """Show a loaded session: its scene on its embedded data, step, compare mode, layout, and
    (``training``: what :func:`restore_training` gave) the training lab's setup and run."""
    if training is not None and getattr(window, "training_lab", None) is not None:
        window.training_lab().lab.show_restored(*training)
    if session.view_layout:
        window.restore_layout_state(session.view_layout)
    if session.step is None:
        window.controller.follow_end = True
    window.controller.set_scene(session.scene, step=session.step,
                                base=session_base_net(session), raw_inputs=session.inputs)
    window.controller.set_compare(session.compare)


# ---------------------------------------------------------------- the manager

class SessionManager(QObject):
    """File ▸ Save / Save as / Open / Open recent, the unsaved-changes guard and the autosave."""

    path_changed = pyqtSignal(object)   # Path | None

    def __init__(self, window, autosave: bool = True):
        super().__init__(window)
        self.window = window
        self.controller = window.controller
        self.path: Path | None = None
        self.preset: str | None = None
        self.baseline = None             # (scene, step, compare) when last saved / opened
        self._baseline_pending = True    # taken from the first analysis that arrives
        self._forced_dirty = False       # a restored autosave is unsaved until saved
        self.autosave_enabled = autosave
        self.autosave_error: str | None = None
        self.crashed_session: Session | None = None
        self.crash_problem: str | None = None
        self._autosaved_state = None
        self._autosave_timer = QTimer(self)
        self._autosave_timer.setSingleShot(True)
        self._autosave_timer.setInterval(AUTOSAVE_DELAY_MS)
        self._autosave_timer.timeout.connect(self.autosave_now)
        self._build_actions()
        c = self.controller
        c.analysis_ready.connect(self._on_analysis)
        for signal in (c.scene_changed, c.step_changed, c.compare_changed):
            signal.connect(self._changed)
        window.close_guards.append(self.close_guard)
        window.closed.connect(self._clean_quit)
        hooks = window.__dict__.setdefault("training_lab_hooks", [])
        hooks.append(self._watch_lab)
        if _built_lab(window) is not None:
            self._watch_lab(_built_lab(window))
        if autosave:
            self._check_crash()
            write_marker()
        self._update_title()

    # -- actions

    def _act(self, text, slot, shortcut=None, tip=None) -> QAction:
        return make_action(self.window, text, lambda _=False: slot(), shortcut, tip)

    def _build_actions(self) -> None:
        w = self.window
        self.open_action = self._act(_("&Open session…"), self.ask_open, QKeySequence.StandardKey.Open,
                                     _("Open a saved scene with its step, layout and data"))
        self.save_action = self._act(_("&Save session"), self.save, QKeySequence.StandardKey.Save,
                                     _("Save scene, step, layout, compare mode and loaded data"))
        self.save_as_action = self._act(_("Save session &as…"), self.ask_save_as,
                                        QKeySequence.StandardKey.SaveAs)
        self.recent_menu = QMenu(_("Open &recent"), w)
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        for action in (self.open_action, self.save_action, self.save_as_action):
            w.add_file_action(action, "session")
        w.add_file_action(self.recent_menu.menuAction(), "recent")
        self._fill_recent()

    def _fill_recent(self) -> None:
        menu = self.recent_menu
        menu.clear()
        items = recent_sessions(self.window.settings)
        for n, path in enumerate(items, start=1):
            a = menu.addAction(f"&{n} {Path(path).name}")
            a.setToolTip(path)
            a.setStatusTip(path)
            a.triggered.connect(lambda _=False, p=path: self.open_recent(p))
        if items:
            menu.addSeparator()
            menu.addAction(_("&Clear list"), lambda: (set_recent_sessions(self.window.settings, []),
                                                   self._fill_recent()))
        else:
            menu.addAction(_("(no recent sessions)")).setEnabled(False)

    # -- state and dirtiness

    def _watch_lab(self, lab) -> None:
        lab.run_finished.connect(self._changed)

    def state(self):
        c = self.controller
        lab = _built_lab(self.window)
        run = lab.result if lab is not None else None
        return (c.scene, c.step, c.compare, _Same(run) if run is not None else None)

    def is_dirty(self) -> bool:
        if self._forced_dirty:
            return True
        if self._baseline_pending:
            return False   # a file or preset is still being computed: nothing edited yet
        return self.baseline is not None and self.state() != self.baseline

    def mark_clean(self, pending: bool = False) -> None:
        """What is on screen counts as saved; ``pending``: as soon as the computation asked
        for has arrived (after opening a file, the step may follow the end of the run)."""
        self._forced_dirty = False
        if pending or self.controller.scene != self.controller.shown_scene:
            self._baseline_pending = True
        else:
            self.baseline = self.state()
            self._baseline_pending = False
        self._update_title()

    def _on_analysis(self, _scene, _analysis) -> None:
        if self._baseline_pending and self.controller.scene == self.controller.shown_scene:
            self._baseline_pending = False
            self.baseline = self.state()
        self._update_title()

    def _changed(self, *_):
        self._update_title()
        if self.autosave_enabled and self.baseline is not None:
            self._autosave_timer.start()

    def _update_title(self) -> None:
        name = self.path.name if self.path is not None else (self.preset or _("untitled"))
        self.window.setWindowTitle(_("{name}[*] — gradviz").format(name=name))
        self.window.setWindowModified(self.is_dirty())

    # -- building a session from the window

    def current_session(self) -> Session:
        """The scene on screen with its step, compare flag, layout and loaded data."""
        c = self.controller
        scene = c.shown_scene or c.scene
        base = c.base_net()
        weights = base.params if (scene.state_dict_path and base is not None) else None
        return Session(scene=scene, step=int(c.step), compare=bool(c.compare), preset=self.preset,
                       view_layout=self.window.layout_state(), weights=weights,
                       inputs=c.raw_inputs(), training=self.lab_state())

    def lab_state(self) -> dict | None:
        """The training lab's setup and last run for the session, or None when the lab was
        never opened or holds only its untouched default setup."""
        lab = _built_lab(self.window)
        if lab is None:
            return None
        state = lab.session_state()
        if state["result"] is None:
            from ..core.training import default_config
            if state["config"] in (None, default_config("airline", "lstm").to_dict()):
                return None
        return state

    # -- save

    def save_to(self, path, overwrite: bool = False) -> Path:
        """Write the session to ``path`` (raises TargetExistsError / GradvizError)."""
        path = Path(path)
        save_session(path, self.current_session(), overwrite=overwrite)
        self.path = path
        add_recent_session(self.window.settings, path)
        self._fill_recent()
        self.mark_clean()
        self.path_changed.emit(path)
        self.window.statusBar().showMessage(_("saved {path}").format(path=path), 5000)
        return path

    def save(self) -> bool:
        if self.path is None:
            return self.ask_save_as()
        return write_or_ask(self.window, lambda _ow: self.save_to(self.path, overwrite=True),
                            self.path) is not None

    def ask_save_as(self) -> bool:
        suggested = (self.path.name if self.path else
                     f"{self.preset or 'session'}{core_session.SUFFIX}")
        path = ask_save_path(self.window, _("Save session"), suggested, _(FILTER))
        if not path:
            return False
        if not path.endswith(".json"):
            path += core_session.SUFFIX
        return write_or_ask(self.window, lambda ow: self.save_to(path, overwrite=ow),
                            path) is not None

    # -- open

    def open_path(self, path) -> Session:
        """Open a session file; a malformed or foreign file raises and changes nothing.

        A session that would read a file outside its own folder asks first (declined: the
        :class:`~gradviz.core.session.OutsideFileError` is raised, nothing changes). The
        training lab's run is rebuilt before anything on screen changes."""
        try:
            session = load_session(path)
        except OutsideFileError as exc:
            if not ask_read_outside(self.window, exc):
                raise
            session = load_session(path, allow_outside=True)
        training = restore_training(session, Path(path).name)
        if self.autosave_enabled:
            self.autosave_now()   # what was on screen, before it is replaced
        self.apply(session, Path(path), training=training)
        add_recent_session(self.window.settings, path)
        self._fill_recent()
        return session

    def apply(self, session: Session, path: Path | None, dirty: bool = False,
              training=None) -> None:
        """Show ``session`` (``training``: its lab part already restored; else restored here,
        and a problem with it is reported while the scene still opens)."""
        if training is None and session.training is not None:
            try:
                training = restore_training(session, path.name if path else _("the autosave"))
            except GradvizError as exc:
                self.window.show_error(str(exc))
        _new_history_step(self.window)
        apply_session(self.window, session, training)
        self.path = path
        self.preset = session.preset
        self.mark_clean(pending=True)
        self._forced_dirty = dirty
        self.path_changed.emit(path)
        self._update_title()

    def open_preset(self, preset) -> None:
        """Show a preset (scene, step, compare mode) as a new unsaved document."""
        c = self.controller
        _new_history_step(self.window)
        if preset.step is None:
            c.follow_end = True
        c.set_scene(preset.scene, step=preset.step)
        c.set_compare(preset.compare)
        self.path = None
        self.preset = preset.name
        self.mark_clean(pending=True)
        self.path_changed.emit(None)

    def ask_open(self) -> bool:
        """File ▸ Open: no "save first?" — the scene replaced stays one Undo away."""
        path = ask_open_path(self.window, _("Open session"), _(FILTER))
        return bool(path) and self._open_reporting(path)

    def open_recent(self, path: str) -> bool:
        if not Path(path).is_file():
            set_recent_sessions(self.window.settings,
                                [p for p in recent_sessions(self.window.settings) if p != path])
            self._fill_recent()
            show_problem(self.window, _("{path} no longer exists").format(path=path),
                         _("It was removed from the list of recent sessions."))
            return False
        return self._open_reporting(path)

    def _open_reporting(self, path) -> bool:
        try:
            self.open_path(path)
        except GradvizError as exc:
            show_problem(self.window, str(exc), _("The scene on screen is unchanged."))
            return False
        except Exception as exc:   # a bug: still a message box, never only a traceback
            show_problem(self.window, error_message(exc), _("The scene on screen is unchanged."))
            return False
        return True

    # -- unsaved changes

    def ask_unsaved(self) -> QMessageBox.StandardButton:
        """Save / Discard / Cancel for the unsaved changes (thin: tests answer the box)."""
        box = QMessageBox(QMessageBox.Icon.Question, "gradviz",
                          _("Save the changes to {name}?").format(name=self.path.name) if self.path
                          else _("Save this scene as a session first?"),
                          QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                          | QMessageBox.StandardButton.Cancel, self.window)
        box.setInformativeText(_("The scene, step, compare mode or the training lab's run "
                                 "changed since it was last saved or opened."))
        box.setDefaultButton(QMessageBox.StandardButton.Save)
        self.question_box = box
        return QMessageBox.StandardButton(box.exec())

    def offer_to_save(self) -> bool:
        """True when it is fine to replace what is on screen (saved, discarded, or clean)."""
        if not self.is_dirty() or not self.window.isVisible():
            return True
        answer = self.ask_unsaved()
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    def close_guard(self) -> bool:
        return self.offer_to_save()

    # -- autosave and crash recovery

    def autosave_now(self) -> bool:
        """Write the autosave of what is on screen (skipped when nothing changed)."""
        self._autosave_timer.stop()
        if self.controller.shown_scene is None:
            return False
        state = self.state()
        if state == self._autosaved_state:
            return False
        try:
            core_session.write_autosave(self.current_session())
        except GradvizError as exc:
            if self.autosave_error != str(exc):
                self.window.show_error(_("autosave failed: {exc}").format(exc=exc))
            self.autosave_error = str(exc)
            return False
        self.autosave_error = None
        self._autosaved_state = state
        return True

    def _check_crash(self) -> None:
        if not previous_run_crashed():
            return
        try:
            self.crashed_session = core_session.read_autosave()
        except GradvizError as exc:
            self.crashed_session, self.crash_problem = None, str(exc)

    def restore_autosave(self) -> bool:
        """Bring back the autosave of a run that crashed (unsaved: quitting offers to save it)."""
        session, self.crashed_session = self.crashed_session, None
        if session is None:
            return False
        self.apply(session, None, dirty=True)
        return True

    def offer_restore(self) -> bool:
        """At start: 'gradviz did not quit cleanly. Restore the autosaved scene?'"""
        if self.crash_problem:
            self.window.show_error(_("the autosave of the last run could not be read: {crash_problem}")
                                   .format(crash_problem=self.crash_problem))
        if self.crashed_session is None:
            return False
        s = self.crashed_session.scene
        box = QMessageBox(QMessageBox.Icon.Question, "gradviz",
                          _("gradviz did not quit cleanly last time. Restore the autosaved scene?"),
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                          self.window)
        box.setInformativeText(f"{s.cell_name.upper()}, H = {s.hidden_size}, T = {s.steps}"
                               + (_(", step {step}").format(step=self.crashed_session.step)
                                  if self.crashed_session.step is not None else ""))
        box.setDefaultButton(QMessageBox.StandardButton.Yes)
        self.question_box = box
        if box.exec() == QMessageBox.StandardButton.Yes:
            return self.restore_autosave()
        self.crashed_session = None
        return False

    def _clean_quit(self) -> None:
        self._autosave_timer.stop()
        if not self.autosave_enabled:
            return
        try:
            core_session.clear_autosave()
        except GradvizError:
            pass
        remove_marker()


def ask_read_outside(parent, exc: OutsideFileError) -> bool:
    """'This session reads a file outside its folder. Read it?' — Yes / No (No is the default)."""
    box = QMessageBox(QMessageBox.Icon.Question, "gradviz",
                      _("{session} reads a file outside its folder. Read it?").format(
                          session=exc.session_path.name),
                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, parent)
    box.setInformativeText(str(exc.target))
    box.setDefaultButton(QMessageBox.StandardButton.No)
    return box.exec() == QMessageBox.StandardButton.Yes
