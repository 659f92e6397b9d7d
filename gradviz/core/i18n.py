"""Translations of every user-visible string: ``_()`` marks a message and returns it translated.

gettext catalogs live in ``gradviz/locale/<lang>/LC_MESSAGES/gradviz.po`` (compiled to ``.mo``
at install/build time). Mark a message where it is shown, never at import time, so that a
language switch reaches it: ``_("Load state_dict…")``, ``_("t = {t}").format(t=t)``. Module-level
tables mark their texts with ``N_()`` and translate them with ``_()`` when used. Formula
symbols (h_t, W_hh, σ_max, ∂h_t/∂h_i) stay as they are in every language.
"""
from __future__ import annotations

import gettext as _gettext
from pathlib import Path

DOMAIN = "gradviz"
LOCALE_DIR = Path(__file__).resolve().parents[1] / "locale"
LANGUAGES = ("en", "zh_CN")

_translation: _gettext.NullTranslations = _gettext.NullTranslations()
_language = "en"


def _(message: str) -> str:
    """``message`` in the current language (itself when no translation exists)."""
    return _translation.gettext(message)


def N_(message: str) -> str:
    """Mark ``message`` for extraction without translating it (tables built at import)."""
    return message


def ngettext(singular: str, plural: str, n: int) -> str:
    return _translation.ngettext(singular, plural, n)


def language() -> str:
    return _language


def set_language(lang: str | None) -> str:
    """Switch every later ``_()`` to ``lang`` (``en``, ``zh_CN``; None or unknown: English)."""
    global _translation, _language
    lang = lang if lang in LANGUAGES else "en"
    if lang == "en":
        _translation = _gettext.NullTranslations()
    else:
        _translation = _gettext.translation(DOMAIN, LOCALE_DIR, languages=[lang], fallback=True)
    _language = lang
    return lang
