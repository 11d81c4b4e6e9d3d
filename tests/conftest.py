"""Shared helpers: small constructors for world states and actions used across test files."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from safe_alfred.world.scenes import initial_state
from safe_alfred.world.transition import transition


class World:
    """A tiny driver: ``w.do("PickupObject", "Apple|...")`` applies an action with forceAction."""

    def __init__(self, scene: str):
        self.state = initial_state(scene)
        self.events: list[dict] = []

    def do(self, action: str, object_id: str | None = None, force: bool = True, **kw):
        a = {"action": action, **kw}
        if object_id is not None:
            a["objectId"] = object_id
        if force:
            a.setdefault("forceAction", True)
        self.state, ev = transition(self.state, a)
        self.events.extend(ev)
        return self.state.last

    def obj(self, object_id: str) -> dict:
        return self.state.objects[object_id]

    def event_types(self) -> list[str]:
        return [e["type"] for e in self.events]


@pytest.fixture
def kitchen() -> World:
    return World("FloorPlan1")


@pytest.fixture
def bedroom() -> World:
    return World("FloorPlan301")


def load_script(name: str) -> ModuleType:
    """A script of ``scripts/`` as a module (they are not a package), for tests of its functions."""
    path = Path(__file__).resolve().parent.parent / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
