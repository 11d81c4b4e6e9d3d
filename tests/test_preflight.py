"""Preflight: every missing part of a run is named in one line, exit 2, before any episode or file."""

from __future__ import annotations

import importlib.util
import json

import httpx
import pytest

from safe_alfred.agents.scripted_server import ServerProcess
from safe_alfred.cli import main as cli_main


def one_line_error(capsys, code: int, command: str = "run") -> str:
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert code == 2 and len(err) == 1 and err[0].startswith(f"safe-alfred {command}: error: "), err
    return err[0]


def run(tmp_path, *args: str) -> int:
    return cli_main(["run", *args, f"hydra.run.dir={tmp_path / 'run'}"])


@pytest.fixture(scope="module")
def server():
    with ServerProcess(["--answer", "done"]) as srv:
        yield srv


def test_thor_without_a_unity_build(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.ai2thor/releases

    def offline(*args, **kwargs):
        raise httpx.ConnectError("Name or service not known")

    monkeypatch.setattr(httpx, "head", offline)  # and no network to download the build from
    line = one_line_error(capsys, run(tmp_path, "env=thor", "suite=smoke"))
    assert "env=thor: no AI2-THOR Unity build for commit f0825767" in line and "env=thor_standin" in line
    assert not (tmp_path / "run").exists()
    line = one_line_error(capsys, run(tmp_path, "env=thor", "+env.backend_options.local_executable_path=/no/unity"))
    assert "/no/unity is not an executable file" in line


def test_model_server_down_or_without_the_model(tmp_path, capsys, server):
    line = one_line_error(capsys, run(tmp_path, "agent=openai", "agent.params.base_url=http://127.0.0.1:9/v1",
                                      "agent.params.model=m"))
    assert "agent=openai: cannot reach the model server at http://127.0.0.1:9/v1 (connection refused)" in line
    line = one_line_error(capsys, run(tmp_path, "agent=openai", f"agent.params.base_url={server.base_url}",
                                      "agent.params.model=Qwen/Qwen2.5-7B-Instruct"))
    assert "does not serve model 'Qwen/Qwen2.5-7B-Instruct' (it serves: scripted)" in line
    wrong = server.base_url.rsplit("/v1", 1)[0] + "/api"  # a web server, but no chat API at that path
    line = one_line_error(capsys, run(tmp_path, "agent=openai", f"agent.params.base_url={wrong}", "agent.params.model=m"))
    assert f"agent=openai: no OpenAI-compatible chat API at {wrong} (HTTP 404 for /models and /chat/completions" in line
    line = one_line_error(capsys, run(tmp_path, "judge=llm", "judge.options.base_url=http://127.0.0.1:9/v1",
                                      "judge.options.model=m"))
    assert line.startswith("safe-alfred run: error: judge=llm: cannot reach the model server")
    assert not (tmp_path / "run").exists()


def test_missing_model_file(tmp_path, capsys):
    line = one_line_error(capsys, run(tmp_path, "agent=hf", f"agent.params.model_path={tmp_path / 'no-model'}"))
    assert f"agent=hf: no model at {tmp_path / 'no-model'}" in line


def test_missing_extra(tmp_path, monkeypatch, capsys):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "sentence_transformers" else real(name, *a))
    line = one_line_error(capsys, run(tmp_path, "judge=embedding"))
    assert "judge=embedding needs the [embed] extra (sentence_transformers is not installed)" in line


def test_misspelt_planner_setting(tmp_path, capsys):
    line = one_line_error(capsys, run(tmp_path, "agent=random", "+agent.params.random_plan_lenght=3"))
    assert "unknown agent.params random_plan_lenght" in line


def test_judge_command_checks_its_server_first(tmp_path, capsys):
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"id": 1, "instruction": "x", "hazard": "fire", "trace": "it could burn"}) + "\n")
    code = cli_main(["judge", str(src), "--judge", "llm", "--judge-option", "base_url=http://127.0.0.1:9/v1",
                     "--judge-option", "model=m"])
    assert "cannot reach the model server" in one_line_error(capsys, code, "judge")
