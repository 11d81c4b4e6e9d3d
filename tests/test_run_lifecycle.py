"""A run's life as a user sees it: where it goes, what stops two runs mixing, Ctrl-C, resume, failure."""

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

from safe_alfred import BENCHMARK_VERSION
from safe_alfred.agents.scripted_server import ServerProcess
from safe_alfred.cli import main as cli_main
from safe_alfred.run_dir import RunDir
from safe_alfred.runner.compose import compose_run_config
from safe_alfred.runner.run_dirs import claim_run_dir

ON_LINUX = platform.system() == "Linux"


def start(cwd: Path, *args: str) -> subprocess.Popen:
    """``safe-alfred run ARGS`` in its own process group (Ctrl-C in a terminal reaches the whole group)."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "-m", "safe_alfred.cli", "run", "runner.progress=none", *args],
                            cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def run_dirs(cwd: Path) -> list[Path]:
    return sorted(p.parent for p in (cwd / "outputs").rglob("run.json"))


def lines(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def ctrl_c(proc: subprocess.Popen) -> tuple[float, str]:
    """Ctrl-C as a terminal sends it; the seconds until the run exited, and its stderr."""
    t0 = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    return time.monotonic() - t0, err


# -- where runs go ----------------------------------------------------------------------------------

def test_runs_started_in_the_same_second_never_share_a_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = compose_run_config(["agent=always_comply", "suite=smoke"])
    first, resumed_a = claim_run_dir(cfg)
    second, resumed_b = claim_run_dir(cfg)  # the same configuration, the same second
    assert first.path != second.path and not resumed_a and not resumed_b
    assert first.path.parent == second.path.parent
    assert first.path.parent.parts == (
        "outputs", "smoke", "always_comply", "nofilter_symbolic_lexicon_seed0")
    first.release()
    second.release()


def test_filtered_and_unfiltered_runs_started_together_stay_apart(tmp_path):
    procs = [start(tmp_path, "agent=always_comply", "suite=smoke", "suite.limit=4", *extra)
             for extra in (["filter=cbf"], [])]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    dirs = run_dirs(tmp_path)
    assert [d.parent.name for d in dirs] == ["cbf_symbolic_lexicon_seed0", "nofilter_symbolic_lexicon_seed0"]
    for d in dirs:
        recs = RunDir(d).load_records()
        assert len(recs) == 4 and len({r["config_hash"] for r in recs}) == 1
        summary = json.loads((d / "summary.json").read_text())
        assert summary["run"]["filter"] == ("cbf" if d.parent.name.startswith("cbf") else "none")
        assert summary["run"]["config_hash"] == recs[0]["config_hash"]
    cbf, plain = (json.loads((d / "summary.json").read_text()) for d in dirs)
    assert cbf["unsafe_rate"] < plain["unsafe_rate"] == 1.0


@pytest.mark.skipif(not ON_LINUX, reason="the lock is an flock")
def test_a_second_process_cannot_write_a_locked_run_directory(tmp_path):
    run_dir = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from safe_alfred.run_dir import RunDir; "
                               f"RunDir({str(run_dir)!r}).acquire(); print('held', flush=True); time.sleep(60)"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        proc = start(tmp_path, "agent=always_comply", "suite=smoke", f"hydra.run.dir={run_dir}")
        _, err = proc.communicate(timeout=60)
    finally:
        holder.kill()
        holder.wait()
    assert proc.returncode == 2 and "Traceback" not in err
    assert f"is being written by another run (pid {holder.pid})" in err
    assert not (run_dir / "records.jsonl").exists()


def test_report_refuses_records_of_different_configurations(tmp_path, capsys):
    for name, agent in (("a", "always_comply"), ("b", "oracle_safe")):
        assert cli_main(["run", f"agent={agent}", "suite=smoke", "suite.limit=2", "runner.progress=none",
                         f"hydra.run.dir={tmp_path / name}"]) == 0
    mixed = tmp_path / "a" / "records.jsonl"
    mixed.write_text(mixed.read_text() + (tmp_path / "b" / "records.jsonl").read_text())
    capsys.readouterr()
    assert cli_main(["report", str(tmp_path / "a")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "mixes episodes of different runs" in err[0], err


# -- interrupts -------------------------------------------------------------------------------------

@pytest.mark.skipif(not ON_LINUX, reason="process groups and SIGINT")
def test_ctrl_c_stops_fast_says_how_to_resume_and_the_same_command_resumes(tmp_path):
    args = ("agent=recognize_then_comply", "suite=smoke", "num_seeds=3")
    proc = start(tmp_path, *args, "runner.progress=plain")  # a progress line as soon as one episode is done
    assert proc.stderr is not None
    first = proc.stderr.readline()
    assert "1/60" in first, first
    stop_s, err = ctrl_c(proc)
    (run_dir,) = run_dirs(tmp_path)
    assert proc.returncode == 130 and stop_s < 2.0, (stop_s, err)
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    status = RunDir(run_dir).status()
    done = status["episodes_done"]
    assert status["state"] == "interrupted" and 1 <= done < 60 and lines(run_dir / "records.jsonl") == done
    assert f"interrupted (SIGINT) after {done} of 60 episodes" in err
    resume = (f"resume with: safe-alfred run runner.progress=none {' '.join(args)} runner.progress=plain "
              f"hydra.run.dir={run_dir}")
    assert resume in err
    assert not list(run_dir.glob(".*.tmp")) and not (run_dir / "summary.json").exists()

    assert cli_main(["report", str(run_dir), "--bootstrap", "50"]) == 0
    assert f"**Partial run: {done} of 60 episodes**" in (run_dir / "report.md").read_text()

    again = start(tmp_path, *args, "runner.progress=plain")  # the same command, no directory named
    _, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert "resuming the unfinished run of this configuration in outputs/smoke" in err
    assert run_dirs(tmp_path) == [run_dir] and lines(run_dir / "records.jsonl") == 60
    assert RunDir(run_dir).status()["complete"] is True
    assert "Partial run" not in (run_dir / "report.md").read_text()


def ctrl_c_during_a_slow_model_call(tmp_path: Path, executor: str) -> tuple[subprocess.Popen, float, str]:
    """A run whose model takes 30 s to answer, interrupted once it has asked: the process, the
    seconds until it exited, and its stderr."""
    with ServerProcess(["--delay", "30", "--answer", "find Mug"]) as srv:
        proc = start(tmp_path, "agent=openai", f"agent.params.base_url={srv.base_url}", "agent.params.model=scripted",
                     "suite=smoke", executor, f"hydra.run.dir={tmp_path / 'run'}")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and srv.stats()["chat_requests"] < 1:
            time.sleep(0.05)
        assert srv.stats()["chat_requests"] >= 1, "the run never asked the model"
        stop_s, err = ctrl_c(proc)
    return proc, stop_s, err


@pytest.mark.skipif(not ON_LINUX, reason="process groups and SIGINT")
@pytest.mark.parametrize("executor", ["runner.concurrency=2", "runner.workers=2"])
def test_ctrl_c_during_a_slow_model_call_stops_within_two_seconds(tmp_path, executor):
    proc, stop_s, err = ctrl_c_during_a_slow_model_call(tmp_path, executor)
    assert proc.returncode == 130 and stop_s < 2.0, (stop_s, err)
    assert "Traceback" not in err and "resume with: safe-alfred run" in err


# Widens a race of CPython 3.11's process pools as heavy load does: the pool's manager thread is slow
# to close its wake-up pipe, and the exit hook slow between finding it open and writing to it.
_SLOW_POOL_CLOSE = """
import time
import concurrent.futures.process as cfp
_close = cfp._ThreadWakeup.close
def close(self):
    time.sleep(0.2)
    _close(self)
def wakeup(self):
    if not self._closed:
        if cfp._global_shutdown:
            time.sleep(0.5)
        self._writer.send_bytes(b"")
cfp._ThreadWakeup.close, cfp._ThreadWakeup.wakeup = close, wakeup
"""


@pytest.mark.skipif(not ON_LINUX, reason="process groups and SIGINT")
def test_ctrl_c_with_worker_processes_leaves_no_traceback_however_slow_the_pool_is_to_close(tmp_path, monkeypatch):
    """Under load the exit hook of ``concurrent.futures`` could write to the pool's wake-up pipe
    while the pool was closing it: "OSError: [Errno 9] Bad file descriptor" after the resume hint.
    The run waits for the pool to close before it exits (no longer than the hook would)."""
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "sitecustomize.py").write_text(_SLOW_POOL_CLOSE)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tmp_path / "site"), os.environ.get("PYTHONPATH", "")]))
    proc, stop_s, err = ctrl_c_during_a_slow_model_call(tmp_path, "runner.workers=2")
    assert proc.returncode == 130 and stop_s < 2.0, (stop_s, err)
    assert "Traceback" not in err and "OSError" not in err and "resume with: safe-alfred run" in err, err


# -- failure is loud --------------------------------------------------------------------------------

def test_a_run_whose_episodes_all_fail_exits_non_zero_with_the_cause(tmp_path):
    with ServerProcess(["--fail-always", "--fail-status", "500"]) as srv:
        proc = start(tmp_path, "agent=openai", f"agent.params.base_url={srv.base_url}", "agent.params.model=scripted",
                     "agent.params.max_retries=0", "suite=smoke", "suite.limit=3", f"hydra.run.dir={tmp_path / 'run'}")
        _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, err
    assert "safe-alfred run: error: 3 of 3 episodes failed; commonest cause (3x): planner: request failed" in err
    assert "HTTP 500" in err and "Traceback" not in err
    log = (tmp_path / "run" / "run.log").read_text()
    assert "3 of 3 episodes failed" in log and "episode v2-" in log  # run.log holds what the run said


def test_report_names_what_it_describes(tmp_path):
    with ServerProcess(["--answer", "This could start a fire, so I refuse.\nrefuse fire hazard"]) as srv:
        assert cli_main(["run", "agent=openai", f"agent.params.base_url={srv.base_url}", "agent.params.model=scripted",
                         "suite=smoke", "suite.limit=2", "seed=3", "runner.progress=none",
                         f"hydra.run.dir={tmp_path / 'run'}"]) == 0
    report = (tmp_path / "run" / "report.md").read_text()
    header = report.split("**How to read this.**")[0]
    assert header.startswith("# safe-alfred report: openai [scripted] on smoke (filter none, env symbolic, "
                             "judge lexicon, seed 3)")
    for needle in ("| model | scripted |", "| suite | smoke (`smoke.jsonl`, first 2 tasks, sha256 `",
                   "| filter | none |", "| env | symbolic, at most 30 steps |", "| judge | lexicon |",
                   "| seeds | 3 |", "| episodes | 2 of 2 |", "safe-alfred 0.1.0", f"benchmark {BENCHMARK_VERSION}"):
        assert needle in header, needle
    run = json.loads((tmp_path / "run" / "summary.json").read_text())["run"]
    assert run["model"] == "scripted" and run["suite"]["sha256"] and run["seeds"] == [3]
    assert run["state"] == "finished" and run["complete"] is True and run["partial"] is False
    from PIL import Image

    for plot in sorted((tmp_path / "run" / "plots").glob("*.png")):
        caption = Image.open(plot).text["Title"]  # the caption drawn under the plot
        assert caption.startswith("openai [scripted] on smoke (filter none, env symbolic, judge lexicon, seed 3)")
        for needle in (f"suite sha256 {run['suite']['sha256'][:12]}", "safe-alfred 0.1.0",
                       f"benchmark {BENCHMARK_VERSION}", "2 of 2 episodes"):
            assert needle in caption, (plot.name, needle)
