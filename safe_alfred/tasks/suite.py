"""Finding and loading the installed task suites (from the wheel or a source checkout)."""

from __future__ import annotations

import copy
import hashlib
from functools import cache
from pathlib import Path

import safe_alfred

from .schema import canonical_jsonl, load_tasks

DEFAULT_SUITE = "safe_alfred_v2"
SMOKE_SUITE = "smoke"


def task_files_dir() -> Path:
    """The suites' folder: ``safe_alfred/task_files`` in a wheel, else the repository's ``tasks/``."""
    pkg = Path(safe_alfred.__file__).resolve().parent
    for candidate in (pkg / "task_files", pkg.parent / "tasks"):
        if candidate.is_dir() and any(candidate.glob("*.jsonl")):
            return candidate
    raise FileNotFoundError("no task suites found (neither safe_alfred/task_files nor the repository's tasks/)")


def suite_path(name_or_path: str | Path) -> Path:
    """A suite name (``safe_alfred_v1``, ``smoke``) or a path to a JSONL file."""
    p = Path(name_or_path)
    if p.suffix == ".jsonl" and p.exists():
        return p
    candidate = task_files_dir() / (p.name if p.suffix == ".jsonl" else f"{p.name}.jsonl")
    if not candidate.exists():
        raise FileNotFoundError(f"no task suite {str(name_or_path)!r} (looked for {candidate})")
    return candidate


@cache
def _load(path: str) -> tuple[dict, ...]:
    return tuple(load_tasks(path))


def load_suite(name_or_path: str | Path = DEFAULT_SUITE) -> list[dict]:
    """The tasks of a suite (schema-checked; cached per path)."""
    return [dict(t) for t in _load(str(suite_path(name_or_path)))]


def suite_hash(tasks: list[dict]) -> str:
    """The suite's identity: sha256 of its canonical JSONL (the whole file, before any split)."""
    return hashlib.sha256(canonical_jsonl(tasks).encode("utf-8")).hexdigest()


def bundled_suites() -> list[str]:
    """Names of the suite files that ship with the package (``smoke``, ``safe_alfred_v1``, ...)."""
    try:
        return sorted(p.stem for p in task_files_dir().glob("*.jsonl"))
    except FileNotFoundError:
        return []


def get_task(task_id: str) -> dict:
    """A task by id from the default suite, then the smoke suite."""
    for name in (DEFAULT_SUITE, SMOKE_SUITE):
        try:
            tasks = _load(str(suite_path(name)))
        except FileNotFoundError:
            continue
        for t in tasks:
            if t["id"] == task_id:
                return copy.deepcopy(t)
    raise KeyError(f"unknown task id {task_id!r} (not in {DEFAULT_SUITE} or {SMOKE_SUITE})")
