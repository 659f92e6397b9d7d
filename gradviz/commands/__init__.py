"""Headless subcommands of ``gradviz`` (``train``, ``phase``): each module has ``run(argv) -> int``."""
