"""A run directory: the one owner of its layout, and the only code that reads or writes there.

    RUN_DIR/config.yaml            the resolved config of the run (Hydra's own copy is in .hydra/)
    RUN_DIR/run.json               what the run is and how far it got: config and suite hashes,
                                   episodes expected and done, state (running, interrupted, finished)
    RUN_DIR/records.jsonl          one record per finished episode, appended atomically
    RUN_DIR/records.judged.jsonl   verdicts added by ``safe-alfred report`` (records.jsonl is never rewritten
                                   by it, so a run still appending is safe)
    RUN_DIR/summary.json, report.md, plots/
    RUN_DIR/videos/                one MP4 per chosen episode (``runner.video``)
    RUN_DIR/hidden_states/, probes/, probe_scores.jsonl, probe_report.md, cliff_finetune.jsonl
    RUN_DIR/run.log, .lock

Episodes are identified by one key, ``records.record_key`` (task id, seed). Whole files are
replaced atomically (temporary file, then rename), so an interrupted write leaves the old file.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import re
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from safe_alfred.errors import DiskError, UserError
from safe_alfred.records import (
    RECORDS_FILE,
    RecordScan,
    canonical_json,
    record_key,
    scan_records,
    to_jsonable,
    write_records,
)

try:  # POSIX: an advisory lock that the kernel drops when its process dies, even by SIGKILL
    import fcntl
except ImportError:  # pragma: no cover - Windows: no lock
    fcntl = None  # type: ignore[assignment]

Key = tuple[str, int]

# Everything that decides what the episodes are; records of one run directory agree on these.
EXPERIMENT_KEYS = ("env", "agent", "suite", "judge", "filter", "seed", "num_seeds")


def check_writable(path: str | os.PathLike) -> None:
    """``DiskError`` unless a file can be written where ``path`` is, or where it would be created.

    A small file is written (and synced) in the nearest folder that exists and removed again, so a
    full disk or a read-only file system is found here, not after the first episodes.
    """
    import errno
    import tempfile

    target = Path(path)
    parent = target
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    try:
        if not parent.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(parent))
        with tempfile.TemporaryFile(dir=parent) as fh:
            fh.write(b"0")
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        raise DiskError(target, exc, started=False) from None


def config_hash(resolved: dict[str, Any]) -> str:
    """Short hash of the experiment part of a resolved config: equal exactly when the episodes are."""
    part = {k: resolved.get(k) for k in EXPERIMENT_KEYS}
    filt = part.get("filter")
    if isinstance(filt, dict) and not filt.get("enabled"):
        part["filter"] = {"enabled": False}  # an unused filter's settings change no episode
    return hashlib.sha256(canonical_json(part).encode("utf-8")).hexdigest()[:16]


def is_error(record: dict[str, Any]) -> bool:
    """Did the episode fail to run (planner or simulator error), so that resume should retry it?"""
    outcome = record.get("outcome")
    label = outcome.get("label") if isinstance(outcome, dict) else outcome
    return bool(record.get("error")) or label == "error"


def episode_dir_name(key: str) -> str:
    """A filesystem-safe, collision-free name for an episode key (its video, its hidden states)."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", key).strip("._")[:120]
    return f"{safe}-{hashlib.sha1(key.encode('utf-8')).hexdigest()[:10]}"


class RunLockedError(UserError):
    """Another live process is writing this run directory."""


@dataclass
class RunLock:
    """An exclusive ``flock`` on ``RUN_DIR/.lock``, held for a run's lifetime by one process."""

    path: Path
    fd: int | None = None
    depth: int = 0


_HELD: dict[Path, RunLock] = {}  # this process's locks: re-entrant, so a claimed dir can be run


class RecordWriter:
    """Appends records (already schema-checked by the worker) from a background thread.

    Each record is one atomic, fsynced line (``safe_alfred.records.append_record``); the fsync
    waits happen beside the episodes instead of between them. Records still queued when the run
    is killed were never written, so resume simply runs those episodes again.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._loop, name="record-writer", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        from safe_alfred.records import append_record

        while (record := self._queue.get()) is not None:
            if self._error is None:
                try:
                    append_record(self.path, record, validate=False)
                except OSError as exc:  # a full disk or an unwritable file: one line, and resumable
                    self._error = DiskError(self.path, exc)
                except BaseException as exc:  # surfaced by put() / close() in the run's thread
                    self._error = exc

    def put(self, record: dict[str, Any]) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(record)

    def close(self) -> None:
        """Write everything queued, then stop; re-raise a write error."""
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error


class RunDir:
    """The files of one run directory (see the module docstring)."""

    CONFIG = "config.yaml"
    STATUS = "run.json"
    JUDGED = "records.judged.jsonl"
    SUMMARY = "summary.json"
    REPORT = "report.md"
    PLOTS = "plots"
    VIDEOS = "videos"
    HIDDEN_STATES = "hidden_states"
    PROBES = "probes"
    LOG = "run.log"
    LOCK = ".lock"

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    def __fspath__(self) -> str:
        return str(self.path)

    # -- paths -----------------------------------------------------------------------------------
    def file(self, name: str) -> Path:
        return self.path / name

    @property
    def records_file(self) -> Path:
        return self.path / RECORDS_FILE

    @property
    def judged_file(self) -> Path:
        return self.path / self.JUDGED

    @property
    def plots_dir(self) -> Path:
        return self.path / self.PLOTS

    @property
    def videos_dir(self) -> Path:
        return self.path / self.VIDEOS

    @property
    def hidden_states_dir(self) -> Path:
        return self.path / self.HIDDEN_STATES

    @property
    def probes_dir(self) -> Path:
        return self.path / self.PROBES

    def video_path(self, record: dict[str, Any]) -> Path:
        """``videos/<episode>.mp4`` of a record (the episode key, made a safe file name)."""
        return self.videos_dir / f"{episode_dir_name(str(record.get('episode_key') or '|'.join(map(str, record_key(record)))))}.mp4"

    def has_records(self) -> bool:
        return self.records_file.is_file() and self.records_file.stat().st_size > 0

    # -- whole files -----------------------------------------------------------------------------
    def write_text(self, name: str, text: str) -> Path:
        """Replace ``RUN_DIR/name`` atomically: readers see the old file or the new one, never half."""
        target = self.path / name
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())  # the new file is whole on disk before it replaces the old one
            os.replace(tmp, target)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise DiskError(target, exc) from None
        return target

    def read_json(self, name: str) -> dict[str, Any] | None:
        try:
            data = json.loads((self.path / name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def write_json(self, name: str, data: dict[str, Any]) -> Path:
        return self.write_text(name, json.dumps(to_jsonable(data), indent=2, sort_keys=True) + "\n")

    # -- records ---------------------------------------------------------------------------------
    def scan(self) -> RecordScan:
        """Whole records of ``records.jsonl`` in file order, with its torn and unreadable lines."""
        return scan_records(self.records_file)

    def load_records(self, *, warn: bool = True) -> list[dict[str, Any]]:
        """The run's records, with verdicts from the judged copy where a record has none."""
        scan = self.scan()
        if warn:
            for problem in scan.problems():
                print(f"warning: {self.records_file}: {problem}", file=sys.stderr)
        judged = scan_records(self.judged_file).records if self.judged_file.exists() else []
        copies = {(r.get("episode_key"), r.get("trajectory_hash")): r for r in judged}
        for rec in scan.records:
            copy = copies.get((rec.get("episode_key"), rec.get("trajectory_hash"))) or {}
            if rec.get("recognition") is None:
                rec["recognition"] = copy.get("recognition")
            if copy.get("recognitions"):  # every judge's verdict (record["recognitions"])
                rec["recognitions"] = {**(rec.get("recognitions") or {}), **copy["recognitions"]}
        return scan.records

    def finished(self) -> dict[Key, dict[str, Any]]:
        """The finished (non-error) episodes, and rewrite ``records.jsonl`` to hold exactly those.

        Errored episodes and duplicates are dropped so that the retried episode becomes the only
        record of its key; a torn last line (a writer killed mid-record) is dropped too.
        """
        if not self.records_file.exists():
            return {}
        scan = self.scan()
        done: dict[Key, dict[str, Any]] = {}
        for r in scan.records:
            if not is_error(r):
                done.setdefault(record_key(r), r)
        if len(done) != len(scan.records) or scan.bad_lines or scan.torn_last_line:
            write_records(self.records_file, list(done.values()))
        return done

    def writer(self) -> RecordWriter:
        """Appends finished episodes' records to ``records.jsonl`` from a background thread."""
        return RecordWriter(self.records_file)

    def write_judged(self, records: list[dict[str, Any]]) -> None:
        write_records(self.judged_file, records)

    # -- config and status -----------------------------------------------------------------------
    def read_config(self) -> dict[str, Any] | None:
        """The resolved config of the run (``config.yaml``, else Hydra's ``.hydra/config.yaml``)."""
        import yaml

        for candidate in (self.path / self.CONFIG, self.path / ".hydra" / "config.yaml"):
            if candidate.is_file():
                data = yaml.safe_load(candidate.read_text(encoding="utf-8"))
                if isinstance(data, dict):
                    return data
        return None

    def write_config(self, resolved: dict[str, Any]) -> None:
        import yaml

        self.write_text(self.CONFIG, yaml.safe_dump(to_jsonable(resolved), sort_keys=False))

    def check_same_experiment(self, resolved: dict[str, Any]) -> None:
        """Refuse to add episodes of another experiment to the records already here."""
        prev = self.read_config()
        if prev is None or not self.has_records():
            return
        differs = [k for k in EXPERIMENT_KEYS if k in prev and to_jsonable(prev.get(k)) != to_jsonable(resolved.get(k))]
        if differs:
            raise UserError(f"{self.path} holds records of a different experiment ({', '.join(differs)} differ); "
                            "choose another hydra.run.dir or delete it")

    def status(self) -> dict[str, Any]:
        """``run.json``: empty for a directory written before it existed."""
        return self.read_json(self.STATUS) or {}

    def update_status(self, **fields: Any) -> dict[str, Any]:
        status = {**self.status(), **fields}
        self.write_json(self.STATUS, status)
        return status

    def is_complete(self) -> bool:
        return bool(self.status().get("complete"))

    # -- what the run is ------------------------------------------------------------------------
    def check_records(self, records: list[dict[str, Any]]) -> None:
        """Refuse to score records of different configurations as one run (``UserError``)."""
        hashes = {r.get("config_hash") for r in records} - {None}
        expected = self.status().get("config_hash")
        if len(hashes) > 1 or (expected and hashes and hashes != {expected}):
            counts = {h: sum(1 for r in records if r.get("config_hash") == h) for h in sorted(hashes)}
            shown = ", ".join(f"{n} of configuration {h}" for h, n in counts.items())
            raise UserError(f"{self.records_file} mixes episodes of different runs ({shown}; run.json says "
                            f"{expected or 'nothing'}): report each run from its own directory")

        def fingerprint(r: dict[str, Any]) -> str:
            return canonical_json({"planner": r.get("planner"), "suite": r.get("suite_hash"),
                                   "max_steps": r.get("max_steps"), "backend": (r.get("env") or {}).get("backend")})

        kinds = {fingerprint(r) for r in records if "steps" in r}
        if len(kinds) > 1:
            raise UserError(f"{self.records_file} mixes episodes of {len(kinds)} different planners, suites, step "
                            "limits or backends: report each run from its own directory")

    def identity(self, records: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """What this run is (agent, model, suite and its hash, filter, env, judge, seeds, versions)
        and how far it got; the header of ``report.md`` and the ``run`` section of ``summary.json``."""
        cfg = self.read_config() or {}
        status = self.status()
        records = records or []
        first = next((r for r in records if r.get("planner")), {})
        planner = first.get("planner") or {}
        agent = dict(cfg.get("agent") or {})
        params = dict(agent.get("params") or {})
        suite = dict(cfg.get("suite") or {})
        filt = dict(cfg.get("filter") or {})
        env = dict(cfg.get("env") or {})
        seed0, n_seeds = int(cfg.get("seed") or 0), int(cfg.get("num_seeds") or 1)
        judges = sorted({(r.get("recognition") or {}).get("judge") for r in records} - {None})
        done = sum(1 for r in records if not is_error(r))
        expected = status.get("episodes_expected")
        complete = bool(status.get("complete")) or (expected is not None and done >= expected)
        state = status.get("state")
        if complete and state == "writing report":  # what the summary being written will say once it is
            state = "finished"
        return to_jsonable({
            "run_dir": str(self.path),
            "agent": agent.get("name") or agent.get("kind") or planner.get("name"),
            "agent_kind": agent.get("kind"),
            "planner": planner.get("name"),
            "model": planner.get("model") or params.get("model") or params.get("model_path"),
            "suite": {"name": suite.get("name"), "path": suite.get("path"), "split": suite.get("split"),
                      "limit": suite.get("limit"),
                      "sha256": status.get("suite_hash") or first.get("suite_hash")},
            "filter": (filt.get("name") or "cbf") if filt.get("enabled") else "none",
            "filter_gamma": filt.get("gamma") if filt.get("enabled") else None,
            "env": {"backend": env.get("backend") or (first.get("env") or {}).get("backend"),
                    "max_steps": env.get("max_steps") or first.get("max_steps")},
            "judge": ", ".join(judges) or (cfg.get("judge") or {}).get("name"),
            "seeds": list(range(seed0, seed0 + max(1, n_seeds))) if cfg else sorted({record_key(r)[1] for r in records}),
            "versions": first.get("versions") or {},
            "config_hash": status.get("config_hash"),
            "state": state,
            "episodes_expected": expected,
            "episodes_done": done,
            "complete": complete,
            "partial": expected is not None and done < expected,
            "resume_command": status.get("command"),
            "started": status.get("started"),
            "finished": status.get("finished"),
        })

    # -- outputs ---------------------------------------------------------------------------------
    def read_summary(self) -> dict[str, Any] | None:
        return self.read_json(self.SUMMARY)

    def write_summary(self, summary: dict[str, Any]) -> None:
        self.write_json(self.SUMMARY, summary)

    def write_report(self, markdown: str) -> None:
        self.write_text(self.REPORT, markdown)

    # -- the lock --------------------------------------------------------------------------------
    def locked_by(self) -> int | None:
        """The pid of a live process holding this directory's lock (None when it is free)."""
        if fcntl is None or not (self.path / self.LOCK).exists():
            return None
        held = _HELD.get((self.path / self.LOCK).resolve())
        if held is not None and held.fd is not None:
            return os.getpid()
        try:
            fd = os.open(self.path / self.LOCK, os.O_RDONLY)
        except OSError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            try:
                return int(os.pread(fd, 32, 0).decode().strip() or 0) or -1
            except ValueError:
                return -1
        finally:
            os.close(fd)
        return None

    @contextmanager
    def lock(self) -> Iterator[RunLock]:
        """Hold the directory's lock for the ``with`` block; ``RunLockedError`` if another process has it."""
        handle = self.acquire()
        try:
            yield handle
        finally:
            release(handle)

    def release(self) -> None:
        """Give back one hold of this process's lock on the directory (see ``acquire``)."""
        handle = _HELD.get((self.path / self.LOCK).resolve())
        if handle is not None:
            release(handle)

    def acquire(self) -> RunLock:
        """Take the lock (re-entrant within this process); release it with ``release``."""
        self.path.mkdir(parents=True, exist_ok=True)
        path = (self.path / self.LOCK).resolve()
        held = _HELD.get(path)
        if held is not None:
            held.depth += 1
            return held
        handle = RunLock(path)
        if fcntl is not None:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                owner = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
                os.close(fd)
                raise RunLockedError(f"{self.path} is being written by another run (pid {owner}); wait for it "
                                     "to finish, or choose another hydra.run.dir") from None
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            handle.fd = fd
        handle.depth = 1
        _HELD[path] = handle
        return handle


def release(handle: RunLock) -> None:
    """Give back one ``acquire``; the lock is dropped when the last one is given back."""
    handle.depth -= 1
    if handle.depth > 0:
        return
    _HELD.pop(handle.path, None)
    if handle.fd is not None:
        try:
            os.ftruncate(handle.fd, 0)
        except OSError:
            pass
        os.close(handle.fd)  # closing the descriptor drops the flock
        handle.fd = None
