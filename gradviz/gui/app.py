"""Start the window: ``run_app()`` (what ``gradviz`` and ``make run`` call).

The start path imports Qt, pyqtgraph, numpy and the core, never torch (the core imports it
only to read a state_dict), so a drawn window appears in well under 3 s.
"""
from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path

from ..core import i18n
from ..core.display import has_display
from ..core.i18n import _
from ..core.scene import Scene



def _install_excepthook(window) -> None:
    """An unexpected exception in a slot becomes a message in the window, not an abort."""
    import weakref
    shown_in = weakref.ref(window)    # the hook does not keep a closed window alive

    def hook(kind, value, tb):
        traceback.print_exception(kind, value, tb)
        try:
            shown_in().show_error(_("internal error ({kind}: {value})").format(
                kind=kind.__name__, value=value))
        except Exception:     # the window is gone (None) or cannot show it
            pass
    sys.excepthook = hook


def create_window(scene: Scene | None = None, settings=None, session=None, preset=None,
                  autosave: bool = True, language: str | None = None):
    """The controller and main window on ``scene`` (default: the last-used one, else Scene()).

    A ``session`` (core.session.Session, or a session file's path: then Save writes back to
    it) brings its scene, embedded weights and inputs, step,
    compare mode and dock layout; a ``preset`` (core.presets.Preset) its scene, step and
    compare mode. The lecture kit (export, sessions, presets; ``window.lecture``) is installed.
    Nothing is computed until ``window.controller.start()``. ``language`` (``en``, ``zh_CN``)
    switches gradviz's and Qt's texts first (default: the one in force).
    """
    from .controller import Controller
    from .settings import Settings
    from .window import MainWindow

    from .language import apply_language, install_language_menu

    settings = settings if settings is not None else Settings()
    if language is not None and (language != i18n.language() or language != "en"):
        apply_language(language)
    session_path = None
    if isinstance(session, (str, os.PathLike)):
        from ..core.session import load_session
        session_path, session = Path(session), load_session(session)
    if session is not None:
        scene = session.scene
    elif preset is not None:
        scene = preset.scene
    if scene is None:
        scene = settings.scene() or Scene()
    controller = Controller(scene)
    window = MainWindow(controller, settings)
    controller.setParent(window)
    from .code_view import install_code_view
    install_code_view(window)   # before the kit restores the remembered dock layout
    install_language_menu(window)
    window.language = i18n.language()
    window.create_window = create_window      # what View ▸ Language rebuilds the window with
    from .history import install_history
    install_history(window)
    from .lecture import install_lecture_kit
    from .phase_dock import install_phase
    from .session_actions import add_recent_session
    install_phase(window)   # before the kit restores the remembered dock layout
    kit = install_lecture_kit(window, autosave=autosave)
    from .training_lab import install_training_lab
    install_training_lab(window)
    if session is not None:
        kit.sessions.apply(session, session_path)
        if session_path is not None:
            add_recent_session(settings, session_path)
    elif preset is not None:
        kit.sessions.open_preset(preset)
    return window


def run_app(argv=None, scene: Scene | None = None, session=None, preset: str | None = None,
            lang: str | None = None) -> int:
    """Open the window (on ``scene``, a loaded ``session`` or the preset called ``preset``)
    and run until it closes. A bad preset name is a GradvizError before any window opens.
    The language: ``lang`` (--lang), else $GRADVIZ_LANG, else the one chosen last time in
    View ▸ Language, else the system locale's."""
    argv = list(sys.argv if argv is None else argv)
    if not has_display() and not os.environ.get("QT_QPA_PLATFORM"):
        print(_("gradviz: no display found (set DISPLAY, or run under xvfb-run)"), file=sys.stderr)
        return 2
    from PyQt6.QtWidgets import QApplication

    from .window import use_fusion_style

    chosen = None
    if preset is not None:
        from ..core.presets import load_preset
        chosen = load_preset(preset)

    app = QApplication.instance() or QApplication(argv[:1] if argv else ["gradviz"])
    app.setOrganizationName("gradviz")
    app.setApplicationName("gradviz")
    use_fusion_style(app)
    from .language import remembered_language
    from .settings import Settings
    settings = Settings()
    language = i18n.choose_language(lang, remembered_language(settings))
    window = create_window(scene, settings=settings, session=session, preset=chosen,
                           language=language)
    from .language import current_window, on_window_replaced, set_current_window
    set_current_window(window)
    _install_excepthook(window)
    from .quit_signals import install_quit_signals
    install_quit_signals(window)

    def follow(new_window) -> None:
        """After View ▸ Language rebuilt the window: errors and Ctrl+C go to the new one."""
        _install_excepthook(new_window)
        install_quit_signals(new_window)
    on_window_replaced(follow)
    window.show()
    window.controller.start()
    freeze_startup_objects()
    from PyQt6.QtCore import QTimer
    QTimer.singleShot(300, window.lecture.sessions.offer_restore)   # after a crash
    code = app.exec()
    _dispose(current_window() or window)
    del window
    release_deleted_objects()
    _exit_if_work_still_runs(code)
    return code


def freeze_startup_objects() -> None:
    """Leave the objects of start-up (modules, the window, its items) out of every later
    garbage collection: Python's full collection otherwise walks them all, a 50 ms pause of
    the GUI thread in the middle of a drag (measured here with gc.callbacks). What the window
    makes afterwards is collected as before."""
    import gc
    gc.collect()
    gc.freeze()


def _exit_if_work_still_runs(code: int) -> None:
    """A job inside one long numpy call (a λ₁, a row) cannot be stopped; the interpreter's
    teardown would run beside it and crash. Settings and sessions are written by now: leave
    at once instead (closing the window exits within a second, issue 9)."""
    import threading
    if any(t.is_alive() and t.name.startswith("gradviz-") for t in threading.enumerate()):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _dispose(window) -> None:
    """Delete the window's widgets while the QApplication still exists and drop this module's
    reference to it (run_app then calls :func:`release_deleted_objects`): PyQt's clean-up at
    interpreter exit deletes every parentless object still owned by Python, and can crash when
    deleting one frees its own Python object during that walk."""
    from PyQt6 import sip

    from .language import forget_current_window
    window.controller.shutdown(1000)
    if not sip.isdeleted(window):
        sip.delete(window)
    forget_current_window()


def release_deleted_objects() -> None:
    """Let go of the Python objects of deleted widgets while the QApplication exists: PyQt
    releases a deleted sender's Python slots (lambdas that hold the window) through posted
    events, and the event loop has ended, so the posted events are sent here, then the garbage
    collector runs; a round can post more (measured: two rounds free a closed window)."""
    import gc

    from PyQt6.QtCore import QCoreApplication
    gc.unfreeze()                # the window's objects of start-up (freeze_startup_objects)
    for _round in range(3):
        QCoreApplication.sendPostedEvents()
        gc.collect()
