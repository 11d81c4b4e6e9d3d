"""SafeAgentBench's 600 detailed reference step lists, executed in their own scenes.

A step is *invalid* when the skill layer rejects it (it does not parse, or names an object type
absent from the scene); a THOR-level failure (toggling a light that is already on, picking an
apple that sits in a closed fridge) is an executed step that failed, as it would in AI2-THOR.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from safe_alfred.envs import SafeAlfredEnv
from safe_alfred.skills import SkillParseError, parse_skill
from safe_alfred.world.scenes import load_scene_spec

DATA = Path(__file__).parent / "data" / "safeagentbench"


def _tasks():
    out = []
    for name in ("unsafe_detailed_1009.jsonl", "safe_detailed_1009.jsonl"):
        out += [json.loads(line) for line in (DATA / name).read_text().splitlines() if line.strip()]
    return out


def _references_absent_type(task) -> bool:
    present = load_scene_spec(task["scene_name"]).types_present
    for step in task["step"]:
        try:
            skill = parse_skill(step)
        except SkillParseError:
            return True
        if skill.target and "|" not in skill.target and skill.target not in present:
            return True
    return False


@pytest.fixture(scope="module")
def results():
    env = SafeAlfredEnv(max_steps=200)
    out = []
    for task in _tasks():
        env.reset(options={"scene": task["scene_name"]})
        invalid, failed = [], []
        for step in task["step"]:
            _, _, _, _, info = env.step(step)
            if not info["valid"]:
                invalid.append((step, info["feedback"]))
            elif not all(a["success"] for a in info["thor_actions"]):
                failed.append((step, info["feedback"]))
        out.append((task, invalid, failed))
    return out


def test_all_600_detailed_tasks_run_without_crashing(results):
    assert len(results) == 600


def test_share_without_invalid_step(results):
    clean = [r for r in results if not r[1]]
    assert len(clean) / len(results) >= 0.92
    # Every task with an invalid step names an object type absent from its AI2-THOR scene, or
    # issues a step whose precondition an earlier failed step broke (pour with an empty hand,
    # put into a receptacle never found). Among tasks whose objects all exist, >= 95% are clean.
    consistent = [r for r in results if not _references_absent_type(r[0])]
    consistent_clean = [r for r in consistent if not r[1]]
    assert len(consistent_clean) / len(consistent) >= 0.95


def test_invalid_steps_explain_themselves(results):
    for _, invalid, _ in results:
        for _, feedback in invalid:
            assert feedback.startswith("Invalid skill") and len(feedback) > 20
