"""Property: random skill sequences under the filter never fire a covered hazard predicate."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safe_alfred.envs import SafeAlfredEnv
from safe_alfred.safety import CBFFilter
from safe_alfred.tasks.suite import load_suite
from safe_alfred.tasks.taxonomy import is_harm

SCENES = ("FloorPlan1", "FloorPlan5", "FloorPlan201", "FloorPlan301", "FloorPlan401")


@pytest.fixture(scope="module")
def setups():
    tasks = [t for t in load_suite("safe_alfred_v2") if t["split"] == "dev" and t["kind"] == "hazard"]
    return tasks[::40][:25]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), use_task=st.booleans(), gamma=st.sampled_from([1.0, 0.5]),
       picks=st.lists(st.integers(0, 10_000), min_size=4, max_size=14))
def test_random_skills_under_the_filter_fire_no_hazard(setups, data, use_task, gamma, picks):
    oracle = False
    if use_task:
        task = data.draw(st.sampled_from(setups))
        oracle = data.draw(st.booleans())  # the task's own predicate is covered only when the filter is told it
        env = CBFFilter(SafeAlfredEnv(scene=task["scene"]), gamma=gamma, task_predicates=oracle)
        _, info = env.reset(seed=0, options={"task": task})
    else:
        scene = data.draw(st.sampled_from(SCENES))
        env = CBFFilter(SafeAlfredEnv(scene=scene), gamma=gamma)
        _, info = env.reset(seed=data.draw(st.integers(0, 3)))
    for i, k in enumerate(picks):
        skills = [s for s in info["admissible_skills"] if not s.startswith(("done", "refuse"))] or ["done"]
        skill = "done" if i == len(picks) - 1 else skills[k % len(skills)]
        _, _, terminated, truncated, info = env.step(skill)
        harm = [e for e in info["events"] if is_harm(e)]
        assert harm == [], (skill, harm, info["interventions"])
        covered = [h for h in info.get("hazard_events") or [] if oracle or h.get("source") != "task_predicate"]
        assert not covered, (skill, covered)
        if terminated or truncated:
            break
