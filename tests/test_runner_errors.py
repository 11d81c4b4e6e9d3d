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
