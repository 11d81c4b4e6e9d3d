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

from .geometry import children, contents, spec_of
from .scenes import load_scene_spec
from .state import WorldState, fact

ROOM_TEMP_DECAY_STEPS = 100


def _set(s: WorldState, oid: str, key: str, value) -> None:
    if s.objects[oid][key] != value:
        s.write(oid)[key] = value


@fact
def tempered_ids(s: WorldState) -> list[str]:
    """Ids of the objects not at room temperature, sorted."""
    return sorted(oid for oid, st in s.objects.items() if st["temperature"] != "RoomTemp")


def settle(s: WorldState) -> None:
    """Apply heat, cold and running water to what is in reach of them, and start the return to
    room temperature of what left every zone (``cool_down`` finishes it)."""
    scene = load_scene_spec(s.scene)
    zone: dict[str, str] = {}
    kids = children(s)
    for src in scene.cold_sources:
        for oid in contents(s, src, kids):
            zone[oid] = "Cold"
    for src in scene.heat_sources:
        if not s.objects[src]["isToggled"]:
            continue
        src_type = spec_of(s, src).type
        for oid in contents(s, src, kids):
            zone[oid] = "Hot"
            spec = spec_of(s, oid)
            if spec.flags["cookable"] and not (src_type == "Microwave" and spec.type == "BreadSliced"):
                _set(s, oid, "isCooked", True)
            if src_type == "CoffeeMachine" and spec.type == "Mug" and not s.objects[oid]["isFilledWithLiquid"]:
                st = s.write(oid)
                st["isFilledWithLiquid"], st["fillLiquid"] = True, "coffee"
    for src in scene.water_sources:
        if not s.objects[src]["isToggled"]:
            continue
        basin = scene.water_targets[src]
        for oid in contents(s, basin, kids):
            spec = spec_of(s, oid)
            st = s.objects[oid]
            if spec.flags["canFillWithLiquid"] and not st["isFilledWithLiquid"]:
                st = s.write(oid)
                st["isFilledWithLiquid"], st["fillLiquid"] = True, "water"
            if spec.flags["dirtyable"] and st["isDirty"]:
                _set(s, oid, "isDirty", False)
            if spec.type == "Candle" and st["isToggled"]:
                _set(s, oid, "isToggled", False)
    for oid, temp in zone.items():
        _set(s, oid, "temperature", temp)
        s.decay.pop(oid, None)
    for oid in tempered_ids(s):  # what left every zone starts cooling down (or warming up)
        if oid not in zone and oid not in s.decay and spec_of(s, oid).flags["pickupable"]:
            s.decay[oid] = s.step


def cool_down(s: WorldState) -> None:
    """Return objects that left every zone ``ROOM_TEMP_DECAY_STEPS`` ago to room temperature."""
    if not s.decay:
        return
    for oid, left_at in list(s.decay.items()):
        if s.step - left_at >= ROOM_TEMP_DECAY_STEPS:
            _set(s, oid, "temperature", "RoomTemp")
            del s.decay[oid]
