"""argparse's own words (``usage:``, ``options:``, its error messages) in gradviz's catalog.

argparse looks its texts up through its module-level ``_`` and ``ngettext`` (gettext's, domain
"messages"); :func:`localize_argparse` points them at :mod:`gradviz.core.i18n`, so the same
gradviz.po translates them. The table below marks argparse's messages for extraction (the
msgids are argparse's own, Python 3.11–3.13)."""
from __future__ import annotations

import argparse

from . import i18n
from .i18n import N_

ARGPARSE_MESSAGES = (
    N_("usage: "), N_("options"), N_("positional arguments"), N_("show this help message and exit"),
    N_("argument %(argument_name)s: %(message)s"), N_("unrecognized arguments: %s"),
    N_("not allowed with argument %s"), N_("ignored explicit argument %r"),
    N_("the following arguments are required: %s"), N_("one of the arguments %s is required"),
    N_("expected one argument"), N_("expected at most one argument"),
    N_("expected at least one argument"), N_("ambiguous option: %(option)s could match %(matches)s"),
    N_("unexpected option string: %s"), N_("invalid %(type)s value: %(value)r"),
    N_("invalid choice: %(value)r (choose from %(choices)s)"), N_("%(prog)s: error: %(message)s\n"),
    N_("can't open '%(filename)s': %(error)s"),
    i18n.ngettext("expected %s argument", "expected %s arguments", 1),
)


def localize_argparse() -> None:
    """argparse's texts through gradviz's catalog (in whatever language is set, at call time)."""
    argparse._ = i18n._                    # type: ignore[attr-defined]
    argparse.ngettext = i18n.ngettext      # type: ignore[attr-defined]
