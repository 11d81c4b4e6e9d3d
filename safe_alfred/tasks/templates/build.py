"""From candidates to a proven suite: task records, layouts, proof at every seed, splits, smoke.

A candidate becomes two task records (the hazard task and its twin). Both are kept only if both
validate (``safe_alfred.tasks.validate``) at every seed of ``SEEDS``: a seed re-places the floor
plan's small objects, leaving the objects the task is about (``pinned``) where they are.
"""

from __future__ import annotations

import copy
import random
import re
from collections import Counter
from collections.abc import Iterable

from ...world.scenes import ALL_SCENES, room_type
from ..families import Family
from ..validate import run_plan, validate_at_seeds
from .base import SOURCE, Candidate, Scene

SEEDS = (0, 1, 2, 3, 4)
TEST_FRACTION = 0.3  # share of floor plans (per room type) held out for the leaderboard
SPLIT_SEED = "safe_alfred_v1:split"  # v1's split: the same floor plans are held out in both suites

FIELD_ORDER = ("id", "family", "kind", "template", "level", "instruction", "paraphrases", "instruction_type",
               "scene", "room_type", "layout_seed", "pinned", "attendance", "hazard", "setup", "goal", "safe_goal",
               "reference_plan", "safe_reference_plan", "perceive", "twin_id", "split", "source")


def _test_scenes() -> frozenset[str]:
    rng = random.Random(SPLIT_SEED)
    test: set[str] = set()
    for room in ("kitchen", "living_room", "bedroom", "bathroom"):
        scenes = sorted(s for s in ALL_SCENES if room_type(s) == room)
        test.update(rng.sample(scenes, round(len(scenes) * TEST_FRACTION)))
    return frozenset(test)


TEST_SCENES = _test_scenes()


def split_of(scene: str) -> str:
    """Whole floor plans go to test (the leaderboard split), so test floor plans are unseen in dev."""
    return "test" if scene in TEST_SCENES else "dev"


_SKILL_TYPE = re.compile(r"^(?:find|pickup|put|open|close|toggle_on|toggle_off|slice|break|cook|dirty|clean|fill|empty"
                         r"|pour) ([A-Za-z]+)")


def _named_types(plans: Iterable[list[str]], facts: Iterable[dict]) -> set[str]:
    out: set[str] = set()
    for plan in plans:
        for skill in plan:
            m = _SKILL_TYPE.match(skill)
            if m:
                out.add(m.group(1))
    for fact in facts:
        out.update(fact.get("types") or ())
        out.update(fact.get("receptacle_types") or ())
    return out


def _facts(*specs: dict | None) -> list[dict]:
    """Every fact dict inside goals and predicates."""
    out: list[dict] = []

    def walk(node) -> None:
        if isinstance(node, dict):
            if "fact" in node and isinstance(node["fact"], str):
                out.append(node)
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
    for spec in specs:
        walk(spec)
    return out


def pinned(sc: Scene, c: Candidate) -> list[str]:
    """The objects a seeded layout must leave alone: every instance of every type the pair's plans,
    goals and predicate name, and every object its setups name."""
    types = _named_types([c.plan, c.safe_plan, c.twin_plan], _facts(c.hazard, c.goal, c.twin_goal, c.safe_goal))
    ids = {oid for t in types for oid in sc.ids(t)}
    for action in [a for setup in c.setups() for a in setup]:
        oid = action.get("objectId")
        if isinstance(oid, str):
            ids.add(oid.split("|")[0] if "|" in oid and oid.split("|")[0] in sc.spec.objects else oid)
    for fact in _facts(c.hazard, c.goal, c.twin_goal):
        ids.update(o for o in fact.get("ids") or () if o in sc.spec.objects)
    return sorted(o for o in ids if o in sc.spec.objects)


def task_id(c: Candidate, scene: str, kind: str) -> str:
    key = re.sub(r"[^A-Za-z0-9_.\-]+", "-", c.key)
    return f"v2-{c.family.code}-{c.template}-{scene}-{key}-L{c.level}-{kind}"


def records(sc: Scene, c: Candidate, pick: int) -> tuple[dict, dict]:
    """The hazard task and its twin for a candidate (``pick`` chooses which paraphrase leads)."""
    i = pick % len(c.text.hazard)
    itype = "long_horizon" if c.family is Family.LONG_HORIZON else ("abstract" if c.level else "detailed")
    base = {"family": c.family.value, "template": c.template, "level": c.level, "instruction_type": itype,
            "scene": sc.name, "room_type": sc.room, "layout_seed": None, "pinned": pinned(sc, c),
            "split": split_of(sc.name), "source": SOURCE}
    if c.attendance:
        base["attendance"] = c.attendance
    setup, twin_setup = c.setups()
    h = dict(base, id=task_id(c, sc.name, "hazard"), kind="hazard", instruction=c.text.hazard[i],
             paraphrases=c.text.hazard[:i] + c.text.hazard[i + 1:], hazard=copy.deepcopy(c.hazard),
             setup=copy.deepcopy(setup), goal=copy.deepcopy(c.goal), reference_plan=list(c.plan),
             safe_reference_plan=list(c.safe_plan))
    if c.safe_goal is not None:
        h["safe_goal"] = copy.deepcopy(c.safe_goal)
    if c.perceive is not None:
        h["perceive"] = copy.deepcopy(c.perceive)
    s = dict(base, id=task_id(c, sc.name, "safe"), kind="safe", instruction=c.text.twin[i],
             paraphrases=c.text.twin[:i] + c.text.twin[i + 1:], hazard=None,
             setup=copy.deepcopy(twin_setup), goal=copy.deepcopy(c.twin_goal),
             reference_plan=list(c.twin_plan), safe_reference_plan=list(c.twin_plan))
    h["twin_id"], s["twin_id"] = s["id"], h["id"]
    return _ordered(h), _ordered(s)


def _ordered(t: dict) -> dict:
    return {k: t[k] for k in FIELD_ORDER if k in t}


def prove(h: dict, s: dict, seeds: Iterable[int] = SEEDS) -> list[str]:
    """Record the naive plan's hazard step and validate both tasks at every seed; the failures."""
    run = run_plan(h, h["reference_plan"], 0)
    if run.errors:
        return [f"reference_plan: {e}" for e in run.errors]
    if run.hazard_step is None:
        return ["reference_plan: the hazard never fired"]
    h["hazard"]["step"] = run.hazard_step
    return validate_at_seeds(h, seeds) + [f"twin: {e}" for e in validate_at_seeds(s, seeds)]


def generate(templates: dict, scenes: Iterable[str] | None = None, seeds: Iterable[int] = SEEDS,
             caps: dict[str, int] | None = None) -> tuple[list[dict], Counter, Counter]:
    """All proven pairs of the templates over the floor plans (default: all 120), in a fixed order.

    Returns (tasks, kept per template, rejected per (template, first reason)). ``caps`` limits the
    pairs per template and floor plan.
    """
    tasks: list[dict] = []
    kept: Counter = Counter()
    rejected: Counter = Counter()
    seeds = list(seeds)
    for scene in scenes or ALL_SCENES:
        sc = Scene(scene)
        for tid, template in templates.items():
            cap = (caps or {}).get(tid, template.per_scene)
            n = 0
            seen: set[str] = set()
            for pick, c in enumerate(template.generate(sc)):
                h, s = records(sc, c, pick)
                if h["id"] in seen:
                    continue
                seen.add(h["id"])
                errs = prove(h, s, seeds)
                if errs:
                    rejected[(tid, _reason(errs[0]))] += 1
                    continue
                tasks += [h, s]
                kept[tid] += 1
                n += 1
                if n >= cap:
                    break
    return tasks, kept, rejected


def _reason(err: str) -> str:
    err = re.sub(r"seed \d+: ", "", err)
    err = re.sub(r"step \d+ '[^']*'", "a step", err)
    return re.sub(r"[A-Za-z]+_[0-9a-f]{8}[^ ]*|[A-Za-z]+\|[^ ]+", "<object>", err)[:120]


def smoke(tasks: list[dict], size: int = 20, test_pairs: int = 2) -> list[dict]:
    """``size`` tasks (``size // 2`` pairs) derived from the suite: ``test_pairs`` pairs from test
    floor plans (so a smoke run can try the leaderboard split), the rest from dev floor plans: one
    pair per family first, then one per hazard category not yet in (no room type more than a
    third); twins kept together."""
    by_id = {t["id"]: t for t in tasks}
    chosen: list[dict] = []
    rooms: Counter = Counter()
    cats: set[str] = set()
    templates: set[str] = set()

    def take(t: dict) -> None:
        chosen.extend([t, by_id[t["twin_id"]]])
        rooms[t["room_type"]] += 1
        cats.add(t["hazard"]["category"])
        templates.add(t["template"])

    def pool(split: str) -> list[dict]:
        return [t for t in tasks if t["kind"] == "hazard" and t["split"] == split and not t.get("level")]

    dev_size = size - 2 * test_pairs
    for t in pool("dev"):  # every family
        if t["family"] not in {c["family"] for c in chosen}:
            take(t)
    for t in pool("dev"):
        if len(chosen) >= dev_size:
            break
        if t["hazard"]["category"] not in cats and rooms[t["room_type"]] < max(2, size // 6):
            take(t)
    for t in pool("dev"):
        if len(chosen) >= dev_size:
            break
        if t["template"] not in templates:
            take(t)
    for t in pool("test"):
        if len(chosen) >= size:
            break
        if t["hazard"]["category"] not in cats:
            take(t)
    return chosen
