"""Start the window: ``run_app()`` (what ``gradviz`` and ``make run`` call).

The start path imports Qt, pyqtgraph, numpy and the core, never torch (the core imports it
only to read a state_dict), so a drawn window appears in well under 3 s.
"""
from __future__ import annotations

import os
import sys
import traceback

from ..core.scene import Scene


def _install_excepthook(window) -> None:
    """An unexpected exception in a slot becomes a message in the window, not an abort."""
    def hook(kind, value, tb):
        traceback.print_exception(kind, value, tb)
        try:
            window.show_error(f"internal error ({kind.__name__}: {value})")
        except Exception:  # noqa: BLE001 - the window itself may be gone
            pass
    sys.excepthook = hook


def create_window(scene: Scene | None = None, settings=None, session=None):
    """The controller and main window on ``scene`` (default: the last-used one, else Scene()).

    A ``session`` (core.session.Session) brings its scene, embedded weights and inputs, step,
    compare mode and dock layout. Nothing is computed until ``window.controller.start()``.
    """
    from .controller import Controller
    from .settings import Settings
    from .window import MainWindow

    settings = settings if settings is not None else Settings()
    if session is not None:
        scene = session.scene
    if scene is None:
        scene = settings.scene() or Scene()
    controller = Controller(scene)
    window = MainWindow(controller, settings)
    controller.setParent(window)
    if session is not None:
        apply_session(window, session)
    return window


def apply_session(window, session) -> None:
    """Show a loaded session: its scene on its embedded data, step, compare mode, layout."""
    from ..core.session import session_base_net

    if session.view_layout:
        window.restore_layout_state(session.view_layout)
    window.controller.set_scene(session.scene, step=session.step,
                                base=session_base_net(session), raw_inputs=session.inputs)
    window.controller.set_compare(session.compare)


def run_app(argv=None, scene: Scene | None = None, session=None) -> int:
    """Open the window (on ``scene`` or a loaded ``session``) and run until it closes."""
    argv = list(sys.argv if argv is None else argv)
    if sys.platform.startswith("linux") and not os.environ.get("DISPLAY") \
            and not os.environ.get("WAYLAND_DISPLAY") and not os.environ.get("QT_QPA_PLATFORM"):
        print("gradviz: no display found (set DISPLAY, or run under xvfb-run)", file=sys.stderr)
        return 2
    from PyQt6.QtWidgets import QApplication

    from .window import use_fusion_style

    app = QApplication.instance() or QApplication(argv[:1] if argv else ["gradviz"])
    app.setOrganizationName("gradviz")
    app.setApplicationName("gradviz")
    use_fusion_style(app)
    window = create_window(scene, session=session)
    _install_excepthook(window)
    window.show()
    window.controller.start()
    return app.exec()
