"""Where the YAML configuration lives, for a clone and for an installed wheel alike.

The wheel maps the repository's top-level ``conf/`` to ``safe_alfred/conf/``; a clone (or an
editable install) has only the top-level folder. Code that needs a config file asks
``conf_dir()`` instead of guessing a path relative to the working directory.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def conf_dir() -> Path:
    """The ``conf`` folder: the package's copy when installed from a wheel, else the repository's."""
    packaged = _PACKAGE_DIR / "conf"
    if packaged.is_dir():
        return packaged
    return _PACKAGE_DIR.parent / "conf"


def conf_path(*parts: str) -> Path:
    """A file under ``conf_dir()``, e.g. ``conf_path("prompts", "default.yaml")``."""
    return conf_dir().joinpath(*parts)
