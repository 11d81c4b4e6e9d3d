"""Rules added the plain way, followed by the acceleration layer with no edit to it; and the ways
a rule author can get a state change wrong, caught."""

from __future__ import annotations

import copy
import importlib
import pickle

import pytest

from safe_alfred import accel
from safe_alfred.accel import registry
from safe_alfred.accel.facts import gone_ids
from safe_alfred.accel.reads import AGENT_POSE, STEP
from safe_alfred.accel.visibility import moved_ids
from safe_alfred.envs import SafeAlfredEnv
from safe_alfred.envs.observation import sanitize
from safe_alfred.skills import compile_skill, parse_skill
from safe_alfred.tasks.suite import load_suite
from safe_alfred.world.consequences import changed_objects
from safe_alfred.world.context import tempered_ids
from safe_alfred.world.geometry import children, spec_of
from safe_alfred.world.scenes import initial_state
from safe_alfred.world.state import WorldState
from safe_alfred.world.state import fact as world_fact
from safe_alfred.world.transition import HANDLERS, transition
from safe_alfred.world.visibility import visible_in_order

# the module (its name in safe_alfred.world is the function)
transition_module = importlib.import_module("safe_alfred.world.transition")

# FloorPlan1: heat a potato in the microwave, then switch it off
MICROWAVE_PLAN = ["find Potato", "pickup Potato", "find Microwave", "open Microwave", "put Microwave",
                  "close Microwave", "toggle_on Microwave", "toggle_off Microwave"]


def _play(plan: list[str], reference: bool) -> list[tuple]:
    accel.set_reference(reference)
    try:
        env = SafeAlfredEnv()
        obs, info = env.reset(seed=0, options={"scene": "FloorPlan1"})
        out = [(obs, info["admissible_skills"], env.state.digest())]
        for skill in plan:
            obs, _, _, _, info = env.step(skill)
            out.append((obs, info["admissible_skills"], info["events"], env.state.digest()))
        assert isinstance(env.state, accel.AcceleratedState) != reference
        return out
    finally:
        accel.set_reference(False)


def test_a_new_rule_written_the_plain_way_is_followed_by_the_accelerated_path(monkeypatch):
    """"Switching a Microwave off pops its door open": three lines in a handler. What is in the
    microwave is seen and can be picked up at once, on the accelerated path as on the reference."""
    switch = HANDLERS["ToggleObjectOff"]

    def switch_off_pops_the_door(s: WorldState, a: dict):
        err = switch(s, a)
        if err is None and spec_of(s, a["objectId"]).type == "Microwave":
            st = s.write(a["objectId"])
            st["isOpen"], st["openness"] = True, 1.0
        return err

    monkeypatch.setitem(HANDLERS, "ToggleObjectOff", switch_off_pops_the_door)
    fast, reference = _play(MICROWAVE_PLAN, False), _play(MICROWAVE_PLAN, True)
    assert fast == reference
    obs, skills = fast[-1][0], fast[-1][1]
    assert "Microwave (open, off)" in obs and "Potato" in obs.splitlines()[0]
    assert "pickup Potato" in skills and "close Microwave" in skills


def _cook_replacing_the_dict(s: WorldState, a: dict):
    """``CookObject`` as a contributor might write it: the object's dict replaced, not written."""
    oid = a["objectId"]
    if s.objects[oid]["isCooked"]:
        return f"{oid} is already Toasted!", None
    s.objects[oid] = dict(s.objects[oid], isCooked=True)
    return None


def reported_changes(before: WorldState, after: WorldState) -> list[str]:
    """The objects a step changed but did not report in ``written`` (``WorldState.write``)."""
    return [oid for oid in changed_objects.compute(after, before) if oid not in after.written]


def test_every_change_a_step_makes_is_reported_in_what_it_wrote():
    """What the accelerated path carries follows ``written``: every handler and rule must report
    every object it changes there. Checked on the smoke suite's plans (every family of task)."""
    for task in load_suite("smoke"):
        state = initial_state(task["scene"], task.get("layout_seed", 0))
        for skill_text in task["reference_plan"]:
            compiled = compile_skill(state, parse_skill(skill_text))
            for action in compiled.actions:
                after, _ = transition(state, action)
                assert reported_changes(state, after) == [], (task["id"], skill_text)
                state = after


APPLE, BREAD = "Apple|-00.47|+01.15|+00.48", "Bread|-00.52|+01.17|-00.03"


def _bread_warms_with_the_apple(s: WorldState) -> None:
    """Test rule: the bread takes the apple's temperature (reads temperatures)."""
    if s.objects[BREAD]["temperature"] != s.objects[APPLE]["temperature"]:
        s.write(BREAD)["temperature"] = s.objects[APPLE]["temperature"]


def _apple_heats_at_step_three(s: WorldState) -> None:
    """Test rule: at step 3 the apple turns hot (reads the step counter)."""
    if s.step == 3 and s.objects[APPLE]["temperature"] != "Hot":
        s.write(APPLE)["temperature"] = "Hot"


def test_a_rule_that_a_later_rule_changes_the_inputs_of_runs_again_on_the_next_step(monkeypatch):
    """A rule skipped (or run) as quiet, whose inputs a later rule then changes in the same step,
    is not remembered as quiet: on the next step it runs, as on the reference world (the bread
    warms at step 4, after the apple heated at step 3)."""
    monkeypatch.setattr(transition_module, "AUTOMATIC_RULES", (_bread_warms_with_the_apple, _apple_heats_at_step_three))
    for rule, reads in ((_bread_warms_with_the_apple, accel.objects("temperature")),
                        (_apple_heats_at_step_three, accel.objects("temperature") | STEP)):
        monkeypatch.setitem(registry.RULES, rule, registry.Rule(rule, reads))
        monkeypatch.setitem(registry.READS, rule, reads)
    temperatures = {}
    for reference in (False, True):
        accel.set_reference(reference)
        try:
            state = accel.start("FloorPlan1", 0)
            seen = []
            for _ in range(5):
                state, _ = transition(state, {"action": "Pass"})
                seen.append((state.objects[APPLE]["temperature"], state.objects[BREAD]["temperature"]))
            temperatures[reference] = seen
        finally:
            accel.set_reference(False)
    assert temperatures[True][3] == ("Hot", "Hot")  # the reference: the bread warms the step after
    assert temperatures[False] == temperatures[True]


@world_fact
def _where_the_agent_stands(state: WorldState) -> tuple:
    return state.agent["x"], state.agent["z"], state.agent["rotation"]


def test_a_value_learnt_after_a_move_that_reads_the_pose_stops_the_next_move_carrying_it(monkeypatch):
    """A move carries everything at once while nothing the state knows reads the agent; once it
    comes to know a value that does (here a test-only fact reading the pose, remembered on the
    state itself), the next move works out what to carry again, and the value is asked afresh."""
    for table, value in ((registry.DECLARED, registry.Derived(_where_the_agent_stands, AGENT_POSE,
                                                               _where_the_agent_stands.compute)),
                         (registry.READS, AGENT_POSE), (registry.FAST, _where_the_agent_stands.compute)):
        monkeypatch.setitem(table, _where_the_agent_stands, value)
    env = SafeAlfredEnv()
    env.reset(seed=0, options={"scene": "FloorPlan1"})
    for skill in ("find Fridge", "find Faucet", "find Fridge"):
        env.step(skill)
    assert env.state.carry is not None  # the moves carried it all at once
    assert _where_the_agent_stands(env.state) == _where_the_agent_stands.compute(env.state)
    env.step("find Faucet")
    assert _where_the_agent_stands not in env.state.memo
    assert _where_the_agent_stands(env.state) == _where_the_agent_stands.compute(env.state)


def test_replacing_an_object_dict_instead_of_writing_it_is_caught(monkeypatch):
    """The in-place edit that silently lost ``CookObject``'s event: the reference world still
    sees the change (it compares every object), and the check above names the object."""
    potato = next(o for o in initial_state("FloorPlan1").objects if o.startswith("Potato|"))
    action = {"action": "CookObject", "objectId": potato, "forceAction": True}
    before = initial_state("FloorPlan1")
    monkeypatch.setitem(HANDLERS, "CookObject", _cook_replacing_the_dict)
    after, events = transition(before, action)
    assert [e["type"] for e in events] == ["cooked"]  # the reference world is not fooled
    assert reported_changes(before, after) == [potato]  # and the check fails, naming it
    fast_before = accel.start("FloorPlan1", 0)
    _, fast_events = transition(fast_before, action)
    assert fast_events != events  # what the differential test would report


@pytest.mark.parametrize("scene,seed", [("FloorPlan1", 3), ("FloorPlan208", 1), ("FloorPlan424", 5)])
def test_an_accelerated_start_knows_what_its_layout_moved(scene, seed):
    """``accel.start`` tells the start state what its layout placed instead of deriving it: the
    same as a state with nothing remembered derives."""
    fast = accel.start(scene, seed)
    plain = initial_state(scene, seed)
    assert fast.digest() == plain.digest()
    for fact in (moved_ids, gone_ids, tempered_ids):
        assert fast.memo[fact] == fact.compute(plain)
    kids = {p: sorted(ids) for p, ids in fast.memo[children].items() if ids}
    assert kids == {p: sorted(ids) for p, ids in children.compute(plain).items() if ids}


def test_what_is_seen_from_a_pose_is_carried_exactly_while_nothing_it_reads_changed():
    """Switching the tap on changes no part visibility reads: what is seen from the fridge is
    carried to the states after it (the very list). Opening the fridge changes one: the egg in
    it is seen, as on a state rebuilt without anything remembered."""
    env = SafeAlfredEnv()
    env.reset(seed=0, options={"scene": "FloorPlan1"})
    egg, faucet = "Egg|-02.04|+00.81|+01.24", "Faucet|-02.15|+00.91|-01.50"
    env.step("find Fridge")
    seen = visible_in_order(env.state)
    for skill in ("find Faucet", "toggle_on Faucet", "find Fridge"):
        env.step(skill)
    assert env.state.objects[faucet]["isToggled"]
    assert visible_in_order(env.state) is seen
    env.step("open Fridge")
    after = visible_in_order(env.state)
    assert egg in after and egg not in seen
    assert after == visible_in_order(WorldState.from_dict(env.state.to_dict()))


def test_writing_a_state_by_hand_forgets_what_it_had_derived():
    state = accel.start("FloorPlan1", 3)
    apple, fridge = "Apple|-00.47|+01.15|+00.48", "Fridge|-02.10|+00.00|+01.07"
    visible_in_order(state), children(state)
    st = state.write(apple)
    st["parents"], st["pos"] = (fridge,), (-2.1, 0.9, 1.07)
    plain = WorldState.from_dict(state.to_dict())
    assert apple in children(state)[fridge]
    assert visible_in_order(state) == visible_in_order(plain)


def test_the_switch_runs_new_states_on_the_reference_world_and_clear_all_empties_every_table():
    accel.set_reference(True)
    try:
        assert type(accel.start("FloorPlan2", 1)) is WorldState and accel.prepare_scene("FloorPlan2") == 0
    finally:
        accel.set_reference(False)
    fast = accel.start("FloorPlan2", 1)
    assert isinstance(fast, accel.AcceleratedState)
    transition(fast, {"action": "RotateLeft"})
    assert any(registry._TABLES.values())
    accel.clear_all()
    assert not any(registry._TABLES.values())


def test_a_memo_keeps_what_it_computed_only_off_the_reference_world():
    calls = []

    @accel.memo(limit=2)
    def shout(text: str) -> str:
        """Loud."""
        calls.append(text)
        if not text:
            raise ValueError("nothing to shout")
        return text.upper()

    assert (shout("a"), shout("a"), shout.__name__, shout.__doc__) == ("A", "A", "shout", "Loud.")
    assert {shout: 1}[shout] == 1 and copy.deepcopy(shout) is shout and shout != {"a": "A"}
    assert pickle.loads(pickle.dumps(sanitize)) is sanitize  # a module's memo, by its name, as a function
    assert calls == ["a"]  # the second call was answered from the table
    with pytest.raises(ValueError):
        shout("")
    with pytest.raises(ValueError):
        shout("")
    assert calls == ["a", "", ""]  # an error is raised again each time, never kept
    shout("b"), shout("c")  # over the limit: the table starts again
    assert len(shout) <= 2
    accel.clear_all()
    assert shout("a") == "A" and calls[-1] == "a"
    accel.set_reference(True)
    try:
        calls.clear()
        assert (shout("z"), shout("z")) == ("Z", "Z") and calls == ["z", "z"] and not len(shout)
    finally:
        accel.set_reference(False)


def _run_records(out, reference: bool) -> list[dict]:
    """The records of a small run with the action filter on, on the reference world or not."""
    import json

    from safe_alfred.records import record_key
    from safe_alfred.runner.config import AgentConfig, ProgressMode, RunConfig, RunnerConfig, SuiteConfig
    from safe_alfred.runner.execute import run_experiment

    cfg = RunConfig(agent=AgentConfig(kind="always_comply"), suite=SuiteConfig(name="smoke", path="smoke.jsonl", limit=6),
                    runner=RunnerConfig(progress=ProgressMode.none))
    cfg.filter.enabled, cfg.filter.name = True, "cbf"
    accel.set_reference(reference)
    try:
        run_experiment(cfg, out)
    finally:
        accel.set_reference(False)
    lines = (out / "records.jsonl").read_text(encoding="utf-8").splitlines()
    recs = sorted((json.loads(line) for line in lines if line.strip()), key=record_key)
    for rec in recs:  # the one field that differs between two executions of the same episode
        rec.pop("latency_s", None)
        for decision in rec.get("decisions") or []:
            decision.pop("latency_s", None)
    return recs


def test_the_in_process_switch_gives_the_same_records_with_the_filter_on(tmp_path):
    """``set_reference(True)``: a run's records (the action filter's interventions included, whose
    estimates the filter declares to the acceleration layer) are those of the accelerated run."""
    fast = _run_records(tmp_path / "fast", reference=False)
    ref = _run_records(tmp_path / "ref", reference=True)
    assert len(fast) == 6 and any(r.get("interventions") for r in fast)
    assert ref == fast
