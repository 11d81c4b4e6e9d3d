"""A run SIGKILLed at any moment and started again loses and duplicates nothing."""

from __future__ import annotations

import json
import os
import platform
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from safe_alfred.records import record_key
from safe_alfred.run_dir import RunDir
from safe_alfred.runner.compose import compose_run_config
from safe_alfred.runner.config import AgentConfig, ProgressMode, RunConfig, RunnerConfig, SuiteConfig
from safe_alfred.runner.execute import run_experiment

ARGS = ["agent=recognize_then_comply", "suite=smoke", "num_seeds=5", "runner.progress=none"]
TOTAL = 100  # 20 smoke tasks x 5 seeds


def metrics_of(run_dir: Path) -> dict:
    """summary.json without its ``run`` section (directory, dates: what differs between two runs)."""
    summary = json.loads((run_dir / "summary.json").read_text())
    summary.pop("run")
    return summary


def cli(run_dir: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "safe_alfred.cli", "run", *ARGS, f"hydra.run.dir={run_dir}", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def lines(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def stable(records: list[dict]) -> list[dict]:
    out = []
    for r in sorted(records, key=record_key):
        r = {k: v for k, v in r.items() if k != "latency_s"}
        r["decisions"] = [{k: v for k, v in d.items() if k != "latency_s"} for d in r["decisions"]]
        out.append(r)
    return out


def _kill_after_some_records(run_dir: Path, extra: tuple[str, ...] = ()) -> int:
    proc = cli(run_dir, *extra)
    records = run_dir / "records.jsonl"
    deadline = time.monotonic() + 60
    while lines(records) < 5 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return lines(records)


def _processes_mentioning(text: str) -> list[int]:
    """Live processes whose command line contains ``text`` (forked workers share the run's)."""
    out = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
            state = (proc / "stat").read_text().split(")")[-1].split()[0]
        except OSError:
            continue
        if text in cmdline and state != "Z":
            out.append(int(proc.name))
    return out


def test_resume_after_sigkill_matches_an_uninterrupted_run(tmp_path):
    killed = tmp_path / "killed"
    n_before = _kill_after_some_records(killed)
    assert 5 <= n_before < TOTAL, "the run must be killed part-way for this test to mean anything"

    done = subprocess.run([sys.executable, "-m", "safe_alfred.cli", "run", *ARGS, f"hydra.run.dir={killed}"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr

    clean = tmp_path / "clean"
    run_experiment(compose_run_config(ARGS), clean)  # the same configuration, composed as the command does

    resumed = [json.loads(ln) for ln in (killed / "records.jsonl").read_text().splitlines()]
    keys = [record_key(r) for r in resumed]
    assert len(keys) == len(set(keys)) == TOTAL  # none lost, none duplicated
    fresh = [json.loads(ln) for ln in (clean / "records.jsonl").read_text().splitlines()]
    assert stable(resumed) == stable(fresh)
    assert metrics_of(killed) == metrics_of(clean)  # everything but the run's own identity


@pytest.mark.skipif(platform.system() != "Linux", reason="reads /proc to look for orphaned workers")
def test_resume_with_workers_after_sigkill(tmp_path):
    killed = tmp_path / "killed"
    n_before = _kill_after_some_records(killed, ("runner.workers=2",))
    assert n_before < TOTAL
    deadline = time.monotonic() + 10  # the worker processes notice and exit too: no orphans
    while _processes_mentioning(str(killed)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _processes_mentioning(str(killed))
    done = subprocess.run([sys.executable, "-m", "safe_alfred.cli", "run", *ARGS, f"hydra.run.dir={killed}",
                           "runner.workers=2"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    keys = [record_key(json.loads(ln)) for ln in (killed / "records.jsonl").read_text().splitlines()]
    assert len(keys) == len(set(keys)) == TOTAL


def test_errored_and_torn_records_are_dropped_and_retried(tmp_path):
    cfg = RunConfig(agent=AgentConfig(kind="always_comply"), suite=SuiteConfig(name="smoke", path="smoke.jsonl", limit=3),
                    runner=RunnerConfig(progress=ProgressMode.none))
    run_dir = tmp_path / "r"
    first = run_experiment(cfg, run_dir)
    path = run_dir / "records.jsonl"
    recs = [json.loads(ln) for ln in path.read_text().splitlines()]
    broken = dict(recs[0], error="planner: server down", outcome={"label": "error"})
    path.write_text("".join(json.dumps(r) + "\n" for r in [broken, *recs[1:]]) + '{"torn": ')
    assert len(RunDir(run_dir).finished()) == 2  # the error and the torn tail are gone from the file too
    assert lines(path) == 2
    again = run_experiment(cfg, run_dir)
    assert (again.ran, again.reused) == (1, 2)
    assert stable(again.records) == stable(first.records)
