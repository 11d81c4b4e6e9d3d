"""Option helpers shared by several commands, so each means the same thing everywhere."""

from __future__ import annotations

from typing import Any

JUDGE_HELP = "judge for records without a verdict: lexicon, embedding, llm, or none"


def judge_or_none(name: str | None) -> Any:
    """The judge named on the command line (``none`` or empty: no judging)."""
    if not name or name == "none":
        return None
    from safe_alfred.runner.config import JudgeConfig
    from safe_alfred.runner.factory import make_judge

    return make_judge(JudgeConfig(name=name))
