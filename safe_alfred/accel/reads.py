"""What a derived value reads and what a step changed, as bit masks over a state's parts.

A value declares the parts of a state it is computed from (``objects("pos", "parents")``,
``AGENT_POSE``, ``HELD``, ...); after a step, ``changes`` gives the parts whose data differ
from the state before, found from what the step wrote (``WorldState.written``) and by comparing
the agent, hand and other containers. A value is carried to the new state exactly when the two
masks share no bit.
"""

from __future__ import annotations

from ..world.state import OBJECT_KEYS, WorldState

_NAMES: list[str] = []


def _bit(name: str) -> int:
    _NAMES.append(name)
    return 1 << (len(_NAMES) - 1)


OBJECT_FIELD = {key: _bit(f"objects.{key}") for key in OBJECT_KEYS}
OBJECT_OTHER = _bit("objects.<other key>")  # a key an object's dict did not have before
OBJECT_SET = _bit("objects (which exist)")
AGENT_FIELD = {key: _bit(f"agent.{key}") for key in ("x", "y", "z", "rotation", "horizon", "standing")}
AGENT_OTHER = _bit("agent.<other key>")
HELD = _bit("held")
SETTINGS = _bit("settings")
SPAWNED = _bit("spawned")
DECAY = _bit("decay")
STEP = _bit("step")
LAST = _bit("last")

ALL_OBJECT_FIELDS = OBJECT_OTHER
for _b in OBJECT_FIELD.values():
    ALL_OBJECT_FIELDS |= _b
AGENT_POSE = AGENT_FIELD["x"] | AGENT_FIELD["z"] | AGENT_FIELD["rotation"]  # where it stands and faces
ALL_AGENT = AGENT_OTHER
for _b in AGENT_FIELD.values():
    ALL_AGENT |= _b
EVERYTHING = (1 << len(_NAMES)) - 1


def objects(*fields: str) -> int:
    """Reads these fields of (any of) the objects, and which objects exist."""
    mask = OBJECT_SET
    for f in fields:
        mask |= OBJECT_FIELD[f]
    return mask


def agent(*fields: str) -> int:
    mask = 0
    for f in fields:
        mask |= AGENT_FIELD[f]
    return mask


def names(mask: int) -> list[str]:
    """The parts a mask covers, for messages."""
    return [name for i, name in enumerate(_NAMES) if mask >> i & 1]


_ABSENT = object()
_AX, _AY, _AZ = AGENT_FIELD["x"], AGENT_FIELD["y"], AGENT_FIELD["z"]
_AROT, _AHOR, _ASTAND = AGENT_FIELD["rotation"], AGENT_FIELD["horizon"], AGENT_FIELD["standing"]
_N_AGENT = len(AGENT_FIELD)  # six keys, all of them these: the unrolled comparison below applies


def changes(before: WorldState, after: WorldState) -> int:
    """The parts of ``after`` whose data differ from ``before``'s, ``after`` being made from
    ``before`` by ``evolve`` (its objects changed, and added, only through ``write`` and ``add``)."""
    mask = 0
    if after.step != before.step:
        mask |= STEP
    if after.last is not before.last:  # a step always gives the successor its own
        mask |= LAST
    old_objects, new_objects = before.objects, after.objects
    for oid in after.written:
        new, old = new_objects.get(oid), old_objects.get(oid)
        if new is old:
            continue
        if old is None or new is None or len(new) != len(old):
            mask |= OBJECT_SET | ALL_OBJECT_FIELDS
            continue
        for key, value in new.items():
            if key not in old:
                mask |= OBJECT_SET | ALL_OBJECT_FIELDS
            elif old[key] != value:
                mask |= OBJECT_FIELD.get(key, OBJECT_OTHER)
    a, b = after.agent, before.agent
    if a != b:
        try:  # the usual keys, compared one by one (unrolled: most steps change only the agent)
            if len(a) != _N_AGENT or len(b) != _N_AGENT:
                raise KeyError
            if a["x"] != b["x"]:
                mask |= _AX
            if a["z"] != b["z"]:
                mask |= _AZ
            if a["rotation"] != b["rotation"]:
                mask |= _AROT
            if a["horizon"] != b["horizon"]:
                mask |= _AHOR
            if a["y"] != b["y"]:
                mask |= _AY
            if a["standing"] != b["standing"]:
                mask |= _ASTAND
        except KeyError:  # other keys: each one looked at
            if len(a) != len(b):
                mask |= ALL_AGENT
            for key, value in a.items():
                if b.get(key, _ABSENT) != value:
                    mask |= AGENT_FIELD.get(key, AGENT_OTHER) if key in b else ALL_AGENT
    if after.held != before.held:
        mask |= HELD
    if after.settings is not before.settings and after.settings != before.settings:
        mask |= SETTINGS
    if len(after.spawned) != len(before.spawned):  # (objects are only ever added to it)
        mask |= SPAWNED | OBJECT_SET
    if after.decay != before.decay:
        mask |= DECAY
    return mask
