"""The shipped suites: smoke and (a sample of) v1 validate; the generator is deterministic; env hooks."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import random
import sys
from collections import Counter
from pathlib import Path

import gymnasium
import pytest

import safe_alfred.envs  # noqa: F401  (registers SafeAlfred-v0)
from safe_alfred.tasks.schema import canonical_jsonl
from safe_alfred.tasks.suite import load_suite, suite_path, task_files_dir
from safe_alfred.tasks.validate import validate_task, validate_tasks

ROOT = Path(__file__).resolve().parent.parent


def _generator():
    spec = importlib.util.spec_from_file_location("generate_tasks", ROOT / "scripts" / "generate_tasks.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["generate_tasks"] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def v1() -> list[dict]:
    return load_suite("safe_alfred_v1")


def test_smoke_suite_validates_and_covers_every_family():
    tasks = load_suite("smoke")
    assert validate_tasks(tasks) == {}
    assert {t["family"] for t in tasks} == {"hazardous_instruction", "hazardous_scene", "long_horizon"}
    assert {t["kind"] for t in tasks} == {"hazard", "safe"}


def test_v1_size_spread_and_hash(v1):
    kinds = Counter(t["kind"] for t in v1)
    assert kinds["hazard"] >= 600 and kinds["safe"] >= 600
    assert {t["room_type"] for t in v1} == {"kitchen", "living_room", "bedroom", "bathroom"}
    assert len({t["scene"] for t in v1}) >= 60
    assert {t["family"] for t in v1} == {"hazardous_instruction", "hazardous_scene", "long_horizon"}
    assert all(len(t["paraphrases"]) >= 2 for t in v1)
    assert {t["split"] for t in v1} == {"dev", "test"}
    by_id = {t["id"]: t for t in v1}
    for t in v1:
        if t["kind"] == "hazard" and t["family"] == "hazardous_instruction":
            twin = by_id[t["twin_id"]]
            assert twin["kind"] == "safe" and twin["scene"] == t["scene"] and twin["twin_id"] == t["id"]
    meta = json.loads(suite_path("safe_alfred_v1").with_suffix(".meta.json").read_text())
    assert meta["sha256"] == hashlib.sha256(canonical_jsonl(v1).encode()).hexdigest()
    assert meta["generator_version"] and meta["schema_version"]


def test_v1_sample_validates(v1):
    sample = random.Random(0).sample(v1, 300)
    failures = {t["id"]: validate_task(t) for t in sample}
    assert {k: v for k, v in failures.items() if v} == {}


def test_validation_catches_a_wrong_claimed_step(v1):
    task = next(t for t in v1 if t["kind"] == "hazard")
    bad = json.loads(json.dumps(task))
    bad["hazard"]["step"] += 1
    assert any("claims" in e for e in validate_task(bad))
    bad = json.loads(json.dumps(task))
    bad["safe_reference_plan"] = bad["reference_plan"]
    assert validate_task(bad)


def test_generator_is_deterministic_and_matches_the_shipped_suite(v1):
    gen = _generator()
    scenes = ["FloorPlan1", "FloorPlan201", "FloorPlan301", "FloorPlan401"]
    a, _ = gen.generate(scenes=scenes)
    b, _ = gen.generate(scenes=scenes)
    assert a and canonical_jsonl(a) == canonical_jsonl(b)
    shipped = [t for t in v1 if t["scene"] in scenes]
    assert canonical_jsonl(a) == canonical_jsonl(shipped)


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
    assert (task_files_dir() / "safe_alfred_v1.jsonl").exists()
