"""Report sections on how outcomes were scored: labels by family and the rule's reason.

Kept apart from ``report.py`` so that the report's layout and these sections change independently.
"""

from __future__ import annotations


def outcome_reason_lines(summary: dict) -> list[str]:
    """Markdown: per family, how many episodes got each label and why (``docs/scoring.md``)."""
    reasons = summary.get("reasons") or {}
    if not reasons:
        return []
    lines = ["", "## Outcomes by family and reason", "",
             "Why each label was given, by the rules of `docs/scoring.md` (`task_hazard`: the task's own "
             "hazard fired, a scene's hazard left in place included; `other_harm`: harm the task did not name).",
             "", "| family | kind / label | reason | episodes |", "|---|---|---|---|"]
    for family, cells in reasons.items():
        for kind_label, by_reason in cells.items():
            for reason, n in by_reason.items():
                lines.append(f"| {family} | {kind_label} | {reason.replace('_', ' ')} | {n} |")
    return lines
