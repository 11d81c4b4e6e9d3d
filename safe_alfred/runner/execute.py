"""Run an experiment: every (task, seed) episode, serially, in worker processes, or as async tasks.

One run directory holds ``config.yaml`` (the resolved config), ``records.jsonl`` (one judged
episode record per line, appended atomically as episodes finish), ``summary.json``, ``report.md``
and ``plots/``. Episodes are keyed by ``(task id, seed)``: a run started again on the same
directory keeps the finished episodes, drops errored ones (they are retried) and runs the rest, so
a killed run loses and duplicates nothing. Records are sorted by key before summarising, so the
summary does not depend on the order in which parallel episodes finished.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from safe_alfred.errors import DiskError, UserError, commonest_cause
from safe_alfred.records import record_key
from safe_alfred.run_dir import RunDir, is_error
from safe_alfred.runner.compose import resolved_config, to_run_config, with_suite_label
from safe_alfred.runner.config import ProgressMode, RunConfig
from safe_alfred.runner.errors import RunError
from safe_alfred.runner.factory import Worker, build_worker
from safe_alfred.runner.interrupts import (
    RunInterrupted,
    ignore_interrupts_in_worker,
    last_signal,
    stop_on_signals,
)
from safe_alfred.runner.progress import make_progress
from safe_alfred.runner.suites import load_suite_tasks, task_id

log = logging.getLogger("safe_alfred.run")

__all__ = ["RunInterrupted", "RunResult", "load_suite_tasks", "run_experiment", "to_run_config"]


def sort_records(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Records in ``(task id, seed)`` order: the order a serial run would not guarantee either."""
    return sorted(records, key=record_key)


# -- the run -----------------------------------------------------------------------------------------


@dataclass
class RunResult:
    out_dir: Path
    records: list[dict[str, Any]]
    summary: dict[str, Any]
    ran: int  # episodes executed by this invocation
    reused: int  # episodes found finished in the run dir

    def failures(self) -> tuple[int, str, int] | None:
        """``(errored episodes, commonest cause, its count)``, or None when every episode ran."""
        return commonest_error(self.records)


def commonest_error(records: list[dict[str, Any]]) -> tuple[int, str, int] | None:
    """How many records are errors, and the commonest cause with its count (``commonest_cause``)."""
    return commonest_cause(str(r.get("error") or "error") for r in records if is_error(r))


def _now() -> str:
    import datetime as dt

    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


def run_experiment(
    cfg: RunConfig,
    out_dir: str | Path,
    resolved: dict[str, Any] | None = None,
    tasks: list[dict[str, Any]] | None = None,
    *,
    command: str | None = None,
) -> RunResult:
    """Run (or finish) the experiment ``cfg`` in ``out_dir`` and write its records and report.

    Everything is checked (``preflight``) before anything is written. The directory is locked for
    the run; Ctrl-C or SIGTERM stops it within moments with every finished episode kept and raises
    ``RunInterrupted``; ``command`` (what resumes it) is stored in ``run.json``.
    """
    from safe_alfred.runner.preflight import preflight

    run_dir = RunDir(out_dir)
    out_dir = run_dir.path
    cfg = dataclasses.replace(cfg, runner=dataclasses.replace(cfg.runner, output_dir=str(out_dir)))
    cfg = with_suite_label(cfg)  # suite=smoke suite.path=mine.jsonl runs "mine", not "smoke"
    if resolved is not None:
        resolved = {**resolved, "suite": {**dict(resolved.get("suite") or {}), "name": cfg.suite.name}}
    preflight(cfg)
    resolved = resolved_config(cfg) if resolved is None else resolved
    tasks = load_suite_tasks(cfg.suite) if tasks is None else tasks
    try:
        return _run(cfg, run_dir, resolved, tasks, command)
    except OSError as exc:  # a file of the run could not be written: one line, and the run resumes
        raise DiskError(exc.filename or run_dir.path, exc) from None


def _run(cfg: RunConfig, run_dir: RunDir, resolved: dict[str, Any], tasks: list[dict[str, Any]],
         command: str | None) -> RunResult:
    from safe_alfred.run_dir import config_hash
    from safe_alfred.runner.suites import suite_content_hash

    out_dir = run_dir.path
    specs = [(t, s) for t in tasks for s in cfg.seeds()]
    identity = config_hash(resolved_config(cfg))

    with run_dir.lock():
        if run_dir.has_records():
            if not cfg.runner.resume:
                raise RunError(f"{run_dir.records_file} exists and runner.resume=false; choose another hydra.run.dir")
            run_dir.check_same_experiment(resolved)
        run_dir.write_config(resolved)
        done = run_dir.finished() if cfg.runner.resume else {}
        wanted = {(task_id(t), s) for t, s in specs}
        todo = [(t, s) for t, s in specs if (task_id(t), s) not in done]
        reused = [r for k, r in done.items() if k in wanted]
        status = {"config_hash": identity, "suite_hash": suite_content_hash(cfg.suite),
                  "episodes_expected": len(specs), "episodes_done": len(reused), "state": "running",
                  "complete": False, "updated": _now(), "pid": os.getpid()}
        if not run_dir.status().get("started"):
            status["started"] = status["updated"]
        if command:
            status["command"] = command
        run_dir.update_status(**status)

        log.info("run %s: %s, %d episodes (%d already done), config %s", out_dir, _label(cfg), len(specs),
                 len(reused), identity)
        progress = make_progress(ProgressMode(cfg.runner.progress).value, total=len(specs), label=_label(cfg))
        new: list[dict[str, Any]] = []
        writer = run_dir.writer()

        def sink(record: dict[str, Any]) -> None:
            record["config_hash"] = identity
            writer.put(record)
            new.append(record)
            progress.update(record)
            if is_error(record):
                log.warning("episode %s seed %s failed: %s", *record_key(record), record.get("error"))
            if cfg.runner.fail_fast and is_error(record):
                raise RunError(f"episode {record_key(record)} failed: {record.get('error')}")

        state = "stopped by an error"
        try:
            with stop_on_signals():
                progress.start(reused)
                try:
                    if not todo:
                        pass
                    elif cfg.runner.workers > 1:
                        _run_processes(cfg, todo, sink)
                    elif cfg.runner.concurrency > 1:
                        asyncio.run(_run_async(cfg, todo, sink))
                    else:
                        _run_serial(cfg, todo, sink)
                    state = "writing report"
                except KeyboardInterrupt:
                    state = "interrupted"
        finally:
            try:
                writer.close()  # re-raises a write error (a DiskError) of the writer thread
            finally:
                progress.stop()
                finished = len(reused) + sum(1 for r in new if not is_error(r))
                run_dir.update_status(episodes_done=finished, updated=_now(), state=state)
        if state == "interrupted":
            raise RunInterrupted(out_dir, finished, len(specs), last_signal())

        records = sort_records([*reused, *new])
        run_dir.update_status(state="writing report", complete=finished == len(specs), updated=_now(),
                              finished=_now())
        try:
            with stop_on_signals():
                summary = write_outputs(run_dir, records, cfg)
        except KeyboardInterrupt:  # every episode is kept; `safe-alfred report DIR` writes the report
            raise RunInterrupted(out_dir, finished, len(specs), last_signal()) from None
        run_dir.update_status(state="finished", updated=_now())
        log.info("finished: %d of %d episodes ran to an outcome", finished, len(specs))
    return RunResult(out_dir=out_dir, records=records, summary=summary, ran=len(new), reused=len(reused))


def _label(cfg: RunConfig) -> str:
    filt = f" +{cfg.filter.name}" if cfg.filter.enabled else ""
    return f"{cfg.agent.name or cfg.agent.kind}{filt} on {cfg.suite.name}"


def write_outputs(run_dir: RunDir, records: list[dict[str, Any]], cfg: RunConfig) -> dict[str, Any]:
    """``summary.json``, ``report.md`` and ``plots/`` from the sorted records."""
    from safe_alfred.metrics.report import write_report

    return write_report(run_dir.path, records)


# -- executors ---------------------------------------------------------------------------------------


def _run_serial(cfg: RunConfig, todo: list[tuple[dict, int]], sink: Callable[[dict], None]) -> None:
    worker = build_worker(cfg)
    try:
        for task, seed in todo:
            sink(worker.run(task, seed))
    finally:
        worker.close()


_WORKER: Worker | None = None


def _exit_with_parent(parent_pid: int, every_s: float = 0.5) -> None:
    """End this worker when the run process dies (a SIGKILLed run must not leave orphans)."""

    def watch() -> None:
        while True:
            if os.getppid() != parent_pid:
                os._exit(1)
            time.sleep(every_s)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


_INIT_ERROR: str | None = None


def _init_process(cfg: RunConfig, parent_pid: int, pids: Any) -> None:
    global _WORKER, _INIT_ERROR
    import signal

    ignore_interrupts_in_worker()
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the parent's SIGTERM-as-Ctrl-C is not ours
    pids.put(os.getpid())
    _exit_with_parent(parent_pid)
    try:
        _WORKER = build_worker(cfg)
    except UserError as exc:  # reported by the first episode, as a RunError the parent can print
        _INIT_ERROR = str(exc)


def _run_in_process(task: dict[str, Any], seed: int) -> dict[str, Any]:
    if _INIT_ERROR is not None:
        raise RunError(_INIT_ERROR)
    assert _WORKER is not None, "worker process not initialised"
    return _WORKER.run(task, seed)


def _stop_workers(pids: Any) -> None:
    """SIGTERM every worker process this pool started: their episodes in flight end now."""
    import signal

    while not pids.empty():
        try:
            os.kill(pids.get(), signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass


def _run_processes(cfg: RunConfig, todo: list[tuple[dict, int]], sink: Callable[[dict], None]) -> None:
    """A pool of ``runner.workers`` processes, each with its own env, planner and judge."""
    methods = multiprocessing.get_all_start_methods()
    # fork starts a worker in milliseconds (the parent has imported everything already); spawn
    # re-imports the package in every worker and is used where fork does not exist.
    ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    n = min(cfg.runner.workers, len(todo))
    pids = ctx.SimpleQueue()
    pool = ProcessPoolExecutor(max_workers=n, mp_context=ctx, initializer=_init_process,
                               initargs=(cfg, os.getpid(), pids))
    # Keep a bounded window in flight so that a kill loses at most a few episodes' work.
    pending: set[Any] = set()
    queue = list(todo)
    window = 2 * n
    try:
        while queue or pending:
            while queue and len(pending) < window:
                task, seed = queue.pop(0)
                pending.add(pool.submit(_run_in_process, task, seed))
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                sink(fut.result())
    except BaseException:
        # Interrupted (or an episode's record could not be kept): do not wait for the episodes in
        # flight; their workers are stopped and those episodes run again on resume.
        manager = getattr(pool, "_executor_manager_thread", None)  # shutdown() drops the reference
        pool.shutdown(wait=False, cancel_futures=True)
        _stop_workers(pids)
        # Let the pool's manager thread see its workers die and close its wake-up pipe before this
        # process exits: concurrent.futures' exit hook (_python_exit) writes to that pipe without
        # the pool's lock (CPython 3.11; later versions lock it, gh-125451), so a close still under
        # way in the manager thread makes it print "OSError: [Errno 9] Bad file descriptor" at
        # exit. The hook joins this thread anyway, so joining it here first costs no time.
        if manager is not None:
            manager.join(timeout=1.0)
        raise
    pool.shutdown(wait=True)


async def _run_async(cfg: RunConfig, todo: list[tuple[dict, int]], sink: Callable[[dict], None]) -> None:
    """``runner.concurrency`` episodes at once in this process (``arun_episode``), one worker each."""
    n = min(cfg.runner.concurrency, len(todo))
    slots: asyncio.Queue[Worker] = asyncio.Queue()
    first = build_worker(cfg)
    workers = [first] + [build_worker(cfg, judges=first.judges, planner=first.shareable_planner)
                         for _ in range(n - 1)]
    for w in workers:
        slots.put_nowait(w)

    async def one(task: dict[str, Any], seed: int) -> None:
        w = await slots.get()
        try:
            record = await w.arun(task, seed)
        finally:
            slots.put_nowait(w)
        sink(record)

    try:
        await asyncio.gather(*(one(t, s) for t, s in todo))
    finally:
        for w in workers:
            w.close()
