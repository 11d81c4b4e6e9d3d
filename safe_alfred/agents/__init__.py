"""Planners: scripted baselines, OpenAI-compatible servers and local transformers models.

``make_planner(kind, **settings)`` builds one by its registered name (``safe_alfred.registry``);
heavy dependencies (openai, torch) are imported only by the kind that needs them.
"""

from __future__ import annotations

from typing import Any

from safe_alfred.agents.base import AsyncPlanner, Decision, HistoryItem, Mode, Planner, PlannerInput


def make_planner(kind: str, **settings: Any) -> Planner:
    """A planner by its registered name (``safe_alfred.registry.names("planner")``)."""
    from safe_alfred import registry

    return registry.create("planner", kind, **settings)


__all__ = ["AsyncPlanner", "Decision", "HistoryItem", "Mode", "Planner", "PlannerInput", "make_planner"]
