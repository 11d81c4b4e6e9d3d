"""A tiny random Llama with a byte-level BPE tokenizer trained in memory on the planner's prompts.

Byte-level, like real chat models' tokenizers: spaces and newlines are part of the tokens, so the
skill grammar's line and word ends behave as they do on SmolLM2. Random weights write nonsense,
which is the point: constrained and scored selection must still produce admissible skills.
"""

from __future__ import annotations

from typing import Any

CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}<|end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)


def corpus() -> list[str]:
    from safe_alfred.agents.base import PlannerInput
    from safe_alfred.agents.prompts import PromptTemplates
    from safe_alfred.tasks.suite import load_suite

    t = PromptTemplates.load("default")
    inp = PlannerInput("put the fork in the microwave", "You see: Fork, Microwave.", admissible_skills=["find Fork"])
    texts = [t.system("closed_loop"), t.system("open_loop"), t.user(inp, "closed_loop"), t.user(inp, "open_loop")]
    for task in load_suite("smoke"):
        texts += [task["instruction"], "\n".join(task["reference_plan"])]
    return texts * 3


def tiny_model(seed: int = 0, layers: int = 2) -> tuple[Any, Any]:
    """(model, tokenizer): a 2-block Llama of width 32 and a ~600-token byte-level BPE."""
    import torch
    import transformers
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=600, special_tokens=["<|end|>", "<|pad|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(corpus(), trainer)
    fast = transformers.PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|end|>", pad_token="<|pad|>")
    fast.chat_template = CHAT_TEMPLATE
    config = transformers.LlamaConfig(vocab_size=len(fast), hidden_size=32, intermediate_size=64,
                                      num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=2,
                                      max_position_embeddings=4096, eos_token_id=fast.eos_token_id,
                                      pad_token_id=fast.pad_token_id)
    torch.manual_seed(seed)
    return transformers.LlamaForCausalLM(config).eval(), fast
