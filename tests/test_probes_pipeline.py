"""Hidden-state probes end to end: a tiny random Llama (built from a config, tokenizer trained in
memory) plays smoke episodes through the hf planner and the collector, then train, score, select
and plot run over the collected states. The model's outputs are scripted with a logits processor
(random weights would only write word salad), so episodes refuse or comply on purpose."""

from __future__ import annotations

import json
import math

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytest.importorskip("tokenizers")
pytest.importorskip("safetensors")

from safe_alfred.agents.base import PlannerInput  # noqa: E402
from safe_alfred.agents.hf_planner import FALLBACK_CHAT_TEMPLATE, HFPlanner  # noqa: E402
from safe_alfred.agents.prompts import PromptTemplates  # noqa: E402
from safe_alfred.cli.probe import main as probe_main  # noqa: E402
from safe_alfred.envs.safe_alfred_env import SafeAlfredEnv  # noqa: E402
from safe_alfred.judges.registry import make_judge  # noqa: E402
from safe_alfred.metrics.judging import judge_record  # noqa: E402
from safe_alfred.probes import HIDDEN_STATES_DIR, HiddenStateCollector, episode_dir_name, maybe_collect  # noqa: E402
from safe_alfred.probes.collect import episode_index, find_boundaries, iter_episode_indexes  # noqa: E402
from safe_alfred.probes.fingerprint import model_fingerprint  # noqa: E402
from safe_alfred.probes.probe import RefusalProbe  # noqa: E402
from safe_alfred.probes.scoring import build_dataset, read_scores  # noqa: E402
from safe_alfred.records import append_record  # noqa: E402
from safe_alfred.runner.episode import run_episode  # noqa: E402
from safe_alfred.tasks.suite import load_suite  # noqa: E402

LAYERS = [1, -1]  # -1 resolves to 2, the last block's output


class Script(transformers.LogitsProcessor):
    """Force the generated tokens to ``ids`` and then end-of-sequence."""

    def __init__(self, ids: list[int], eos: int) -> None:
        self.ids, self.eos, self.start = ids, eos, None

    def __call__(self, input_ids, scores):
        if self.start is None:
            self.start = input_ids.shape[1]
        t = input_ids.shape[1] - self.start
        forced = torch.full_like(scores, -math.inf)
        forced[:, self.ids[t] if t < len(self.ids) else self.eos] = 0.0
        return forced

    def to_dict(self) -> dict:  # the planner's settings (with this processor) go into the record
        return {"scripted_tokens": len(self.ids)}


def _tokenizer(tasks: list[dict]):
    from tokenizers import AddedToken, Tokenizer, models, pre_tokenizers, trainers

    t = PromptTemplates.load("default")
    inp = PlannerInput("x", "You see Fork", admissible_skills=["find Fork"])
    corpus = [t.system(), t.user(inp, "open_loop"), t.user(inp, "closed_loop"), FALLBACK_CHAT_TEMPLATE]
    for task in tasks:
        corpus += [task["instruction"], " ".join(task["reference_plan"]), json.dumps(task.get("hazard") or {})]
    corpus += ["this is dangerous it looks fine the will catch refuse hazard ok"]
    tok = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(corpus, trainers.WordLevelTrainer(special_tokens=["[UNK]", "[PAD]", "[EOS]"]))
    tok.add_tokens([AddedToken(s, normalized=False) for s in ("<think>", "</think>", "\n")])
    return transformers.PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]",
                                                eos_token="[EOS]")


def _planner(tasks: list[dict], seed: int = 0) -> HFPlanner:
    tok = _tokenizer(tasks)
    config = transformers.LlamaConfig(
        vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096,
        eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
    )  # fmt: skip
    torch.manual_seed(seed)
    model = transformers.LlamaForCausalLM(config)
    return HFPlanner(model=model, tokenizer=tok, name="hf:tiny", mode="open_loop", device="cpu",
                     max_new_tokens=80)


REFUSE = "<think> the {obj} will catch fire this is dangerous </think> \n refuse {hazard}"
COMPLY = "<think> it looks fine ok </think> \n {plan}"


def _script(task: dict, refuse: bool) -> str:
    if refuse:
        return REFUSE.format(obj=task["reference_plan"][0].split()[-1], hazard="fire hazard")
    return COMPLY.format(plan=" \n ".join([*task["reference_plan"], "done"]))


# hazard tasks: refuse 3, comply 2; safe twins: comply 4, over-refuse 1
BEHAVIOUR = {0: True, 2: True, 6: True, 4: False, 10: False, 1: False, 3: False, 7: False, 11: False, 9: True}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A run directory with records.jsonl and collected hidden states for ten smoke episodes."""
    tasks = load_suite("smoke")
    run_dir = tmp_path_factory.mktemp("run")
    planner = _planner(tasks)
    collector = maybe_collect(planner, run_dir, collect_hidden_states=True, layers=LAYERS)
    assert isinstance(collector, HiddenStateCollector)
    judge = make_judge("lexicon")
    env = SafeAlfredEnv()
    records = []
    for i, refuse in BEHAVIOUR.items():
        task = tasks[i]
        ids = planner.tokenizer(_script(task, refuse), add_special_tokens=False)["input_ids"]
        planner.generate_kwargs = {"logits_processor": transformers.LogitsProcessorList(
            [Script(ids, planner.tokenizer.eos_token_id)])}
        rec = judge_record(run_episode(env, collector, task, seed=0, max_steps=12), judge)
        append_record(run_dir / "records.jsonl", rec)
        records.append(rec)
    env.close()
    return {"dir": run_dir, "records": records, "planner": planner, "collector": collector, "tasks": tasks}


def test_behaviour_is_as_scripted(run):
    for (i, refuse), rec in zip(BEHAVIOUR.items(), run["records"], strict=True):
        assert rec["error"] is None, rec["error"]
        assert rec["refused"] == refuse, (i, rec["outcome"])
    labels = [r["outcome"]["label"] for r in run["records"]]
    assert "unsafe" in labels and "safe" in labels and "over_refusal" in labels


def test_collector_writes_states_and_index_beside_the_run(run):
    run_dir, rec = run["dir"], run["records"][0]
    assert "hidden" not in json.dumps(rec["decisions"])  # nothing of the states inside the record
    assert rec["planner"]["hidden_states"]["layers"] == [1, 2]
    found = episode_index(run_dir, rec["episode_key"])
    assert found is not None and found[0].parent == run_dir / HIDDEN_STATES_DIR
    d, index = found
    assert d.name == episode_dir_name(rec["episode_key"])
    assert index["model_fingerprint"] == model_fingerprint(run["planner"].model)
    assert index["layers"] == [1, 2] and len(index["calls"]) == 1  # open loop: one call
    call = index["calls"][0]
    from safetensors import safe_open

    with safe_open(str(d / call["file"]), framework="pt") as f:
        assert sorted(f.keys()) == ["layer_1", "layer_2"]
        t = f.get_tensor("layer_2")
    assert t.dtype == torch.float16 and tuple(t.shape) == (call["n_positions"], 32)
    assert len(call["token_ids"]) == call["n_positions"]
    # the scripted answer: "<think> the X will catch fire this is dangerous </think> \n refuse ..."
    tok = run["planner"].tokenizer
    gen = call["generation_start"]
    assert tok.convert_ids_to_tokens(call["token_ids"][gen]) == "<think>"
    assert call["boundary"] == "think" and call["reasoning_start"] == gen + 1
    assert tok.convert_ids_to_tokens(call["token_ids"][call["answer_start"] - 1]) == "</think>"
    assert call["feature_position"] == call["answer_start"] - 1 == gen + 9
    assert [m["role"] for m in call["messages"]] == ["system", "user"]
    assert rec["task"]["instruction"] in call["messages"][1]["content"]
    # stored states equal a fresh forward pass over the same tokens (up to float16 rounding)
    with torch.no_grad():
        ref = run["planner"].model(input_ids=torch.tensor([call["token_ids"]]), output_hidden_states=True)
    assert torch.allclose(t.float(), ref.hidden_states[2][0], atol=2e-2, rtol=1e-2)
    assert len(list(iter_episode_indexes(run_dir))) == len(BEHAVIOUR)


def test_boundaries_without_tags_and_unterminated(run):
    tok = run["planner"].tokenizer
    prompt = tok("find Mug", add_special_tokens=False)["input_ids"]
    plain = prompt + tok("pickup Mug \n done", add_special_tokens=False)["input_ids"]
    b = find_boundaries(tok, plain, len(prompt))
    assert b == {"boundary": "none", "reasoning_start": 2, "answer_start": 2, "feature_position": 1}
    cut = prompt + tok("<think> this is", add_special_tokens=False)["input_ids"]
    b = find_boundaries(tok, cut, len(prompt))
    assert b["boundary"] == "unterminated" and b["answer_start"] is None and b["feature_position"] == 4
    closed_only = prompt + tok("fire </think> \n done", add_special_tokens=False)["input_ids"]
    b = find_boundaries(tok, closed_only, len(prompt))  # template opened <think> in the prompt
    assert b["boundary"] == "think" and b["reasoning_start"] == 2 and b["answer_start"] == 4


def test_not_collecting_returns_the_planner_and_non_hf_planners_are_refused(run, tmp_path):
    assert maybe_collect(run["planner"], tmp_path, collect_hidden_states=False) is run["planner"]
    with pytest.raises(TypeError, match="hf planner"):
        HiddenStateCollector(object(), tmp_path)


def test_train_score_select_plot_through_the_cli(run, capsys):
    run_dir = run["dir"]
    x, y, keys, fp = build_dataset(run_dir, 2)
    assert x.shape == (len(BEHAVIOUR), 32) and int(y.sum()) == 4 and fp == run["collector"].fingerprint

    assert probe_main(["train", str(run_dir), "--layer", "2", "--device", "auto"]) == 0
    assert "held-out" in capsys.readouterr().out
    probe_path = run_dir / "probes" / "refusal_probe_layer2.safetensors"
    probe = RefusalProbe.load(probe_path)
    assert probe.layer == 2 and probe.fingerprint == fp
    assert probe.meta["n_train"] + probe.meta["n_test"] == 8  # balanced: 4 refused + 4 of 6 complied
    probe.check_model(run["planner"].model)

    # threshold 0 marks every reasoning as latently recognised, so selection has candidates
    assert probe_main(["score", str(run_dir), "--threshold", "0"]) == 0
    rows = read_scores(run_dir / "probe_scores.jsonl")
    assert len(rows) == len(BEHAVIOUR)
    for row in rows:
        assert row["boundary"] == "think" and row["latent_recognized"]
        assert row["cliff"] == pytest.approx(row["peak"] - row["final"]) and row["cliff"] >= 0
        region = row["curve"][row["reasoning_offset"]: row["answer_offset"]]
        assert max(region) == pytest.approx(row["peak"], abs=1e-4)
        assert region[-1] == pytest.approx(row["final"], abs=1e-4)
    assert {r["outcome"] for r in rows} >= {"unsafe", "safe", "over_refusal"}
    report = (run_dir / "probe_report.md").read_text()
    assert "| latent (probe) | text (judge) | action | episodes |" in report
    cells = [line for line in report.splitlines() if line.startswith("| yes |") or line.startswith("| no |")]
    assert len(cells) == 8 and sum(int(c.rsplit("|", 2)[1]) for c in cells) == 5  # five hazard episodes
    for png in ("probe_refusal_curves.png", "probe_cliff_histogram.png"):
        data = (run_dir / png).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000

    out = run_dir / "ft.jsonl"
    assert probe_main(["select", str(run_dir), "--k", "3", "--out", str(out), "--include-refused"]) == 0
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    meta = [json.loads(line) for line in out.with_suffix(".meta.jsonl").read_text().splitlines()]
    assert len(lines) == len(meta) == 3
    hazard_rows = sorted((r for r in rows if r["kind"] == "hazard"), key=lambda r: (-r["cliff"], r["episode_key"]))
    assert [m["episode_key"] for m in meta] == [r["episode_key"] for r in hazard_rows[:3]]
    by_key = {r["episode_key"]: r for r in run["records"]}
    for ex, m in zip(lines, meta, strict=True):
        roles = [msg["role"] for msg in ex["messages"]]
        assert roles == ["system", "user", "assistant"]
        assert all(isinstance(msg["content"], str) and msg["content"] for msg in ex["messages"])
        answer = ex["messages"][2]["content"]
        hazard = by_key[m["episode_key"]]["task"]["hazard"]["description"]
        assert answer.startswith("<think>") and answer.endswith(f"</think>\nrefuse {hazard}")
        assert by_key[m["episode_key"]]["task"]["instruction"] in ex["messages"][1]["content"]
    # cutting the reasoning by tokens (tokenizer given) keeps the same text up to the peak
    from safe_alfred.probes.select import export_finetune

    by_tokens = export_finetune(rows, run["records"], run_dir, run_dir / "ft_tok.jsonl", 3,
                                tokenizer=run["planner"].tokenizer, include_refused=True)
    assert len(by_tokens) == 3
    for ex in by_tokens:
        kept = ex["messages"][2]["content"].split("</think>")[0].removeprefix("<think>")
        assert kept and "</think>" not in kept and "<think>" not in kept


def test_fingerprint_mismatch_is_refused(run, tmp_path, capsys):
    run_dir = run["dir"]
    x, y, _, fp = build_dataset(run_dir, 1)
    from safe_alfred.probes.probe import train_probe

    other = _planner(run["tasks"], seed=1).model
    assert model_fingerprint(other) != fp
    probe = train_probe(x, y, layer=1, fingerprint=model_fingerprint(other), device="cpu")
    path = tmp_path / "other.safetensors"
    probe.save(path)
    assert probe_main(["score", str(run_dir), "--probe", str(path), "--no-plots"]) == 3
    assert "refused" in capsys.readouterr().err
    from safe_alfred.probes import FingerprintMismatch

    with pytest.raises(FingerprintMismatch):
        RefusalProbe.load(path).check_model(run["planner"].model)
