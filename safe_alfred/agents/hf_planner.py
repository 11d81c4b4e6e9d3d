"""A planner running a local transformers causal LM, with hidden states for probe studies.

Needs the ``hf`` extra (torch, transformers); both are imported only when a planner is built, so
the core package works without them. Models load from a path or hub id with
``local_files_only=True`` by default (nothing is downloaded). When ``capture_hidden`` is set, each
call leaves the residual-stream states of every token position (prompt and generated) at the
chosen layers in ``last_hidden_states`` (layer -> tensor [positions, hidden]), with
``last_token_ids`` and ``last_generation_start``; they are a side channel, never part of the
Decision, which must stay JSON-serialisable.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from safe_alfred.agents import asking
from safe_alfred.agents.asking import AskAnswer, AskInput
from safe_alfred.agents.base import Decision, Mode, PlannerInput
from safe_alfred.agents.openai_planner import decision_from_output
from safe_alfred.agents.prompts import PromptTemplates

# Used when the tokenizer ships no chat template (base models, test tokenizers).
FALLBACK_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "<|{{ message['role'] }}|>\n{{ message['content'] }}\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)


def _dtype_kwargs(transformers: Any, torch: Any, dtype: str | None) -> dict[str, Any]:
    if dtype in (None, "auto"):
        value: Any = "auto"
    else:
        value = getattr(torch, dtype)
    major, minor = (int(x) for x in transformers.__version__.split(".")[:2])
    return {"dtype": value} if (major, minor) >= (4, 56) else {"torch_dtype": value}


class HFPlanner:
    """Generate a plan or the next skill with a local transformers model."""

    def __init__(
        self,
        model_path: str | None = None,
        mode: Mode = "closed_loop",
        *,
        name: str | None = None,
        prompts: str | PromptTemplates = "default",
        prompt_overrides: dict | None = None,
        device: str | None = None,
        dtype: str | None = "auto",
        max_new_tokens: int = 512,
        temperature: float = 0.0,
        top_p: float = 1.0,
        seed: int | None = 0,
        capture_hidden: bool = False,
        hidden_layers: list[int] | None = None,
        local_files_only: bool = True,
        trust_remote_code: bool = False,
        chat_template: str | None = None,
        generate_kwargs: dict[str, Any] | None = None,
        model: Any = None,
        tokenizer: Any = None,
        ask_prompt: str = "default",
        ask_max_new_tokens: int = 96,
    ) -> None:
        import torch
        import transformers

        if mode not in ("open_loop", "closed_loop"):
            raise ValueError(f"mode must be open_loop or closed_loop, not {mode!r}")
        if model is None and model_path is None:
            raise ValueError("HFPlanner needs model_path (or a loaded model and tokenizer)")
        self.mode: Mode = mode
        self.model_path = model_path
        self.name = name or f"hf:{model_path or type(model).__name__}"
        self.templates = (
            prompts
            if isinstance(prompts, PromptTemplates)
            else PromptTemplates.load(prompts, prompt_overrides)
        )
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.max_new_tokens = int(max_new_tokens)
        self.temperature = float(temperature)
        self.top_p = float(top_p)
        self.seed = int(seed or 0)
        self.capture_hidden = bool(capture_hidden)
        self.hidden_layers = list(hidden_layers) if hidden_layers is not None else None
        self.generate_kwargs = dict(generate_kwargs or {})
        self.ask_prompt = asking.load_ask_prompt(ask_prompt)
        self.ask_max_new_tokens = int(ask_max_new_tokens)  # two short lines; raise it for reasoning models
        self._lock = threading.Lock()
        self._episode_seed = 0

        if tokenizer is None:
            tokenizer = transformers.AutoTokenizer.from_pretrained(
                model_path, local_files_only=local_files_only, trust_remote_code=trust_remote_code
            )
        if model is None:
            model = transformers.AutoModelForCausalLM.from_pretrained(
                model_path,
                local_files_only=local_files_only,
                trust_remote_code=trust_remote_code,
                **_dtype_kwargs(transformers, torch, dtype),
            )
        self.tokenizer = tokenizer
        self.model = model.to(self.device).eval()
        self.used_fallback_template = False
        if chat_template is not None:
            tokenizer.chat_template = chat_template
        elif not getattr(tokenizer, "chat_template", None):
            tokenizer.chat_template = FALLBACK_CHAT_TEMPLATE
            self.used_fallback_template = True
        if tokenizer.pad_token_id is None and tokenizer.eos_token_id is not None:
            tokenizer.pad_token = tokenizer.eos_token

        self._resolve_layers()  # reject out-of-range layers now, not mid-run
        self.last_hidden_states: dict[int, Any] = {}
        self.last_token_ids: Any = None
        self.last_generation_start: int = 0
        self.last_prompt: str = ""

    @property
    def num_layers(self) -> int:
        """Transformer blocks; hidden-state index 0 is the embeddings, i the output of block i."""
        return int(self.model.config.num_hidden_layers)

    def reset(self, task: dict | None = None, seed: int | None = None) -> None:
        """Set the episode seed (sampling is reproducible per episode and step)."""
        self._episode_seed = int(seed or 0)

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name, "kind": "hf", "mode": self.mode, "model_path": self.model_path,
            "device": self.device, "max_new_tokens": self.max_new_tokens,
            "temperature": self.temperature, "top_p": self.top_p, "seed": self.seed,
            "prompts": self.templates.name, "prompts_sha256": self.templates.sha256,
            "chat_template": "fallback" if self.used_fallback_template else "tokenizer",
            "generate_kwargs": self.generate_kwargs,
        }  # fmt: skip

    def prompt_text(self, inp: PlannerInput) -> str:
        """The chat-templated prompt for ``inp`` (text only: images are not sent to local models)."""
        return self._chat_text(self.templates.messages(inp, self.mode, send_image=False))

    def _chat_text(self, messages: list[dict[str, Any]]) -> str:
        try:
            return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        except Exception:
            # Some templates reject a system role: fold it into the first user turn.
            merged = [{"role": "user", "content": messages[0]["content"] + "\n\n" + messages[1]["content"]}]
            return self.tokenizer.apply_chat_template(merged, tokenize=False, add_generation_prompt=True)

    def _resolve_layers(self) -> list[int]:
        n = self.num_layers + 1
        layers = self.hidden_layers if self.hidden_layers is not None else list(range(n))
        out = []
        for layer in layers:
            idx = layer + n if layer < 0 else layer
            if not 0 <= idx < n:
                raise ValueError(f"hidden layer {layer} out of range for {self.num_layers} blocks")
            out.append(idx)
        return out

    def act(self, inp: PlannerInput) -> Decision:
        """Generate one decision; with ``capture_hidden``, refresh the hidden-state side channel."""
        import torch

        with self._lock:
            t0 = time.perf_counter()
            prompt = self.prompt_text(inp)
            self.last_prompt = prompt
            enc = self.tokenizer(prompt, return_tensors="pt", add_special_tokens=False).to(self.device)
            prompt_len = int(enc["input_ids"].shape[1])
            kwargs: dict[str, Any] = {
                "max_new_tokens": self.max_new_tokens,
                "do_sample": self.temperature > 0,
                "pad_token_id": self.tokenizer.pad_token_id,
            }
            if self.temperature > 0:
                kwargs.update(temperature=self.temperature, top_p=self.top_p)
                torch.manual_seed(self.seed * 1_000_003 + self._episode_seed * 10_007 + inp.step)
            kwargs.update(self.generate_kwargs)
            self.last_hidden_states, self.last_token_ids, self.last_generation_start = {}, None, 0
            try:
                with torch.no_grad():
                    out = self.model.generate(**enc, **kwargs)
                    sequence = out[0] if not hasattr(out, "sequences") else out.sequences[0]
                    gen_ids = sequence[prompt_len:]
                    if self.capture_hidden:
                        # One forward pass over prompt + generation gives every position's state
                        # at once, identical to what the model computed while generating.
                        full = sequence.unsqueeze(0)
                        fwd = self.model(
                            input_ids=full, attention_mask=torch.ones_like(full), output_hidden_states=True
                        )
                        self.last_hidden_states = {
                            i: fwd.hidden_states[i][0].detach().float().cpu() for i in self._resolve_layers()
                        }
                        self.last_token_ids = sequence.detach().cpu()
                        self.last_generation_start = prompt_len
            except (RuntimeError, ValueError) as e:  # out of memory, bad generation settings
                return Decision(
                    reasoning="", skills=[], latency_s=time.perf_counter() - t0,
                    error=f"generation failed: {type(e).__name__}: {e}",
                )  # fmt: skip
            text = self.tokenizer.decode(gen_ids, skip_special_tokens=True)
            usage = {
                "prompt_tokens": prompt_len,
                "completion_tokens": int(gen_ids.shape[0]),
                "total_tokens": prompt_len + int(gen_ids.shape[0]),
            }
            return decision_from_output(text, None, self.mode, usage, time.perf_counter() - t0)

    def ask(self, inp: AskInput) -> AskAnswer:
        """The asked channel: one greedy generation from the asked prompt alone (no history)."""
        import torch

        with self._lock:
            t0 = time.perf_counter()
            prompt = self._chat_text(asking.ask_messages(inp, self.ask_prompt))
            enc = self.tokenizer(prompt, return_tensors="pt", add_special_tokens=False).to(self.device)
            n_prompt = int(enc["input_ids"].shape[1])
            try:
                with torch.no_grad():
                    out = self.model.generate(**enc, max_new_tokens=self.ask_max_new_tokens, do_sample=False,
                                              pad_token_id=self.tokenizer.pad_token_id)
            except (RuntimeError, ValueError) as e:
                return asking.failed_answer(f"generation failed: {type(e).__name__}: {e}", latency_s=time.perf_counter() - t0)
            gen = (out[0] if not hasattr(out, "sequences") else out.sequences[0])[n_prompt:]
            usage = {"prompt_tokens": n_prompt, "completion_tokens": int(gen.shape[0])}
            return asking.answer_from_text(self.tokenizer.decode(gen, skip_special_tokens=True),
                                    latency_s=time.perf_counter() - t0, usage=usage)

    async def aask(self, inp: AskInput) -> AskAnswer:
        return await asyncio.to_thread(self.ask, inp)

    async def aact(self, inp: PlannerInput) -> Decision:
        """``act`` in a worker thread; calls are serialised (one model, one device)."""
        return await asyncio.to_thread(self.act, inp)
