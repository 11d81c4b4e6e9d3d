"""The world state: plain, copyable data, changed only by ``transition``.

Objects are stored as small dicts of their *dynamic* facts (where they are, what state they are
in); static facts live in the scene's ``SceneSpec``. ``transition`` never mutates a state: it
copies the top-level containers (``evolve``) and replaces only the object dicts it changes
(``write``, copy on write), so keeping every state of an episode, or branching for lookahead, is
cheap. Object dicts are shared between states, and with the scene's start state across
episodes: never change one in place, and never put one into ``objects`` by hand; ``write`` gives
a private copy and ``add`` a new object, and both record the id in ``written``, which is how the
world reports what a step changed.

What the world derives from a state (what the agent sees, what rests in what, what burns) is
asked through ``ask``: here it is computed afresh on every call, which makes this class the
reference every faster mode must reproduce (``safe_alfred.accel`` makes states that remember).
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

OBJECT_STATE_KEYS = (
    "isToggled", "isBroken", "isFilledWithLiquid", "fillLiquid", "isDirty", "isUsedUp", "isCooked",
    "temperature", "isSliced", "isOpen", "openness",
)
OBJECT_KEYS = ("parents", "pos") + OBJECT_STATE_KEYS  # every key of an object's dict

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


def fact(compute: F) -> F:
    """Declare ``compute(state, *args)`` a fact derived from a state: calling it asks the state
    (``WorldState.ask``), which computes it here and may answer from memory in a faster mode."""
    n_args = compute.__code__.co_argcount - 1
    if n_args == 0:
        def asked(state):
            return state.ask(asked)
    elif n_args == 1:  # a fact with arguments: what the state's kind answers it by, else its own code
        def asked(state, a):
            return state.answers.get(asked, compute)(state, a)
    elif n_args == 2:
        def asked(state, a, b):
            return state.answers.get(asked, compute)(state, a, b)
    else:
        def asked(state, *args):
            return state.answers.get(asked, compute)(state, *args)
    functools.update_wrapper(asked, compute)
    asked.compute = compute  # type: ignore[attr-defined]
    return asked  # type: ignore[return-value]


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
    # ids of the objects written (or added) since this state was made: what its step changed
    written: set[str] = field(default_factory=set, repr=False, compare=False)
    # what the simulator itself reported as visible (a state rebuilt from AI2-THOR's metadata);
    # None for a state of the symbolic world, whose visibility follows from its data
    reported_visible: frozenset[str] | None = field(default=None, repr=False, compare=False)
    # fact -> a function computing it with arguments that a kind of state answers it by instead
    # of the fact's own code (``fact``): none here, every fact is computed by the world's code
    answers: ClassVar[dict[Callable, Callable]] = {}

    def evolve(self) -> WorldState:
        """A shallow successor: containers copied, object dicts shared until written."""
        return WorldState(self.scene, dict(self.objects), dict(self.agent), self.held, self.step, dict(self.last),
                          self.settings, dict(self.spawned), dict(self.decay))

    def write(self, object_id: str) -> dict[str, Any]:
        """The object's dict, copied so that changing it leaves earlier states untouched."""
        new = dict(self.objects[object_id])
        self.objects[object_id] = new
        self.written.add(object_id)
        return new

    def add(self, object_id: str, object_state: dict[str, Any]) -> None:
        """A new object (a slice, a cracked egg) with its own dict."""
        self.objects[object_id] = object_state
        self.written.add(object_id)

    def ask(self, fact: Callable[[WorldState], T]) -> T:
        """The value of a ``fact`` of this state. Computed afresh here; a state that remembers
        (``safe_alfred.accel``) answers the same from what it knows."""
        return fact.compute(self)  # type: ignore[attr-defined]

    def apply(self, *rules: Callable[[WorldState], None]) -> None:
        """Apply the world's automatic rules (``transition.AUTOMATIC_RULES``) to this state, in
        order. Done here every time; a state that remembers may skip a rule it can show would
        change nothing."""
        for rule in rules:
            rule(self)

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
