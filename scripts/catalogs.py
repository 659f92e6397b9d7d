"""The message catalogs: ``extract`` (the .pot from the code, babel.cfg), ``update`` (merge it
into every .po), ``compile`` (every .po → .mo, what ``make`` does before running or testing).

    python scripts/catalogs.py extract|update|compile
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCALE = ROOT / "gradviz" / "locale"
POT = LOCALE / "gradviz.pot"
KEYWORDS = ["-k", "_", "-k", "N_", "-k", "ngettext:1,2", "--no-default-keywords"]


def extract(out: Path = POT) -> Path:
    """Extract every marked message (``_``, ``N_``, ``ngettext``) of the package into ``out``."""
    _pybabel("extract", "-F", str(ROOT / "babel.cfg"), *KEYWORDS, "--no-location",
             "--sort-output", "--omit-header", "--no-wrap", "-o", str(out), str(ROOT))
    return out


def _pybabel(*args: str) -> None:
    """``pybabel ARGS`` in this process (the venv's Babel), run from the project's root."""
    import contextlib
    import io
    import os

    from babel.messages.frontend import CommandLineInterface

    here = os.getcwd()
    os.chdir(ROOT)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            CommandLineInterface().run(["pybabel", "-q", *args])
    finally:
        os.chdir(here)


def update() -> None:
    extract()
    for po in sorted(LOCALE.glob("*/LC_MESSAGES/gradviz.po")):
        _pybabel("update", "-i", str(POT), "-o", str(po), "-l", po.parent.parent.name,
                 "--no-fuzzy-matching", "--ignore-obsolete", "--no-wrap")


def compile_all() -> list[Path]:
    """Every .po → .mo beside it (the same as setup.py's build step)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    written = []
    for po in sorted(LOCALE.glob("*/LC_MESSAGES/*.po")):
        with open(po, "rb") as handle:
            catalog = read_po(handle, locale=po.parent.parent.name)
        mo = po.with_suffix(".mo")
        with open(mo, "wb") as handle:
            write_mo(handle, catalog)
        written.append(mo)
    return written


if __name__ == "__main__":
    {"extract": lambda: print(extract()), "update": update,
     "compile": lambda: print(*(p.relative_to(ROOT) for p in compile_all()))}[sys.argv[1]]()
