"""Control barrier functions over ``WorldState``, one per guarded hazard predicate.

The unsafe sets are exactly those of the taxonomy's always-on rules (``safe_alfred.tasks.rules``):
each guarded predicate is a rule made concrete for the episode (and, only when asked for, the
running task's own hazard predicate: an *oracle* filter, told the answer), evaluated by the same
``Predicate`` class the task monitor uses. A barrier value ``h >= 0`` means safe; a step whose
predicted outcome fires the predicate gets ``h = -1``. A rule whose condition already holds when
the episode starts (a scene's hazard) is guarded more strictly than the scene family scores it
(only its end state and time limit count there): until it is cleared, moving or switching anything
else fires it (``untouched``), so the fix comes first, which is sufficient for a safe outcome.

Graded values come from a *relaxed action distance*: how many skills (find, pickup, open, put,
close, toggle_on, fill, pour, break, drop) at least still separate the state from the predicate's
unsafe set, computed from state facts alone (no transitions), capped at ``horizon``:
``h = min(d, horizon) / horizon``. For ``persists`` predicates (a burner left on for k steps) the
value is the slack left to fix the condition: ``h = (m - f) / k`` with ``m`` the steps left before
the predicate fires and ``f`` the relaxed number of skills that end the condition. ``search_distance``
gives the exact distance by bounded search through ``transition``; tests check the relaxed one
against it.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .. import accel
from ..envs.perception import admissible_skills
from ..skills import SkillParseError, compile_skill, parse_skill
from ..tasks.monitor import ends_episode
from ..tasks.predicates import Predicate, make_predicate, matches
from ..tasks.rules import episode_rules
from ..tasks.taxonomy import CATEGORIES
from ..world.consequences import (
    FLAMMABLE,
    MAINS,
    MICROWAVE_FLAMMABLE,
    POWERED,
    candle_fuel_under,
    sets_candle_alight,
)
from ..world.geometry import ancestors, children, is_gone, spec_of
from ..world.object_types import type_info
from ..world.scenes import load_scene_spec
from ..world.state import WorldState, fact
from ..world.transition import transition
from ..world.visibility import visible_ids

HEAT_KINDS = ("fire", "sparks", "explosion")
WATER_KINDS = ("electric_shock", "liquid_damage")
INF = 10**6


# --- predicted steps -----------------------------------------------------------------------------

@dataclass
class Predicted:
    """The world model's prediction of one skill: next state, events, and how the env would see it."""

    state: WorldState
    events: list[dict]
    valid: bool
    skill: str | None
    ended: bool
    actions: list[dict] = field(default_factory=list)


def predict(state: WorldState, skill_text: str, require_knife: bool = False,
            hook: Callable[[WorldState, dict], dict] | None = None) -> Predicted:
    """Run one skill through the pure transition function exactly as the env would.

    ``hook(state, action)`` may rewrite each THOR action first (the motion shield does).
    """
    try:
        skill = parse_skill(skill_text)
    except SkillParseError:
        return Predicted(state, [], False, None, False)
    canonical = skill.canonical()
    if skill.verb in ("done", "refuse"):
        return Predicted(state, [], True, canonical, ends_episode(canonical))
    compiled = compile_skill(state, skill, require_knife=require_knife)
    if compiled.error:
        return Predicted(state, [], False, canonical, False)
    events: list[dict] = []
    s = state
    for action in compiled.actions:
        if hook is not None:
            action = hook(s, action)
        s, ev = transition(s, action)
        events.extend(ev)
        if not s.last["lastActionSuccess"]:
            break
    return Predicted(s, events, True, canonical, False, list(compiled.actions))


# --- relaxed action distances ---------------------------------------------------------------------

@accel.memo(limit=1000)
def _heat_pairs(scene: str) -> dict[str, tuple[tuple[str, str], ...]]:
    """Per heat kind, the static (object, heat source) pairs that can produce it in this scene."""
    spec = load_scene_spec(scene)
    out: dict[str, list[tuple[str, str]]] = {k: [] for k in HEAT_KINDS}
    sources = [o for o in spec.objects.values() if o.flags["isHeatSource"]]
    for src in sources:
        accepts = type_info(src.type).get("objectSpecificAccepts")
        for o in spec.objects.values():
            if not o.flags["pickupable"] or o.id == src.id:
                continue
            if accepts is not None and o.type not in accepts:
                continue
            mats = frozenset(o.materials or ())
            burns = MICROWAVE_FLAMMABLE if src.type == "Microwave" else FLAMMABLE
            if mats & burns and "Food" not in mats:
                out["fire"].append((o.id, src.id))
            if src.type == "Microwave" and "Metal" in mats:
                out["sparks"].append((o.id, src.id))
            if o.type == "Egg" and src.type == "Microwave":
                out["explosion"].append((o.id, src.id))
    return {k: tuple(v) for k, v in out.items()}


@accel.memo(limit=1000)
def _scene_ids(scene: str) -> dict[str, tuple[str, ...]]:
    spec = load_scene_spec(scene)
    objs = spec.objects.values()
    return {
        "powered": tuple(o.id for o in objs if o.type in POWERED),
        "candles": tuple(o.id for o in objs if o.type == "Candle"),
        "candle_fuel": tuple(o.id for o in objs if sets_candle_alight(o)),
        "soap": tuple(o.id for o in objs if o.type == "SoapBottle"),
        "fillable": tuple(o.id for o in objs if o.flags["canFillWithLiquid"] and o.flags["pickupable"]),
        "breakable": tuple(o.id for o in objs if o.flags["breakable"]),
        "food": tuple(o.id for o in objs if "Food" in (o.materials or ()) and o.flags["pickupable"]),
        "burners": tuple(o.id for o in objs if o.type == "StoveBurner"),
    }


@accel.memo(limit=1000)
def _type_index(scene: str) -> dict[str, tuple[str, ...]]:
    """Static object ids per type in a scene."""
    out: dict[str, list[str]] = {}
    for o in load_scene_spec(scene).objects.values():
        out.setdefault(o.type, []).append(o.id)
    return {k: tuple(v) for k, v in out.items()}


def _ids_of_types(state: WorldState, types: Iterable[str]) -> list[str]:
    index = _type_index(state.scene)
    ids = [o for t in types for o in index.get(t, ())]
    if state.spawned:  # sliced or cracked pieces are not in the static index
        wanted = set(types)
        ids += [o for o in state.spawned if o in state.objects and spec_of(state, o).type in wanted]
    return ids


@fact
def relaxed(state: WorldState) -> Relaxed:
    """The ``Relaxed`` estimates of ``state`` (one per state in an accelerated run)."""
    return Relaxed(state)


class Relaxed:
    """Relaxed skill counts on one state (lower-bound style estimates, no transitions)."""

    def __init__(self, state: WorldState):
        self.s = state
        self.vis = visible_ids(state)
        self.kids = children(state)
        self.memo: dict = {}  # this object's own answers, asked again for the same state

    def reach(self, oid: str) -> int:
        """0 if the object is in view (or held), else one ``find``."""
        return 0 if (oid in self.vis or oid == self.s.held) else 1

    def hold(self, oid: str) -> int:
        if self.s.held == oid:
            return 0
        if is_gone(self.s, oid) or not spec_of(self.s, oid).flags["pickupable"]:
            return INF
        return self.reach(oid) + 1 + (1 if self.s.held is not None else 0)  # free the hand first

    def inside(self, oid: str, rid: str) -> bool:
        return rid in ancestors(self.s, oid)

    def place(self, oid: str, rid: str) -> int:
        """Skills to get ``oid`` into/onto ``rid`` (pickup, find, open, put)."""
        return 0 if self.inside(oid, rid) else self.move(oid, rid)

    def move(self, oid: str, rid: str) -> int:
        """Skills to pick ``oid`` up and put it into/onto ``rid``, wherever it is now."""
        cost = self.hold(oid)
        if cost >= INF:
            return INF
        rspec = spec_of(self.s, rid)
        cost += 0 if (self.s.held == oid and rid in self.vis) else 1
        if type_info(rspec.type)["mustOpenToPut"] and not self.s.objects[rid]["isOpen"]:
            cost += 1
        return cost + 1

    def on(self, oid: str) -> int:
        return 0 if self.s.objects[oid]["isToggled"] else 1

    # event kinds ---------------------------------------------------------------------------------
    def heat(self, kind: str, object_types: set[str] | None) -> int:
        best = INF
        s = self.s
        for oid, src in _heat_pairs(s.scene)[kind]:
            if object_types is not None and spec_of(s, oid).type not in object_types:
                continue
            st = s.objects[oid]
            if st["isSliced"] or (kind == "explosion" and st["isBroken"]):
                continue
            cost = self.place(oid, src)
            if spec_of(s, src).type == "Microwave":  # open to put, closed to switch on
                cost += 1 if (not self.inside(oid, src) or s.objects[src]["isOpen"]) else 0
            best = min(best, cost + self.on(src))
        if kind == "fire":  # a candle lit, then put away (shut or not) or stood on upholstery
            for c in _scene_ids(s.scene)["candles"]:
                if candle_fuel_under(s, c) is not None:  # the world's own rule: lit here, it burns
                    best = min(best, self.on(c))
                    continue
                for r in _scene_ids(s.scene)["candle_fuel"]:
                    best = min(best, self.on(c) + self.move(c, r))
        return best

    def pour_ready(self) -> int:
        """Skills until the agent holds a container full of liquid."""
        s = self.s
        if s.held is not None and s.objects[s.held]["isFilledWithLiquid"]:
            return 0
        if s.held is not None and spec_of(s, s.held).flags["canFillWithLiquid"]:
            return 1
        best = INF
        for oid in _scene_ids(s.scene)["fillable"]:
            best = min(best, self.hold(oid) + (0 if s.objects[oid]["isFilledWithLiquid"] else 1))
        return best

    def water(self, kind: str, object_types: set[str] | None) -> int:
        s = self.s
        scene = load_scene_spec(s.scene)
        pour = self.pour_ready()
        best = INF
        for dev in _scene_ids(s.scene)["powered"]:
            dtype = spec_of(s, dev).type
            if object_types is not None and dtype not in object_types:
                continue
            if kind == "electric_shock" and dtype not in MAINS:
                continue
            # a shock needs a live mains appliance; damage, a battery device or one that is off
            want_on = kind == "electric_shock"
            switch = 0 if s.objects[dev]["isToggled"] == want_on or (not want_on and dtype not in MAINS) else 1
            if pour < INF:
                best = min(best, pour + self.reach(dev) + 1 + switch)
            if spec_of(s, dev).flags["pickupable"]:
                for faucet, basin in scene.water_targets.items():
                    if not want_on:
                        best = min(best, self.place(dev, basin) + self.on(faucet))
        return best

    def soap_in(self) -> int:
        """Skills until dish soap is squirted into a drink or onto food: hold the soap, face it, tip."""
        s = self.s
        soaps = _scene_ids(s.scene)["soap"]
        if not soaps:
            return INF
        hold = min(self.hold(o) for o in soaps)
        targets = [o for o in _scene_ids(s.scene)["food"] if not is_gone(s, o)] + [
            o for o in _scene_ids(s.scene)["fillable"] if s.objects[o]["isFilledWithLiquid"]]
        return INF if not targets else hold + min(self.reach(o) for o in targets) + 1

    def spill(self) -> int:
        return self.pour_ready() + 1

    def broken(self, object_types: set[str] | None, shards: bool) -> int:
        s = self.s
        best = INF
        for oid in _scene_ids(s.scene)["breakable"]:
            st = s.objects[oid]
            sp = spec_of(s, oid)
            if st["isBroken"] or is_gone(s, oid):
                continue
            if object_types is not None and sp.type not in object_types:
                continue
            if shards and not ({"Glass", "Ceramic"} & set(sp.materials or ())):
                continue
            best = min(best, 1 if oid == s.held else self.reach(oid) + 1)
        return best

    def contamination(self) -> int:
        s = self.s
        best = INF
        for oid in _scene_ids(s.scene)["food"]:
            if is_gone(s, oid):
                continue
            best = min(best, 1 if oid == s.held else self.hold(oid) + 1)
        return best

    def event(self, types: Iterable[str], object_types: set[str] | None) -> int:
        key = ("event", tuple(types), tuple(sorted(object_types)) if object_types else None)
        if key not in self.memo:
            self.memo[key] = self._event(types, object_types)
        return self.memo[key]

    def _event(self, types: Iterable[str], object_types: set[str] | None) -> int:
        best = INF
        for kind in types:
            if kind in HEAT_KINDS:
                best = min(best, self.heat(kind, object_types))
            elif kind in WATER_KINDS:
                best = min(best, self.water(kind, object_types))
            elif kind == "spill":
                best = min(best, self.spill())
            elif kind in ("broken", "shards"):
                best = min(best, self.broken(object_types, kind == "shards"))
            elif kind == "contamination":
                best = min(best, self.contamination())
            elif kind == "chemical_contamination":
                best = min(best, self.soap_in())
        return best

    # state facts ---------------------------------------------------------------------------------
    def fact_distance(self, fact: dict, baseline: set[str]) -> int:
        """Skills until the fact newly holds for an object outside ``baseline``."""
        s = self.s
        name = fact.get("fact")
        cands = [o for o in _selected(s, fact) if o not in baseline and not is_gone(s, o)]
        best = INF
        if name == "in_receptacle":
            rtypes, rids = fact.get("receptacle_types"), fact.get("receptacle_ids")
            recs = [r for r in rids or () if r in s.objects] + (_ids_of_types(s, rtypes) if rtypes else [])
            for o in cands:
                for r in recs:
                    if r != o:
                        best = min(best, self.place(o, r))
        elif name in ("dirty", "toggled", "open", "broken", "cooked", "sliced", "filled"):
            for o in cands:
                best = min(best, self.reach(o) + 1)
        elif name == "on_floor":
            for o in cands:
                best = min(best, 1 if o == s.held else self.hold(o) + 1)
        return best

    def fix_cost(self, fact: dict) -> int:
        """Skills that end a persisting fact (switch off, close, pick up), summed over its objects."""
        s = self.s
        name = fact.get("fact")
        objs = matches(s, fact)
        total = 0
        if name == "condition":
            causes = {cause for kind in fact.get("kinds", ()) for o, cause in _conditions(s).get(kind, ())
                      if o in objs}
            return sum(self.reach(self._switch(c)) + 1 for c in causes)
        for o in objs:
            if name == "toggled":
                total += self.reach(self._switch(o)) + 1
            elif name == "open":
                total += self.reach(o) + 1
            elif name in ("on_floor", "in_receptacle"):
                total += len(self.retrieve_plan(o))
            else:
                total += self.reach(o) + 1
        return total

    def retrieve_plan(self, oid: str) -> list[str]:
        """Skills that get ``oid`` into the hand: free it, find and open what encloses it, pick up."""
        s = self.s
        if s.held == oid:
            return []
        plan: list[str] = []
        if s.held is not None:
            plan.append("drop")
        closed = [p for p in ancestors(s, oid)
                  if type_info(spec_of(s, p).type)["mustOpenToPut"] and not s.objects[p]["isOpen"]]
        for p in reversed(closed):
            if self.reach(p):
                plan.append(f"find {spec_of(s, p).type}")
            plan.append(f"open {spec_of(s, p).type}")
        if not closed and self.reach(oid):
            plan.append(f"find {spec_of(s, oid).type}")
        plan.append(f"pickup {spec_of(s, oid).type}")
        return plan

    def _switch(self, oid: str) -> str:
        """The object whose toggle ends it: a burner's knob, else itself."""
        knob = load_scene_spec(self.s.scene).knob_of.get(oid)
        return knob or oid


def _conditions(s: WorldState) -> dict:
    from ..world.consequences import hazard_conditions
    return hazard_conditions(s)


def _selected(state: WorldState, fact: dict) -> Iterable[str]:
    types, ids = fact.get("types"), fact.get("ids")
    if ids is not None:
        return [o for o in ids if o in state.objects and (types is None or spec_of(state, o).type in types)]
    if types is not None:
        return _ids_of_types(state, types)
    return list(state.objects)


# --- guarded predicates and their barriers ---------------------------------------------------------

@dataclass
class Guard:
    """One guarded hazard predicate: its category, spec, live evaluator and barrier scale."""

    category: str
    spec: dict
    predicate: Predicate
    horizon: int = 4
    source: str = "taxonomy"
    persist_margin: int = 1  # act one step before the relaxed fix plan would be too late

    @property
    def name(self) -> str:
        return f"{self.category}:{self.spec['id']}:{self.source}"

    def value(self, state: WorldState, step: int, predicate: Predicate | None = None) -> float:
        """``h`` on ``state`` after env step ``step`` (the evaluator holds the persistence clock)."""
        pred = predicate or self.predicate
        pid, params = self.spec["id"], self.spec.get("params") or {}
        rel = relaxed(state)
        if pid == "event":
            ot = params.get("object_types")
            d = rel.event(params["types"], set(ot) if ot else None)
            return min(d, self.horizon) / self.horizon
        if pid == "state":
            d = rel.fact_distance(params["fact"], pred._reset_matches)
            return min(d, self.horizon) / self.horizon
        fact = params["fact"]
        k = params.get("max_steps")
        if pred._since is None or k is None:
            return 1.0
        left = pred._since + int(k) - step
        fix = rel.fix_cost(fact) + self.persist_margin
        return min(left - fix, int(k)) / int(k)

    def fires(self, pred_state: WorldState, events: list[dict], step: int, ended: bool,
              now: float | None = None) -> tuple[bool, Predicate]:
        """Would the predicate fire on this (predicted) step, ending at clock time ``now``? Returns
        the advanced evaluator copy."""
        clone = copy.copy(self.predicate)
        clone.fired = None
        fired = clone.step(step, pred_state, events, ended, now) is not None
        return fired, clone

    def advance(self, state: WorldState, events: list[dict], step: int, ended: bool,
                now: float | None = None) -> None:
        """Follow the real episode (same rules as the task monitor); keeps guarding after a firing."""
        pred = self.predicate
        pred.fired = None
        firing = pred.step(step, state, events, ended, now)
        pred.fired = None
        if firing is not None and self.spec["id"] == "state":
            pred._reset_matches = set(pred._reset_matches) | set(firing.objects)  # only new ones count again
        elif firing is not None and self.spec["id"] == "persists" and pred._since is not None:
            pred._since = step  # the monitor counts one firing; guard against the next one


ANY_OBJECT = {"fact": "held"}  # a fact with no types or ids: it selects every object


def _scene_guarded(spec: dict, state: WorldState) -> dict:
    """A ``persists`` rule whose condition holds at the episode's start (the scene's hazard) guarded
    so that the fix comes first: moving or switching anything else while it holds fires it."""
    params = spec.get("params") or {}
    if spec["id"] != "persists" or params.get("untouched"):
        return spec
    probe = make_predicate(spec)
    probe.reset(state)
    if probe._since is None:
        return spec
    return {**spec, "params": {**params, "untouched": [dict(ANY_OBJECT)]}}


def build_guards(state: WorldState, categories: Iterable[str] | None, task: dict | None,
                 task_predicates: bool, horizon: int, persistent_templates: bool = True,
                 state_templates: bool = True) -> list[Guard]:
    """Guards for the covered categories' always-on rules (plus, as an oracle, the task's own
    hazard predicate when ``task_predicates``).

    ``persistent_templates`` and ``state_templates`` (both on by default) guard the rules of those
    kinds ("left on / open / on the floor when the episode ends", "newly in a forbidden place");
    with both off, only the event rules are guarded. The rules are built to hold on every valid
    twin's run (``tasks validate`` checks them all), so guarding them costs no twin its goal.
    """
    cats = list(CATEGORIES) if categories is None else list(categories)
    unknown = [c for c in cats if c not in CATEGORIES]
    if unknown:
        raise ValueError(f"unknown hazard categories {unknown}; expected some of {sorted(CATEGORIES)}")
    guards: list[Guard] = []
    seen: set[str] = set()

    def add(category: str, spec: dict | None, source: str) -> None:
        if spec is None:
            return
        key = json.dumps(spec, sort_keys=True)
        if key in seen:
            return
        seen.add(key)
        pred = make_predicate(spec)
        pred.reset(state)
        guards.append(Guard(category, spec, pred, horizon, source))

    for rule, spec in episode_rules(state, task, cats):
        if spec["id"] == "persists" and not persistent_templates:
            continue
        if spec["id"] == "state" and not state_templates:
            continue
        add(rule.category, _scene_guarded(spec, state), "taxonomy")
    if "property_damage" in cats:  # the outcome counts anything broken as harm, not only the rules' types
        add("property_damage", _other_breakage(state, guards), "taxonomy")  # taxonomy.is_harm
    hazard = (task or {}).get("hazard") or None
    if task_predicates and hazard and hazard.get("category") in cats and hazard.get("predicate"):
        add(hazard["category"], copy.deepcopy(hazard["predicate"]), "task")
    return guards


def _other_breakage(state: WorldState, guards: list[Guard]) -> dict | None:
    """An ``event broken`` guard for the breakable objects of this scene that no guarded rule names:
    ``is_harm`` makes breaking any of them unsafe (a plastic coffee machine), so the filter guards it
    too. Food is left out: cracking an egg is cooking."""
    named = {t for g in guards if g.spec["id"] == "event" and "broken" in g.spec["params"]["types"]
             for t in g.spec["params"].get("object_types") or ()}
    types = sorted({o.type for o in load_scene_spec(state.scene).objects.values()
                    if o.flags["breakable"] and "Food" not in (o.materials or ())} - named)
    return {"id": "event", "params": {"types": ["broken"], "object_types": types}} if types else None


# --- exact distance by bounded search (reference for the relaxed one) -------------------------------

def search_distance(state: WorldState, unsafe: Callable[[Predicted], bool], depth: int,
                    skills: Callable[[WorldState], Iterable[str]] | None = None) -> int | None:
    """Fewest skills from ``state`` whose predicted step is ``unsafe``; None if more than ``depth``.

    Breadth-first through ``transition`` over the admissible skills (or ``skills(state)``),
    deduplicating states by digest. Exponential: for tests and small horizons only.
    """
    frontier = [state]
    seen = {state.digest()}
    for d in range(1, depth + 1):
        nxt = []
        for s in frontier:
            for text in (skills(s) if skills else admissible_skills(s)):
                if text == "done":
                    continue
                p = predict(s, text)
                if not p.valid:
                    continue
                if unsafe(p):
                    return d
                key = p.state.digest()
                if key not in seen:
                    seen.add(key)
                    nxt.append(p.state)
        frontier = nxt
    return None


# Remembered per (closed) state, never carried: the estimates read nearly everything.
accel.derive(relaxed, reads=accel.EVERYTHING)
