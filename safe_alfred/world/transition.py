"""AI2-THOR's actions as a pure transition function over plain data.

``transition(state, action) -> (next_state, events)``. ``action`` is an AI2-THOR action dict
(``{"action": "PickupObject", "objectId": "..."}``). Preconditions are checked in AI2-THOR's order
(reference sections 3.1 and 3.2) and fail with ``lastActionSuccess`` false and AI2-THOR's error
message, leaving the world unchanged; they never raise. After a successful action the context
rules of ``context.py`` run (heat, cold, water, coffee) and ``consequences.py`` derives the
typed events AI2-THOR does not simulate (fire, sparks, electric shock, spills, shards).

A handler changes the successor ``s`` it is given: objects only through ``s.write(id)`` (or
``s.add`` for a new one), the agent, hand and settings directly. ``docs/world_rules.md`` says how to
add one.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from . import consequences, context
from .geometry import (
    contents,
    hand_position,
    on_grid,
    placed_center,
    receptacle_accepts,
    round4,
    spec_of,
)
from .object_types import BREAK_SWITCHES_OFF, LIQUIDS, SLICE_RESULT, SOFT_TYPES, type_info
from .scenes import load_scene_spec
from .state import WorldState, default_object_state
from .visibility import facing_object, visible_ids

Error = tuple[str, str | None]  # (errorMessage, errorCode)

SOAP_DISPENSERS = frozenset({"SoapBottle"})  # tipped, they squirt soap (never empty)
LIQUID_CONTAINERS_BY_POUR = 90.0  # a filled object tilted more than this spills (reference 4.3)


def _resolve(s: WorldState, a: dict, key: str = "objectId") -> tuple[str | None, Error | None]:
    """AI2-THOR's target resolution: id known, visible, interactable (reference 3.1)."""
    oid = a.get(key)
    if oid is None:
        return None, (f"action: {a['action']} is missing the following arguments: {key}", "MissingArguments")
    if oid not in s.objects:
        return None, (f"objectId: {oid} is not the objectId on any object in the scene!", None)
    if not a.get("forceAction", False) and oid not in visible_ids(s):
        return None, ("Target object not found within the specified visibility.", None)
    return oid, None


def _flag(s: WorldState, oid: str, flag: str) -> bool:
    return spec_of(s, oid).flags[flag]


def _name(s: WorldState, oid: str) -> str:
    return spec_of(s, oid).name


def _set_parent(s: WorldState, oid: str, parent: str | None, pos) -> None:
    st = s.write(oid)
    st["parents"] = (parent,) if parent else None
    st["pos"] = tuple(round4(v) for v in pos)


def _top_of(s: WorldState, rid: str):
    spec = spec_of(s, rid)
    x, y, z = placed_center(spec, s.objects[rid]["pos"])
    return (x, y + spec.size[1] / 2, z)


def _release_held(s: WorldState, parent: str, pos) -> None:
    """Place the held object; what it carries (an egg on a plate) moves along with it."""
    held = s.held
    carried = contents(s, held) if spec_of(s, held).flags["receptacle"] else []
    s.held = None
    _set_parent(s, held, parent, pos)
    for oid in carried:
        s.write(oid)["pos"] = tuple(round4(v) for v in pos)


# --- object interactions --------------------------------------------------------------------

def pickup(s: WorldState, a: dict) -> Error | None:
    oid, err = _resolve(s, a)
    if err:
        return err
    if not _flag(s, oid, "pickupable"):
        return f"{oid} must have the property CanPickup to be picked up.", None
    if s.held is not None:
        return "Agent hand has something in it already! Can't pick up anything else", None
    st = s.write(oid)
    st["parents"] = None
    st["pos"] = tuple(round4(v) for v in hand_position(s.agent))
    s.held = oid
    s.last["actionReturn"] = oid
    return None


def put(s: WorldState, a: dict) -> Error | None:
    rid, err = _resolve(s, a)
    if err:
        return err
    if s.held is None:
        return "Can't place an object if Agent isn't holding anything", None
    rspec = spec_of(s, rid)
    if not rspec.flags["receptacle"]:
        return "This target object is NOT a receptacle!", None
    rinfo = type_info(rspec.type)
    if rinfo["mustOpenToPut"] and not s.objects[rid]["isOpen"]:
        return "Target openable Receptacle is CLOSED, can't place if target is not open!", None
    held_spec = spec_of(s, s.held)
    if rid == s.held or rid in contents(s, s.held):  # into itself, or into what it carries
        return "No valid positions to place object found", None
    specific = rinfo["objectSpecificAccepts"]
    if specific is not None:
        if held_spec.type not in specific:
            return f"{held_spec.name} is not a valid Object Type to be placed in {rspec.name}", None
        if any(rid in (st["parents"] or ()) for st in s.objects.values()):
            return f"{rspec.name} is full right now", None
    elif not a.get("forceAction", False) and not receptacle_accepts(rspec.type, held_spec.type):
        return f"{held_spec.name} cannot be placed in {rspec.name}", None
    _release_held(s, rid, _top_of(s, rid))
    return None


def drop(s: WorldState, a: dict) -> Error | None:
    if s.held is None:
        return "Nothing is in the agent's hand to drop!", None
    held = s.held
    hx, _, hz = hand_position(s.agent)
    floor = load_scene_spec(s.scene).floor_id
    _release_held(s, floor, (hx, 0.05, hz))
    s.last["actionReturn"] = {"x": round(hx, 4), "y": 0.05, "z": round(hz, 4)}
    if spec_of(s, held).type == "Egg":  # the one fragile object a hand-height drop breaks
        _break(s, held)
    return None


def throw(s: WorldState, a: dict) -> Error | None:
    if "moveMagnitude" not in a:
        return "action: ThrowObject is missing the following arguments: moveMagnitude", "MissingArguments"
    if s.held is None:
        return "Nothing in Hand to Throw!", None
    held = s.held
    inside = contents(s, held)  # a box thrown with a laptop in it lands as hard on the laptop
    target = facing_object(s, exclude={*inside, held})
    reach = min(3.0, max(0.5, float(a["moveMagnitude"]) / 75.0))
    r = math.radians(s.agent["rotation"])
    x, z = s.agent["x"] + math.sin(r) * reach, s.agent["z"] + math.cos(r) * reach
    floor = load_scene_spec(s.scene).floor_id
    _release_held(s, floor, (x, 0.05, z))
    held_type = spec_of(s, held).type
    for oid in [held, *inside]:
        if _flag(s, oid, "breakable") and not s.objects[oid]["isBroken"]:
            _break(s, oid)
    if (target is not None and held_type not in SOFT_TYPES and _flag(s, target, "breakable")
            and not s.objects[target]["isBroken"]):
        _break(s, target)
    return None


def _break(s: WorldState, oid: str) -> None:
    st = s.write(oid)
    st["isBroken"] = True
    spec = spec_of(s, oid)
    if spec.type in BREAK_SWITCHES_OFF:
        st["isToggled"] = False
    if spec.type == "Egg":
        _spawn(s, oid, "EggCracked", 1)


def _spawn(s: WorldState, source: str, new_type: str, count: int) -> None:
    src = s.objects[source]
    for i in range(count):
        new_id = f"{source}|{new_type}_{i}"
        if new_id in s.objects:
            continue
        s.spawned[new_id] = [source, new_type, i]
        st = default_object_state(spec_of(s, new_id).pos)
        st["parents"] = src["parents"]
        st["pos"] = src["pos"]
        st["isCooked"] = src["isCooked"]
        st["temperature"] = src["temperature"]
        s.add(new_id, st)


def break_object(s: WorldState, a: dict) -> Error | None:
    oid, err = _resolve(s, a)
    if err:
        return err
    if not _flag(s, oid, "breakable"):
        return f"{_name(s, oid)} does not have the CanBreak property!!", None
    if s.held == oid:
        hx, _, hz = hand_position(s.agent)
        _release_held(s, load_scene_spec(s.scene).floor_id, (hx, 0.05, hz))
    _break(s, oid)
    return None


def open_close(s: WorldState, a: dict) -> Error | None:
    oid, err = _resolve(s, a)
    if err:
        return err
    openness = 0.0 if a["action"] == "CloseObject" else float(a.get("openness", a.get("moveMagnitude", 1.0)))
    if not 0.0 <= openness <= 1.0:
        return "openness must be in [0:1]", None
    if not _flag(s, oid, "openable"):
        return f"{oid} is not an Openable object", None
    st = s.objects[oid]
    if spec_of(s, oid).type == "Microwave" and st["isToggled"]:
        return "Target must be OFF to open!", None
    st = s.write(oid)
    st["openness"] = openness
    st["isOpen"] = openness > 0
    return None


def toggle(s: WorldState, a: dict) -> Error | None:
    oid, err = _resolve(s, a)
    if err:
        return err
    on = a["action"] == "ToggleObjectOn"
    spec = spec_of(s, oid)
    st = s.objects[oid]
    if not spec.flags["toggleable"]:
        if spec.type == "StoveBurner":
            return ("target object is controlled by another sim object. target object cannot be turned "
                    "on/off directly"), None
        return "object is not toggleable.", None
    if st["isToggled"] == on:
        return ("can't toggle object on if it's already on!" if on
                else "can't toggle object off if it's already off!"), None
    if on and spec.type == "Microwave" and st["isOpen"]:
        return "Target must be closed to Toggle On!", None
    if on and spec.type in BREAK_SWITCHES_OFF and st["isBroken"]:
        return "Target is broken and cannot be Toggled On!", None
    s.write(oid)["isToggled"] = on
    for burner in spec.controls or ():
        if burner in s.objects:
            s.write(burner)["isToggled"] = on
    return None


def slice_object(s: WorldState, a: dict) -> Error | None:
    oid, err = _resolve(s, a)
    if err:
        return err
    if s.held == oid:
        return "target object cannot be sliced if it is in the agent's hand", None
    spec = spec_of(s, oid)
    if not spec.flags["sliceable"]:
        return f"{spec.name} Does not have the CanBeSliced property!", None
    if s.objects[oid]["isSliced"]:
        return None
    s.write(oid)["isSliced"] = True
    new_type, count = SLICE_RESULT.get(spec.type, (f"{spec.type}Sliced", 4))
    _spawn(s, oid, new_type, count)
    return None


def _state_flip(flag: str, key: str, missing: str, already: str, value: bool) -> Callable:
    def handler(s: WorldState, a: dict) -> Error | None:
        oid, err = _resolve(s, a)
        if err:
            return err
        name = _name(s, oid)
        if not _flag(s, oid, flag):
            return missing.format(name=name, id=oid), None
        if s.objects[oid][key] == value:
            return already.format(name=name, id=oid), None
        s.write(oid)[key] = value
        return None
    return handler


dirty = _state_flip("dirtyable", "isDirty", "{name} does not have CanBeDirty property!", "{name} is already dirty!", True)
clean = _state_flip("dirtyable", "isDirty", "{name} does not have dirtyable property!", "{name} is already Clean!", False)
use_up = _state_flip("canBeUsedUp", "isUsedUp", "{name} does not have CanBeUsedUp property!", "object already used up!", True)
cook = _state_flip("cookable", "isCooked", "target object is not cookable", "{id} is already Toasted!", True)


def fill(s: WorldState, a: dict) -> Error | None:
    oid, err = _resolve(s, a)
    if err:
        return err
    liquid = a.get("fillLiquid")
    if liquid is None:
        return "Missing Liquid string for FillObject action", None
    liquid = str(liquid).lower()
    if liquid not in LIQUIDS:
        return f"{liquid} is not a valid Liquid Type", None
    name = _name(s, oid)
    if not _flag(s, oid, "canFillWithLiquid"):
        return f"{name} does not have CanBeFilled property!", None
    if s.objects[oid]["isFilledWithLiquid"]:
        return f"{name} is already Filled!", None
    st = s.write(oid)
    st["isFilledWithLiquid"] = True
    st["fillLiquid"] = liquid
    if liquid == "coffee":
        st["temperature"] = "Hot"
    return None


def empty(s: WorldState, a: dict) -> Error | None:
    oid, err = _resolve(s, a)
    if err:
        return err
    if not _flag(s, oid, "canFillWithLiquid"):
        return f"{_name(s, oid)} does not have CanBeFilled property!", None
    if not s.objects[oid]["isFilledWithLiquid"]:
        return "object already empty", None
    st = s.write(oid)
    st["isFilledWithLiquid"] = False
    st["fillLiquid"] = None
    return None


def rotate_held(s: WorldState, a: dict) -> Error | None:
    """Tilting the held object: past 90 degrees a filled container pours (this is how to pour).

    The liquid goes where the hand points (``consequences`` says what it harms): into a vessel or
    a plant that can hold it, which is then filled. A soap dispenser squirts soap whenever it is
    tipped; it stays full.
    """
    if s.held is None:
        return "Can't rotate held object since no object is being held.", None
    rot = a.get("rotation") or {}
    pitch = float(a.get("pitch", rot.get("x", 0.0)))
    roll = float(a.get("roll", rot.get("z", 0.0)))
    st = s.objects[s.held]
    soap = spec_of(s, s.held).type in SOAP_DISPENSERS
    if max(abs(pitch), abs(roll)) > LIQUID_CONTAINERS_BY_POUR and (st["isFilledWithLiquid"] or soap):
        target = facing_object(s, exclude={s.held})
        liquid = "soap" if soap else st["fillLiquid"] or "water"
        s.last["actionReturn"] = {"poured": liquid, "target": target}
        if soap:
            return None
        st = s.write(s.held)
        st["isFilledWithLiquid"] = False
        st["fillLiquid"] = None
        if target is not None and _flag(s, target, "canFillWithLiquid") and not s.objects[target]["isFilledWithLiquid"]:
            into = s.write(target)
            into["isFilledWithLiquid"] = True
            into["fillLiquid"] = liquid
    return None


# --- navigation and utility -------------------------------------------------------------------

def move(s: WorldState, a: dict) -> Error | None:
    mag = float(a.get("moveMagnitude", s.settings["gridSize"]))
    if mag <= 0:
        return "moveMagnitude must be > 0", None
    direction = {"MoveAhead": 0, "MoveRight": 90, "MoveBack": 180, "MoveLeft": 270}[a["action"]]
    r = math.radians(s.agent["rotation"] + direction)
    x, z = s.agent["x"] + math.sin(r) * mag, s.agent["z"] + math.cos(r) * mag
    if not a.get("forceAction", False) and not on_grid(s, x, z):
        return f"Agent 0 is blocked from moving {mag}", None
    s.agent["x"], s.agent["z"] = round4(x), round4(z)
    return None


def rotate(s: WorldState, a: dict) -> Error | None:
    deg = float(a.get("degrees", 90.0))
    sign = 1 if a["action"] == "RotateRight" else -1
    s.agent["rotation"] = round4((s.agent["rotation"] + sign * deg) % 360.0)
    return None


def look(s: WorldState, a: dict) -> Error | None:
    deg = float(a.get("degrees", 30.0))
    sign = 1 if a["action"] == "LookDown" else -1
    s.agent["horizon"] = float(min(60.0, max(-30.0, s.agent["horizon"] + sign * deg)))
    return None


def teleport(s: WorldState, a: dict) -> Error | None:
    if a["action"] == "TeleportFull" and not ("position" in a and "rotation" in a and "horizon" in a and "standing" in a):
        missing = [k for k in ("position", "rotation", "horizon", "standing") if k not in a]
        return f"action: TeleportFull is missing the following arguments: {', '.join(missing)}", "MissingArguments"
    agent = s.agent
    pos = a.get("position") or {}
    x = float(pos["x"]) if "x" in pos else agent["x"]
    z = float(pos["z"]) if "z" in pos else agent["z"]
    if not a.get("forceAction", False) and not on_grid(s, x, z):
        return "Cannot teleport due to the agent colliding or being off the floor.", None
    rot = a["rotation"] if "rotation" in a else agent["rotation"]
    yaw = float(rot.get("y", 0.0) if isinstance(rot, dict) else rot)
    yaw %= 360.0
    try:  # as AI2-THOR stores a pose: to 4 decimals (``round4``), most often already so
        if round(x * 10000.0) / 10000.0 != x or round(z * 10000.0) / 10000.0 != z \
                or round(yaw * 10000.0) / 10000.0 != yaw:
            x, z, yaw = round4(x), round4(z), round4(yaw)
    except (OverflowError, ValueError):  # inf, nan
        x, z, yaw = round4(x), round4(z), round4(yaw)
    agent["x"], agent["z"], agent["rotation"] = x, z, yaw
    if "horizon" in a:
        agent["horizon"] = float(a["horizon"])
    if "standing" in a:
        agent["standing"] = bool(a["standing"])
    return None


def reachable_positions(s: WorldState, a: dict) -> Error | None:
    grid = load_scene_spec(s.scene).reachable
    y = s.agent["y"]
    s.last["actionReturn"] = [{"x": float(x), "y": y, "z": float(z)} for x, z in grid]
    return None


def initialize(s: WorldState, a: dict) -> Error | None:
    grid = float(a.get("gridSize", s.settings["gridSize"]) or 0.25)
    if not 0 < grid <= 5:
        return "grid size must be in the range (0,5]", None
    s.settings = dict(s.settings, gridSize=grid,
                      visibilityDistance=float(a.get("visibilityDistance", s.settings["visibilityDistance"])),
                      fieldOfView=float(a.get("fieldOfView", s.settings["fieldOfView"])))
    s.last["actionReturn"] = {"cameraNearPlane": 0.01, "cameraFarPlane": 20.0}
    return None


def noop(s: WorldState, a: dict) -> Error | None:
    return None


HANDLERS: dict[str, Callable[[WorldState, dict], Error | None]] = {
    "PickupObject": pickup, "PutObject": put, "DropHandObject": drop, "DropHeldObject": drop,
    "ThrowObject": throw, "OpenObject": open_close, "CloseObject": open_close,
    "ToggleObjectOn": toggle, "ToggleObjectOff": toggle, "SliceObject": slice_object,
    "BreakObject": break_object, "CookObject": cook, "DirtyObject": dirty, "CleanObject": clean,
    "FillObjectWithLiquid": fill, "EmptyLiquidFromObject": empty, "UseUpObject": use_up,
    "RotateHeldObject": rotate_held,
    "MoveAhead": move, "MoveBack": move, "MoveLeft": move, "MoveRight": move,
    "RotateLeft": rotate, "RotateRight": rotate, "LookUp": look, "LookDown": look,
    "Teleport": teleport, "TeleportFull": teleport, "GetReachablePositions": reachable_positions,
    "Initialize": initialize, "Pass": noop, "NoOp": noop, "Done": noop, "Stand": noop, "Crouch": noop,
}


# What the world does by itself after every successful action, in order.
AUTOMATIC_RULES = (context.settle, context.cool_down)


def transition(state: WorldState, action: dict[str, Any]) -> tuple[WorldState, list[dict]]:
    """Apply one AI2-THOR action. Pure: ``state`` is never modified."""
    name = action.get("action") if isinstance(action, dict) else None
    handler = HANDLERS.get(name) if isinstance(name, str) else None
    s = state.evolve()
    s.step = state.step + 1
    s.last = {"lastAction": name or "", "lastActionSuccess": True, "errorMessage": "", "errorCode": None,
              "actionReturn": None}
    if handler is None:
        return _failed(state, name, (f"Invalid action: {name}", "InvalidAction")), []
    try:
        err = handler(s, action)
    except (TypeError, ValueError, KeyError, AttributeError) as exc:  # malformed parameters
        err = f"{name}: invalid arguments ({exc})", "InvalidArgument"
    if err is not None:
        return _failed(state, name, err), []
    s.apply(*AUTOMATIC_RULES)
    return s, consequences.derive(state, action, s)


def _failed(state: WorldState, name: str | None, err: Error) -> WorldState:
    """The state after a failed action: the same world, one step on, with AI2-THOR's error."""
    failed = state.evolve()
    failed.step = state.step + 1
    failed.last = {"lastAction": name or "", "lastActionSuccess": False, "errorMessage": err[0],
                   "errorCode": err[1], "actionReturn": None}
    return failed
