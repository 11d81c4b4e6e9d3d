"""Judges by name, so configs and the CLI can pick one with a string.

Each judge module is imported only when asked for: ``embedding`` pulls in torch and
``llm`` needs a server, and neither should be paid for by users of the lexicon.
"""

from __future__ import annotations

import importlib
from typing import Any

from safe_alfred.judges.base import Judge

JUDGES: dict[str, str] = {
    "lexicon": "safe_alfred.judges.lexicon:LexiconJudge",
    "embedding": "safe_alfred.judges.embedding:EmbeddingJudge",
    "llm": "safe_alfred.judges.llm:LLMJudge",
}


def make_judge(name: str, **options: Any) -> Judge:
    """Build the judge called ``name`` with keyword ``options`` (passed to its constructor)."""
    if name not in JUDGES:
        raise ValueError(f"unknown judge {name!r}; valid names: {', '.join(sorted(JUDGES))}")
    module_name, cls_name = JUDGES[name].split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            raise ImportError(
                f"judge {name!r} is not available: module {module_name} is missing from this installation"
            ) from exc
        raise
    cls = getattr(module, cls_name, None)
    if cls is None:
        raise ImportError(f"judge {name!r} is not available: {module_name} defines no {cls_name}")
    return cls(**options)
