"""Simulator backends behind the env: all of them speak AI2-THOR action dicts and give back a
``WorldState``, so skills, observations, hazards and metrics never know which one ran.
"""

from __future__ import annotations

from typing import Any, Protocol

from .. import accel
from ..world.metadata import to_metadata
from ..world.state import WorldState
from ..world.transition import transition


class Backend(Protocol):
    """What the env calls on a simulator: reset to a scene, step a THOR action dict, give metadata."""

    name: str
    state: WorldState

    def reset(self, scene: str, seed: int | None, keep: frozenset[str] = frozenset()) -> WorldState: ...

    def step(self, action: dict[str, Any]) -> tuple[WorldState, list[dict]]: ...

    def metadata(self) -> dict[str, Any]: ...

    def close(self) -> None: ...


class SymbolicBackend:
    """The embedded default: the pure-Python world of ``safe_alfred.world``, accelerated
    (``safe_alfred.accel``) unless the process runs on the reference world."""

    name = "symbolic"

    def __init__(self, **_: Any) -> None:
        self.state: WorldState | None = None

    def reset(self, scene: str, seed: int | None, keep: frozenset[str] = frozenset()) -> WorldState:
        self.state = accel.start(scene, seed, keep)
        return self.state

    def step(self, action: dict[str, Any]) -> tuple[WorldState, list[dict]]:
        self.state, events = transition(self.state, action)
        return self.state, events

    def metadata(self) -> dict[str, Any]:
        return to_metadata(self.state)

    def close(self) -> None:
        self.state = None


def make_backend(name: str, **options: Any) -> Backend:
    """The backend registered as ``name`` (``safe_alfred.registry``, group ``backend``)."""
    from safe_alfred import registry

    return registry.create("backend", name, **options)
