"""One policy for what of a planner's output an episode record stores.

A model that writes a megabyte per step would make a run that can be recorded but never submitted
(``verify`` caps every string) and a record file of hundreds of megabytes. So every decision is
stored the same way, whatever the planner: its text is sanitised (``sanitize.clean_text``), and the
reasoning, the raw output and each skill are capped at ``max_output_chars`` characters, keeping
the head and the tail with a marker saying how much was cut between them (an asked-channel answer
is stored the same way). A cut field's original
length is kept in the decision's ``truncated`` map; the cap itself is stored in every record
(``max_output_chars``), so a replay applies the same policy and a report can say what it cost.

The default cap keeps any run of the largest bundled split submittable: 914 v1_test episodes of
30 steps, every call at the cap in all three places the text is kept (the decision's reasoning
and raw output, the step's reasoning), come to about 370 MB of ASCII JSON, under verify's 512 MiB.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from safe_alfred.agents.base import Decision
from safe_alfred.sanitize import clean_text

DEFAULT_MAX_OUTPUT_CHARS = 4_000
_HEAD_SHARE = 0.75  # of the kept characters, the share taken from the start


def cap_text(text: str, max_chars: int | None) -> tuple[str, int | None]:
    """``text`` cut to at most ``max_chars`` (head and tail kept, a marker between) and its length if cut."""
    if max_chars is None or len(text) <= max_chars:
        return text, None
    marker = f"\n[... {len(text) - max_chars} of {len(text)} characters not stored ...]\n"
    keep = max(0, max_chars - len(marker))
    head = int(keep * _HEAD_SHARE)
    tail = keep - head
    cut = text[:head] + marker + (text[len(text) - tail:] if tail else "")
    return cut[:max_chars], len(text)


def stored_decision(decision: Any, max_chars: int | None) -> Decision:
    """The decision as it is executed and recorded: clean text, each field within the cap."""
    if not isinstance(decision, Decision):
        d = decision.to_dict() if hasattr(decision, "to_dict") else dict(decision)
        decision = Decision(**{f.name: d[f.name] for f in dataclasses.fields(Decision) if f.name in d})
    truncated = dict(decision.truncated or {})

    def keep(name: str, text: Any) -> str:
        value, original = cap_text(clean_text(str(text or "")), max_chars)
        if original is not None:
            truncated.setdefault(name, original)
        return value

    skills = [keep(f"skills.{i}", s) for i, s in enumerate(decision.skills or [])]
    return dataclasses.replace(
        decision, reasoning=keep("reasoning", decision.reasoning), raw_output=keep("raw_output", decision.raw_output),
        skills=skills, parse_error=None if decision.parse_error is None else clean_text(str(decision.parse_error)),
        error=None if decision.error is None else clean_text(str(decision.error)), truncated=truncated,
        selection=_clean_selection(decision.selection, max_chars))


def _clean_selection(selection: dict[str, Any] | None, max_chars: int | None) -> dict[str, Any] | None:
    """A model planner's selection facts with the text they quote from its answer cleaned and capped
    (echoed and ignored lines, the chosen skill); numbers and the skill choices stay as they are."""
    if not selection:
        return selection
    out = dict(selection)
    for key in ("echo_lines", "ignored_lines"):
        if isinstance(out.get(key), list):
            out[key] = [cap_text(clean_text(str(x)), max_chars)[0] for x in out[key]]
    if isinstance(out.get("chosen"), str):
        out["chosen"] = cap_text(clean_text(out["chosen"]), max_chars)[0]
    return out


def stored_answer(answer: Any, max_chars: int | None) -> Any:
    """An asked-channel answer as it is recorded: its free text cleaned and capped like a decision's."""
    if not dataclasses.is_dataclass(answer):
        return answer
    changes = {}
    for name in ("answer", "reason"):
        value = getattr(answer, name, None)
        if isinstance(value, str):
            changes[name] = cap_text(clean_text(value), max_chars)[0]
    return dataclasses.replace(answer, **changes)


def stored_output_summary(records: list[dict]) -> dict[str, Any]:
    """What the cap cost a run: the cap(s) used, calls made, calls cut and the longest original."""
    caps = sorted({r.get("max_output_chars") for r in records if r.get("max_output_chars") is not None})
    calls = cut = longest = 0
    for rec in records:
        for d in rec.get("decisions") or []:
            calls += 1
            lengths = [int(v) for v in (d.get("truncated") or {}).values() if isinstance(v, int)]
            if lengths:
                cut += 1
                longest = max(longest, *lengths)
    return {"max_output_chars": caps[0] if len(caps) == 1 else (caps or None), "calls": calls,
            "truncated_calls": cut, "longest_original_chars": longest or None}


def stored_output_lines(info: dict[str, Any] | None) -> list[str]:
    """The report's section on stored output (empty when the records say nothing about it)."""
    if not info or info.get("max_output_chars") is None:
        return []
    line = (f"Each decision's reasoning, raw output and skills are stored up to "
            f"{info['max_output_chars']} characters (`agent.max_output_chars`); "
            f"{info['truncated_calls']} of {info['calls']} planner calls were cut")
    if info.get("longest_original_chars"):
        line += f", the longest from {info['longest_original_chars']} characters"
    return ["", "## Stored planner output", "", line + ". A cut keeps the start and the end with a marker "
            "between; the original length is in the decision's `truncated` field."]
