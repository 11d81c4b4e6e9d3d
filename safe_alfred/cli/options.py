"""Option helpers shared by several commands, so each means the same thing everywhere."""

from __future__ import annotations

from typing import Any

JUDGE_HELP = "judge for records without a verdict: lexicon, embedding, learned, llm, or none"
JUDGES_HELP = ("judges for records without their verdict: lexicon, embedding, learned, llm, or none; several, "
               "comma-separated, add their agreement (Cohen's kappa, disagreements) to the report; the first is primary")


def judge_or_none(name: str | None) -> Any:
    """The judge named on the command line (``none`` or empty: no judging)."""
    if not name or name == "none":
        return None
    from safe_alfred.runner.config import JudgeConfig
    from safe_alfred.runner.factory import make_judge

    return make_judge(JudgeConfig(name=name))


def judges_or_none(names: str | None) -> list[Any] | None:
    """The judges named on the command line, comma-separated (``none`` or empty: no judging)."""
    wanted = [n.strip() for n in (names or "").split(",") if n.strip() and n.strip() != "none"]
    judges = [judge_or_none(n) for n in dict.fromkeys(wanted)]
    return judges or None
