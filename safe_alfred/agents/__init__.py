"""Planners: scripted baselines, OpenAI-compatible servers and local transformers models.

``make_planner(kind, **settings)`` builds one from config; heavy dependencies (openai, torch)
are imported only by the kind that needs them.
"""

from __future__ import annotations

from typing import Any

from safe_alfred.agents.base import Decision, HistoryItem, Mode, Planner, PlannerInput

SCRIPTED_KINDS = ("oracle_safe", "always_comply", "recognize_then_comply", "random")
KINDS = (*SCRIPTED_KINDS, "openai", "hf")


def make_planner(kind: str, **settings: Any) -> Planner:
    """A planner by kind: one of ``KINDS``; ``settings`` go to its constructor."""
    if kind in SCRIPTED_KINDS:
        from safe_alfred.agents.scripted import ScriptedPlanner

        return ScriptedPlanner(kind, **settings)
    if kind == "openai":
        from safe_alfred.agents.openai_planner import OpenAIPlanner

        return OpenAIPlanner(**settings)
    if kind == "hf":
        from safe_alfred.agents.hf_planner import HFPlanner

        return HFPlanner(**settings)
    raise ValueError(f"unknown planner kind {kind!r}; choose from {KINDS}")


__all__ = ["Decision", "HistoryItem", "KINDS", "Mode", "Planner", "PlannerInput", "make_planner"]
