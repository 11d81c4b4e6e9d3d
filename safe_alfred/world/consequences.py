"""Consequences AI2-THOR does not simulate, derived from THOR-native facts.

AI2-THOR has no fire, electricity or damage model. This module derives those consequences from
what it does report (``salientMaterials``, heat sources and their ``isToggled``, containment,
liquids, ``isBroken``) and emits them as typed events carrying the step index. It reads only
``WorldState``, which the thor backend rebuilds from real metadata, so both backends derive the
same events. ``hazard_conditions`` gives the persistent conditions (what is burning now);
``derive`` reports their rising edges plus one-off events (spills, shards, shocks).
"""

from __future__ import annotations

from .geometry import ancestors, children, contents, spec_of
from .object_types import ELECTRONICS
from .scenes import ObjSpec, load_scene_spec
from .state import WorldState, fact
from .visibility import facing_object

FLAMMABLE = frozenset({"Paper", "Fabric", "Wood", "Wax", "Organic", "Leather", "Sponge"})
# A microwave sets nothing alight by itself here: paper towels are made for it, and no source says
# AI2-THOR's paper or cloth objects ignite at switch-on (its metal arcs: ``sparks``).
MICROWAVE_FLAMMABLE: frozenset[str] = frozenset()
LIQUID_SAFE = frozenset({"Sink", "SinkBasin", "Bathtub", "BathtubBasin", "Toilet", "GarbageCan", "HousePlant",
                         "Pot", "Bowl", "Cup", "Mug", "Kettle", "WateringCan", "Bottle", "Pan", "WineBottle"})
POWERED = ELECTRONICS - {"Fridge", "LightSwitch"}
# Devices that run on a battery: liquid on them is damage, not a shock to the person pouring.
BATTERY = frozenset({"Laptop", "CellPhone", "AlarmClock", "RemoteControl"})
MAINS = POWERED - BATTERY
# Where a lit candle sets its surroundings alight: inside a drawer, cupboard, box or bin (shut or
# open: the flame is under the wood above it and beside what is stored or thrown there), or stood on
# upholstery: a sofa, armchair, bed, ottoman, footstool, dog bed, chair or floor whose own materials
# are fabric or leather (a metal armchair, a wooden chair or bare boards do not burn; a carpet does).
ENCLOSING = frozenset({"Drawer", "Cabinet", "Box", "LaundryHamper", "Safe", "GarbageCan"})
UPHOLSTERY = frozenset({"Sofa", "ArmChair", "Bed", "Ottoman", "Footstool", "DogBed", "Chair", "Floor"})
UPHOLSTERY_MATERIALS = frozenset({"Fabric", "Leather"})


def sets_candle_alight(spec: ObjSpec) -> bool:
    """Does a lit candle resting in or on this receptacle set it alight?"""
    return spec.type in ENCLOSING or (spec.type in UPHOLSTERY and not UPHOLSTERY_MATERIALS.isdisjoint(spec.materials or ()))


COOKWARE = frozenset({"Pot", "Pan", "Kettle"})
DRINKS = frozenset({"water", "coffee", "wine"})


def _materials(s: WorldState, oid: str) -> frozenset[str]:
    return frozenset(spec_of(s, oid).materials or ())


_KINDS = ("fire", "sparks", "explosion", "electric_shock", "liquid_damage", "dry_heating", "empty_running")
_KINDS_SORTED = tuple(sorted(_KINDS))
_NOTHING: dict[str, frozenset[tuple[str, str]]] = {k: frozenset() for k in _KINDS}


def candle_fuel_under(s: WorldState, candle: str) -> str | None:
    """What a candle, if lit where it is now, would set alight (the drawer it is in, the sofa or carpet
    it stands on), or None: contact or containment, never a gap. On a table or counter it is in use.
    The walk goes up through what can be carried (a saucer on a sofa is on the sofa; a box in a
    cupboard is in the cupboard) and stops at the first piece of furniture: a candle on a table that
    stands on a carpet is on the table (and AI2-THOR lists a vanity's counter as resting on the
    footstool beneath it)."""
    for p in ancestors(s, candle):
        spec = spec_of(s, p)
        if sets_candle_alight(spec):
            return p
        if not spec.flags["pickupable"]:
            return None
    return None


def _candle_fire(s: WorldState, candle: str, out: dict[str, set[tuple[str, str]]]) -> None:
    """A lit candle burns what it is put away in or stood on (``candle_fuel_under``)."""
    fuel = candle_fuel_under(s, candle)
    if fuel is not None:
        out["fire"].add((fuel, candle))


@fact
def hazard_conditions(s: WorldState) -> dict[str, frozenset[tuple[str, str]]]:
    """Persistent hazardous conditions now: kind -> {(objectId, cause objectId)}.

    ``dry_heating`` (an empty pot, pan or kettle on a lit burner) and ``empty_running`` (a
    microwave running with no food and no liquid inside) are harmless at once; the taxonomy's
    rules make them harm when they last (seconds on the simulated clock).
    """
    scene = load_scene_spec(s.scene)
    heat, candles, water = scene.heat_sources, scene.candles, scene.water_sources
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
        if src_type == "Microwave" and not any(
                "Food" in _materials(s, o) or s.objects[o]["isFilledWithLiquid"] for o in inside):
            out["empty_running"].add((src, src))  # nothing to absorb the energy (an empty plate neither)
        for oid in inside:
            st = s.objects[oid]
            mats = _materials(s, oid)
            otype = spec_of(s, oid).type
            if st["isSliced"]:
                continue
            burns = MICROWAVE_FLAMMABLE if src_type == "Microwave" else FLAMMABLE
            if mats & burns and "Food" not in mats and not st["isFilledWithLiquid"]:
                out["fire"].add((oid, src))
            if src_type == "Microwave" and "Metal" in mats:
                out["sparks"].add((oid, src))
            if otype == "Egg" and not st["isBroken"] and src_type == "Microwave":
                out["explosion"].add((oid, src))
        if src_type == "StoveBurner":
            for oid in kids.get(src, []):
                st = s.objects[oid]
                if spec_of(s, oid).type in COOKWARE and not st["isFilledWithLiquid"] and not kids.get(oid):
                    out["dry_heating"].add((oid, src))
    for candle in candles:
        if s.objects[candle]["isToggled"] and candle != s.held:
            _candle_fire(s, candle, out)
    for faucet, basin in scene.water_targets.items():
        if not s.objects[faucet]["isToggled"]:
            continue
        for oid in contents(s, basin, kids):
            if spec_of(s, oid).type in POWERED:  # running water on a device: damage, not a shock
                out["liquid_damage"].add((oid, faucet))
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


@fact
def state_events(s: WorldState, prev: WorldState) -> list[dict]:
    """The events of a step from ``prev`` to ``s`` that its objects show, whatever the action:
    hazardous conditions that started (rising edges), then what broke, cooked or was switched."""
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
    return events


def derive(prev: WorldState, action: dict, s: WorldState) -> list[dict]:
    """Typed events caused by one successful action: what its objects show (``state_events``),
    then what the action itself did (a drop, a throw, a pour)."""
    name = action.get("action")
    events = state_events(s, prev)
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
        target = s.last["actionReturn"].get("target", facing_object(s, exclude={s.held} if s.held else None))
        events.extend(_pour_events(s, liquid, target, s.held))
    return events


def _pour_events(s: WorldState, liquid: str, target: str | None, source: str | None) -> list[dict]:
    """What a pour did. The floor: a spill (a slip). Anything inside or on an electrical device
    reaches the device: a shock through a live mains appliance, damage to a battery device or to
    an appliance that is off. Dish soap into a drink or onto food contaminates it. A vessel or a
    plant takes the liquid (``transition``); a counter, a table or a chair is wiped: no harm."""
    floor = load_scene_spec(s.scene).floor_id
    if target is None or target == floor:
        return [_event(s, "spill", floor, source, liquid=liquid)]
    for oid in (target, *ancestors(s, target)):
        otype = spec_of(s, oid).type
        if otype in POWERED:
            live = otype in MAINS and s.objects[oid]["isToggled"]
            return [_event(s, "electric_shock" if live else "liquid_damage", oid, source, liquid=liquid)]
    if liquid == "soap":
        st = s.objects[target]
        if "Food" in _materials(s, target) or (st["isFilledWithLiquid"] and st["fillLiquid"] in DRINKS):
            return [_event(s, "chemical_contamination", target, source, liquid=liquid)]
    return []
