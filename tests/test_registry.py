"""One registry: planners by import path, and parts other packages add through entry points."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from safe_alfred import registry
from safe_alfred.cli import main as cli_main

PLUGIN = '''
from safe_alfred.agents.base import Decision
from safe_alfred.judges.base import Verdict


class Wanderer:
    """Looks at the counter, then stops: implements the planner protocol and nothing else."""

    mode = "closed_loop"

    def __init__(self, looks: int = 1, name: str = "wanderer"):
        self.looks, self.name, self.calls = looks, name, 0

    def reset(self, task=None, seed=None):
        self.calls = 0

    def describe(self):
        return {"name": self.name, "mode": self.mode, "looks": self.looks}

    def act(self, inp):
        self.calls += 1
        return Decision("Looking around.", ["find CounterTop" if self.calls <= self.looks else "done"])


class NotAPlanner:
    def __init__(self, **_):
        pass


def hello(argv):
    print("hello", *argv)
    return 0


class AlwaysJudge:
    name = "always"

    def __init__(self, **_):
        pass

    def judge(self, instruction, hazard, segments, before_step=None, category=None):
        return Verdict(True, 1.0, first_step=0)
'''


@pytest.fixture(scope="module")
def plugin_dir(tmp_path_factory) -> Path:
    """A package and a distribution declaring entry points, importable from PYTHONPATH."""
    root = tmp_path_factory.mktemp("plugin")
    (root / "my_planners.py").write_text(PLUGIN)
    info = root / "my_planners-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: my-planners\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(textwrap.dedent("""\
        [safe_alfred.planners]
        wanderer = my_planners:Wanderer

        [safe_alfred.judges]
        always = my_planners:AlwaysJudge

        [safe_alfred.commands]
        hello = my_planners:hello
        """))
    return root


def run(plugin_dir: Path, tmp_path: Path, *overrides: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(plugin_dir), os.environ.get("PYTHONPATH", "")]))
    return subprocess.run([sys.executable, "-m", "safe_alfred.cli", "run", "suite=smoke", "suite.limit=2",
                           "runner.progress=none", f"hydra.run.dir={tmp_path / 'run'}", *overrides],
                          env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)


def records(tmp_path: Path) -> list[dict]:
    return [json.loads(ln) for ln in (tmp_path / "run" / "records.jsonl").read_text().splitlines()]


def test_custom_planner_by_import_path(plugin_dir, tmp_path):
    proc = run(plugin_dir, tmp_path, "agent=custom", "agent.target=my_planners:Wanderer", "+agent.params.looks=2")
    assert proc.returncode == 0, proc.stderr
    recs = records(tmp_path)
    assert len(recs) == 2
    assert all(r["planner"] == {"name": "wanderer", "mode": "closed_loop", "looks": 2} for r in recs)
    assert all([s["skill"] for s in r["steps"]] == ["find CounterTop"] * 2 + ["done"] for r in recs)


def test_plugins_add_planners_and_judges_through_entry_points(plugin_dir, tmp_path):
    proc = run(plugin_dir, tmp_path, "agent.kind=wanderer", "judge.name=always")
    assert proc.returncode == 0, proc.stderr
    recs = records(tmp_path)
    assert {r["planner"]["name"] for r in recs} == {"wanderer"}
    assert {r["recognition"]["judge"] for r in recs} == {"always"}


@pytest.mark.parametrize(("target", "needle"), [
    ("my_planners:NotAPlanner", "is not a planner: it lacks name, mode, reset, act, describe"),
    ("my_planners:Nowhere", "module my_planners has no Nowhere"),
    ("no_such_package.mod:Planner", "no module no_such_package.mod"),
    ("my_planners.Wanderer", "not an import path of the form package.module:Name"),
])
def test_bad_custom_targets_are_one_line_errors(plugin_dir, tmp_path, monkeypatch, capsys, target, needle):
    monkeypatch.syspath_prepend(str(plugin_dir))
    code = cli_main(["run", "agent=custom", f"agent.target={target}", f"hydra.run.dir={tmp_path / 'run'}"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("safe-alfred run: error: "), err
    assert needle in err[0]
    assert not (tmp_path / "run").exists()


def test_every_group_lists_its_built_ins():
    assert {"oracle_safe", "always_comply", "recognize_then_comply", "random", "openai", "hf"} <= set(
        registry.names("planner"))
    assert {"lexicon", "embedding", "llm"} <= set(registry.names("judge"))
    assert {"symbolic", "thor", "thor_standin"} <= set(registry.names("backend"))
    assert "cbf" in registry.names("filter")


def test_plugins_add_commands(plugin_dir):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(plugin_dir), os.environ.get("PYTHONPATH", "")]))
    listed = subprocess.run([sys.executable, "-m", "safe_alfred.cli", "--help"], env=env, capture_output=True,
                            text=True, timeout=60)
    assert "  hello " in listed.stdout and "(from my_planners)" in listed.stdout
    ran = subprocess.run([sys.executable, "-m", "safe_alfred.cli", "hello", "world"], env=env, capture_output=True,
                         text=True, timeout=60)
    assert ran.returncode == 0 and ran.stdout.strip() == "hello world"
