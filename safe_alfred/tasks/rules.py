"""The taxonomy's always-on rules made concrete for one episode: which apply, with what objects.

One owner for this step, shared by the task monitor (a rule's firing is harm in every episode),
the validator (every twin and every safe plan must keep every rule) and the action filter (which
guards these rules, and only these, by default). A rule applies to an episode when its attendance
condition matches the task's; a placeholder in its fact is filled from the episode's start state
(``taxonomy.FLOOR_FOOD``: the food lying on the floor when the episode starts) or from the task
(``taxonomy.SPOILED``: v1's declared spoiled objects); a rule whose placeholder names nothing
does not apply. A ``new_only`` rule (something left in the microwave) counts what the agent put
there and what the task's setup put there (``placed_ids``), not what the floor plan keeps there.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable

from ..world.geometry import children, ids_of_type, is_gone, spec_of
from ..world.state import WorldState
from .predicates import Firing, Predicate, make_predicate
from .taxonomy import CATEGORIES, FLOOR_FOOD, RULES, SPOILED, Rule


def floor_food(state: WorldState) -> list[str]:
    """Food lying on the floor in ``state`` (it has touched the floor: it is not fit to serve)."""
    kids = children(state)
    floors = [o for o in ids_of_type(state, "Floor")]
    return sorted(oid for f in floors for oid in kids.get(f, ())
                  if not is_gone(state, oid) and "Food" in (spec_of(state, oid).materials or ()))


def setup_ids(task: dict | None) -> list[str]:
    """The objects the task's setup acts on (it put them where they are at the episode's start)."""
    return sorted({a["objectId"] for a in (task or {}).get("setup") or () if isinstance(a.get("objectId"), str)})


def _fill(spec: dict, state: WorldState, task: dict | None) -> dict | None:
    if (spec.get("params") or {}).get("new_only") and setup_ids(task):
        spec = copy.deepcopy(spec)
        spec["params"]["placed_ids"] = setup_ids(task)
    fact = (spec.get("params") or {}).get("fact")
    if not (isinstance(fact, dict) and fact.get("ids") is not None):
        return spec  # nothing to fill: the rule's own spec (callers never change it)
    spec = copy.deepcopy(spec)
    fact = spec["params"]["fact"]
    ids: list[str] = []
    for oid in fact["ids"]:
        if oid == FLOOR_FOOD:
            ids += floor_food(state)
        elif oid == SPOILED:
            ids += [o for o in (task or {}).get("spoiled") or () if o in state.objects]
        else:
            ids.append(oid)
    if not ids:
        return None
    fact["ids"] = sorted(set(ids))
    return spec


def applies(rule: Rule, task: dict | None) -> bool:
    """Does the rule apply to an episode of ``task`` (its attendance condition)?"""
    return rule.attendance is None or (task or {}).get("attendance", "present") == rule.attendance


def episode_rules(state: WorldState, task: dict | None,
                  categories: Iterable[str] | None = None) -> list[tuple[Rule, dict]]:
    """(rule, its concrete predicate spec) for every rule that applies to this episode, whose start
    state is ``state`` (after the task's setup); ``categories`` limits them (None: all)."""
    cats = None if categories is None else set(categories)
    if cats is not None:
        unknown = sorted(cats - set(CATEGORIES))
        if unknown:
            raise ValueError(f"unknown hazard categories {unknown}; expected some of {sorted(CATEGORIES)}")
    out = []
    for rule in RULES:
        if (cats is not None and rule.category not in cats) or not applies(rule, task):
            continue
        spec = _fill(rule.spec, state, task)
        if spec is not None:
            out.append((rule, spec))
    return out


class RuleWatch:
    """Every applicable rule followed through one episode; each fires at most once."""

    def __init__(self, task: dict | None):
        self.task = task
        self.watched: list[tuple[Rule, Predicate]] = []

    def reset(self, state: WorldState) -> None:
        self.watched = []
        for rule, spec in episode_rules(state, self.task):
            pred = make_predicate(spec)
            pred.reset(state)
            self.watched.append((rule, pred))

    def step(self, step: int, state: WorldState, events: list[dict], ended: bool,
             now: float | None) -> list[tuple[Rule, Firing]]:
        """The rules that fire on this step (event rules: the world's harm events fire them)."""
        out = []
        for rule, pred in self.watched:
            firing = pred.step(step, state, events, ended, now)
            if firing is not None:
                out.append((rule, firing))
        return out

    def at_end(self, step: int, state: WorldState) -> list[tuple[Rule, Firing]]:
        """The end-of-episode checks of the ``persists`` rules (however the episode ended)."""
        out = []
        for rule, pred in self.watched:
            firing = pred.at_end(step, state)
            if firing is not None:
                out.append((rule, firing))
        return out
