"""The planner's vocabulary: a small skill grammar compiled to AI2-THOR actions.

Grammar (one skill per line; case-insensitive; SafeAgentBench's names are accepted as aliases):

    find <Type>          navigate to the nearest instance (TeleportFull to a reachable pose facing it)
    pickup <Type>        put <Receptacle>      open <Type>       close <Type>
    toggle_on <Type>     toggle_off <Type>     slice <Type>      break <Type>
    cook <Type>          dirty <Type>          clean <Type>
    fill <Type> <water|coffee|wine>            empty <Type>
    drop                 throw                 pour
    wait <seconds>       (1 to 1800: let time pass; ``wait 5 min`` too)
    refuse <reason>      done

An instance is chosen deterministically: visible first, then nearest, then by objectId; a switch
(``toggle_on``/``toggle_off``) takes the first in that order that it would change. A skill on a
receptacle may name what the instance holds, to pick one of several: ``open Cabinet with Mug``
opens the cabinet the mug is in (``containing`` and ``holding`` read the same). Text that
does not parse, or names a type absent from the scene, becomes an invalid step with a message;
it never raises. Compilation reads only ``WorldState``, so both backends compile identically.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from . import accel
from .world.geometry import (
    distance,
    ids_of_type,
    is_gone,
    nearest_reachable_pose,
    spec_of,
    teleport_action,
)
from .world.object_types import LIQUIDS, type_info, type_names_lower
from .world.scenes import load_scene_spec
from .world.state import WorldState
from .world.visibility import visible_ids

WAIT_MAX_S = 1800  # the longest single ``wait`` (``tasks.clock`` counts its seconds)
# The waits offered among the admissible skills (one, five and ten minutes: what heating, airing
# and burning take in the suite's tasks); any other ``wait N`` up to WAIT_MAX_S is accepted too.
WAIT_OFFERED = ("wait 60", "wait 300", "wait 600")

OBJECT_VERBS = ("find", "pickup", "put", "open", "close", "toggle_on", "toggle_off", "slice", "break", "cook",
                "dirty", "clean", "fill", "empty")
BARE_VERBS = ("drop", "throw", "pour", "done")
ALIASES = {
    "pick": "pickup", "pick_up": "pickup", "pickupobject": "pickup", "grab": "pickup", "take": "pickup",
    "place": "put", "putobject": "put",
    "turn_on": "toggle_on", "turnon": "toggle_on", "switch_on": "toggle_on", "toggleon": "toggle_on",
    "turn_off": "toggle_off", "turnoff": "toggle_off", "switch_off": "toggle_off", "toggleoff": "toggle_off",
    "fillliquid": "fill", "emptyliquid": "empty", "navigate_to": "find", "go_to": "find", "goto": "find",
    "navigate": "find", "cut": "slice", "pass": "wait", "refuse": "refuse", "finish": "done", "stop": "done",
}
THROW_MAGNITUDE = 150.0
POUR_PITCH = 135.0
KNIVES = ("Knife", "ButterKnife")
CONTENT_WORDS = ("with", "containing", "holding")  # ``open Cabinet with Mug``


@dataclass(frozen=True)
class Skill:
    verb: str
    target: str | None = None  # canonical AI2-THOR type
    liquid: str | None = None
    reason: str | None = None
    text: str = ""
    seconds: int | None = None  # ``wait``
    content: str | None = None  # ``open Cabinet with Mug``: the instance the Mug is in

    def __post_init__(self) -> None:  # the canonical text, made once: skills are immutable and reused
        if self.verb == "refuse":
            text = f"refuse {self.reason}".strip()
        elif self.verb == "wait":
            text = f"wait {self.seconds}"
        else:
            text = " ".join([self.verb] + [p for p in (self.target, self.liquid) if p]
                            + (["with", self.content] if self.content else []))
        object.__setattr__(self, "_canonical", text)

    def canonical(self) -> str:
        return self._canonical


@dataclass
class Compiled:
    skill: Skill | None
    actions: list[dict] = field(default_factory=list)
    error: str | None = None  # invalid skill: nothing is sent to the simulator


class SkillParseError(ValueError):
    pass


# Everyday words planners use for a family of AI2-THOR types; resolved to the first type of the
# family present in the scene (``put table`` -> the DiningTable, else a CoffeeTable, ...).
SYNONYMS = {
    "table": ("DiningTable", "CoffeeTable", "SideTable", "Desk", "CounterTop"),
    "counter": ("CounterTop",), "countertop": ("CounterTop",), "kitchencounter": ("CounterTop",),
    "stove": ("StoveBurner",), "burner": ("StoveBurner",), "oven": ("StoveBurner",),
    "tv": ("Television",), "phone": ("CellPhone",), "trashcan": ("GarbageCan",), "bin": ("GarbageCan",),
    "lamp": ("DeskLamp", "FloorLamp"), "plant": ("HousePlant",), "sofa": ("Sofa",), "couch": ("Sofa",),
    "light": ("LightSwitch",), "tap": ("Faucet",), "glass": ("Cup",), "watercontainer": ("Cup", "Mug", "Bowl", "Pot"),
}


def _canonical_type(words: str) -> str | None:
    key = re.sub(r"[\s_\-]+", "", words).lower()
    names = type_names_lower()
    if key in SYNONYMS:
        return "|".join(SYNONYMS[key])
    if key in names:
        return names[key]
    if key.endswith("s") and key[:-1] in names:  # "apples"
        return names[key[:-1]]
    return None


def wait_seconds(text: str) -> int | None:
    """The seconds of a ``wait`` argument (``300``, ``300s``, ``5 min``), or None if it is not one."""
    t = text.strip().lower().replace("seconds", "s").replace("second", "s").replace("minutes", "min") \
        .replace("minute", "min").replace("mins", "min")
    scale = 1
    if t.endswith("min"):
        t, scale = t[:-3].strip(), 60
    elif t.endswith("s"):
        t = t[:-1].strip()
    try:
        value = float(t) * scale
    except ValueError:
        return None
    if not 1 <= value <= WAIT_MAX_S or value != int(value):
        return None
    return int(value)


def parse_skill(text: str) -> Skill:
    """Parse one skill line; raises ``SkillParseError`` with a readable message."""
    if not isinstance(text, str):
        raise SkillParseError(f"a skill must be text, got {type(text).__name__}")
    return _parse_text(text)


@accel.memo(limit=20_000)
def _parse_text(text: str) -> Skill:
    raw = text.strip().strip("`").strip()
    if not raw:
        raise SkillParseError("empty skill")
    low = raw.lower()
    for two_word in ("turn on", "turn off", "switch on", "switch off", "pick up", "go to", "navigate to"):
        if low.startswith(two_word + " ") or low == two_word:
            low = two_word.replace(" ", "_") + low[len(two_word):]
            raw = two_word.replace(" ", "_") + raw[len(two_word):]
            break
    head, _, rest = raw.partition(" ")
    head = head.rstrip(":.,")
    verb = ALIASES.get(head.lower(), head.lower())
    rest = rest.strip()
    if verb == "refuse":
        return Skill("refuse", reason=rest or "unspecified", text=text)
    if verb in BARE_VERBS:
        return Skill(verb, text=text)
    if verb == "wait":
        seconds = wait_seconds(rest)
        if seconds is None:
            raise SkillParseError(f"'wait' needs a number of seconds from 1 to {WAIT_MAX_S}, e.g. 'wait 300'")
        return Skill("wait", seconds=seconds, text=text)
    if verb not in OBJECT_VERBS:
        raise SkillParseError(f"unknown skill '{head}': expected one of {', '.join(OBJECT_VERBS + BARE_VERBS)}, "
                              "wait, refuse")
    if not rest:
        raise SkillParseError(f"'{verb}' needs an object type, e.g. '{verb} Microwave'")
    liquid = None
    if verb == "fill":
        parts = rest.rsplit(" ", 1)
        if len(parts) == 2 and parts[1].lower() in LIQUIDS:
            rest, liquid = parts[0], parts[1].lower()
        else:
            liquid = "water"
    target, content = _canonical_type(rest), None
    if target is None:
        target, content = _with_content(rest)
    if target is None:
        raise SkillParseError(f"unknown object type '{rest}'")
    return Skill(verb, target=target, liquid=liquid, text=text, content=content)


def _with_content(rest: str) -> tuple[str | None, str | None]:
    """``Cabinet with Mug`` -> (Cabinet, Mug); (None, None) when it is not that form."""
    words = rest.split()
    for i, word in enumerate(words[1:-1], 1):
        if word.lower() in CONTENT_WORDS:
            target, content = _canonical_type(" ".join(words[:i])), _canonical_type(" ".join(words[i + 1:]))
            if target and content and "|" not in content and type_info(target.split("|")[0])["receptacle"]:
                return target, content
    return None, None


def _candidates(state: WorldState, obj_type: str, include_held: bool) -> list[str]:
    """The instances of a type a skill may act on: not sliced away or cracked, not held unless allowed."""
    return [oid for oid in ids_of_type(state, obj_type)
            if not is_gone(state, oid) and (include_held or oid != state.held)]


def _nearness(state: WorldState, oid: str) -> tuple[float, str]:
    return round(distance(state, oid), 3), oid


def _instances(state: WorldState, obj_type: str, include_held: bool = True) -> list[str]:
    """Every candidate instance, visible first, then nearest, then by objectId."""
    ids = _candidates(state, obj_type, include_held)
    if len(ids) > 1:
        vis = visible_ids(state)
        ids.sort(key=lambda oid: (oid not in vis, *_nearness(state, oid)))
    return ids


def _first_instance(state: WorldState, obj_type: str, include_held: bool = True) -> str | None:
    """``_instances(...)[0]``: distances are needed only among the visible ones, if any."""
    ids = _candidates(state, obj_type, include_held)
    if len(ids) <= 1:
        return ids[0] if ids else None
    vis = visible_ids(state)
    pool = [oid for oid in ids if oid in vis] or ids
    return pool[0] if len(pool) == 1 else min(pool, key=lambda oid: _nearness(state, oid))


def _first_to_switch(state: WorldState, obj_type: str, want_on: bool) -> str | None:
    """``toggle_off StoveKnob`` switches off a knob that is on: the first instance (visible first,
    then nearest) the switch would change, else the first one, whose error then says it already is
    (review 8: with three knobs in view, the nearest was off and the lit one stayed lit)."""
    ids = _instances(state, obj_type)  # visible first
    changes = [oid for oid in ids if state.objects[oid]["isToggled"] != want_on]
    return changes[0] if changes else (ids[0] if ids else None)


def _holding(state: WorldState, ids: list[str], content_type: str) -> list[str]:
    """The ids among ``ids`` (order kept) that an instance of ``content_type`` rests in."""
    holders = {p for oid in _candidates(state, content_type, include_held=False)
               for p in (state.objects[oid]["parents"] or ())}
    return [oid for oid in ids if oid in holders]


def _receptacle_alias(state: WorldState, obj_type: str) -> str:
    """``put Sink`` means the SinkBasin when the Sink itself is not a receptacle (as in ALFRED)."""
    basin = {"Sink": "SinkBasin", "Bathtub": "BathtubBasin"}.get(obj_type)
    if basin and not any(spec_of(state, o).type == obj_type and spec_of(state, o).flags["receptacle"]
                         for o in state.objects):
        return basin
    return obj_type


SIMPLE_ACTIONS = {
    "pickup": "PickupObject", "open": "OpenObject", "close": "CloseObject", "toggle_on": "ToggleObjectOn",
    "toggle_off": "ToggleObjectOff", "slice": "SliceObject", "break": "BreakObject", "cook": "CookObject",
    "dirty": "DirtyObject", "clean": "CleanObject", "empty": "EmptyLiquidFromObject",
}


def compile_skill(state: WorldState, skill: Skill, require_knife: bool = False) -> Compiled:
    """Skill -> AI2-THOR action dicts, against the current state. Errors are data, not exceptions."""
    v = skill.verb
    if v in ("refuse", "done"):
        return Compiled(skill)
    if v == "wait":  # time passes; nothing moves (AI2-THOR's Pass)
        return Compiled(skill, [{"action": "Pass"}])
    if v == "drop":
        return Compiled(skill, [{"action": "DropHandObject", "forceAction": True}])
    if v == "throw":
        return Compiled(skill, [{"action": "ThrowObject", "moveMagnitude": THROW_MAGNITUDE, "forceAction": True}])
    if v == "pour":
        if state.held is None:
            return Compiled(skill, error="You are not holding anything to pour.")
        return Compiled(skill, [{"action": "RotateHeldObject", "pitch": POUR_PITCH}])
    target_type = skill.target
    if "|" in target_type:  # a synonym family: the first member present here
        present = load_scene_spec(state.scene).types_present
        family = target_type.split("|")
        target_type = next((t for t in family if t in present), family[0])
        skill = Skill(skill.verb, target_type, skill.liquid, skill.reason, skill.text, content=skill.content)
    if v == "put":
        target_type = _receptacle_alias(state, target_type)
    if v in ("toggle_on", "toggle_off") and target_type == "StoveBurner":
        return _burner_toggle(state, skill)
    if skill.content:
        holders = _holding(state, _instances(state, target_type, include_held=v not in ("put", "find")), skill.content)
        if not holders:
            return Compiled(skill, error=f"There is no {target_type} with a {skill.content} in it here.")
        oid = holders[0]
    elif v in ("toggle_on", "toggle_off"):
        oid = _first_to_switch(state, target_type, want_on=v == "toggle_on")
    else:
        oid = _first_instance(state, target_type, include_held=v not in ("put", "find"))
    if oid is None:
        where = "in this scene" if target_type in load_scene_spec(state.scene).types_present else "here"
        return Compiled(skill, error=f"There is no {target_type} {where}.")
    if v == "find":
        pose = nearest_reachable_pose(state, oid)
        if pose is None:
            return Compiled(skill, error=f"No reachable position near the {target_type}.")
        return Compiled(skill, [teleport_action(pose)])
    if v == "put":
        # SafeAgentBench-style placement: any receptacle the hand can reach (forceAction skips the
        # type table), but the receptacle must be in view, which forceAction would skip too.
        if oid not in visible_ids(state):
            return Compiled(skill, error="Target object not found within the specified visibility.")
        return Compiled(skill, [{"action": "PutObject", "objectId": oid, "forceAction": True}])
    if v == "slice" and require_knife:
        held_type = spec_of(state, state.held).type if state.held else None
        if held_type not in KNIVES:
            return Compiled(skill, error="You need to hold a Knife to slice.")
    if v == "fill":
        return Compiled(skill, [{"action": "FillObjectWithLiquid", "objectId": oid, "fillLiquid": skill.liquid}])
    return Compiled(skill, [{"action": SIMPLE_ACTIONS[v], "objectId": oid}])


def _burner_toggle(state: WorldState, skill: Skill) -> Compiled:
    """Burners switch through their knobs in AI2-THOR: ``toggle_on StoveBurner`` turns its knob."""
    scene = load_scene_spec(state.scene)
    burners = _instances(state, "StoveBurner")
    if skill.content:  # ``toggle_on StoveBurner with Pot``: the burner under the pot
        burners = _holding(state, burners, skill.content)
        if not burners:
            return Compiled(skill, error=f"There is no StoveBurner with a {skill.content} on it here.")
    want_on = skill.verb == "toggle_on"
    for b in burners:
        knob = scene.knob_of.get(b)
        if knob and state.objects[b]["isToggled"] != want_on:
            action = "ToggleObjectOn" if want_on else "ToggleObjectOff"
            return Compiled(skill, [{"action": action, "objectId": knob}])
    if not burners:
        return Compiled(skill, error="There is no StoveBurner here.")
    return Compiled(skill, error=f"Every StoveBurner is already {'on' if want_on else 'off'}.")


__all__ = ["Skill", "Compiled", "SkillParseError", "parse_skill", "compile_skill"]
