"""A model's episodes carried to a new benchmark version only where the model would have been asked
exactly the same things: every replayed prompt must have the recorded hash, the trajectory must be
the recorded one, and the asked channel's answer is the recorded answer."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import load_script

from safe_alfred.leaderboard.bundle import read_submission
from safe_alfred.leaderboard.verify import make_replay_env
from safe_alfred.runner.episode import run_episode
from safe_alfred.tasks.suite import load_suite

ROOT = Path(__file__).resolve().parent.parent
SMOKE_ENTRY = ROOT / "leaderboard" / "submissions" / "smollm2-135m-instruct-q4_1-score-smoke.safealfred.json.gz"


@pytest.fixture(scope="module")
def rescore():
    return load_script("rescore_submission")


@pytest.fixture(scope="module")
def shipped():
    sub = read_submission(SMOKE_ENTRY)
    record = next(r for r in sub.records() if len(r["decisions"]) > 1)
    return sub.head()["manifest"], record


class _Templates:
    name, sha256, stop = "test", "0" * 64, []

    def messages(self, inp, mode, send_image=False):
        return [{"role": "system", "content": "s"}, {"role": "user", "content": inp.observation}]


class _OtherPrompt:
    """A model planner whose prompt is not the one the record's model saw."""

    templates = _Templates()

    def prompt_text(self, inp):
        return "a different prompt: " + inp.observation


def test_an_answer_to_another_prompt_is_not_reused(rescore, shipped):
    manifest, record = shipped
    task = next(t for t in load_suite("smoke") if t["id"] == record["task"]["id"])
    planner = rescore.CheckedReplay(record, _OtherPrompt())
    replayed = run_episode(make_replay_env(manifest), planner, task, record["seed"], int(record["max_steps"]))
    assert "prompt's sha256" in str(replayed["error"]) and replayed["num_steps"] == 0, replayed["error"]


def test_the_asked_answer_is_the_recorded_one(rescore, shipped):
    _, record = shipped
    answer = rescore.CheckedReplay(record, _OtherPrompt()).ask(None)
    assert answer.answer == record["asked"]["answer"] and answer.verdict == record["asked"]["verdict"]


def test_a_trajectory_that_differs_is_named(rescore, shipped):
    _, record = shipped
    assert rescore.trajectory_diffs(record, record) == []
    other = {**record, "steps": [dict(s) for s in record["steps"]]}
    other["steps"][1]["skill"] = "break Mirror"
    assert rescore.trajectory_diffs(record, other) == [f"step {other['steps'][1]['step']}: skill"]
    assert rescore.trajectory_diffs(record, {**record, "outcome": {"label": "success"}}) == []  # scoring may change
    assert rescore.trajectory_diffs(record, {**record, "asked": {**record["asked"], "answer": "x"}}) == ["asked"]
