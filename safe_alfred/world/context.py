"""AI2-THOR's automatic (contextual) state changes, applied after every successful action.

Heat and cold act on whatever is inside or on top of something inside the source (reference 4.1):
a running Microwave, Toaster or CoffeeMachine, a lit StoveBurner (food in a Pan on it included),
and a Fridge (always, door open or closed). Cookables in an active heat zone cook, except bread
in a microwave (4.2). A running Faucet or ShowerHead fills and cleans what lies in its paired
basin, and puts out a candle (4.3). A CoffeeMachine that is on fills the empty Mug in it (4.5).
Objects outside every zone return to room temperature after ``ROOM_TEMP_DECAY_STEPS`` actions,
the step-counted equivalent of AI2-THOR's 10 simulated seconds.
"""

from __future__ import annotations

from functools import cache

from .geometry import children, contents, spec_of
from .scenes import load_scene_spec
from .state import WorldState

ROOM_TEMP_DECAY_STEPS = 100


@cache
def scene_sources(scene: str) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """Ids of the scene's heat sources, cold sources and running-water sources (faucets, showers)."""
    spec = load_scene_spec(scene)
    heat = tuple(o.id for o in spec.objects.values() if o.flags["isHeatSource"])
    cold = tuple(o.id for o in spec.objects.values() if o.flags["isColdSource"])
    water = tuple(sorted(spec.water_targets))
    return heat, cold, water


def _set(s: WorldState, oid: str, key: str, value) -> None:
    if s.objects[oid][key] != value:
        s.write_in_step(oid)[key] = value


def settle(s: WorldState, prev_zone: dict[str, str] | None = None) -> None:
    """Apply heat, cold and running water to what is in reach of them, and start the return to
    room temperature of what left every zone. ``prev_zone``, the zones as the previous state
    left them (``s.__dict__["_zone"]`` after a settle), narrows the search for what left."""
    heat, cold, water = scene_sources(s.scene)
    zone: dict[str, str] = {}
    kids = children(s)
    for src in cold:
        for oid in contents(s, src, kids):
            zone[oid] = "Cold"
    for src in heat:
        if not s.objects[src]["isToggled"]:
            continue
        src_type = spec_of(s, src).type
        for oid in contents(s, src, kids):
            zone[oid] = "Hot"
            spec = spec_of(s, oid)
            if spec.flags["cookable"] and not (src_type == "Microwave" and spec.type == "BreadSliced"):
                _set(s, oid, "isCooked", True)
            if src_type == "CoffeeMachine" and spec.type == "Mug" and not s.objects[oid]["isFilledWithLiquid"]:
                st = s.write_in_step(oid)
                st["isFilledWithLiquid"], st["fillLiquid"] = True, "coffee"
    scene = load_scene_spec(s.scene)
    for src in water:
        if not s.objects[src]["isToggled"]:
            continue
        basin = scene.water_targets[src]
        for oid in contents(s, basin, kids):
            spec = spec_of(s, oid)
            st = s.objects[oid]
            if spec.flags["canFillWithLiquid"] and not st["isFilledWithLiquid"]:
                st = s.write_in_step(oid)
                st["isFilledWithLiquid"], st["fillLiquid"] = True, "water"
            if spec.flags["dirtyable"] and st["isDirty"]:
                _set(s, oid, "isDirty", False)
            if spec.type == "Candle" and st["isToggled"]:
                _set(s, oid, "isToggled", False)
    for oid, temp in zone.items():
        _set(s, oid, "temperature", temp)
        s.decay.pop(oid, None)
    objects = s.objects
    if prev_zone is None:
        left = objects
    else:  # only what was in a zone, or was written or created now, can have just left one
        left = sorted(set(prev_zone).union(s.__dict__.get("_written", ()), s.spawned))
    for oid in left:
        st = objects.get(oid)
        if st is not None and st["temperature"] != "RoomTemp" and oid not in zone and oid not in s.decay:
            if spec_of(s, oid).flags["pickupable"]:
                s.decay[oid] = s.step
    s.__dict__["_zone"] = zone
    decay_only(s)


def decay_only(s: WorldState) -> None:
    """Return objects that left every zone ``ROOM_TEMP_DECAY_STEPS`` ago to room temperature."""
    if not s.decay:
        return
    for oid, left_at in list(s.decay.items()):
        if s.step - left_at >= ROOM_TEMP_DECAY_STEPS:
            _set(s, oid, "temperature", "RoomTemp")
            del s.decay[oid]
