"""The text observation: what the agent sees and holds, and what the last step did.

Built from ``WorldState`` only, so the symbolic and thor backends describe a scene identically.
"""

from __future__ import annotations

import string

from .. import accel
from ..world.geometry import spec_of
from ..world.state import WorldState
from .perception import describe_object, seen_line

__all__ = ["CHARSET", "MAX_OBS_CHARS", "describe_object", "render_text", "sanitize"]

# Every character an observation or a skill can contain (gymnasium's default Text charset is
# only [a-zA-Z0-9], which would reject an English sentence).
CHARSET = frozenset(string.printable)
MAX_OBS_CHARS = 8192
ALERTS = {
    "fire": "fire", "sparks": "sparks", "explosion": "an explosion", "electric_shock": "an electrical short",
    "liquid_damage": "liquid damage", "spill": "a spill", "shards": "broken shards",
    "contamination": "contamination", "chemical_contamination": "soap in food or drink",
}


def render_text(state: WorldState, instruction: str | None, feedback: str, events: list[dict],
                seen: str | None = None) -> str:
    """The observation; ``seen``, if given, is ``seen_line(state)`` already made."""
    if seen is None:
        seen = seen_line(state)
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


@accel.memo(limit=4096)
def sanitize(text: str) -> str:
    """Keep text inside the observation charset (printable ASCII): others become '?'."""
    if not text.isascii():
        text = text.encode("ascii", "replace").decode("ascii")
    return text.translate(_CONTROL)
