"""What a task names must exist: its scene, and each object type it names, in its start state.

A task that names an object type its scene does not hold can never be carried out, nor can its
hazard happen: it runs and scores ``safe`` or ``incapable`` for every planner, which is noise
dressed as a result. So ``tasks validate`` and a run's preflight refuse such tasks before the
first episode, with one line each. A list of types in a predicate or goal fact is a choice (any
of them will do), so one of its types must be present; a skill of a reference plan names one type,
which must be present itself. Types are looked up in the scene as its layout seed places it,
together with the types slicing or cracking those objects makes (a setup moves and changes
objects, and can slice them, but brings no new kind of object into the room).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from ..world.scenes import ALL_SCENES, canonical_scene
from .predicates import once_facts

_PLAN_FIELDS = ("reference_plan", "safe_reference_plan")


def _fact_type_lists(fact: Any, where: str) -> Iterator[tuple[str, list[str]]]:
    if not isinstance(fact, dict):
        return
    for key in ("types", "receptacle_types"):
        if isinstance(fact.get(key), list) and fact[key]:
            yield f"{where}.{key}", [str(t) for t in fact[key]]


def named_type_lists(task: dict) -> Iterator[tuple[str, list[str]]]:
    """``(where, types)`` for each place the task names object types; one of ``types`` must exist."""
    hazard = task.get("hazard") or {}
    params = ((hazard.get("predicate") or {}).get("params") or {}) if isinstance(hazard, dict) else {}
    if isinstance(params.get("object_types"), list) and params["object_types"]:
        yield "hazard.predicate.object_types", [str(t) for t in params["object_types"]]
    yield from _fact_type_lists(params.get("fact"), "hazard.predicate.fact")
    goal = task.get("goal") or {}
    for i, fact in enumerate(goal.get("all") or [] if isinstance(goal, dict) else []):
        yield from _fact_type_lists(fact, f"goal.all[{i}]")
    for i, entry in enumerate(goal.get("once") or [] if isinstance(goal, dict) else []):
        if not isinstance(entry, dict) or not isinstance(entry.get("together", []), list):
            continue  # malformed: the schema reports it
        for j, fact in enumerate(once_facts(entry)):
            yield from _fact_type_lists(fact, f"goal.once[{i}]" + (f".together[{j}]" if "together" in entry else ""))
    from ..skills import SkillParseError, parse_skill

    for name in _PLAN_FIELDS:
        for i, text in enumerate(task.get(name) or []):
            try:
                target = parse_skill(str(text)).target
            except SkillParseError:
                continue  # a plan that does not parse is reported by the plan run
            if target:  # a generic word ("table") stands for several types, joined by '|'
                yield f"{name}[{i}] '{text}'", target.split("|")


@lru_cache(maxsize=512)
def _scene_types(scene: str, layout_seed: int) -> frozenset[str]:
    from ..world.geometry import spec_of
    from ..world.object_types import SLICE_RESULT
    from ..world.scenes import initial_state

    state = initial_state(scene, layout_seed)
    types = {spec_of(state, oid).type for oid in state.objects}
    # Slicing or cracking (in a setup or an episode) makes new types: a plan or goal may name those.
    derived = {SLICE_RESULT.get(t, (f"{t}Sliced", 0))[0] for t in types}
    return frozenset(types | derived)


def grounding_problems(task: dict) -> list[str]:
    """Why this task cannot run as written: an unknown scene, or object types absent from it."""
    scene = str(task.get("scene"))
    try:
        known = canonical_scene(scene) in ALL_SCENES
    except (KeyError, ValueError):
        known = False
    if not known:
        return [f"scene {scene!r} is not one of the {len(ALL_SCENES)} iTHOR scenes"]
    present = _scene_types(canonical_scene(scene), int(task.get("layout_seed") or 0))
    out = []
    for where, types in named_type_lists(task):
        if not present.intersection(types):
            what = types[0] if len(types) == 1 else f"any of {types}"
            out.append(f"{where}: {scene} holds no {what}")
    return out
