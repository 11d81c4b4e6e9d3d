"""``safe-alfred run agent=hf agent.collect_hidden_states=true`` stores hidden states beside the run."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")


def _save_tiny_model(path) -> None:
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    corpus = ["find pickup put open close toggle_on toggle_off done refuse Fork Microwave Apple Fridge",
              "You see: Instruction: the a is in on with nothing holding <think> </think>"]
    tok = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(corpus, trainers.WordLevelTrainer(special_tokens=["[UNK]", "[PAD]", "[EOS]"]))
    fast = transformers.PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]",
                                                eos_token="[EOS]")
    config = transformers.LlamaConfig(vocab_size=len(fast), hidden_size=16, intermediate_size=32,
                                      num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1,
                                      max_position_embeddings=8192, eos_token_id=fast.eos_token_id,
                                      pad_token_id=fast.pad_token_id)
    torch.manual_seed(0)
    transformers.LlamaForCausalLM(config).save_pretrained(path)
    fast.save_pretrained(path)


def test_hidden_states_are_collected_by_the_runner(tmp_path):
    model_dir, run_dir = tmp_path / "tiny", tmp_path / "run"
    _save_tiny_model(model_dir)
    cmd = [sys.executable, "-m", "safe_alfred.cli", "run", "agent=hf", f"agent.params.model_path={model_dir}",
           "agent.params.max_new_tokens=8", "agent.params.device=cpu", "agent.collect_hidden_states=true",
           "agent.layers=[1]", "suite=smoke", "suite.limit=2", "env.max_steps=2", f"hydra.run.dir={run_dir}"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    records = [json.loads(line) for line in (run_dir / "records.jsonl").read_text().splitlines()]
    assert len(records) == 2
    indexes = sorted((run_dir / "hidden_states").glob("*/index.json"))
    assert len(indexes) == 2
    index = json.loads(indexes[0].read_text())
    assert index["layers"] == [1] and index["calls"]
    assert list((indexes[0].parent).glob("*.safetensors"))


def test_collecting_hidden_states_needs_the_hf_planner(tmp_path):
    cmd = [sys.executable, "-m", "safe_alfred.cli", "run", "agent=always_comply", "agent.collect_hidden_states=true",
           "suite=smoke", "suite.limit=1", f"hydra.run.dir={tmp_path / 'run'}"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert out.returncode != 0
    assert "collect_hidden_states needs agent=hf" in (out.stderr + out.stdout)
    assert "Traceback" not in out.stderr
