"""The SafeAlfred-v0 Gymnasium environment: API contract, determinism, invalid input, wrappers."""

from __future__ import annotations

import hashlib
import json
import random
import subprocess
import sys

import gymnasium
import pytest
from gymnasium.utils.env_checker import check_env
from layout_trajectories import CHANGING_LAYOUTS

import safe_alfred.envs  # noqa: F401  (registers SafeAlfred-v0)
from safe_alfred.envs import DiscreteSkillWrapper, SafeAlfredEnv
from safe_alfred.skills import parse_skill
from safe_alfred.world.metadata import to_metadata
from safe_alfred.world.scenes import ALL_SCENES, initial_state, load_scene_spec


def test_make_and_check_env():
    env = gymnasium.make("SafeAlfred-v0")
    check_env(env.unwrapped)
    obs, info = env.reset(seed=0, options={"scene": "FloorPlan3"})
    assert env.observation_space.contains(obs)
    assert "You see:" in obs and "You are holding: nothing" in obs
    assert info["metadata"]["sceneName"] == "FloorPlan3_physics"


def _trajectory(scene: str, seed: int, n: int) -> str:
    env = SafeAlfredEnv()
    rng = random.Random(seed)
    obs, info = env.reset(seed=seed, options={"scene": scene})
    h = hashlib.sha256(obs.encode())
    for _ in range(n):
        skill = rng.choice(info["admissible_skills"])
        obs, r, term, trunc, info = env.step(skill)
        h.update(json.dumps([skill, obs, r, term, trunc, info["events"], info["thor_actions"]],
                            sort_keys=True).encode())
        h.update(env.state.digest().encode())
        if term or trunc:
            obs, info = env.reset(seed=seed, options={"scene": scene})
    return h.hexdigest()


def test_np_random_follows_the_seeds_given_to_reset_as_gymnasium_seeds_it():
    """The generator is made when first read, from the last seed reset was given; a reset
    without a seed goes on with it; a bad seed is gymnasium's own error at once."""
    import numpy as np
    from gymnasium.error import Error
    from gymnasium.utils import seeding

    env = gymnasium.make("SafeAlfred-v0").unwrapped
    env.reset(seed=5)
    env.reset(seed=11)
    first = env.np_random.random(3)
    env.reset()
    then = env.np_random.random(3)
    reference, _ = seeding.np_random(11)
    assert np.array_equal(first, reference.random(3)) and np.array_equal(then, reference.random(3))
    assert env.np_random_seed == 11
    env.np_random = np.random.default_rng(2)
    assert env.np_random_seed == -1 and env.np_random.random() == np.random.default_rng(2).random()
    with pytest.raises(Error, match="greater or equal to zero"):
        env.reset(seed=-1)


def test_same_scene_seed_and_actions_give_the_same_trajectory_byte_for_byte():
    assert _trajectory("FloorPlan1", 7, 120) == _trajectory("FloorPlan1", 7, 120)
    assert _trajectory("FloorPlan1", 7, 120) != _trajectory("FloorPlan1", 8, 120)


def test_trajectories_do_not_depend_on_what_the_process_has_cached():
    """The acceleration layer keeps views, poses and descriptions process-wide; a cold process and one
    warmed by other episodes (and by this one) must play the same trajectory byte for byte."""
    namespace: dict = {}
    exec(CHANGING_LAYOUTS, namespace)  # noqa: S102  (the same code the fresh process runs)
    run = namespace["run"]
    run("FloorPlan2", 3, 400)  # warm the caches with other layouts of the scene
    warm = [run("FloorPlan2", 5, 300), run("FloorPlan2", 5, 300), run("FloorPlan410", 5, 300)]
    cold = subprocess.run([sys.executable, "-c", CHANGING_LAYOUTS + "\nprint(run('FloorPlan2', 5, 300))"],
                          capture_output=True, text=True, check=True).stdout.strip()
    assert warm[0] == warm[1] == cold
    assert warm[2] != cold


def test_seed_zero_is_the_real_layout_and_other_seeds_replace_deterministically():
    default = initial_state("FloorPlan1", 0)
    spec = load_scene_spec("FloorPlan1")
    assert all(default.objects[o]["parents"] == spec.initial[o]["parents"] for o in spec.objects)
    a, b = initial_state("FloorPlan1", 5), initial_state("FloorPlan1", 5)
    assert a.digest() == b.digest() != default.digest()
    moved = [o for o in spec.objects if a.objects[o]["parents"] != default.objects[o]["parents"]]
    assert moved and all(spec.objects[o].flags["pickupable"] for o in moved)


def test_every_scene_loads_with_thor_shaped_metadata():
    assert len(ALL_SCENES) == 120
    for scene in ALL_SCENES:
        md = to_metadata(initial_state(scene))
        assert md["sceneName"] == f"{scene}_physics"
        assert all(len(o) == 42 for o in md["objects"])
        receptacles = [o for o in md["objects"] if o["receptacle"]]
        assert all(isinstance(o["receptacleObjectIds"], list) for o in receptacles)


def test_invalid_input_never_raises():
    env = SafeAlfredEnv()
    env.reset(seed=0, options={"scene": "FloorPlan1"})
    for bad in ["", "   ", "fly to the moon", "pickup", "pickup Unicorn", "find Television", "pour",
                "fill Mug lava" * 3, "\x00\x01", "pickup Apple; rm -rf /", "é" * 300]:
        obs, r, term, trunc, info = env.step(bad)
        assert info["valid"] is False and "Invalid skill" in info["feedback"]
        assert env.observation_space.contains(obs)
        assert not term
    obs, *_ , info = env.step(12345)  # not even text
    assert info["valid"] is False


def test_unknown_scene_is_a_clear_error():
    env = SafeAlfredEnv()
    with pytest.raises(ValueError, match="unknown iTHOR scene"):
        env.reset(options={"scene": "FloorPlan99"})


def test_every_admissible_skill_is_accepted_by_the_skill_layer():
    env = SafeAlfredEnv()
    rng = random.Random(3)
    for scene in ("FloorPlan1", "FloorPlan201", "FloorPlan301", "FloorPlan401"):
        obs, info = env.reset(seed=0, options={"scene": scene})
        for _ in range(40):
            skill = rng.choice(info["admissible_skills"])
            obs, r, term, trunc, info = env.step(skill)
            assert info["valid"], (scene, skill, info["feedback"])
            if term:
                obs, info = env.reset(seed=0, options={"scene": scene})


def test_done_and_refuse_terminate_and_step_limit_truncates():
    env = SafeAlfredEnv(max_steps=3)
    env.reset(options={"scene": "FloorPlan1"})
    assert env.step("refuse this would start a fire")[2] is True
    env.reset(options={"scene": "FloorPlan1"})
    assert env.step("done")[2] is True
    env.reset(options={"scene": "FloorPlan1"})
    results = [env.step("find Apple") for _ in range(3)]
    assert [r[3] for r in results] == [False, False, True]


def test_skill_grammar_accepts_safeagentbench_names():
    assert parse_skill("turn on Microwave").canonical() == "toggle_on Microwave"
    assert parse_skill("pick cellphone").canonical() == "pickup CellPhone"
    assert parse_skill("fillLiquid Mug wine").canonical() == "fill Mug wine"
    assert parse_skill("emptyLiquid Mug").canonical() == "empty Mug"
    assert parse_skill("Refuse: unsafe").verb == "refuse"


def test_find_then_interact_end_to_end():
    env = SafeAlfredEnv()
    env.reset(options={"scene": "FloorPlan1"})
    for skill in ["find Fridge", "open Fridge", "find Egg", "pickup Egg", "find Microwave", "open Microwave",
                  "put Microwave", "close Microwave", "toggle_on Microwave"]:
        obs, r, term, trunc, info = env.step(skill)
        assert info["valid"] and all(a["success"] for a in info["thor_actions"]), (skill, info["feedback"])
    assert [e["type"] for e in info["events"]].count("explosion") == 1
    assert "You notice: an explosion at the Egg" in obs
    assert info["thor_actions"][0]["action"]["action"] == "ToggleObjectOn"


def test_open_with_names_the_instance_that_holds_an_object():
    """``open Cabinet`` opens the nearest cabinet; ``open Cabinet with Mug`` the one the mug is in."""
    env = SafeAlfredEnv()
    env.reset(seed=0, options={"scene": "FloorPlan8"})  # its one mug is in an upper cabinet, a lower one is nearer
    env.step("find Mug")
    mug = next(o for o in env.state.objects if o.startswith("Mug|"))
    holder = env.state.objects[mug]["parents"][0]
    _, _, _, _, plain = env.step("open Cabinet")
    assert plain["valid"] and plain["thor_actions"][0]["action"]["objectId"] != holder
    _, _, _, _, info = env.step("open Cabinet with Mug")
    assert info["valid"] and info["thor_actions"][0]["action"]["objectId"] == holder
    assert env.state.objects[holder]["isOpen"]
    assert parse_skill("open cabinet containing mug").canonical() == "open Cabinet with Mug"
    _, _, _, _, none = env.step("open Fridge with Mug")
    assert not none["valid"] and "no Fridge with a Mug in it" in none["feedback"]
    with pytest.raises(ValueError, match="unknown object type"):
        parse_skill("slice Apple with Knife")  # only a receptacle is named by what it holds


def test_stove_burner_skill_turns_its_knob():
    env = SafeAlfredEnv()
    env.reset(options={"scene": "FloorPlan1"})
    env.step("find StoveBurner")
    _, _, _, _, info = env.step("toggle_on StoveBurner")
    assert info["thor_actions"][0]["action"]["objectId"].startswith("StoveKnob|")
    assert "heat_on" in [e["type"] for e in info["events"]]


def test_a_burner_named_by_what_stands_on_it_turns_its_own_knob():
    env = SafeAlfredEnv()
    env.reset(seed=0, options={"scene": "FloorPlan8"})  # a pan stands on one of four burners
    env.step("find StoveBurner")
    _, _, _, _, info = env.step("toggle_on StoveBurner with Pan")
    assert info["thor_actions"][0]["action"]["objectId"] == "StoveKnob|-00.96|+01.10|-01.98"  # the pan's burner
    _, _, _, _, none = env.step("toggle_on StoveBurner with Pot")
    assert not none["valid"] and "no StoveBurner with a Pot on it" in none["feedback"]


def test_require_knife_option():
    env = SafeAlfredEnv(require_knife=True)
    env.reset(options={"scene": "FloorPlan1"})
    env.step("find Apple")
    _, _, _, _, info = env.step("slice Apple")
    assert not info["valid"] and "Knife" in info["feedback"]


def test_discrete_wrapper_over_admissible_skills():
    env = DiscreteSkillWrapper(SafeAlfredEnv(), max_actions=64)
    obs, info = env.reset(seed=0, options={"scene": "FloorPlan1"})
    n_valid = sum(info["action_mask"])
    assert env.action_space.n == 64 and 0 < n_valid <= 64
    obs, r, term, trunc, info = env.step(0)
    assert info["skill"] is not None and info["valid"]


def test_waits_are_offered_among_the_admissible_skills():
    """``wait`` is in the grammar, so the skills offered include it (one, five and ten minutes, the
    waits the suite's plans use), and what is offered is accepted."""
    env = SafeAlfredEnv()
    _, info = env.reset(seed=0, options={"scene": "FloorPlan1"})
    assert {"wait 60", "wait 300", "wait 600"} <= set(info["admissible_skills"])
    _, _, term, _, info = env.step("wait 300")
    assert info["valid"] and not term and {"wait 60", "wait 300", "wait 600"} <= set(info["admissible_skills"])
