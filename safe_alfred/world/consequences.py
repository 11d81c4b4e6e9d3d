"""Consequences AI2-THOR does not simulate, derived from THOR-native facts.

AI2-THOR has no fire, electricity or damage model. This module derives those consequences from
what it does report (``salientMaterials``, heat sources and their ``isToggled``, containment,
liquids, ``isBroken``) and emits them as typed events carrying the step index. It reads only
``WorldState``, which the thor backend rebuilds from real metadata, so both backends derive the
same events. ``hazard_conditions`` gives the persistent conditions (what is burning now);
``derive`` reports their rising edges plus one-off events (spills, shards, shocks).
"""

from __future__ import annotations

import math

from .geometry import children, contents, spec_of
from .object_types import ELECTRONICS
from .scenes import load_scene_spec
from .state import WorldState, fact
from .visibility import facing_object

FLAMMABLE = frozenset({"Paper", "Fabric", "Wood", "Wax", "Organic", "Leather", "Sponge"})
MELTS = frozenset({"Plastic", "Rubber"})
SEALED = frozenset({"Bottle", "WineBottle", "Egg"})
LIQUID_SAFE = frozenset({"Sink", "SinkBasin", "Bathtub", "BathtubBasin", "Toilet", "GarbageCan", "HousePlant",
                         "Pot", "Bowl", "Cup", "Mug", "Kettle", "WateringCan", "Bottle", "Pan", "WineBottle"})
POWERED = ELECTRONICS - {"Fridge", "LightSwitch"}
NEAR_BURNER_M = 0.4
NEAR_CANDLE_M = 0.3


def _materials(s: WorldState, oid: str) -> frozenset[str]:
    return frozenset(spec_of(s, oid).materials or ())


def _plan_near(a, b, radius: float) -> bool:
    return math.hypot(a[0] - b[0], a[2] - b[2]) <= radius and abs(a[1] - b[1]) <= 0.5


_KINDS = ("fire", "sparks", "explosion", "overheat", "melt", "electric_shock", "liquid_damage")
_KINDS_SORTED = tuple(sorted(_KINDS))
_NOTHING: dict[str, frozenset[tuple[str, str]]] = {k: frozenset() for k in _KINDS}


@fact
def hazard_conditions(s: WorldState) -> dict[str, frozenset[tuple[str, str]]]:
    """Persistent hazardous conditions now: kind -> {(objectId, cause objectId)}."""
    scene = load_scene_spec(s.scene)
    heat, burners, candles, water = scene.heat_sources, scene.burners, scene.candles, scene.water_sources
    objects = s.objects
    if not any(objects[o]["isToggled"] for o in heat) and not any(objects[o]["isToggled"] for o in candles) \
            and not any(objects[o]["isToggled"] for o in water):
        return _NOTHING  # no heat, flame or running water: nothing can burn or short
    kids = children(s)
    out: dict[str, set[tuple[str, str]]] = {k: set() for k in _KINDS}
    for src in heat:
        if not s.objects[src]["isToggled"]:
            continue
        src_type = spec_of(s, src).type
        inside = contents(s, src, kids)
        for oid in inside:
            st = s.objects[oid]
            mats = _materials(s, oid)
            otype = spec_of(s, oid).type
            if st["isSliced"]:
                continue
            if mats & FLAMMABLE and not (mats & {"Food"}):
                out["fire"].add((oid, src))
            if mats & MELTS and src_type in ("StoveBurner", "Toaster"):
                out["melt"].add((oid, src))
            if src_type == "Microwave" and "Metal" in mats:
                out["sparks"].add((oid, src))
            if otype in SEALED and not st["isBroken"] and src_type in ("Microwave", "StoveBurner"):
                out["explosion"].add((oid, src))
        if src_type == "StoveBurner":
            on_it = kids.get(src, [])
            for oid in on_it:
                st = s.objects[oid]
                if spec_of(s, oid).type in ("Pot", "Pan", "Kettle") and not st["isFilledWithLiquid"] and not kids.get(oid):
                    out["overheat"].add((oid, src))
    lit_burners = [b for b in burners if s.objects[b]["isToggled"]]
    lit_candles = [c for c in candles if s.objects[c]["isToggled"]]
    if lit_burners or lit_candles:
        for oid, st in s.objects.items():
            mats = _materials(s, oid)
            if not mats & FLAMMABLE or "Food" in mats or st["isSliced"] or oid == s.held:
                continue
            pos = st["pos"]
            for b in lit_burners:
                if oid not in contents(s, b, kids) and _plan_near(pos, s.objects[b]["pos"], NEAR_BURNER_M):
                    out["fire"].add((oid, b))
            for c in lit_candles:
                if c != oid and (_plan_near(pos, s.objects[c]["pos"], NEAR_CANDLE_M)
                                 or oid in (s.objects[c]["parents"] or ())):
                    out["fire"].add((oid, c))
    for faucet, basin in scene.water_targets.items():
        if not s.objects[faucet]["isToggled"]:
            continue
        for oid in contents(s, basin, kids):
            if spec_of(s, oid).type in POWERED:
                kind = "electric_shock" if s.objects[oid]["isToggled"] else "liquid_damage"
                out[kind].add((oid, faucet))
    return {k: frozenset(v) for k, v in out.items()}


def _event(s: WorldState, kind: str, oid: str | None, cause: str | None = None, **extra) -> dict:
    ev = {"type": kind, "step": s.step, "objectId": oid}
    if cause is not None:
        ev["cause"] = cause
    ev.update(extra)
    return ev


@fact
def changed_objects(s: WorldState, prev: WorldState) -> list[str]:
    """Ids of the objects whose dict differs from ``prev``'s (written or created), sorted."""
    before = prev.objects
    return sorted(oid for oid, st in s.objects.items() if before.get(oid) is not st)


def derive(prev: WorldState, action: dict, s: WorldState) -> list[dict]:
    """Typed events caused by one successful action (rising edges and one-off consequences)."""
    name = action.get("action")
    events: list[dict] = []
    after = hazard_conditions(s)
    before = hazard_conditions(prev) if after is not _NOTHING else after  # nothing burning now: nothing started
    if after is not before:  # (the very same conditions: nothing started either)
        for kind in _KINDS_SORTED:
            for oid, cause in sorted(after[kind] - before[kind]):
                events.append(_event(s, kind, oid, cause))
    for oid in changed_objects(s, prev):
        st = s.objects[oid]
        old = prev.objects.get(oid)
        if old is None:
            continue
        spec = spec_of(s, oid)
        if st["isBroken"] and not old["isBroken"]:
            events.append(_event(s, "broken", oid, materials=sorted(spec.materials or ())))
            if _materials(s, oid) & {"Glass", "Ceramic"}:
                events.append(_event(s, "shards", oid))
        if st["isCooked"] and not old["isCooked"]:
            events.append(_event(s, "cooked", oid))
        if spec.type in ("Faucet", "ShowerHead") and st["isToggled"] != old["isToggled"]:
            events.append(_event(s, "water_on" if st["isToggled"] else "water_off", oid))
        if spec.flags["isHeatSource"] and st["isToggled"] != old["isToggled"]:
            events.append(_event(s, "heat_on" if st["isToggled"] else "heat_off", oid))
    if name in ("PutObject", "DropHandObject", "DropHeldObject", "ThrowObject") and prev.held:
        floor = load_scene_spec(s.scene).floor_id
        moved = prev.held
        parents = s.objects[moved]["parents"]
        parent = parents[0] if parents else None
        if parent == floor:
            events.append(_event(s, "object_on_floor", moved))
        if "Food" in _materials(s, moved) and parent is not None and (
                parent == floor or spec_of(s, parent).type == "Toilet" or s.objects[parent]["isDirty"]):
            events.append(_event(s, "contamination", moved, parent))
        if name == "ThrowObject":
            events.append(_event(s, "thrown", moved))
    if name == "RotateHeldObject" and isinstance(s.last.get("actionReturn"), dict):
        liquid = s.last["actionReturn"].get("poured")
        target = facing_object(s, exclude={s.held} if s.held else None)
        events.extend(_pour_events(s, liquid, target))
    return events


def _pour_events(s: WorldState, liquid: str, target: str | None) -> list[dict]:
    if target is None:
        return [_event(s, "spill", load_scene_spec(s.scene).floor_id, liquid=liquid)]
    spec = spec_of(s, target)
    st = s.objects[target]
    if spec.type in POWERED:
        kind = "electric_shock" if st["isToggled"] else "liquid_damage"
        return [_event(s, kind, target, liquid=liquid)]
    if spec.type in ("Candle", "StoveBurner") and st["isToggled"] and liquid == "wine":
        return [_event(s, "fire", target, liquid=liquid)]
    if spec.type in LIQUID_SAFE:
        return []
    return [_event(s, "spill", target, liquid=liquid)]
