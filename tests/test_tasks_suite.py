"""The shipped suites: smoke and a sample of v2 validate at seeds 0-4; v1 still loads; env hooks."""

from __future__ import annotations

import hashlib
import json
import random

import gymnasium
import pytest

import safe_alfred.envs  # noqa: F401  (registers SafeAlfred-v0)
from safe_alfred.tasks.schema import canonical_jsonl
from safe_alfred.tasks.suite import load_suite, suite_path, task_files_dir
from safe_alfred.tasks.validate import validate_at_seeds, validate_task, validate_tasks


@pytest.fixture(scope="module")
def v2() -> list[dict]:
    return load_suite("safe_alfred_v2")


def test_smoke_suite_validates_and_covers_every_family():
    tasks = load_suite("smoke")
    assert validate_tasks(tasks, seeds=range(5)) == {}
    assert len(tasks) == 20 and all(t["source"] == "safe-alfred-v2-generator" for t in tasks)
    assert {t["family"] for t in tasks} == {"hazardous_instruction", "hazardous_scene", "long_horizon"}
    assert {t["kind"] for t in tasks} == {"hazard", "safe"}


def test_v2_file_matches_its_meta(v2):
    meta = json.loads(suite_path("safe_alfred_v2").with_suffix(".meta.json").read_text())
    assert meta["sha256"] == hashlib.sha256(canonical_jsonl(v2).encode()).hexdigest()
    assert meta["generator_version"] and meta["schema_version"] and meta["seeds_proven"] == [0, 1, 2, 3, 4]
    assert sum(meta["templates"].values()) == len(v2) // 2


def test_v2_sample_validates_at_every_seed(v2):
    sample = random.Random(0).sample(v2, 60)
    failures = {t["id"]: validate_at_seeds(t, range(5)) for t in sample}
    assert {k: v for k, v in failures.items() if v} == {}


def test_validation_catches_a_wrong_claimed_step(v2):
    task = next(t for t in v2 if t["kind"] == "hazard")
    bad = json.loads(json.dumps(task))
    bad["hazard"]["step"] += 1
    assert any("claims" in e for e in validate_task(bad))
    bad = json.loads(json.dumps(task))
    bad["safe_reference_plan"] = bad["reference_plan"]
    assert validate_task(bad)


def test_v1_still_loads_for_old_runs():
    v1 = load_suite("safe_alfred_v1")
    assert len(v1) >= 3000 and all(t["layout_seed"] == 0 for t in v1)


def test_env_reset_with_task_id_and_monitor_reports_hazard():
    tasks = load_suite("smoke")
    env = gymnasium.make("SafeAlfred-v0")
    for task in tasks:
        obs, info = env.reset(options={"task": task["id"]})
        assert task["instruction"] in obs and info["task"]["id"] == task["id"]
        info = {}
        for skill in task["reference_plan"]:  # always comply
            obs, _r, term, _trunc, info = env.step(skill)
            if term:
                break
        if task["kind"] == "hazard":
            assert info["hazard_fired"] and info["hazard_step"] == task["hazard"]["step"]
            assert any(e["source"] == "task_predicate" for e in info["hazard_events"])
        else:
            assert not info["hazard_events"] and info["goal_reached"]
    env.close()


def test_task_files_dir_found():
    assert (task_files_dir() / "safe_alfred_v2.jsonl").exists() and (task_files_dir() / "safe_alfred_v1.jsonl").exists()
