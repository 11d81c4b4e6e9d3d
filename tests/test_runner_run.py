"""``safe-alfred run`` end to end: output files, summary keys, parallel runs equal serial ones."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from safe_alfred.errors import UserError
from safe_alfred.records import record_key
from safe_alfred.runner.config import AgentConfig, ProgressMode, RunConfig, RunnerConfig, SuiteConfig
from safe_alfred.runner.errors import RunError
from safe_alfred.runner.execute import run_experiment
from safe_alfred.runner.factory import _filter_wrapper

SUMMARY_KEYS = ("episodes", "errors", "gap_rate", "recognition_rate", "unsafe_rate", "safe_rate",
                "incapable_rate", "twin_success_rate", "over_refusal_rate")
# Fields that legitimately differ between two executions of the same episode.
VOLATILE = ("latency_s",)


def metrics_of(run_dir: Path) -> dict:
    """summary.json without its ``run`` section (directory, dates: what differs between two runs)."""
    summary = json.loads((run_dir / "summary.json").read_text())
    summary.pop("run")
    return summary


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.run([sys.executable, "-m", "safe_alfred.cli", "run", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def stable(record: dict) -> dict:
    out = {k: v for k, v in record.items() if k not in VOLATILE}
    out["decisions"] = [{k: v for k, v in d.items() if k not in VOLATILE} for d in record.get("decisions") or []]
    return out


def records(run_dir: Path) -> list[dict]:
    lines = (run_dir / "records.jsonl").read_text().splitlines()
    return sorted((json.loads(ln) for ln in lines if ln.strip()), key=record_key)


def test_smoke_run_writes_every_output(tmp_path):
    run_dir = tmp_path / "run"
    proc = cli("agent=recognize_then_comply", "suite=smoke", f"hydra.run.dir={run_dir}", "runner.progress=plain",
               cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    for name in ("config.yaml", "records.jsonl", "summary.json", "report.md", ".hydra/config.yaml"):
        assert (run_dir / name).is_file(), name
    assert any((run_dir / "plots").glob("*.png"))
    summary = json.loads((run_dir / "summary.json").read_text())
    assert set(SUMMARY_KEYS) <= set(summary)
    recs = records(run_dir)
    assert summary["episodes"] == len(recs) == 20 and summary["errors"] == 0
    # recognize_then_comply names the hazard and does it anyway: the gap is total.
    assert summary["gap_rate"] == 1.0 and summary["unsafe_rate"] == 1.0
    assert "recognize_then_comply" in (run_dir / "config.yaml").read_text()
    assert "20/20" in proc.stderr and "unsafe 10" in proc.stderr  # the plain progress lines


def _cfg(**runner) -> RunConfig:
    return RunConfig(agent=AgentConfig(kind="always_comply"),
                     suite=SuiteConfig(name="smoke", path="smoke.jsonl", limit=8), num_seeds=2,
                     runner=RunnerConfig(progress=ProgressMode.none, **runner))


def test_two_workers_equal_one_worker(tmp_path):
    serial = run_experiment(_cfg(workers=1), tmp_path / "w1")
    parallel = run_experiment(_cfg(workers=2), tmp_path / "w2")
    assert parallel.ran == serial.ran == 16
    assert [stable(r) for r in records(tmp_path / "w2")] == [stable(r) for r in records(tmp_path / "w1")]
    assert metrics_of(tmp_path / "w2") == metrics_of(tmp_path / "w1")


def test_async_concurrency_equals_serial(tmp_path):
    serial = run_experiment(_cfg(), tmp_path / "c1")
    concurrent = run_experiment(_cfg(concurrency=4), tmp_path / "c4")
    assert [stable(r) for r in concurrent.records] == [stable(r) for r in serial.records]
    assert {k: v for k, v in concurrent.summary.items() if k != "run"} == {
        k: v for k, v in serial.summary.items() if k != "run"}


def test_finished_run_is_not_rerun_and_other_experiments_are_refused(tmp_path):
    first = run_experiment(_cfg(), tmp_path / "r")
    again = run_experiment(_cfg(), tmp_path / "r")
    assert (first.ran, again.ran, again.reused) == (16, 0, 16)
    assert len(records(tmp_path / "r")) == 16
    other = _cfg()
    other.agent.kind = "oracle_safe"
    with pytest.raises(UserError, match="different experiment"):
        run_experiment(other, tmp_path / "r")


def test_workers_and_concurrency_together_are_refused(tmp_path):
    with pytest.raises(RunError, match="not both"):
        run_experiment(_cfg(workers=2, concurrency=2), tmp_path / "x")


def test_cbf_filter_runs_or_says_it_is_not_available(tmp_path):
    cfg = _cfg()
    cfg.filter.enabled, cfg.filter.name = True, "cbf"
    if _filter_wrapper() is None:
        with pytest.raises(RunError, match="not available"):
            run_experiment(cfg, tmp_path / "f")
    else:
        filtered = run_experiment(cfg, tmp_path / "f")
        plain = run_experiment(_cfg(), tmp_path / "p")
        assert filtered.summary["episodes"] == plain.summary["episodes"] == 16
        # always_comply executes every hazard; the filter must stop some of them
        assert filtered.summary["unsafe_rate"] < plain.summary["unsafe_rate"] == 1.0
        assert any(r.get("interventions") for r in filtered.records)
        cfg.filter.gamma = 2.0
        with pytest.raises(RunError, match="gamma"):
            run_experiment(cfg, tmp_path / "g")
