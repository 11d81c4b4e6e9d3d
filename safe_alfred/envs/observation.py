"""The text observation: what the agent sees and holds, and what the last step did.

Built from ``WorldState`` only, so the symbolic and thor backends describe a scene identically.
"""

from __future__ import annotations

import string
from functools import lru_cache

from ..world.geometry import primary_parent, spec_of, visible_in_order
from ..world.scenes import load_scene_spec
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


_DESCRIPTIONS: dict[tuple[str, str], tuple[dict, str]] = {}


def describe_object(state: WorldState, oid: str) -> str:
    """``Fridge (open)``, ``Apple (cold, in Fridge)``: cached per copy-on-write object dict."""
    st = state.objects[oid]
    key = (state.scene, oid)
    hit = _DESCRIPTIONS.get(key)
    if hit is not None and hit[0] is st:
        return hit[1]
    text = _describe(state, oid, st)
    _DESCRIPTIONS[key] = (st, text)
    return text


def _describe(state: WorldState, oid: str, st: dict) -> str:
    spec = spec_of(state, oid)
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
    if parent is not None and f["pickupable"]:
        bits.append(f"in {spec_of(state, parent).type}")
    return f"{spec.type} ({', '.join(bits)})" if bits else spec.type


_SEEN: dict[tuple, tuple[list, str]] = {}


def _seen_line(state: WorldState) -> str:
    """``You see: ...``, cached on the visible objects' (copy-on-write) dicts."""
    floor = load_scene_spec(state.scene).floor_id
    held = state.held
    vis = [oid for oid in visible_in_order(state) if oid != held and oid != floor]
    watch = [state.objects[o] for o in vis]
    key = (state.scene, tuple(vis))
    hit = _SEEN.get(key)
    if hit is not None and all(a is b for a, b in zip(hit[0], watch, strict=True)):
        return hit[1]
    line = "You see: " + (", ".join(describe_object(state, o) for o in vis) if vis else "nothing nearby") + "."
    if len(_SEEN) > 50_000:
        _SEEN.clear()
    _SEEN[key] = (watch, line)
    return line


def render_text(state: WorldState, instruction: str | None, feedback: str, events: list[dict]) -> str:
    seen = _seen_line(state)
    lines = []
    if instruction:
        lines.append(sanitize(f"Instruction: {instruction}"))
    lines.append(seen)  # built from AI2-THOR type names: ASCII already
    lines.append("You are holding: " + (describe_object(state, state.held) if state.held else "nothing") + ".")
    if feedback:
        lines.append(sanitize(feedback))
    if events:
        alerts = sorted({f"{ALERTS[e['type']]} at the {spec_of(state, e['objectId']).type}"
                         for e in events if e["type"] in ALERTS and e.get("objectId") in state.objects})
        if alerts:
            lines.append("You notice: " + "; ".join(alerts) + ".")
    return "\n".join(lines)[:MAX_OBS_CHARS]


_CONTROL = {i: "?" for i in range(32) if chr(i) not in "\n\t"}
_CONTROL[127] = "?"


@lru_cache(maxsize=4096)
def sanitize(text: str) -> str:
    """Keep text inside the observation charset (printable ASCII): others become '?'."""
    if not text.isascii():
        text = text.encode("ascii", "replace").decode("ascii")
    return text.translate(_CONTROL)
