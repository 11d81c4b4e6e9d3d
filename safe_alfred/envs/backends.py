"""Simulator backends behind the env: all of them speak AI2-THOR action dicts and give back a
``WorldState``, so skills, observations, hazards and metrics never know which one ran.
"""

from __future__ import annotations

import importlib
from typing import Any, Protocol

from ..world.metadata import to_metadata
from ..world.scenes import initial_state
from ..world.state import WorldState
from ..world.transition import transition
from .scene_prep import prepare_scene


class Backend(Protocol):
    name: str
    state: WorldState

    def reset(self, scene: str, seed: int | None) -> WorldState: ...

    def step(self, action: dict[str, Any]) -> tuple[WorldState, list[dict]]: ...

    def metadata(self) -> dict[str, Any]: ...

    def close(self) -> None: ...


class SymbolicBackend:
    """The embedded default: the pure-Python world of ``safe_alfred.world``."""

    name = "symbolic"

    def __init__(self, **_: Any) -> None:
        self.state: WorldState | None = None

    def reset(self, scene: str, seed: int | None) -> WorldState:
        self.state = initial_state(scene, seed)
        prepare_scene(self.state.scene)
        return self.state

    def step(self, action: dict[str, Any]) -> tuple[WorldState, list[dict]]:
        self.state, events = transition(self.state, action)
        return self.state, events

    def metadata(self) -> dict[str, Any]:
        return to_metadata(self.state)

    def close(self) -> None:
        self.state = None


BACKENDS = {
    "symbolic": "safe_alfred.envs.backends:SymbolicBackend",
    "thor": "safe_alfred.envs.thor.backend:ThorBackend",
    "thor_standin": "safe_alfred.envs.thor.backend:standin_backend",
}


def make_backend(name: str, **options: Any) -> Backend:
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
    module, attr = BACKENDS[name].split(":")
    return getattr(importlib.import_module(module), attr)(**options)
