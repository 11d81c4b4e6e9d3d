"""Verify one submission in a child process of its own, under a memory and a time limit.

The leaderboard must be written whatever one file does: a submission that crashes the verifier,
runs it out of memory or keeps it busy for hours is one rejected entry, not a missing site. The
parent starts a Python child (``child_main``) that first lowers its own ``RLIMIT_CPU`` and (as a
backstop) ``RLIMIT_AS``, then verifies; the parent watches the child's resident memory and wall-clock
time, kills it when either is over its limit, and otherwise reads back the
child's ``result.json`` (and, for a verified file, the submission page it wrote beside it). Any
other ending (a signal, a non-zero status, no result) becomes a reason in plain words.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RESULT = "result.json"
PAGE = "page.html"
_EXIT_MEMORY = 3  # the child ran out of memory (MemoryError under RLIMIT_AS)
_RESULT_MAX = 64 << 20  # bytes of result.json the parent reads (the manifest alone may hold 32 MiB)
_CHILD = "import sys; from safe_alfred.leaderboard.isolate import child_main; sys.exit(child_main(sys.argv[1:]))"
_POLL_S = 0.05  # how often the parent looks at the child's memory
_NEAR_LIMIT = 64 << 20  # a failure this close to the address-space limit is taken for lack of memory


@dataclass(frozen=True)
class Isolation:
    """Per-submission limits: resident memory in MiB, CPU and wall-clock seconds."""

    memory_mb: int = 2048
    time_s: float = 1800.0


DEFAULT_ISOLATION = Isolation()


@dataclass
class Outcome:
    """What the child found: an entry for the index (verified) or the reasons it was not listed."""

    entry: dict[str, Any] | None
    problems: list[str]
    page: Path | None = None


def _address_space(memory_mb: int) -> int:
    """The child's address-space backstop in bytes: twice the memory limit, plus 1 GiB."""
    return (int(memory_mb) << 21) + (1 << 30)


def _apply_limits(memory_mb: int, cpu_s: float) -> None:
    """Lower this process's own limits; the child does this first, before it reads the file.

    The parent watches resident memory against ``memory_mb``; the address-space limit is a backstop
    against a burst between two looks, set well above it (address space runs ahead of residence).
    """
    import resource

    mem = _address_space(memory_mb)
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    cpu = max(1, int(cpu_s))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    # Keep the address space close to what is used: one malloc arena, one BLAS thread.
    env.update(MALLOC_ARENA_MAX="2", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    return env


def _ending(code: int, isolation: Isolation, stderr: str) -> str:
    if code == _EXIT_MEMORY:
        return f"verification exceeded the memory limit of {isolation.memory_mb} MiB"
    if code == -signal.SIGXCPU or code == -signal.SIGKILL and "CPU" in stderr:
        return f"verification exceeded the time limit of {isolation.time_s:g} s (CPU)"
    if code < 0:
        name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else str(-code)
        hint = " (out of memory?)" if code == -signal.SIGKILL else ""
        return f"verification was killed by signal {name}{hint}"
    tail = [ln for ln in stderr.strip().splitlines() if ln.strip()][-1:] or ["no message"]
    return f"verification crashed (exit status {code}): {tail[0][:300]}"


def _resident_mb(pid: int) -> float:
    """Resident memory of a process in MiB (``VmRSS``), 0 where /proc does not say."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return 0.0


def _watch(proc: subprocess.Popen, isolation: Isolation) -> str | None:
    """Wait for the child; kill it (and say why) once it is over its resident memory or wall-clock time."""
    deadline = time.monotonic() + isolation.time_s
    while True:
        try:
            proc.wait(timeout=_POLL_S)
            return None
        except subprocess.TimeoutExpired:
            pass
        if _resident_mb(proc.pid) > isolation.memory_mb:
            why = f"verification exceeded the memory limit of {isolation.memory_mb} MiB"
        elif time.monotonic() > deadline:
            why = f"verification exceeded the time limit of {isolation.time_s:g} s"
        else:
            continue
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return why


def verify_isolated(path: Path, workdir: Path, *, split: str | None, max_errors: int,
                    isolation: Isolation = DEFAULT_ISOLATION) -> Outcome:
    """Verify ``path`` in a child process; never raises on what the file does to the child."""
    workdir.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-c", _CHILD, str(path), str(workdir),
           "--split", "all" if split is None else split, "--max-errors", str(max_errors),
           "--memory-mb", str(isolation.memory_mb), "--cpu-s", str(isolation.time_s)]
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                                env=_child_env(), start_new_session=True)
        over = _watch(proc, isolation)
        if over is not None:
            return Outcome(None, [over])
        code = proc.returncode
        err.seek(0)
        stderr = err.read(1 << 16).decode("utf-8", "replace")
    result = workdir / RESULT
    if code != 0 or not result.is_file():
        return Outcome(None, [_ending(code, isolation, stderr) if code != 0 else "verification wrote no result"])
    try:
        with open(result, "rb") as fh:
            data = json.loads(fh.read(_RESULT_MAX))
        entry, problems = data.get("entry"), [str(p) for p in data.get("problems") or []]
    except (OSError, ValueError, AttributeError) as exc:
        return Outcome(None, [f"verification wrote an unreadable result: {exc}"])
    page = workdir / PAGE
    if entry is not None and not page.is_file():
        return Outcome(None, ["verification wrote no submission page"])
    return Outcome(entry, problems, page if entry is not None else None)


def _run_child(path: str, workdir: str, split: str, max_errors: int) -> int:
    from .site import _submission_page, make_entry
    from .verify import verify_file

    out = Path(workdir)
    res = verify_file(path, split=split, max_errors=max_errors, keep_steps=True)
    if res.ok:
        entry = make_entry(res, Path(path).name)
        (out / PAGE).write_text(_submission_page(entry), encoding="utf-8")
        payload = {"entry": {k: v for k, v in entry.items() if k != "records"}, "problems": []}
    else:
        payload = {"entry": None, "problems": res.problems}
    tmp = out / f".{RESULT}.tmp"
    tmp.write_text(json.dumps(payload, ensure_ascii=True), encoding="utf-8")
    os.replace(tmp, out / RESULT)
    return 0


def child_main(argv: list[str]) -> int:
    """The child process's entry point (not a user command): apply the limits, verify, write the result."""
    ap = argparse.ArgumentParser(prog="safe_alfred.leaderboard.isolate")
    ap.add_argument("file")
    ap.add_argument("workdir")
    ap.add_argument("--split", default="test")
    ap.add_argument("--max-errors", type=int, default=0)
    ap.add_argument("--memory-mb", type=int, default=Isolation.memory_mb)
    ap.add_argument("--cpu-s", type=float, default=Isolation.time_s)
    args = ap.parse_args(argv)
    _apply_limits(args.memory_mb, args.cpu_s)
    try:
        return _run_child(args.file, args.workdir, args.split, args.max_errors)
    except MemoryError:
        os._exit(_EXIT_MEMORY)
    except Exception:
        # Under RLIMIT_AS a failed allocation can surface as another error (an ImportError, a
        # SystemError from C code): near the limit, say what it was.
        if _peak_address_space() > _address_space(args.memory_mb) - _NEAR_LIMIT:
            os._exit(_EXIT_MEMORY)
        raise


def _peak_address_space() -> int:
    """This process's peak virtual size in bytes (``VmPeak``), 0 where /proc does not say."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmPeak:"):
                    return int(line.split()[1]) << 10
    except (OSError, ValueError):
        pass
    return 0

