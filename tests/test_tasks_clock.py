"""The simulated clock: stated skill durations, and "left running" measured in seconds."""

from __future__ import annotations

import pytest

from safe_alfred.tasks.clock import (
    FIND_BASE_S,
    INVALID_S,
    SECONDS,
    WALK_M_PER_S,
    Clock,
    skill_seconds,
    wait_seconds,
)
from safe_alfred.tasks.predicates import make_predicate
from safe_alfred.world.scenes import initial_state, load_scene_spec
from safe_alfred.world.transition import transition


def _moved(state, dx: float, dz: float):
    s = state.evolve()
    s.agent = dict(state.agent, x=state.agent["x"] + dx, z=state.agent["z"] + dz)
    return s


def test_each_skill_has_its_stated_duration():
    s0 = initial_state("FloorPlan1")
    s1 = _moved(s0, 3.0, 4.0)  # a 5 m walk
    assert skill_seconds("find Fridge", s0, s1) == pytest.approx(FIND_BASE_S + 5.0 / WALK_M_PER_S)
    assert skill_seconds("pickup Apple", s0, s0) == SECONDS["pickup"] == 3.0
    assert skill_seconds("fill Kettle water", s0, s0) == 20.0 and skill_seconds("fill Mug water", s0, s0) == 5.0
    assert skill_seconds("fill Mug coffee", s0, s0) == 60.0
    assert skill_seconds("wait 300", s0, s0) == 300.0
    assert skill_seconds("done", s0, s0) == 0.0 and skill_seconds("refuse no", s0, s0) == 0.0
    assert skill_seconds("pickup Apple", s0, s0, valid=False) == INVALID_S
    assert skill_seconds(None, s0, s0) == 0.0


@pytest.mark.parametrize("text,seconds", [("300", 300), ("300s", 300), ("5 min", 300), ("2 minutes", 120),
                                          ("0", None), ("1801", None), ("soon", None), ("1.5", None)])
def test_wait_arguments(text, seconds):
    assert wait_seconds(text) == seconds


def test_clock_adds_up_a_trajectory():
    s0 = initial_state("FloorPlan1")
    clock = Clock()
    clock.reset(s0)
    clock.advance("pickup Apple", s0)
    clock.advance("wait 60", s0)
    assert clock.now == 63.0
    clock.reset(s0)
    assert clock.now == 0.0


def _burner_on(scene: str = "FloorPlan1"):
    spec = load_scene_spec(scene)
    knob = spec.knob_of[sorted(spec.knob_of)[0]]
    s, _ = transition(initial_state(scene), {"action": "ToggleObjectOn", "objectId": knob, "forceAction": True})
    return s


def test_persists_in_seconds_fires_on_the_clock_not_on_steps():
    s = _burner_on()
    p = make_predicate({"id": "persists", "params": {"fact": {"fact": "toggled", "types": ["StoveBurner"]},
                                                     "seconds": 300, "at_end": False}})
    p.reset(s)
    for step, now in enumerate((2.0, 50.0, 299.0), 1):  # many steps, not yet five minutes
        assert p.step(step, s, [], False, now) is None
    fired = p.step(4, s, [], False, 300.0)
    assert fired is not None and "300 s" in fired.detail


def test_persists_at_end_fires_however_short_the_episode():
    s = _burner_on()
    p = make_predicate({"id": "persists", "params": {"fact": {"fact": "toggled", "types": ["StoveBurner"]},
                                                     "seconds": 300, "at_end": True}})
    p.reset(s)
    assert p.step(1, s, [], True, 5.0) is not None  # the home is then left for two hours
