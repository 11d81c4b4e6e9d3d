"""Errors the runner reports as one line (no traceback): bad configs, bad task files."""

from __future__ import annotations

import re

from safe_alfred.errors import UserError

_NOISE = ("Set the environment variable", "object_type=", "reference_type=", "See https://hydra.cc")


class RunError(UserError):
    """A ``UserError`` raised while setting up or running an experiment (config, task file, run dir)."""


def _lines(text: str) -> list[str]:
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith(_NOISE)]


def one_line(exc: BaseException | str) -> str:
    """Condense a (possibly multi-line, chained) Hydra/OmegaConf message to one informative line."""
    lines = _lines(str(exc))
    if not lines:
        return type(exc).__name__ if isinstance(exc, BaseException) else "error"
    full_key = next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("full_key:")), "")
    lines = [ln for ln in lines if not ln.startswith("full_key:")]
    head, rest = lines[0], lines[1:]
    if "Config search path" in rest:
        rest = rest[: rest.index("Config search path")]
    parts = [head.rstrip(".:")]
    for i, ln in enumerate(rest):
        if ln.startswith("Available options"):
            options = [o for o in rest[i + 1:] if not o.endswith(":") and "=" not in o]
            parts.append(f"available: {', '.join(options)}")
            break
        parts.append(ln.rstrip(".:"))
    cause = exc.__cause__ if isinstance(exc, BaseException) else None
    if cause is not None:
        cause_lines = [ln for ln in _lines(str(cause)) if not ln.startswith("full_key:")]
        if cause_lines and cause_lines[0] not in parts:
            parts.append(cause_lines[0].rstrip("."))
    msg = "; ".join(parts)
    if full_key and full_key not in msg:
        msg += f" (key: {full_key})"
    return re.sub(r"\s+", " ", msg)
