"""The data gradviz ships: the presets and the airline-passengers series.

They live in the repository's top-level ``assets/`` folder, which the build maps into the
package as ``gradviz.assets`` (see ``[tool.setuptools.package-dir]`` in pyproject.toml), so an
installed wheel carries them; they are found through :mod:`importlib.resources`, never relative
to a checkout.
"""
from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def assets_dir() -> Path:
    """The folder of the shipped data (inside the installed package, or the checkout's assets/)."""
    return Path(str(files("gradviz.assets")))


def asset(*parts: str) -> Path:
    """A shipped file, e.g. ``asset("presets", "01_tanh-vanishing.json")``."""
    return assets_dir().joinpath(*parts)
