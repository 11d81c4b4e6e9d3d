"""The world state: plain, copyable data, changed only by ``transition``.

Objects are stored as small dicts of their *dynamic* facts (where they are, what state they are
in); static facts live in the scene's ``SceneSpec``. ``transition`` never mutates a state: it
copies the top-level containers and replaces only the object dicts it changes (copy on write),
so keeping every state of an episode, or branching for lookahead, is cheap. Object dicts are
shared between states, and with the scene's start state across episodes: never write one in
place; ``write`` gives a private copy.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

OBJECT_STATE_KEYS = (
    "isToggled", "isBroken", "isFilledWithLiquid", "fillLiquid", "isDirty", "isUsedUp", "isCooked",
    "temperature", "isSliced", "isOpen", "openness",
)


# What a state derives from its objects and caches on itself (``state.__dict__``); written
# by geometry, visibility, context, consequences, perception and the safety filter.
DERIVED_CACHES = ("_moved", "_children", "_conditions", "_zone", "_visible", "_visible_order", "_sight", "_view",
                  "_views", "_perceived", "_relaxed", "_findable")


def default_object_state(pos) -> dict[str, Any]:
    return {
        "parents": None, "pos": tuple(pos),
        "isToggled": False, "isBroken": False, "isFilledWithLiquid": False, "fillLiquid": None,
        "isDirty": False, "isUsedUp": False, "isCooked": False, "temperature": "RoomTemp",
        "isSliced": False, "isOpen": False, "openness": 0.0,
    }


@dataclass
class WorldState:
    scene: str
    objects: dict[str, dict[str, Any]]
    agent: dict[str, Any]
    held: str | None
    step: int
    last: dict[str, Any]
    settings: dict[str, Any]
    spawned: dict[str, list] = field(default_factory=dict)  # new id -> [source id, type, index]
    decay: dict[str, int] = field(default_factory=dict)  # object id -> step it left a heat/cold zone

    def evolve(self) -> WorldState:
        """A shallow successor: containers copied, object dicts shared until written."""
        new = WorldState(self.scene, dict(self.objects), dict(self.agent), self.held, self.step,
                         dict(self.last), self.settings, dict(self.spawned), dict(self.decay))
        moved = self.__dict__.get("_moved")
        if moved is not None:  # cache: ids whose position differs from the scene start
            new.__dict__["_moved"] = moved
        views = self.__dict__.get("_views")
        if views is not None:  # cache: what is seen from each pose while no object changes
            new.__dict__["_views"] = views
        return new

    def write(self, object_id: str) -> dict[str, Any]:
        """The object's dict, copied so that writing it leaves earlier states untouched.

        The caller may change anything in it, so what this state had derived from its objects
        (what moved, what rests in what, what is seen, ...) is dropped and derived again when
        asked for. ``transition`` keeps those caches in step itself and uses ``write_in_step``.
        """
        for key in DERIVED_CACHES:
            self.__dict__.pop(key, None)
        return self.write_in_step(object_id)

    def write_in_step(self, object_id: str) -> dict[str, Any]:
        """``write`` for ``transition``, which brings its caches up to date after the action."""
        new = dict(self.objects[object_id])
        self.objects[object_id] = new
        self.__dict__.setdefault("_written", set()).add(object_id)  # what this transition touched
        return new

    def to_dict(self) -> dict[str, Any]:
        return copy.deepcopy({
            "scene": self.scene, "objects": self.objects, "agent": self.agent, "held": self.held,
            "step": self.step, "last": self.last, "settings": self.settings,
            "spawned": self.spawned, "decay": self.decay,
        })

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WorldState:
        d = copy.deepcopy(data)
        for st in d["objects"].values():
            st["pos"] = tuple(st["pos"])
            if st.get("parents") is not None:
                st["parents"] = tuple(st["parents"])
        return cls(**d)

    def digest(self) -> str:
        """A stable hash of the full state (for trajectory hashes and replay checks)."""
        data = {"scene": self.scene, "objects": self.objects, "agent": self.agent, "held": self.held,
                "step": self.step, "last": self.last, "settings": self.settings, "spawned": self.spawned,
                "decay": self.decay}  # serialised as is: no copy needed to hash
        payload = json.dumps(data, sort_keys=True, separators=(",", ":"), default=list)
        return hashlib.sha256(payload.encode()).hexdigest()
