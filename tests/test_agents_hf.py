"""The local transformers planner on a tiny random model saved to disk and loaded by path."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
tokenizers = pytest.importorskip("tokenizers")

from safe_alfred.agents.base import HistoryItem, PlannerInput  # noqa: E402
from safe_alfred.agents.hf_planner import FALLBACK_CHAT_TEMPLATE, HFPlanner  # noqa: E402
from safe_alfred.agents.prompts import PromptTemplates  # noqa: E402

CHAT_TEMPLATE = (
    "{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }} [end] {% endfor %}"
    "{% if add_generation_prompt %}[assistant] {% endif %}"
)


def _corpus() -> list[str]:
    t = PromptTemplates.load("default")
    inp = PlannerInput(
        "put the fork in the microwave", "You see Fork Microwave CounterTop", admissible_skills=["find Fork"]
    )
    texts = [t.system(), t.user(inp, "open_loop"), t.user(inp, "closed_loop"), FALLBACK_CHAT_TEMPLATE]
    texts += ["[system] [user] [assistant] [end] <|system|> <|user|> <|assistant|> think done find pickup"]
    texts += ["ok failed 0 1 2 3 4 5 6 7 8 9 Executed so far nothing yet Mug Apple"]
    return texts


def _save_tiny(tmp_path, with_template: bool) -> str:
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(_corpus(), trainers.WordLevelTrainer(special_tokens=["[UNK]", "[PAD]", "[EOS]"]))
    fast = transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", eos_token="[EOS]"
    )
    if with_template:
        fast.chat_template = CHAT_TEMPLATE
    config = transformers.LlamaConfig(
        vocab_size=tok.get_vocab_size(),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        eos_token_id=fast.eos_token_id,
        pad_token_id=fast.pad_token_id,
    )
    torch.manual_seed(0)
    model = transformers.LlamaForCausalLM(config)
    path = tmp_path / ("with_template" if with_template else "no_template")
    model.save_pretrained(path)
    fast.save_pretrained(path)
    return str(path)


@pytest.fixture(scope="module")
def tiny_paths(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    return {"template": _save_tiny(root, True), "plain": _save_tiny(root, False)}


def _inp() -> PlannerInput:
    return PlannerInput(
        "put the fork in the microwave",
        "You see Fork Microwave CounterTop",
        step=1,
        history=[HistoryItem(0, "find Fork", True, "ok")],
        admissible_skills=["find Fork", "pickup Fork"],
    )


def test_generates_and_returns_hidden_states_for_every_position(tiny_paths):
    planner = HFPlanner(
        tiny_paths["template"], max_new_tokens=6, capture_hidden=True, hidden_layers=[0, -1], device="cpu"
    )
    d = planner.act(_inp())
    # random weights produce word salad: recorded as a parse error, not raised
    assert d.error is None
    assert d.usage["completion_tokens"] >= 1
    assert d.skills or d.parse_error
    hs = planner.last_hidden_states
    assert sorted(hs) == [0, 2]  # -1 resolves to the last block's output
    ids = planner.last_token_ids
    start = planner.last_generation_start
    assert start == d.usage["prompt_tokens"]
    assert ids.shape[0] == d.usage["prompt_tokens"] + d.usage["completion_tokens"]
    for tensor in hs.values():
        assert tuple(tensor.shape) == (ids.shape[0], 32)
    # the templated prompt is what the model saw
    assert planner.last_prompt.startswith("[system] ")
    assert planner.last_prompt.endswith("[assistant] ")
    assert planner.tokenizer.decode(ids[:start]).split()[0] == "["
    assert "hidden" not in d.to_dict() and "last_hidden_states" not in d.to_dict()


def test_hidden_states_match_a_separate_forward_pass(tiny_paths):
    planner = HFPlanner(
        tiny_paths["template"], max_new_tokens=3, capture_hidden=True, hidden_layers=[1], device="cpu"
    )
    planner.act(_inp())
    ids = planner.last_token_ids.unsqueeze(0)
    with torch.no_grad():
        ref = planner.model(input_ids=ids, output_hidden_states=True).hidden_states[1][0]
    assert torch.allclose(planner.last_hidden_states[1], ref, atol=1e-5)


def test_greedy_generation_is_deterministic_and_no_capture_by_default(tiny_paths):
    planner = HFPlanner(tiny_paths["template"], max_new_tokens=5, device="cpu")
    a, b = planner.act(_inp()), planner.act(_inp())
    assert a.raw_output == b.raw_output
    assert planner.last_hidden_states == {}


def test_fallback_chat_template_when_tokenizer_has_none(tiny_paths):
    planner = HFPlanner(tiny_paths["plain"], max_new_tokens=2, device="cpu", mode="open_loop")
    assert planner.used_fallback_template
    assert planner.describe()["chat_template"] == "fallback"
    prompt = planner.prompt_text(_inp())
    assert prompt.startswith("<|system|>\n") and prompt.endswith("<|assistant|>\n")
    assert "put the fork in the microwave" in prompt
    d = planner.act(_inp())
    assert d.error is None


def test_rejects_out_of_range_layer(tiny_paths):
    with pytest.raises(ValueError, match="out of range"):
        HFPlanner(tiny_paths["template"], capture_hidden=True, hidden_layers=[3], device="cpu")


def test_missing_local_model_is_not_downloaded(tmp_path):
    with pytest.raises(OSError):
        HFPlanner(str(tmp_path / "nope"), device="cpu")


def test_asked_channel_is_one_generation_recorded_even_when_unparseable(tiny_paths):
    from safe_alfred.agents.asking import AskInput

    planner = HFPlanner(tiny_paths["template"], max_new_tokens=4, ask_max_new_tokens=5, device="cpu")
    a = planner.ask(AskInput("put the fork in the microwave", "You see Fork Microwave"))
    b = planner.ask(AskInput("put the fork in the microwave", "You see Fork Microwave"))
    assert a.error is None and a.source == "model"
    assert a.verdict is None and a.parse_error  # random weights: word salad, recorded as unparsed
    assert a.answer == b.answer and 1 <= a.usage["completion_tokens"] <= 5


def test_model_paths_name_a_directory_or_a_gguf_file(tmp_path, tiny_paths):
    from safe_alfred.agents.local_model import ModelLoadError, resolve_model_path

    assert resolve_model_path(tiny_paths["template"]).gguf_file is None
    (tmp_path / "one").mkdir()
    (tmp_path / "one" / "m.Q4_1.gguf").write_bytes(b"GGUF")
    src = resolve_model_path(tmp_path / "one")
    assert (src.directory, src.gguf_file) == (str(tmp_path / "one"), "m.Q4_1.gguf")
    assert resolve_model_path(tmp_path / "one" / "m.Q4_1.gguf") == src
    (tmp_path / "one" / "n.gguf").write_bytes(b"GGUF")
    for bad, why in ((tmp_path / "one", "2 GGUF files"), (tmp_path / "one" / "x.json", "does not exist"),
                     (tmp_path, "neither a transformers model directory")):
        with pytest.raises(ModelLoadError, match=why):
            resolve_model_path(bad)
    (tmp_path / "w.bin").write_bytes(b"x")
    with pytest.raises(ModelLoadError, match="not a .gguf model"):
        resolve_model_path(tmp_path / "w.bin")
    with pytest.raises(OSError, match="cannot load"):  # a GGUF that is not one: a clear error, not a crash
        HFPlanner(str(tmp_path / "one" / "n.gguf"), device="cpu")
