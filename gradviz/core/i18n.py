"""Translations of every user-visible string: ``_()`` marks a message and returns it translated.

gettext catalogs live in ``gradviz/locale/<lang>/LC_MESSAGES/gradviz.po`` (compiled to ``.mo``
at install/build time). Mark a message where it is shown, never at import time, so that a
language switch reaches it: ``_("Load state_dict…")``, ``_("t = {t}").format(t=t)``. Module-level
tables mark their texts with ``N_()`` and translate them with ``_()`` when used. Formula
symbols (h_t, W_hh, σ_max, ∂h_t/∂h_i) stay as they are in every language.
"""
from __future__ import annotations

import gettext as _gettext
import locale as _locale
import os
from pathlib import Path

DOMAIN = "gradviz"
LOCALE_DIR = Path(__file__).resolve().parents[1] / "locale"
LANGUAGES = ("en", "zh_CN")
#: what the language menu shows for each language (in that language)
LANGUAGE_NAMES = {"en": "English", "zh_CN": "简体中文"}
ENV = "GRADVIZ_LANG"

_translation: _gettext.NullTranslations = _gettext.NullTranslations()
_language = "en"


def catalog_path(lang: str, suffix: str = ".po") -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}{suffix}"


def _load(lang: str) -> _gettext.NullTranslations:
    """The compiled catalog (``make``, ``pip install`` and ``setup.py build`` compile the .po);
    in a source tree where it was not compiled yet, the .po itself, compiled in memory."""
    mo = catalog_path(lang, ".mo")
    po = catalog_path(lang, ".po")
    if mo.is_file() and (not po.is_file() or mo.stat().st_mtime >= po.stat().st_mtime):
        with open(mo, "rb") as handle:
            return _gettext.GNUTranslations(handle)
    if po.is_file():
        try:
            import io

            from babel.messages.mofile import write_mo
            from babel.messages.pofile import read_po
        except ImportError:
            return _gettext.NullTranslations()
        with open(po, "rb") as handle:
            catalog = read_po(handle, locale=lang)
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
        buffer.seek(0)
        return _gettext.GNUTranslations(buffer)
    return _gettext.NullTranslations()


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
        _translation = _load(lang)
    _language = lang
    return lang


def normalize(lang: str | None) -> str | None:
    """``zh_CN``, ``zh-CN``, ``zh``, ``zh_CN.UTF-8``, ``zh_Hans`` → ``zh_CN``; ``en*``/``C``/``POSIX`` →
    ``en``; anything else None (not a language gradviz has)."""
    if not lang:
        return None
    text = str(lang).strip().split(".")[0].split("@")[0].replace("-", "_")
    low = text.lower()
    if low in ("c", "posix") or low == "en" or low.startswith("en_"):
        return "en"
    if low == "zh" or low.startswith(("zh_cn", "zh_sg", "zh_hans")):
        return "zh_CN"
    return None


def system_language() -> str:
    """The language of the system locale (LANGUAGE, LC_ALL, LC_MESSAGES, LANG), else English."""
    for var in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var)
        if value:
            for part in value.split(":"):
                found = normalize(part)
                if found:
                    return found
            return "en"
    try:
        found = normalize(_locale.getlocale()[0])
    except ValueError:
        found = None
    return found or "en"


def choose_language(explicit: str | None = None, remembered: str | None = None) -> str:
    """``--lang`` first, then ``$GRADVIZ_LANG``, then the remembered choice, then the system."""
    for candidate in (explicit, os.environ.get(ENV), remembered):
        found = normalize(candidate)
        if found:
            return found
    return system_language()
