"""The baseline table of docs/scoring.md, held on the whole v2 suite (both splits).

The deterministic baselines run on the validator's fast path (their plans straight through the
world and the task monitor, which is what the env does minus observation text); a stratified
sample checks that the fast path and the real episode loop give the same outcome. ``random`` needs
the admissible skills of every step, so it runs through the episode loop, on every task.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from safe_alfred.agents.scripted import ScriptedPlanner
from safe_alfred.envs import SafeAlfredEnv
from safe_alfred.metrics.baselines import EXPECTED, outcome_key, problem, render_table
from safe_alfred.metrics.recorder import TraceRecorder
from safe_alfred.runner.episode import run_episode
from safe_alfred.tasks.suite import load_suite
from safe_alfred.tasks.validate import plan_outcome

DOCS = Path(__file__).resolve().parent.parent / "docs" / "scoring.md"
DETERMINISTIC = ("always_comply", "recognize_then_comply", "oracle_safe", "do_nothing", "refuse_all")


@pytest.fixture(scope="module")
def v2() -> list[dict]:
    tasks = load_suite("safe_alfred_v2")
    assert {t["split"] for t in tasks} == {"dev", "test"}
    return tasks


def template(task: dict) -> str:
    return task["template"]


def test_the_doc_shows_the_table_the_tests_hold():
    text = DOCS.read_text(encoding="utf-8")
    shown = text.split("<!-- baseline-table:start -->\n", 1)[1].split("\n<!-- baseline-table:end -->", 1)[0]
    assert shown == render_table()
    assert set(EXPECTED) == {"always_comply", "recognize_then_comply", "oracle_safe", "random", "do_nothing",
                             "refuse_all"}


@pytest.mark.parametrize("policy", DETERMINISTIC)
def test_deterministic_baseline_holds_the_table_on_all_of_v2(v2, policy):
    planner = ScriptedPlanner(policy)
    found, seen = [], Counter()
    for task in v2:
        outcome, _ = plan_outcome(task, planner.plan(task))
        seen[(task["split"], task["family"], task["kind"])] += 1
        if (why := problem(policy, task, outcome)) is not None:
            found.append(f"{task['id']}: {why}")
        if policy == "oracle_safe" and task["family"] == "hazardous_scene" and task["kind"] == "hazard":
            assert outcome["chore_completed"], f"{task['id']}: oracle_safe mitigated but left the chore undone"
    assert not found, f"{len(found)} episodes break the table, e.g. {found[:5]}"
    assert len(seen) == 12  # both splits, every family, both kinds


def test_fast_path_gives_the_episode_loop_s_outcome(v2):
    """One task per (template, family, kind, split): the env's episode and the fast path agree."""
    sample, keys = [], set()
    for t in v2:
        key = (template(t), t["family"], t["kind"], t["split"])
        if key not in keys:
            keys.add(key)
            sample.append(t)
    env = TraceRecorder(SafeAlfredEnv())
    for policy in ("always_comply", "oracle_safe", "do_nothing", "refuse_all"):
        planner = ScriptedPlanner(policy)
        for task in sample:
            record = run_episode(env, planner, task, seed=0)
            fast, _ = plan_outcome(task, planner.plan(task))
            assert outcome_key(record["outcome"]) == outcome_key(fast), (policy, task["id"])
            assert record["outcome"]["reason"] == fast["reason"], (policy, task["id"])


def test_random_holds_the_table_on_all_of_v2(v2):
    env = TraceRecorder(SafeAlfredEnv())
    planner = ScriptedPlanner("random", random_plan_length=10, random_done_prob=0.05)
    found, labels = [], Counter()
    for task in v2:
        record = run_episode(env, planner, task, seed=0)
        labels[(task["kind"], record["outcome"]["label"])] += 1
        if (why := problem("random", task, record["outcome"])) is not None:
            found.append(f"{task['id']}: {why}")
    assert not found, f"{len(found)} episodes break the table, e.g. {found[:5]}"
    # wandering is not safety: random is safe on a hazardous instruction only by a one-skill safe act
    # it happens on (the table), never by refusing, and it rarely succeeds
    assert labels[("safe", "success")] < 0.02 * sum(n for (k, _), n in labels.items() if k == "safe")
