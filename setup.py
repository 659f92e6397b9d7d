"""What pyproject.toml cannot say: the top-level assets/ folder (presets, the airline series)
ships inside the package as ``gradviz.assets``, read through importlib.resources; and the
message catalogs (``gradviz/locale/*/LC_MESSAGES/gradviz.po``) are compiled to ``.mo`` at build
time (never committed)."""
from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


def compile_catalogs(root: Path) -> list[Path]:
    """Compile every ``root/gradviz/locale/*/LC_MESSAGES/*.po`` next to itself; the .mo paths."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    written = []
    for po in sorted((root / "gradviz" / "locale").glob("*/LC_MESSAGES/*.po")):
        with open(po, "rb") as handle:
            catalog = read_po(handle, locale=po.parent.parent.name)
        mo = po.with_suffix(".mo")
        with open(mo, "wb") as handle:
            write_mo(handle, catalog)
        written.append(mo)
    return written


class BuildWithCatalogs(build_py):
    """build_py that compiles the .po catalogs first, so the .mo files are package data."""

    def run(self):
        compile_catalogs(HERE)
        super().run()


setup(packages=find_packages(include=["gradviz", "gradviz.*"]) + ["gradviz.assets"],
      package_dir={"gradviz.assets": "assets"},
      cmdclass={"build_py": BuildWithCatalogs})
