"""A local model in the runner: one planner shared by the async slots, batched, with the same records
as a serial run, and the planner-health section in the report."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("tokenizers")

from tiny_lm import tiny_model  # noqa: E402

from safe_alfred.agents import hf_planner  # noqa: E402
from safe_alfred.runner.config import (  # noqa: E402
    AgentConfig,
    EnvConfig,
    ProgressMode,
    RunConfig,
    RunnerConfig,
    SuiteConfig,
)
from safe_alfred.runner.execute import run_experiment  # noqa: E402


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("tiny-byte-bpe")
    model, tok = tiny_model()
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path


def _cfg(model_dir, concurrency: int) -> RunConfig:
    agent = AgentConfig(kind="hf", params={"model_path": str(model_dir), "action": "constrained", "device": "cpu",
                                           "max_reasoning_tokens": 4, "batch_wait_s": 0.2})
    return RunConfig(agent=agent, env=EnvConfig(max_steps=3), suite=SuiteConfig(name="smoke", path="smoke.jsonl", limit=4),
                     runner=RunnerConfig(concurrency=concurrency, progress=ProgressMode.none))


def test_concurrent_episodes_share_one_batched_planner_and_match_a_serial_run(model_dir, tmp_path, monkeypatch):
    built = []
    init = hf_planner.HFPlanner.__init__

    def counting(self, *a, **kw):
        built.append(self)
        init(self, *a, **kw)

    monkeypatch.setattr(hf_planner.HFPlanner, "__init__", counting)
    serial = run_experiment(_cfg(model_dir, 1), tmp_path / "serial")
    batched = run_experiment(_cfg(model_dir, 4), tmp_path / "batched")
    assert len(built) == 2  # one model load per run, not one per async slot
    assert max(built[1]._batcher.batch_sizes) > 1
    assert [r["trajectory_hash"] for r in serial.records] == [r["trajectory_hash"] for r in batched.records]
    health = json.loads((tmp_path / "batched" / "summary.json").read_text())["planner_health"]
    assert health["parse_errors"] == 0 and health["selection"] == {"constrained": health["calls"]}
    assert health["calls"] == sum(len(r["decisions"]) for r in batched.records)
    assert health["tokens_in_per_call"] > 100
    report = (tmp_path / "batched" / "report.md").read_text()
    assert "## Planner health" in report and "| parse errors | 0 (0.0% of calls) |" in report
