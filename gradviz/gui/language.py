"""The window's language: View ▸ Language, Qt's own translations, and a CJK font.

:func:`apply_language` sets gradviz's catalog (``core.i18n``), installs the QTranslator for
Qt's own texts (qtbase_zh_CN.qm from PyQt6's TranslationsPath: file dialogs, Save / Discard /
Cancel) and picks a font that has the language's glyphs. :func:`switch_language` rebuilds the
open window in the new language: every widget is built again by the same code that built it
first (so no text is forgotten), on a session of what was on screen — scene, loaded weights
and inputs, step, compare mode, dock layout, geometry, presentation mode, the session's file,
preset and unsaved state, the Undo / Redo history of scenes, and the training lab's setup and
result. The choice is remembered.
"""
from __future__ import annotations

from PyQt6.QtCore import QLibraryInfo, QLocale, QTranslator
from PyQt6.QtGui import QAction, QActionGroup, QFont, QFontDatabase
from PyQt6.QtWidgets import QApplication

from ..core import i18n
from ..core.i18n import _

SETTINGS_KEY = "view/language"
#: CJK fonts in order of preference (fonts-noto-cjk, then fonts-wqy-microhei / zenhei)
CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Micro Hei",
                "WenQuanYi Zen Hei", "Droid Sans Fallback", "Microsoft YaHei", "PingFang SC")
LATIN_FAMILIES = ("DejaVu Sans", "Noto Sans", "Liberation Sans", "Arial")

_translators: list[QTranslator] = []
_current: dict = {}


def set_current_window(window) -> None:
    """The window on screen (a language switch replaces it): the one run_app disposes of,
    and the one an installed exception hook reports to."""
    _current["window"] = window
    hook = _current.get("on_replace")
    if hook is not None:
        hook(window)


def current_window():
    return _current.get("window")


def forget_current_window() -> None:
    """Let go of the window on screen (after it is deleted, before the interpreter exits): this
    module's reference would otherwise keep its Python objects, and the parentless menus that
    pyqtgraph gives every plot, alive until PyQt's exit clean-up, which can crash on them."""
    _current.pop("window", None)


def on_window_replaced(callback) -> None:
    _current["on_replace"] = callback


def remembered_language(settings) -> str | None:
    value = settings.store.value(SETTINGS_KEY, None) if settings is not None else None
    return i18n.normalize(str(value)) if value else None


def remember_language(settings, lang: str) -> None:
    settings.store.setValue(SETTINGS_KEY, lang)
    settings.sync()


def cjk_family() -> str | None:
    """The first installed CJK family of :data:`CJK_FAMILIES` (None: none installed)."""
    installed = set(QFontDatabase.families())
    return next((f for f in CJK_FAMILIES if f in installed), None)


def font_families() -> list[str]:
    """The Chinese UI's font families: a Latin face for formulas and digits, then the CJK
    face chosen explicitly, so every Chinese character has glyphs (no boxes). English keeps
    the application's own font (fontconfig still falls back to a CJK face for a Chinese file
    name or CSV header)."""
    installed = set(QFontDatabase.families())
    latin = [f for f in LATIN_FAMILIES if f in installed][:1]
    cjk = [f for f in CJK_FAMILIES if f in installed][:2]
    return latin + cjk


def qt_translations_dir() -> str:
    return QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)


def apply_language(lang: str | None) -> str:
    """gradviz's texts, Qt's own texts and the application font in ``lang``; returns it."""
    lang = i18n.set_language(lang)
    app = QApplication.instance()
    for translator in _translators:
        if app is not None:
            app.removeTranslator(translator)
    _translators.clear()
    QLocale.setDefault(QLocale("zh_CN" if lang == "zh_CN" else "en_US"))
    if app is not None:
        if lang != "en":
            for name in ("qtbase", "qt"):
                translator = QTranslator(app)
                if translator.load(f"{name}_{lang}", qt_translations_dir()):
                    app.installTranslator(translator)
                    _translators.append(translator)
                    break
        font = QFont(app.font())
        if "families" not in _current:
            _current["families"] = font.families()   # the application's own, for English
        families = font_families() if lang == "zh_CN" else _current["families"]
        if families:
            font.setFamilies(families)
            app.setFont(font)
    return lang


def qt_translation_loaded() -> bool:
    return bool(_translators)


def install_language_menu(window) -> None:
    """View ▸ Language: one checkable action per language, switching the window at once."""
    menu = window.menus["view"].addMenu(_("&Language"))
    window.menus["language"] = menu
    group = QActionGroup(window)
    window.language_actions = {}
    for lang in i18n.LANGUAGES:
        action = QAction(i18n.LANGUAGE_NAMES[lang], window)
        action.setCheckable(True)
        action.setChecked(lang == i18n.language())
        action.setData(lang)
        action.triggered.connect(lambda _on=False, lang=lang: switch_language(window, lang))
        group.addAction(action)
        menu.addAction(action)
        window.language_actions[lang] = action


def _carry_history(old, new) -> None:
    """The new window's Undo / Redo history is the old one's: the same scenes (with their
    compare flags) in the same order, and the scene on screen as the current one. The commands'
    texts are the new window's own (Edit ▸ Undo scene change, in the new language); the
    weights and CSV inputs the old controller had loaded come along, so undoing to a scene with
    a file that was loaded before does not read it again (or fail if it has gone)."""
    before, after = getattr(old, "history", None), getattr(new, "history", None)
    if before is None or after is None:
        return
    for cache in ("_bases", "_csv"):
        mine, theirs = getattr(new.controller, cache, None), getattr(old.controller, cache, None)
        if isinstance(mine, dict) and isinstance(theirs, dict):
            for key, value in theirs.items():
                mine.setdefault(key, value)
    after.undo_stack[:] = before.undo_stack
    after.redo_stack[:] = before.redo_stack
    after.current = before.current
    target = getattr(before, "_target", None)
    if target is not None:   # an Undo / Redo on its way: the new window goes on with it
        after._target = target
        new.controller.set_scene(target[0])
        new.controller.set_compare(target[1])
    after.changed.emit()   # Undo / Redo enabled as they were


def switch_language(window, lang: str):
    """Rebuild ``window`` in ``lang`` (see the module docstring); returns the window now shown
    (``window`` itself when ``lang`` is already the language)."""
    lang = i18n.normalize(lang) or "en"
    if lang == i18n.language() and getattr(window, "language", None) == lang:
        return window
    create_window = window.create_window   # gui.app's, set on every window it builds

    kit = window.lecture
    sessions = kit.sessions
    session = sessions.current_session()
    dirty, path, preset = sessions.is_dirty(), sessions.path, sessions.preset
    geometry, state = window.saveGeometry(), window.saveState()
    presentation, controls_were_visible = window.presentation, window._controls_were_visible
    lab_state = None
    lab = getattr(window, "training_lab_if_built", lambda: None)()
    lab_visible = False
    if lab is not None:
        lab_state = lab.lab.session_state()
        lab_visible = lab.isVisible()
    was_visible = window.isVisible()

    remember_language(window.settings, lang)
    apply_language(lang)
    if presentation:
        window.set_presentation(False)
    new = create_window(session=session, settings=window.settings,
                        autosave=sessions.autosave_enabled, language=lang)
    new_sessions = new.lecture.sessions
    new_sessions.crashed_session = None            # this run did not crash
    new_sessions.path, new_sessions.preset = path, preset
    new_sessions._forced_dirty = dirty
    new_sessions._update_title()
    new.restoreGeometry(geometry)
    new.restoreState(state)
    new._controls_were_visible = controls_were_visible
    _carry_history(window, new)
    if lab_state is not None:
        new_lab = new.training_lab()
        new_lab.lab.apply_session_state(lab_state, source=_("language switch"))
        if lab_visible:
            new_lab.show()

    # the old window goes without asking (its scene lives on in the new one) and without
    # ending the autosave and crash marker that the new window now keeps
    window.close_guards[:] = [g for g in window.close_guards if g != sessions.close_guard]
    try:
        window.closed.disconnect(sessions._clean_quit)
    except TypeError:
        pass
    sessions._autosave_timer.stop()
    if was_visible:
        new.show()
    new.controller.start()
    if lab is not None:
        lab.close()
        lab.deleteLater()
    window.close()
    window.deleteLater()
    if presentation:
        new.set_presentation(True)
    set_current_window(new)
    return new
