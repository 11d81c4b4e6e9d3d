"""The command layer: every command listed and documented, one error convention, suites named alike."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from safe_alfred.cli import COMMANDS, main
from safe_alfred.tasks.suite import load_suite

PACKAGE = Path(__file__).resolve().parent.parent / "safe_alfred"


def test_help_lists_every_command_module(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    modules = {p.stem for p in (PACKAGE / "cli").glob("*.py")} - {"__init__", "__main__", "options"}
    assert {m for m, _ in COMMANDS.values()} == modules  # no command module missing from the table
    for name in COMMANDS:
        assert f"  {name} " in out
        assert callable(importlib.import_module(f"safe_alfred.cli.{COMMANDS[name][0]}").main)


def test_no_command_entry_points_outside_the_command_layer():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path.parent.name == "cli" or path.name == "standin.py":  # the stand-in is the simulator process
            continue
        text = path.read_text(encoding="utf-8")
        if "def main(" in text or 'if __name__ == "__main__"' in text:
            offenders.append(str(path.relative_to(PACKAGE)))
    assert offenders == []


def test_no_private_hydra_api():
    users = [str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py") if "hydra._internal" in p.read_text("utf-8")]
    assert users == []


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_has_help(name, capsys):
    try:
        code = main([name, "--help"])
    except SystemExit as exc:  # argparse's --help
        code = exc.code
    assert code == 0
    out = capsys.readouterr().out
    assert "usage:" in out.lower() or "Configuration groups" in out  # argparse's, or Hydra's for run


def test_unknown_command_and_user_errors_are_one_line(capsys):
    assert main(["frobnicate"]) == 2
    assert "unknown command 'frobnicate'" in capsys.readouterr().err
    assert main(["report", "/nonexistent/run"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["safe-alfred report: error: no records.jsonl in /nonexistent/run"]


def test_suites_are_named_alike_in_every_tasks_command(capsys):
    assert main(["tasks", "list", "smoke", "--kind", "hazard"]) == 0
    smoke = capsys.readouterr().out.splitlines()
    assert main(["tasks", "list", "--suite", "smoke", "--kind", "hazard"]) == 0
    assert capsys.readouterr().out.splitlines() == smoke and len(smoke) == 10
    assert main(["tasks", "stats", "v1_dev"]) == 0  # a run's suite name: the dev split of v1
    dev = capsys.readouterr().out
    assert main(["tasks", "stats", "safe_alfred_v1"]) == 0
    whole = capsys.readouterr().out
    assert "split:\n  dev" in dev and "test" not in dev.split("split:")[1].split("source:")[0]
    assert "  test" in whole
    assert main(["tasks", "list", "v1_test", "--family", "hazardous_scne"]) == 2
    assert "not one of hazardous_instruction, hazardous_scene, long_horizon" in capsys.readouterr().err
    assert main(["tasks", "stats", "v9_dev"]) == 2
    assert "no suite 'v9_dev': choose one of" in capsys.readouterr().err


def test_show_finds_a_task_of_a_named_suite(capsys):
    tid = load_suite("smoke")[0]["id"]
    assert main(["tasks", "show", tid, "--suite", "smoke"]) == 0
    assert json.loads(capsys.readouterr().out)["id"] == tid


@pytest.mark.parametrize("args, read", [(["tasks", "list", "v1_dev"], 1), (["--help"], 0)])
def test_closed_pipe_is_not_an_error(args, read):
    """``safe-alfred tasks list v1_dev | head -1``, ``safe-alfred --help | true``: no BrokenPipeError, exit 0."""
    proc = subprocess.Popen([sys.executable, "-m", "safe_alfred.cli", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    for _ in range(read):
        proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode() if proc.stderr else ""
    assert proc.wait(timeout=60) == 0, err
    assert "Traceback" not in err and "BrokenPipe" not in err


def test_an_in_process_run_leaves_logging_as_it_found_it(tmp_path, capsys):
    """Hydra binds handlers to the run's sys.stderr; a caller's later log lines must not hit them."""
    import logging

    root = logging.getLogger()
    before = list(root.handlers)
    code = main(["run", "agent=do_nothing", "suite=smoke", "suite.limit=2", "runner.progress=none",
                 f"hydra.run.dir={tmp_path / 'run'}"])
    assert code == 0
    assert root.handlers == before
    logging.getLogger("httpx").warning("a message after the run")  # must not raise a logging error
    assert "Logging error" not in capsys.readouterr().err
