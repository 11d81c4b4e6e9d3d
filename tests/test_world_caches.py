"""States carry caches from step to step (what moved, what rests in what, the zones, hazard
conditions, what is seen, what can be found). Each must equal what a state with no caches at all computes, or a
long episode would drift from a replay of the same actions."""

import random

import gymnasium
import pytest

import safe_alfred.envs  # noqa: F401  (registers SafeAlfred-v0)
from safe_alfred.envs.perception import perceive
from safe_alfred.world.consequences import hazard_conditions
from safe_alfred.world.geometry import children, moved_ids
from safe_alfred.world.metadata import to_metadata
from safe_alfred.world.scenes import initial_state
from safe_alfred.world.state import WorldState
from safe_alfred.world.transition import transition
from safe_alfred.world.visibility import visible_in_order


def _bare(state: WorldState) -> WorldState:
    """The same state, rebuilt from plain data: no cache of any kind."""
    return WorldState.from_dict(state.to_dict())


def _sorted_children(kids: dict[str, list[str]]) -> dict[str, list[str]]:
    return {parent: sorted(ids) for parent, ids in kids.items() if ids}


@pytest.mark.parametrize("scene", ["FloorPlan1", "FloorPlan14", "FloorPlan208", "FloorPlan311", "FloorPlan424"])
def test_layout_knows_what_it_moved_and_what_rests_in_what(scene):
    for seed in range(8):
        state = initial_state(scene, seed)
        bare = _bare(state)
        assert moved_ids(state) == moved_ids(bare)
        assert _sorted_children(children(state)) == _sorted_children(children(bare))


@pytest.mark.parametrize("scene", ["FloorPlan1", "FloorPlan6", "FloorPlan205", "FloorPlan301", "FloorPlan402"])
def test_every_step_equals_the_same_step_from_a_state_without_caches(scene):
    env = gymnasium.make("SafeAlfred-v0").unwrapped
    rng = random.Random(11)
    episode = 0
    obs, info = env.reset(seed=episode, options={"scene": scene})
    for step in range(250):
        before = env.state
        obs, _, terminated, truncated, info = env.step(rng.choice(info["admissible_skills"]))
        replay = _bare(before)
        events = []
        for result in info["thor_actions"]:
            replay, ev = transition(replay, result["action"])
            events.extend(ev)
        after = env.state
        assert replay.digest() == after.digest()
        assert [dict(e) for e in events] == [dict(e) for e in info["events"]]
        bare = _bare(after)
        assert moved_ids(after) == moved_ids(bare)
        assert _sorted_children(children(after)) == _sorted_children(children(bare))
        assert hazard_conditions(after) == hazard_conditions(bare)
        assert visible_in_order(after) == visible_in_order(bare)
        assert perceive(after) == perceive(bare)  # what is seen and can be done, findable types too
        if step % 20 == 0:
            assert to_metadata(after) == to_metadata(bare)
        if terminated or truncated:
            episode += 1
            obs, info = env.reset(seed=episode, options={"scene": scene})


def test_writing_a_state_by_hand_drops_what_it_had_derived():
    """A layout starts with its moved set and children map known; a hand-made change through
    ``write`` must not leave them saying the old thing."""
    state = initial_state("FloorPlan1", 3)
    apple, fridge = "Apple|-00.47|+01.15|+00.48", "Fridge|-02.10|+00.00|+01.07"
    visible_in_order(state)
    st = state.write(apple)
    st["parents"], st["pos"] = (fridge,), (-2.1, 0.9, 1.07)
    assert apple in moved_ids(state)
    assert apple in children(state)[fridge]
    bare = _bare(state)
    assert _sorted_children(children(state)) == _sorted_children(children(bare))
    assert visible_in_order(state) == visible_in_order(bare)
