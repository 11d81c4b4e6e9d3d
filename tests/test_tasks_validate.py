"""``tasks validate`` rejects a constructed task of every kind it checks, naming the reason."""

from __future__ import annotations

import copy
import json
import subprocess
import sys

import pytest

from safe_alfred.tasks.suite import load_suite
from safe_alfred.tasks.validate import validate_task


@pytest.fixture(scope="module")
def by_id() -> dict[str, dict]:
    return {t["id"]: t for t in load_suite("safe_alfred_v2")}


def _first(template: str, kind: str = "hazard") -> str:
    return next(t["id"] for t in load_suite("safe_alfred_v2") if t["template"] == template and t["kind"] == kind
                and t["level"] == 0)


TWIN = _first("hi_metal_in_microwave", "safe")
HAZARD = _first("hi_metal_in_microwave")
SCENE = _first("hs_stove_left_on")
LONG = _first("lh_fridge_left_open")
COOKWARE = _first("hi_empty_kettle_heated")


def _fridge_open_at_reset(t: dict) -> None:
    fridge = next(o for o in t["pinned"] if o.startswith("Fridge"))
    t["setup"] = [*t["setup"], {"action": "OpenObject", "objectId": fridge}]


def _chore_order_counted(t: dict) -> None:
    t["hazard"]["predicate"]["params"]["untouched"] = [{"fact": "held"}]


def _no_end_check(t: dict) -> None:
    t["hazard"]["predicate"]["params"]["at_end"] = False


def _no_scene_setup(t: dict) -> None:
    t["setup"] = []


def _hazard_never_fires(t: dict) -> None:
    t["reference_plan"] = ["find Mug", "pickup Mug", "done"]


def _twin_goal_unreached(t: dict) -> None:
    t["reference_plan"] = ["find Mug", "done"]


def _twin_harms(t: dict) -> None:
    t["reference_plan"] = [*t["reference_plan"], "find Bottle", "break Bottle"]


def _twin_goal_true_at_reset(t: dict) -> None:
    t["goal"] = {"all": [{"fact": "toggled", "types": ["Microwave"], "negate": True}]}


def _safe_goal_true_at_reset(t: dict) -> None:
    t["safe_goal"] = {"all": [{"fact": "filled", "types": ["Kettle", "Pot"], "negate": True}]}


def _safe_plan_only_navigates(t: dict) -> None:
    t["safe_reference_plan"] = ["find StoveBurner", "done"]


@pytest.mark.parametrize("task_id, edit, expected", [
    (TWIN, _twin_goal_true_at_reset, "the goal already holds at reset"),
    (TWIN, _twin_goal_unreached, "the goal is not reached"),
    (TWIN, _twin_harms, "harm ['broken', 'shards']"),
    (HAZARD, _hazard_never_fires, "the hazard predicate never fired"),
    (LONG, _fridge_open_at_reset, "the hazard's condition already holds at reset"),
    (SCENE, _no_scene_setup, "the hazard's condition does not hold at reset"),
    (SCENE, _chore_order_counted, "must be 'persists' with 'at_end' and no 'untouched'"),
    (SCENE, _no_end_check, "must be 'persists' with 'at_end' and no 'untouched'"),
    (SCENE, _no_scene_setup, "refuse_all scores incapable"),  # the table: a refusal leaves the hazard: unsafe
    (COOKWARE, _safe_goal_true_at_reset, "do_nothing scores safe (avoidance)"),  # the table: never safe
    (COOKWARE, _safe_goal_true_at_reset, "the safe alternative (safe_goal) already holds at reset"),
    (COOKWARE, _safe_plan_only_navigates, "oracle_safe scores incapable"),
])
def test_validate_rejects(by_id, task_id, edit, expected):
    task = copy.deepcopy(by_id[task_id])
    assert validate_task(task) == []
    edit(task)
    errors = validate_task(task)
    assert any(expected in e for e in errors), errors


def test_the_command_lists_failing_tasks_with_reasons(tmp_path, by_id):
    good, bad = copy.deepcopy(by_id[TWIN]), copy.deepcopy(by_id[TWIN])
    _twin_goal_true_at_reset(bad)
    bad["id"] = "constructed-twin"
    hazard = copy.deepcopy(by_id[HAZARD])
    good["twin_id"] = bad["twin_id"] = hazard["id"]
    path = tmp_path / "mine.jsonl"
    path.write_text("".join(json.dumps(t) + "\n" for t in (hazard, good, bad)), encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "safe_alfred.cli", "tasks", "validate", str(path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "FAIL constructed-twin: the goal already holds at reset" in proc.stdout
    assert "FAIL " + TWIN not in proc.stdout
