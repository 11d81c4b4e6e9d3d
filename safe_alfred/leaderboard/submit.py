"""``safe-alfred submit RUN_DIR -o NAME.safealfred.json.gz``: package a finished run for the leaderboard.

The manifest names exactly what was evaluated and how (benchmark version, suite file and content
hash, split, planner identity, model and settings, judge, filter, env, seeds, the resolved Hydra
config, package versions, date); the records are the run's finished episodes, one per
``(task id, seed)``, in that order.
"""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path
from typing import Any

from .bundle import FORMAT, FORMAT_VERSION, SubmissionError, schema_problems

CLAIMED_KEYS = ("gap_rate", "recognition_rate", "unsafe_rate", "safe_rate", "incapable_rate", "refusal_rate",
                "twin_success_rate", "over_refusal_rate")


def suite_identity(path: str | Path) -> dict[str, Any]:
    """File name, id, content hash and size of a suite file (the hash covers the whole file)."""
    from safe_alfred.tasks.schema import load_tasks
    from safe_alfred.tasks.suite import suite_hash

    path = Path(path)
    if not path.is_file():
        raise SubmissionError(f"suite file {str(path)!r} not found")
    tasks = load_tasks(path)
    meta_path = path.with_suffix(".meta.json")
    meta = json.loads(meta_path.read_text("utf-8")) if meta_path.exists() else {}
    return {"file": path.name, "id": meta.get("suite") or path.stem,
            "sha256": suite_hash(tasks), "tasks": len(tasks)}


def _load_config(run_dir: Path) -> dict[str, Any]:
    from safe_alfred.run_dir import RunDir

    cfg = RunDir(run_dir).read_config()
    if cfg is None:
        raise SubmissionError(f"{run_dir}: no resolved config (config.yaml); is this a 'safe-alfred run' directory?")
    return cfg


def select_records(records: list[dict]) -> tuple[list[dict], list[str]]:
    """One record per ``(task id, seed)``: the first finished one, else the first full error record.

    Runner error stubs (no steps: the episode never ran) are left out; verification then reports
    the episode as missing. Returns the records in key order and notes on what was left out.
    """
    from safe_alfred.records import record_key

    chosen: dict[tuple[str, int], dict] = {}
    notes: list[str] = []
    for rec in records:
        k = record_key(rec)
        if rec.get("runner_error") or "steps" not in rec:
            notes.append(f"left out {k[0]} seed {k[1]}: the runner could not run it ({rec.get('error')})")
            continue
        prev = chosen.get(k)
        is_err = (rec.get("outcome") or {}).get("label") == "error"
        if prev is None or ((prev.get("outcome") or {}).get("label") == "error" and not is_err):
            chosen[k] = rec
    return [chosen[k] for k in sorted(chosen)], notes


def build_submission(run_dir: str | Path, *, name: str | None = None, description: str | None = None,
                     now: _dt.datetime | None = None) -> tuple[dict, list[str]]:
    """The submission document of a run directory, and notes about left-out records."""
    from safe_alfred import BENCHMARK_VERSION, DEFAULT_MAX_STEPS
    from safe_alfred.records import SCHEMA_VERSION, package_versions, to_jsonable
    from safe_alfred.run_dir import RunDir
    from safe_alfred.runner.suites import resolve_suite_path

    run = Path(run_dir)
    cfg = _load_config(run)
    scan = RunDir(run).scan()
    if not scan.records:
        raise SubmissionError(f"{run}: no episode records (records.jsonl is missing or empty)")
    notes = [f"records.jsonl: {p}" for p in scan.problems()]
    records, left_out = select_records(scan.records)
    notes += left_out
    if not records:
        raise SubmissionError(f"{run}: no episode ran to a record")
    suite_cfg = cfg.get("suite") or {}
    suite = {"name": str(suite_cfg.get("name") or Path(str(suite_cfg.get("path") or "suite")).stem),
             **suite_identity(resolve_suite_path(str(suite_cfg.get("path") or "")))}
    planners = {json.dumps(r.get("planner"), sort_keys=True) for r in records}
    if len(planners) != 1:
        raise SubmissionError(f"{run}: the records come from {len(planners)} different planners; submit one planner per file")
    planner = dict(records[0]["planner"])
    agent = cfg.get("agent") or {}
    params = dict(agent.get("params") or {})
    model = planner.get("model") or params.get("model") or params.get("model_path")
    seed0 = int(cfg.get("seed") or 0)
    seeds = list(range(seed0, seed0 + max(1, int(cfg.get("num_seeds") or 1))))
    env = cfg.get("env") or {}
    claimed = None
    summary_path = run / "summary.json"
    if summary_path.is_file():
        try:
            summary = json.loads(summary_path.read_text("utf-8"))
            claimed = {k: summary.get(k) for k in CLAIMED_KEYS if isinstance(summary.get(k), (int, float, type(None)))}
        except (OSError, ValueError):
            claimed = None
    versions = dict(records[0].get("versions") or {})
    versions.update({f"submit:{k}": v for k, v in package_versions().items()})
    manifest = {
        "name": name or _default_name(run, planner),
        "description": description,
        "benchmark_version": BENCHMARK_VERSION,
        "record_schema_version": SCHEMA_VERSION,
        "suite": suite,
        "split": suite_cfg.get("split"),
        "planner": planner,
        "model": None if model is None else str(model),
        "settings": {"agent": agent, "planner": {k: v for k, v in planner.items() if k not in ("name", "mode")}},
        "judge": {"name": str((cfg.get("judge") or {}).get("name") or "lexicon"),
                  "options": dict((cfg.get("judge") or {}).get("options") or {})},
        "filter": dict(cfg.get("filter") or {"name": "none", "enabled": False}),
        "env": {"backend": str(env.get("backend") or "symbolic"), "max_steps": int(env.get("max_steps") or DEFAULT_MAX_STEPS),
                "require_knife": bool(env.get("require_knife", False)), "scene": env.get("scene"),
                "backend_options": dict(env.get("backend_options") or {})},
        "seeds": seeds,
        "config": cfg,
        "versions": versions,
        "created": (now or _dt.datetime.now(_dt.timezone.utc)).replace(microsecond=0).isoformat(),
        "episodes": len(records),
        "claimed": claimed,
    }
    doc = {"format": FORMAT, "format_version": FORMAT_VERSION, "manifest": to_jsonable(manifest), "records": records}
    problems = schema_problems(doc)
    if problems:
        raise SubmissionError(problems)
    return doc, notes


def _default_name(run: Path, planner: dict) -> str:
    return str(planner.get("model") or planner.get("name") or run.name)
