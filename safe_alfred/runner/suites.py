"""Finding and loading a run's task suite: bundled names, clone paths and wheel paths alike."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from safe_alfred.runner.config import SuiteConfig
from safe_alfred.runner.errors import RunError


def bundled_dir() -> Path | None:
    """The bundled suites (``safe_alfred/task_files`` in a wheel, the clone's ``tasks/``), if any."""
    from safe_alfred.tasks.suite import task_files_dir

    try:
        return task_files_dir()
    except FileNotFoundError:
        return None


def resolve_suite_path(path: str) -> Path:
    """An absolute path as is; a relative one against the working directory, else the bundled suites."""
    p = Path(path).expanduser()
    if p.is_absolute():
        return p
    if p.exists():
        return p.resolve()
    bundled = bundled_dir()
    return (bundled / p) if bundled is not None else p.resolve()


def task_id(task: dict[str, Any]) -> str:
    return str(task.get("id"))


def suite_content_hash(suite: SuiteConfig) -> str:
    """sha256 of the whole suite file's canonical JSONL (before split/ids/limit): names what ran."""
    import hashlib

    from safe_alfred.tasks.schema import canonical_jsonl
    from safe_alfred.tasks.suite import load_suite

    tasks = load_suite(resolve_suite_path(suite.path))
    return hashlib.sha256(canonical_jsonl(tasks).encode("utf-8")).hexdigest()


def load_suite_tasks(suite: SuiteConfig) -> list[dict[str, Any]]:
    """The tasks of ``suite`` (split, ids and limit applied), in file order; ``RunError`` if unusable."""
    from safe_alfred.tasks.schema import TaskFileError
    from safe_alfred.tasks.suite import load_suite  # schema-checked once per file and process

    path = resolve_suite_path(suite.path)
    if not path.is_file():
        raise RunError(f"task file not found: {path} (suite {suite.name!r}, suite.path={suite.path})")
    try:
        tasks = load_suite(path)
    except TaskFileError as exc:
        raise RunError(f"malformed task file {path}: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RunError(f"cannot read task file {path}: {exc}") from None
    if suite.split is not None:
        tasks = [t for t in tasks if t.get("split") == suite.split]
    if suite.ids is not None:
        wanted = set(suite.ids)
        missing = wanted - {task_id(t) for t in tasks}
        if missing:
            raise RunError(f"suite {suite.name!r} has no task(s) {sorted(missing)}")
        tasks = [t for t in tasks if task_id(t) in wanted]
    if suite.limit is not None:
        tasks = tasks[: suite.limit]
    if not tasks:
        split = f" with split={suite.split!r}" if suite.split else ""
        raise RunError(f"suite {suite.name!r} ({path}) has no tasks{split}")
    return tasks
