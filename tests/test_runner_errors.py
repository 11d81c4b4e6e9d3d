"""User mistakes end in one clear line on stderr and a non-zero exit, never a traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest

from safe_alfred.cli import main as cli_main


def main(args: list[str]) -> int:
    return cli_main(["run", *args])


def assert_one_line_error(code: int, err: str, *needles: str) -> None:
    assert code != 0
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("safe-alfred run: error: ")
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.mark.parametrize(("args", "needles"), [
    (["agent=gpt5"], ["agent/gpt5", "available:", "oracle_safe"]),
    (["suite=nope"], ["suite/nope", "smoke"]),
    (["hydra/launcher=slurmish"], ["hydra/launcher/slurmish", "submitit_slurm"]),
    (["runner.workers=abc"], ["runner.workers=abc", "Integer"]),
    (["env.backend=unreal"], ["unreal", "thor_standin"]),
    (["env.bogus=1"], ["bogus"]),
    (["agent=["], ["bad override"]),
    (["agent=oracle_safe,random"], ["-m"]),
    (["agent=openai"], ["agent.params.model"]),
    (["suite.path=/nonexistent/tasks.jsonl"], ["task file not found", "/nonexistent/tasks.jsonl"]),
    (["suite=v1_dev", "suite.split=holdout"], ["has no tasks"]),
    (["filter=cbf", "filter.gamma=3"], ["filter.gamma"]),
])
def test_bad_input_gives_one_line(capsys, tmp_path, args, needles):
    code = main([*args, f"hydra.run.dir={tmp_path / 'run'}"])
    assert_one_line_error(code, capsys.readouterr().err, *needles)
    assert not (tmp_path / "run").exists()  # nothing started


def test_malformed_task_file(capsys, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "t1", "family": "hazardous_instruction"}\n{not json\n')
    code = main([f"suite.path={bad}", f"hydra.run.dir={tmp_path / 'run'}"])
    assert_one_line_error(code, capsys.readouterr().err, "malformed task file", "bad.jsonl")


def test_multirun_sweep_values_are_checked_before_launching(capsys, tmp_path):
    code = main(["-m", "agent=oracle_safe,gpt5", f"hydra.sweep.dir={tmp_path / 'sweep'}"])
    assert_one_line_error(code, capsys.readouterr().err, "agent/gpt5")
    assert not (tmp_path / "sweep").exists()


def test_console_script_exit_status(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "safe_alfred.cli", "run", "agent=gpt5"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert_one_line_error(proc.returncode, proc.stderr, "agent/gpt5")


# -- nonsense values, ungrounded tasks and disk faults ----------------------------------------------

@pytest.mark.parametrize(("args", "needle"), [
    (["env.max_steps=0"], "env.max_steps must be at least 1, got 0"),
    (["env.max_steps=-5"], "env.max_steps must be at least 1, got -5"),
    (["num_seeds=0"], "num_seeds must be at least 1, got 0"),
    (["num_seeds=-1"], "num_seeds must be at least 1, got -1"),
    (["suite.limit=-1"], "suite.limit must be at least 1 (or null for every task), got -1"),
    (["suite.limit=0"], "suite.limit must be at least 1"),
    (["seed=-1"], "seed must be 0 or more, got -1"),
    (["+foo=1"], "unknown config key 'foo'"),
    (["+env.bar=1"], "unknown config key 'env.bar'"),
    (["env.scene=NoSuchScene"], "env.scene: unknown iTHOR scene 'NoSuchScene'"),
    (["agent.max_output_chars=0"], "agent.max_output_chars must be between 1 and 200000"),
    (["+env.backend_options.bogus=1"], "env.backend_options: symbolic does not take bogus (it takes none)"),
    (["env=thor_standin", "+env.backend_options.widht=160"], "thor_standin does not take widht (it takes "),
    (["runner.output_dir=elsewhere"], "runner.output_dir is set by the runner; choose the run directory with "
                                      "hydra.run.dir=DIR"),
    (["judge.also=[lexicon,lexcon]"], "unknown judge 'lexcon'"),
])
def test_nonsense_values_are_refused_before_the_first_episode(capsys, tmp_path, args, needle):
    code = main([*args, f"hydra.run.dir={tmp_path / 'run'}"])
    assert_one_line_error(code, capsys.readouterr().err, needle)
    assert not (tmp_path / "run").exists()


def _one_task_file(tmp_path, **changes) -> str:
    import json

    from safe_alfred.tasks.suite import load_suite

    task = dict(next(t for t in load_suite("smoke") if t["kind"] == "safe"), twin_id=None, **changes)
    path = tmp_path / "tasks.jsonl"
    path.write_text(json.dumps(task) + "\n")
    return str(path)


@pytest.mark.parametrize(("changes", "needle"), [
    ({"scene": "FloorPlan999"}, "scene 'FloorPlan999' is not one of the 120 iTHOR scenes"),
    ({"goal": {"all": [{"fact": "in_receptacle", "types": ["Television"], "receptacle_types": ["Microwave"]}]}},
     "goal.all[0].types: FloorPlan1 holds no Television"),
    ({"reference_plan": ["find Toilet", "done"]}, "reference_plan[0] 'find Toilet': FloorPlan1 holds no Toilet"),
])
def test_tasks_naming_what_their_scene_lacks_are_refused(capsys, tmp_path, changes, needle):
    from safe_alfred.cli import main as cli

    path = _one_task_file(tmp_path, **changes)
    code = main([f"suite.path={path}", f"hydra.run.dir={tmp_path / 'run'}"])
    assert_one_line_error(code, capsys.readouterr().err, "1 task(s) cannot run as written", needle)
    assert not (tmp_path / "run").exists()
    assert cli(["tasks", "validate", path]) == 1
    assert needle in capsys.readouterr().out


def test_an_unwritable_run_directory_is_one_line(capsys, tmp_path):
    (tmp_path / "a-file").write_text("")
    code = main(["suite.limit=1", f"hydra.run.dir={tmp_path / 'a-file' / 'run'}"])
    assert_one_line_error(code, capsys.readouterr().err, f"cannot write {tmp_path / 'a-file' / 'run'}: Not a directory")


def test_a_full_disk_stops_the_run_in_one_line_and_the_run_resumes_exactly(tmp_path):
    import json
    import resource

    def run(out, limit=None):
        def cap() -> None:  # writes past this size fail with EFBIG, as on a full disk
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

        return subprocess.run([sys.executable, "-m", "safe_alfred.cli", "run", "agent=recognize_then_comply",
                               "suite=smoke", f"hydra.run.dir={out}", "runner.progress=none"],
                              capture_output=True, text=True, timeout=180, preexec_fn=cap if limit else None)

    out = tmp_path / "run"
    full = run(out, limit=40_000)
    assert full.returncode == 2
    assert_one_line_error(full.returncode, full.stderr, f"cannot write {out / 'records.jsonl'}: File too large",
                          "run the same command again to resume")
    kept = (out / "records.jsonl").read_bytes().count(b"\n")
    assert 0 < kept < 20 and not (out / "summary.json").exists()
    again = run(out)
    assert again.returncode == 0, again.stderr[-2000:]
    assert f"20 episodes ({kept} resumed)" in again.stderr
    fresh = run(tmp_path / "fresh")
    assert fresh.returncode == 0

    def trajectories(d):
        return sorted((r["task"]["id"], r["seed"], r["trajectory_hash"], r["outcome"]["label"])
                      for r in map(json.loads, (d / "records.jsonl").read_text().splitlines()))

    assert trajectories(out) == trajectories(tmp_path / "fresh")  # nothing lost, nothing twice
    assert json.loads((out / "summary.json").read_text())["episodes"] == 20


def test_summary_and_report_are_replaced_whole_or_not_at_all(tmp_path, monkeypatch):
    import errno
    import os

    from safe_alfred.errors import DiskError
    from safe_alfred.run_dir import RunDir

    rd = RunDir(tmp_path)
    rd.write_report("old report\n")

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)  # the new file cannot be made durable: keep the old one
    with pytest.raises(DiskError, match="cannot write .*report.md: No space left on device"):
        rd.write_report("new report\n")
    assert (tmp_path / "report.md").read_text() == "old report\n"
    assert [p.name for p in tmp_path.iterdir()] == ["report.md"]  # no temporary file left behind
