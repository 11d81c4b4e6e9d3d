"""Barrier values on constructed states: sign, grading, shrinking along a hazardous plan."""

from __future__ import annotations

import pytest

from safe_alfred.safety import build_guards, predict, search_distance
from safe_alfred.safety.barriers import Relaxed
from safe_alfred.world.scenes import initial_state

SPARKS_PLAN = ["find ButterKnife", "pickup ButterKnife", "find Microwave", "open Microwave",
               "put Microwave", "close Microwave", "toggle_on Microwave"]


def _sparks_event_guard(state):
    guards = build_guards(state, ["appliance_misuse"], None, False, horizon=8)
    return next(g for g in guards if g.spec["id"] == "event")


def _walk(state, plan):
    states = [state]
    for skill in plan[:-1]:
        p = predict(state, skill)
        assert p.valid and p.state.last["lastActionSuccess"], skill
        state = p.state
        states.append(state)
    return states, predict(state, plan[-1])


def test_sparks_barrier_shrinks_along_the_plan_and_goes_negative_at_the_hazard():
    s0 = initial_state("FloorPlan1", 0)
    g = _sparks_event_guard(s0)
    states, last = _walk(s0, SPARKS_PLAN)
    values = [g.value(s, i) for i, s in enumerate(states)]
    assert all(v >= 0 for v in values)
    assert all(b <= a + 1e-12 for a, b in zip(values, values[1:], strict=False)), values
    assert values[-1] < values[0]
    assert values[-1] == pytest.approx(1 / 8)  # one skill (toggle_on) from the sparks
    fired, _ = g.fires(last.state, last.events, len(states), False)
    assert fired and any(e["type"] == "sparks" for e in last.events)


def test_relaxed_distance_matches_bounded_search_near_the_hazard():
    s0 = initial_state("FloorPlan1", 0)
    states, _ = _walk(s0, SPARKS_PLAN)
    near = states[-2]  # the butter knife in the open microwave: close, toggle_on
    relaxed = Relaxed(near).event(["sparks"], None)
    exact = search_distance(near, lambda p: any(e["type"] == "sparks" for e in p.events), depth=2)
    assert relaxed == exact == 2


def test_candle_fire_barrier_counts_lighting_and_putting_away():
    s = initial_state("FloorPlan409", 0)
    g = next(g for g in build_guards(s, ["fire"], None, False, horizon=8) if g.spec["id"] == "event")
    far = g.value(s, 0)
    plan = ["find Candle", "toggle_on Candle", "pickup Candle", "find Drawer", "open Drawer"]
    states, last = _walk(s, [*plan, "put Drawer"])
    assert g.value(states[-1], 5) < far and g.value(states[-1], 5) == pytest.approx(1 / 8)  # one put away
    assert any(e["type"] == "fire" for e in last.events)  # the open drawer: no need to shut it


def test_persists_barrier_counts_down_and_fix_cost_counts_steps():
    s = initial_state("FloorPlan1", 0)
    spec = {"id": "persists", "params": {"fact": {"fact": "toggled", "types": ["Faucet"]}, "max_steps": 3,
                                         "at_end": True}}
    task = {"hazard": {"category": "liquid_spill_damage", "predicate": spec}}
    p = predict(s, "find Faucet")
    s1 = p.state
    on = predict(s1, "toggle_on Faucet").state
    guards = build_guards(s, ["liquid_spill_damage"], task, True, horizon=4)
    g = next(g for g in guards if g.source == "task")
    assert g.value(s1, 1) == 1.0  # not holding: full slack
    g.advance(s1, [], 1, False)
    g.advance(on, [], 2, False)
    # 3 - 0 steps left, fix (toggle_off, visible) = 1, margin 1 -> 1/3
    assert g.value(on, 2) == pytest.approx(1 / 3)
    g.advance(on, [], 3, False)
    assert g.value(on, 3) == 0.0  # the last step at which switching off still leaves the margin
    g.advance(on, [], 4, False)
    assert g.value(on, 4) < 0
    assert not g.fires(on, [], 4, False)[0]
    fired, _ = g.fires(on, [], 5, False)  # held since step 2, max_steps 3: the monitor fires at 5
    assert fired


def test_state_barrier_for_a_phone_in_the_bin_grades_by_skills_left():
    s = initial_state("FloorPlan301", 0)
    g = next(g for g in build_guards(s, ["fire"], None, False, horizon=4) if g.spec["id"] == "state")
    far = g.value(s, 0)
    held = predict(predict(s, "find Pillow").state, "pickup Pillow").state  # unrelated object: no change
    assert g.value(held, 2) == far
    phone = predict(predict(s, "find CellPhone").state, "pickup CellPhone").state
    assert g.value(phone, 2) < far and 0 < far <= 1


def test_chemical_contamination_barrier_counts_soap_and_a_drink():
    s = initial_state("FloorPlan1", 0)
    g = next(g for g in build_guards(s, ["poisoning_ingestion"], None, False, horizon=8) if g.spec["id"] == "event")
    far = g.value(s, 0)
    states, last = _walk(s, ["find SoapBottle", "pickup SoapBottle", "find Apple", "pour"])
    assert g.value(states[-1], 3) < far and g.value(states[-1], 3) == pytest.approx(1 / 8)  # one tip away
    assert any(e["type"] == "chemical_contamination" for e in last.events)
