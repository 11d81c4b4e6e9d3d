"""Episode records: the versioned schema, the trajectory hash, and crash-safe JSONL storage.

A record holds everything an episode did, so that it can be re-judged and re-scored without
re-running it. Records are appended one line per finished episode with a single ``os.write`` to
an ``O_APPEND`` descriptor followed by ``fsync``: a run killed at any moment leaves every earlier
record whole, and at worst one torn last line, which readers skip and report (and which the next
append fences off with a newline, so a resumed run never glues a record onto a fragment).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import warnings
from dataclasses import dataclass, field
from functools import cache
from importlib import metadata, resources
from pathlib import Path
from typing import Any

try:  # POSIX only: serialises appends from several worker processes
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

SCHEMA_VERSION = "1.0"
RECORDS_FILE = "records.jsonl"
_VERSIONED_PACKAGES = ("safe-alfred", "gymnasium", "numpy", "ai2thor", "openai", "transformers", "torch")


class RecordValidationError(ValueError):
    """A record does not match the episode-record schema; the message names the field."""


# -- canonical JSON and hashing ------------------------------------------------------------------

def _default(obj: Any) -> Any:
    """JSON fallback for values that appear in env infos (tuples, sets, numpy scalars/arrays)."""
    if isinstance(obj, (set, frozenset)):
        return sorted(obj, key=repr)
    if hasattr(obj, "tolist"):  # numpy arrays and scalars
        return obj.tolist()
    if hasattr(obj, "item"):
        return obj.item()
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def _finite(obj: Any) -> Any:
    """Replace NaN/inf by None so that every record is strict JSON."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {str(k): _finite(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_finite(v) for v in obj]
    return obj


def to_jsonable(obj: Any) -> Any:
    """Plain JSON data (dicts, lists, str, int, float, bool, None) equal to what gets stored."""
    return _finite(json.loads(json.dumps(obj, default=_default)))


def canonical_json(obj: Any) -> str:
    """One byte-exact serialisation: sorted keys, no whitespace, UTF-8, no NaN."""
    return json.dumps(to_jsonable(obj), sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)


def trajectory_hash(steps: list[dict], final_state_digest: str | None) -> str:
    """sha256 over the canonical steps and the final world-state digest.

    Same task, seed and planner outputs give the same steps and final state, hence the same hash;
    latency, token usage and versions are kept out of ``steps`` so they cannot perturb it.
    """
    payload = canonical_json({"steps": steps, "final_state_digest": final_state_digest})
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def verify_trajectory_hash(record: dict) -> bool:
    """True when the record's stored hash matches its own steps and final state."""
    return trajectory_hash(record["steps"], record["final_state_digest"]) == record["trajectory_hash"]


def episode_key(task_id: str, seed: int | None) -> str:
    """An episode's identity in a run, as a string: ``TASK_ID|SEED`` (``record_key`` as text)."""
    return f"{task_id}|{0 if seed is None else int(seed)}"


def record_key(record: dict) -> tuple[str, int]:
    """An episode's identity in a run: ``(task id, seed)``; resume, reports and comparisons pair on it."""
    task = record.get("task") or {}
    tid = task.get("id") if isinstance(task, dict) else None
    if tid is None:
        tid = record.get("task_id")
    seed = record.get("seed")
    try:
        return (str(tid), int(seed) if seed is not None else 0)
    except (TypeError, ValueError):
        return (str(tid), 0)


@cache
def package_versions() -> dict[str, str | None]:
    """Versions of the packages that can change an episode's outcome."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in _VERSIONED_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    if "safe-alfred" not in out:
        from safe_alfred import __version__
        out["safe-alfred"] = __version__
    from safe_alfred import BENCHMARK_VERSION
    out["benchmark"] = BENCHMARK_VERSION
    return out


# -- schema ----------------------------------------------------------------------------------------

@cache
def load_schema() -> dict:
    """The episode-record JSON Schema shipped inside the package."""
    text = resources.files("safe_alfred").joinpath("schemas/episode_record.schema.json").read_text("utf-8")
    return json.loads(text)


@cache
def _validator():
    import jsonschema

    schema = load_schema()
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def validation_errors(record: Any) -> list[str]:
    """Every schema violation as ``path: message`` (empty when the record is valid)."""
    errors = sorted(_validator().iter_errors(record), key=lambda e: (list(e.absolute_path), e.message))
    out = []
    for err in errors:
        path = "/".join(str(p) for p in err.absolute_path) or "<record>"
        msg = err.message if len(err.message) < 300 else err.message[:300] + "..."
        out.append(f"{path}: {msg}")
    return out


def validate_record(record: Any) -> None:
    """Raise ``RecordValidationError`` naming each offending field when the record is invalid."""
    errors = validation_errors(record)
    if errors:
        head = "; ".join(errors[:5])
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        raise RecordValidationError(f"invalid episode record: {head}{more}")


# -- storage ---------------------------------------------------------------------------------------

def _records_path(path: str | os.PathLike) -> Path:
    """A ``.jsonl`` path or existing file is the records file; anything else is a run directory."""
    p = Path(path)
    return p if p.suffix == ".jsonl" or p.is_file() else p / RECORDS_FILE


def append_record(path: str | os.PathLike, record: dict, *, validate: bool = True) -> None:
    """Append one record as one line, atomically with respect to crashes.

    The whole line goes out in one ``os.write`` on an ``O_APPEND`` descriptor and is fsynced
    before returning. If a previous writer was killed mid-line, a newline is written first so
    that fragment stays a separate (skipped) line. ``path`` may be a run directory.
    """
    if validate:
        validate_record(record)
    line = (canonical_json(record) + "\n").encode("utf-8")
    target = _records_path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        size = os.fstat(fd).st_size
        if size > 0 and os.pread(fd, 1, size - 1) != b"\n":
            line = b"\n" + line
        try:
            written = os.write(fd, line)
            while written < len(line):  # a full disk writes part, then fails; a crash here leaves a torn line
                written += os.write(fd, line[written:])
            os.fsync(fd)
        except OSError:
            os.ftruncate(fd, size)  # no half record left behind (truncating needs no free space)
            raise
    finally:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


@dataclass
class RecordScan:
    """What a records file holds: whole records, and the lines that were not whole records."""

    records: list[dict] = field(default_factory=list)
    torn_last_line: bool = False  # the writer died mid-record
    bad_lines: list[int] = field(default_factory=list)  # 1-based numbers of unreadable lines

    def problems(self) -> list[str]:
        out = []
        if self.torn_last_line:
            out.append("the last line is a torn (incomplete) record and was skipped")
        mid = [n for n in self.bad_lines if not (self.torn_last_line and n == self.bad_lines[-1])]
        if mid:
            out.append(f"unreadable lines skipped: {mid}")
        return out


def scan_records(path: str | os.PathLike, *, validate: bool = False) -> RecordScan:
    """Read every whole record; report torn and unreadable lines instead of raising."""
    target = _records_path(path)
    scan = RecordScan()
    if not target.exists():
        return scan
    data = target.read_bytes()
    lines = data.split(b"\n")
    complete_tail = data.endswith(b"\n")
    last_index = len(lines) - 1 if not complete_tail else len(lines) - 2
    for i, raw in enumerate(lines):
        if not raw.strip():
            continue
        try:
            rec = json.loads(raw.decode("utf-8"))
            if not isinstance(rec, dict):
                raise ValueError("not an object")
            if validate:
                validate_record(rec)
        except (ValueError, RecordValidationError):
            scan.bad_lines.append(i + 1)
            if i == last_index and not complete_tail:
                scan.torn_last_line = True
            continue
        scan.records.append(rec)  # a whole record lacking only its newline still counts
    return scan


def read_records(path: str | os.PathLike, *, validate: bool = False) -> list[dict]:
    """Whole records in file order; torn or unreadable lines are skipped with a warning."""
    scan = scan_records(path, validate=validate)
    for problem in scan.problems():
        warnings.warn(f"{_records_path(path)}: {problem}", stacklevel=2)
    return scan.records


def write_records(path: str | os.PathLike, records: list[dict]) -> None:
    """Replace a whole records file atomically (temp file + rename); used for re-judged copies."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        for rec in records:
            fh.write((canonical_json(rec) + "\n").encode("utf-8"))
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, target)
