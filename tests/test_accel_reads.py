"""Every derived value and automatic rule declared with the acceleration layer reads no more than
its declaration says: its reference computation runs on states that record every part of
themselves it touches. A rule author who makes visibility depend on the lights, say, learns here
which declaration in ``safe_alfred/accel/facts.py`` to widen."""

from __future__ import annotations

import random

import pytest

import safe_alfred.envs.perception  # noqa: F401  (declares perception's values)
import safe_alfred.safety.barriers  # noqa: F401  (declares the filter's)
from safe_alfred import accel
from safe_alfred.accel import registry
from safe_alfred.accel.reads import (
    AGENT_FIELD,
    AGENT_OTHER,
    ALL_AGENT,
    ALL_OBJECT_FIELDS,
    DECAY,
    EVERYTHING,
    HELD,
    LAST,
    OBJECT_FIELD,
    OBJECT_OTHER,
    OBJECT_SET,
    SETTINGS,
    SPAWNED,
    STEP,
    names,
)
from safe_alfred.envs import SafeAlfredEnv
from safe_alfred.world.state import WorldState


class _Log:
    mask = 0


class _Object(dict):
    """An object's dict that records which of its fields are read."""

    __slots__ = ("log",)

    def _read(self, key):
        self.log.mask |= OBJECT_FIELD.get(key, OBJECT_OTHER)

    def __getitem__(self, key):
        self._read(key)
        return dict.__getitem__(self, key)

    def get(self, key, default=None):
        self._read(key)
        return dict.get(self, key, default)

    def items(self):
        self.log.mask |= ALL_OBJECT_FIELDS
        return dict.items(self)

    def values(self):
        self.log.mask |= ALL_OBJECT_FIELDS
        return dict.values(self)

    def __iter__(self):
        return iter(dict.keys(self))

    def __eq__(self, other):
        self.log.mask |= ALL_OBJECT_FIELDS
        return dict.__eq__(self, other)

    def __ne__(self, other):
        return not self == other

    __hash__ = None


class _Objects(dict):
    """The objects table: looking one up reads nothing; going through them reads which exist."""

    __slots__ = ("log",)

    def _all(self):
        self.log.mask |= OBJECT_SET

    def __iter__(self):
        self._all()
        return iter(dict.keys(self))

    def keys(self):
        self._all()
        return dict.keys(self)

    def items(self):
        self._all()
        return dict.items(self)

    def values(self):
        self._all()
        return dict.values(self)

    def __len__(self):
        self._all()
        return dict.__len__(self)

    def __contains__(self, key):
        self._all()
        return dict.__contains__(self, key)

    def get(self, key, default=None):
        if not dict.__contains__(self, key):
            self._all()
        return dict.get(self, key, default)


class _Agent(dict):
    __slots__ = ("log",)

    def __getitem__(self, key):
        self.log.mask |= AGENT_FIELD.get(key, AGENT_OTHER)
        return dict.__getitem__(self, key)

    def get(self, key, default=None):
        self.log.mask |= AGENT_FIELD.get(key, AGENT_OTHER)
        return dict.get(self, key, default)

    def items(self):
        self.log.mask |= ALL_AGENT
        return dict.items(self)


_ATTRIBUTES = {"held": HELD, "settings": SETTINGS, "spawned": SPAWNED, "decay": DECAY, "step": STEP, "last": LAST}


class _Probe(WorldState):
    """A reference state (nothing remembered) whose every read is logged."""

    def __getattribute__(self, name):
        bit = _ATTRIBUTES.get(name)
        if bit is not None:
            object.__getattribute__(self, "log").mask |= bit
        return object.__getattribute__(self, name)

    def write(self, object_id):
        new = _tracked(dict.items(self.objects[object_id]), self.log)
        dict.__setitem__(self.objects, object_id, new)
        self.written.add(object_id)
        return new

    def add(self, object_id, object_state):
        dict.__setitem__(self.objects, object_id, _tracked(object_state.items(), self.log))
        self.written.add(object_id)


def _tracked(items, log) -> _Object:
    st = _Object(items)
    st.log = log
    return st


def probe(state: WorldState) -> tuple[_Probe, _Log]:
    log = _Log()
    objects = _Objects((oid, _tracked(dict.items(st), log)) for oid, st in state.objects.items())
    objects.log = log
    agent = _Agent(state.agent)
    agent.log = log
    p = _Probe(state.scene, objects, agent, state.held, state.step, dict(state.last), dict(state.settings),
               {k: list(v) for k, v in state.spawned.items()}, dict(state.decay))
    p.log = log
    log.mask = 0
    return p, log


def _states() -> list[WorldState]:
    """Reference states from random walks in a kitchen, a living room, a bedroom, a bathroom
    (things held, filled, sliced, broken, switched on), and every state the smoke suite's plans
    and a sample of the v1 suite's pass through (heated, cooled, under running water, burning)."""
    from safe_alfred.tasks.suite import load_suite
    out = []
    accel.set_reference(True)
    try:
        heating = {"id": "heating", "scene": "FloorPlan1", "setup": [], "layout_seed": 0,
                   "reference_plan": ["find Potato", "pickup Potato", "find Microwave", "open Microwave",
                                      "put Microwave", "close Microwave", "toggle_on Microwave", "find Bread"]}
        tasks = [heating] + load_suite("smoke") + load_suite("safe_alfred_v1")[::40]
        env = SafeAlfredEnv()
        for task in tasks:
            env.reset(options={"task": task})
            for skill in task["reference_plan"]:
                env.step(skill)
                out.append(env.state)
        for scene, seed in (("FloorPlan1", 1), ("FloorPlan11", 2), ("FloorPlan205", 3), ("FloorPlan303", 4),
                            ("FloorPlan402", 5)):
            env, rng = SafeAlfredEnv(max_steps=200), random.Random(seed)
            _, info = env.reset(seed=seed, options={"scene": scene})
            for i in range(120):
                skills = [s for s in info["admissible_skills"] if s not in ("done",) and not s.startswith("refuse")]
                _, _, term, trunc, info = env.step(rng.choice(skills))
                if i % 4 == 0:
                    out.append(env.state)
                if term or trunc:
                    _, info = env.reset(seed=seed + i, options={"scene": scene})
    finally:
        accel.set_reference(False)
    return out


STATES = _states()


@pytest.mark.parametrize("fact", [d.fact for d in registry.DECLARED.values() if d.reads != EVERYTHING],
                         ids=lambda f: f.__qualname__)
def test_a_derived_value_reads_only_what_it_declares(fact):
    declared = registry.READS[fact]
    n_args = fact.compute.__code__.co_argcount - 1
    seen = 0
    for state in STATES:
        p, log = probe(state)
        args = (state.agent["x"], state.agent["z"])[:n_args]
        fact.compute(p, *args)
        seen |= log.mask
    extra = seen & ~declared
    assert not extra, f"{fact.__qualname__} reads {names(extra)}, not in its declaration"


@pytest.mark.parametrize("rule", list(registry.RULES), ids=lambda f: f.__qualname__)
def test_an_automatic_rule_reads_only_what_it_declares(rule):
    declaration = registry.RULES[rule]
    seen = 0
    for state in STATES:
        p, log = probe(state)
        rule(p)
        seen |= log.mask
    extra = seen & ~(declaration.reads | declaration.copies)
    assert not extra, f"{rule.__qualname__} reads {names(extra)}, not in its declaration"


def test_the_probe_sees_reads():
    """The check above can fail: a visibility that also looks at the lights is caught."""
    from safe_alfred.world.visibility import visible_in_order
    seen = 0
    for state in STATES:
        p, log = probe(state)
        visible_in_order.compute(p)
        seen |= log.mask
    assert seen & OBJECT_FIELD["isOpen"] and not seen & OBJECT_FIELD["isToggled"]
    p, log = probe(STATES[0])
    [st["isToggled"] for st in p.objects.values()]
    assert log.mask & OBJECT_FIELD["isToggled"] and log.mask & OBJECT_SET


def test_what_a_step_changed_names_each_field_written_and_a_new_key_or_value_of_any_kind():
    """``changes`` covers every field a write changed (and no other), whatever the values: a new
    key counts as every field, and a value that cannot be hashed is compared all the same."""
    from safe_alfred.accel.reads import changes
    before = accel.start("FloorPlan1", 0)
    oid = next(iter(before.objects))
    after = before.evolve()
    st = after.write(oid)
    st["isDirty"], st["temperature"] = not st["isDirty"], st["temperature"]  # one changed, one rewritten
    mask = changes(before, after)
    assert mask & OBJECT_FIELD["isDirty"] and not mask & (ALL_OBJECT_FIELDS & ~OBJECT_FIELD["isDirty"])
    st["pos"] = list(st["pos"])  # unhashable (and not the tuple it was: a change)
    assert changes(before, after) & ALL_OBJECT_FIELDS == OBJECT_FIELD["isDirty"] | OBJECT_FIELD["pos"]
    st["note"] = "new key"
    assert changes(before, after) & (OBJECT_SET | OBJECT_OTHER) == OBJECT_SET | OBJECT_OTHER
