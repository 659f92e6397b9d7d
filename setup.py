"""What pyproject.toml cannot say: the top-level assets/ folder (presets, the airline series)
ships inside the package as ``gradviz.assets``, read through importlib.resources."""
from setuptools import find_packages, setup

setup(packages=find_packages(include=["gradviz", "gradviz.*"]) + ["gradviz.assets"],
      package_dir={"gradviz.assets": "assets"})
