"""Every hazard of suite v2 is perceivable: the first observation (or the one after the task's natural
first step, such as opening the microwave) shows the hazard's objects in the states that make them
dangerous, and every object the hazard is about is shown or named by the instruction."""

from __future__ import annotations

import re

import pytest

from safe_alfred.envs import SafeAlfredEnv
from safe_alfred.tasks.predicates import matches
from safe_alfred.tasks.suite import load_suite
from safe_alfred.tasks.templates.base import name
from safe_alfred.tasks.validate import run_plan, start_state
from safe_alfred.world.geometry import spec_of

_SEEN = re.compile(r"([A-Za-z]+)(?: \(([^)]*)\))?")


def seen(obs: str) -> list[tuple[str, set[str]]]:
    """(type, its state words) for every object of the observation's ``You see`` and holding lines."""
    out = []
    for line in obs.splitlines():
        for prefix in ("You see: ", "You are holding: "):
            if line.startswith(prefix):
                for m in _SEEN.finditer(line[len(prefix):].rstrip(".")):
                    words = {w.strip() for w in (m.group(2) or "").split(",") if w.strip()}
                    out.append((m.group(1), words))
    return out


def shows(obs: str, obj_type: str, words: list[str]) -> bool:
    return any(t == obj_type and set(words) <= ws for t, ws in seen(obs))


def hazard_objects(task: dict) -> set[str]:
    """The types the hazard is about: a scene's hazardous objects at reset, else what the naive plan's
    hazard fired on."""
    spec = task["hazard"]["predicate"]
    state, _ = start_state(task, 0)
    if task["family"] == "hazardous_scene":
        return {spec_of(state, o).type for o in matches(state, spec["params"]["fact"])}
    run = run_plan(task, task["reference_plan"], 0)
    fired = [h for h in run.hazard_events if h.get("source") == "task_predicate"]
    return {spec_of(run.state, o).type for h in fired for o in h.get("objects") or () if o in run.state.objects}


def _named(instruction: str, obj_type: str) -> bool:
    text = instruction.lower()
    return name(obj_type).lower() in text or name(obj_type, "bathroom").lower() in text or obj_type.lower() in text


V2 = [t for t in load_suite("safe_alfred_v2") if t["kind"] == "hazard"]


def test_every_v2_hazard_task_says_what_to_look_for():
    missing = [t["id"] for t in V2 if not (t.get("perceive") or {}).get("cues")]
    assert not missing, missing[:5]


@pytest.mark.parametrize("chunk", range(4))
def test_the_observation_shows_each_hazard(chunk: int):
    env = SafeAlfredEnv()
    failures = []
    for task in V2[chunk::4]:
        obs, _ = env.reset(seed=0, options={"task": task})
        for skill in task["perceive"].get("after", []):
            obs, *_ = env.step(skill)
        for cue in task["perceive"]["cues"]:
            if not shows(obs, cue["object"], cue["shows"]):
                failures.append((task["id"], cue, obs.splitlines()[1][:300]))
        cue_types = {c["object"] for c in task["perceive"]["cues"]}
        for t in hazard_objects(task) - cue_types:
            if not (_named(task["instruction"], t) or any(t == s for s, _ in seen(obs))):
                failures.append((task["id"], f"{t} neither shown nor named", task["instruction"]))
    assert not failures, (len(failures), failures[:5])


def test_the_check_fails_on_a_hidden_hazard():
    """The cue check is not vacuous: a closed microwave hides the egg inside it."""
    task = next(t for t in V2 if t["template"] == "hs_egg_left_in_microwave")
    env = SafeAlfredEnv()
    obs, _ = env.reset(seed=0, options={"task": task})
    assert not shows(obs, "Egg", ["in Microwave"])
    for skill in task["perceive"]["after"]:
        obs, *_ = env.step(skill)
    assert shows(obs, "Egg", ["in Microwave"])


def test_an_empty_pot_pan_or_open_microwave_is_said_to_be_empty():
    """Emptiness is said, not left to be inferred from nothing being listed: a pan holding nothing is
    ``empty``; one holding an egg is not; a microwave is ``empty`` only when open (a closed one hides
    what is inside)."""
    env = SafeAlfredEnv()
    env.reset(seed=0, options={"scene": "FloorPlan1"})
    obs, *_ = env.step("find Pan")
    assert shows(obs, "Pan", ["empty"])
    for skill in ("find Fridge", "open Fridge", "find Egg", "pickup Egg", "find Pan", "put Pan"):
        obs, _, _, _, info = env.step(skill)
        assert info["valid"], (skill, info["feedback"])
    assert shows(obs, "Pan", []) and not shows(obs, "Pan", ["empty"])
    obs, *_ = env.step("find Microwave")
    assert shows(obs, "Microwave", ["closed"]) and not shows(obs, "Microwave", ["empty"])
    obs, *_ = env.step("open Microwave")
    assert shows(obs, "Microwave", ["open", "empty"])
    for skill in ("find Pan", "pickup Pan"):
        obs, *_ = env.step(skill)
    holding = next(line for line in obs.splitlines() if line.startswith("You are holding: "))
    assert holding.startswith("You are holding: Pan") and "empty" not in holding  # the egg is in it
