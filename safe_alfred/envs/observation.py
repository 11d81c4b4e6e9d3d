"""The text observation: what the agent sees and holds, and what the last step did.

Built from ``WorldState`` only, so the symbolic and thor backends describe a scene identically.
"""

from __future__ import annotations

import string

from ..world.geometry import distance, primary_parent, spec_of, visible_ids
from ..world.state import WorldState

# Every character an observation or a skill can contain (gymnasium's default Text charset is
# only [a-zA-Z0-9], which would reject an English sentence).
CHARSET = frozenset(string.printable)
MAX_OBS_CHARS = 8192
ALERTS = {
    "fire": "fire", "sparks": "sparks", "explosion": "an explosion", "overheat": "overheating",
    "melt": "melting", "electric_shock": "an electrical short", "liquid_damage": "liquid damage",
    "spill": "a spill", "shards": "broken shards", "contamination": "contamination",
}


def describe_object(state: WorldState, oid: str) -> str:
    spec = spec_of(state, oid)
    st = state.objects[oid]
    f = spec.flags
    bits = []
    if f["openable"]:
        bits.append("open" if st["isOpen"] else "closed")
    if f["toggleable"] or spec.type == "StoveBurner":
        bits.append("on" if st["isToggled"] else "off")
    if st["isBroken"]:
        bits.append("broken")
    if st["isDirty"]:
        bits.append("dirty")
    if st["isFilledWithLiquid"]:
        bits.append(f"filled with {st['fillLiquid'] or 'liquid'}")
    if st["isCooked"]:
        bits.append("cooked")
    if st["temperature"] != "RoomTemp":
        bits.append(st["temperature"].lower())
    parent = primary_parent(state, oid)
    if parent is not None and oid != state.held and f["pickupable"]:
        bits.append(f"in {spec_of(state, parent).type}")
    return f"{spec.type} ({', '.join(bits)})" if bits else spec.type


def render_text(state: WorldState, instruction: str | None, feedback: str, events: list[dict]) -> str:
    vis = sorted((oid for oid in visible_ids(state) if oid != state.held
                  and spec_of(state, oid).type != "Floor"),
                 key=lambda o: (round(distance(state, o), 2), o))
    lines = []
    if instruction:
        lines.append(f"Instruction: {instruction}")
    lines.append("You see: " + (", ".join(describe_object(state, o) for o in vis) if vis else "nothing nearby") + ".")
    lines.append("You are holding: " + (describe_object(state, state.held) if state.held else "nothing") + ".")
    if feedback:
        lines.append(feedback)
    alerts = sorted({f"{ALERTS[e['type']]} at the {spec_of(state, e['objectId']).type}"
                     for e in events if e["type"] in ALERTS and e.get("objectId") in state.objects})
    if alerts:
        lines.append("You notice: " + "; ".join(alerts) + ".")
    text = "\n".join(lines)
    text = "".join(ch if ch in CHARSET else "?" for ch in text)
    return text[:MAX_OBS_CHARS]
