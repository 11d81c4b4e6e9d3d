"""Naming, finding and loading task suites: one resolver for every command.

A suite is named the way ``safe-alfred run suite=NAME`` names it (a ``conf/suite/NAME.yaml``:
``smoke``, ``v1_dev``, ``v1_test``, ``safeagentbench``), by a bundled file's name
(``safe_alfred_v1``), or by a path to a JSONL task file. ``resolve_suite`` turns any of these into
the ``SuiteConfig`` a run would use, so ``tasks``, ``run`` and the rest accept the same names.
"""

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
    """The hash of the whole suite file (before split/ids/limit): names what ran."""
    from safe_alfred.tasks.suite import load_suite, suite_hash

    return suite_hash(load_suite(resolve_suite_path(suite.path)))


def configured_suites() -> dict[str, SuiteConfig]:
    """The suites of the ``suite`` config group (``conf/suite/*.yaml``), by name."""
    import yaml

    from safe_alfred.config_paths import conf_path

    out: dict[str, SuiteConfig] = {}
    for path in sorted(conf_path("suite").glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        known = {k: v for k, v in data.items() if k in SuiteConfig.__dataclass_fields__}
        out[path.stem] = SuiteConfig(**{"name": path.stem, **known})
    return out


def suite_names() -> list[str]:
    """Every name ``resolve_suite`` accepts besides a path."""
    from safe_alfred.tasks.suite import bundled_suites

    return sorted({*configured_suites(), *bundled_suites()})


def resolve_suite(name_or_path: str) -> SuiteConfig:
    """The ``SuiteConfig`` of a config-group name, a bundled suite's name or a JSONL path."""
    from safe_alfred.tasks.suite import bundled_suites

    configured = configured_suites()
    if name_or_path in configured:
        return configured[name_or_path]
    if name_or_path in bundled_suites():
        return SuiteConfig(name=name_or_path, path=f"{name_or_path}.jsonl")
    p = Path(name_or_path).expanduser()
    if p.suffix == ".jsonl" or p.exists():
        if not p.is_file():
            raise RunError(f"task file not found: {p}")
        return SuiteConfig(name=p.stem, path=str(p.resolve()))
    raise RunError(f"no suite {name_or_path!r}: choose one of {', '.join(suite_names())} "
                   "or give the path of a .jsonl task file")


def suite_label(suite: SuiteConfig) -> str:
    """What to call a run's suite: its config name, unless ``suite.path`` points elsewhere.

    ``suite=smoke suite.path=my_tasks.jsonl`` runs ``my_tasks``, not the smoke suite.
    """
    configured = configured_suites().get(suite.name)
    if configured is None or resolve_suite_path(configured.path) == resolve_suite_path(suite.path):
        return suite.name
    return Path(suite.path).stem


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
