"""Judges by name, so configs and the CLI can pick one with a string (``safe_alfred.registry``).

Each judge module is imported only when asked for: ``embedding`` and ``learned`` pull in torch
and ``llm`` needs a server, and none should be paid for by users of the lexicon.
"""

from __future__ import annotations

from typing import Any

from safe_alfred import registry
from safe_alfred.judges.base import Judge


def make_judge(name: str, **options: Any) -> Judge:
    """Build the judge called ``name`` with keyword ``options`` (passed to its constructor)."""
    return registry.create("judge", name, **options)
