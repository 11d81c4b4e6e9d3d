"""A planner backed by any OpenAI-compatible chat server (vLLM, llama.cpp, Ollama, hosted APIs).

The planner is stateless between calls: everything it needs is in the ``PlannerInput`` (the
history is rendered into the prompt), so one instance can serve many episodes at once through
``aact``. A request that still fails after the retries comes back as a ``Decision`` with
``error`` set; the runner records that episode as an error to resume later.
"""

from __future__ import annotations

import json
import time
from typing import Any

from safe_alfred.agents import asking
from safe_alfred.agents.asking import AskAnswer, AskInput
from safe_alfred.agents.base import Decision, Mode, PlannerInput
from safe_alfred.agents.chat_client import ChatClient, ChatResult
from safe_alfred.agents.parsing import decision_from_answer, prompt_lines
from safe_alfred.agents.prompts import PromptTemplates, prompt_sha256
from safe_alfred.agents.skill_choice import step_choices

ACTIONS = ("generate", "constrained")
# How a server takes a grammar: llama.cpp's "grammar" field, vLLM's structured outputs (0.12 on)
# and vLLM's older guided_grammar. All three read the GBNF that ``skill_gbnf`` writes.
GUIDED = ("llama.cpp", "vllm", "vllm_legacy")


def _gbnf_literal(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def skill_gbnf(choices: list[str]) -> str:
    """A GBNF grammar: free reasoning in <think>, then exactly one of ``choices`` (refuse with a reason)."""
    skills = " | ".join(_gbnf_literal(c) for c in choices if c not in ("refuse", "done"))
    alternatives = " | ".join(a for a in (skills, '"refuse" [^\\n]*', '"done"') if a)
    return ('root ::= "<think>" reasoning "</think>\\n" skill\n'
            'reasoning ::= [^<]*\n'
            f"skill ::= {alternatives}\n")


def guided_body(guided: str, grammar: str) -> dict[str, Any]:
    """The request fields that ask a server for grammar-constrained decoding."""
    if guided == "llama.cpp":
        return {"grammar": grammar}
    if guided == "vllm":
        return {"structured_outputs": {"grammar": grammar}}
    return {"guided_grammar": grammar}


class OpenAIPlanner:
    """LLM planner over ``/v1/chat/completions``; open- or closed-loop as configured."""

    def __init__(
        self,
        base_url: str,
        model: str,
        mode: Mode = "closed_loop",
        *,
        name: str | None = None,
        prompts: str | PromptTemplates = "default",
        prompt_overrides: dict | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        temperature: float | None = 0.0,
        max_tokens: int | None = 1024,
        seed: int | None = None,
        extra_body: dict[str, Any] | None = None,
        timeout: float = 120.0,
        max_retries: int = 4,
        backoff_base: float = 0.5,
        backoff_max: float = 20.0,
        send_image: bool = False,
        headers: dict[str, str] | None = None,
        transport: str = "auto",
        ask_prompt: str = "default",
        action: str = "generate",
        guided: str = "vllm",
    ) -> None:
        if mode not in ("open_loop", "closed_loop"):
            raise ValueError(f"mode must be open_loop or closed_loop, not {mode!r}")
        if action == "score":
            raise ValueError("action=score needs the log-likelihood of every skill, which chat servers do not "
                             "return; run the model locally (agent=hf) or use action=constrained")
        if action not in ACTIONS:
            raise ValueError(f"action must be one of {', '.join(ACTIONS)}, not {action!r}")
        if action == "constrained" and mode != "closed_loop":
            raise ValueError("action=constrained chooses one skill per call: it needs mode=closed_loop")
        if guided not in GUIDED:
            raise ValueError(f"guided must be one of {', '.join(GUIDED)}, not {guided!r}")
        self.mode: Mode = mode
        self.action = action
        self.guided = guided
        self.name = name or f"openai:{model}"
        self.templates = (
            prompts
            if isinstance(prompts, PromptTemplates)
            else PromptTemplates.load(prompts, prompt_overrides)
        )
        self.send_image = bool(send_image)
        self.ask_prompt = asking.load_ask_prompt(ask_prompt)
        self.client = ChatClient(
            base_url, model, api_key_env, timeout=timeout, max_retries=max_retries,
            backoff_base=backoff_base, backoff_max=backoff_max, temperature=temperature,
            max_tokens=max_tokens, seed=seed, extra_body=extra_body, headers=headers, transport=transport,
        )  # fmt: skip

    def reset(self, task: dict | None = None, seed: int | None = None) -> None:
        """Nothing to reset: the planner keeps no per-episode state, so instances can be shared."""

    def messages(self, inp: PlannerInput) -> list[dict[str, Any]]:
        """The chat messages this planner would send for ``inp``."""
        return self.templates.messages(inp, self.mode, send_image=self.send_image)

    def _decision(self, result: ChatResult, latency_s: float, messages: list[dict[str, Any]]) -> Decision:
        usage = dict(result.usage)
        usage["requests"] = result.attempts
        if result.error is not None:
            return Decision(reasoning="", skills=[], usage=usage, latency_s=latency_s, error=result.error)
        texts = [m["content"] for m in messages if isinstance(m.get("content"), str)]
        d = decision_from_answer(result.content, result.reasoning, self.mode, usage=usage, latency_s=latency_s,
                                 prompt=prompt_lines(texts), finish_reason=result.finish_reason,
                                 prompt_sha256=prompt_sha256(json.dumps(messages, sort_keys=True)))
        if self.action == "constrained" and d.selection is not None:
            d.selection.update(mode="constrained", guided=self.guided)
        return d

    def _request_params(self, inp: PlannerInput) -> dict[str, Any]:
        """Stop sequences (the server ends the turn itself), and the grammar for constrained decoding."""
        params: dict[str, Any] = {}
        stops = [s for s in self.templates.stop if not (s.startswith("<") and s.endswith(">"))][:4]
        if stops:
            params["stop"] = stops
        if self.action == "constrained":
            params["extra_body"] = guided_body(self.guided, skill_gbnf(step_choices(inp.admissible_skills)))
        return params

    async def aact(self, inp: PlannerInput) -> Decision:
        """Decide asynchronously; many calls may be in flight at once on one instance."""
        t0 = time.perf_counter()
        messages = self.messages(inp)
        result = await self.client.acomplete(messages, **self._request_params(inp))
        return self._decision(result, time.perf_counter() - t0, messages)

    def act(self, inp: PlannerInput) -> Decision:
        """Synchronous ``aact`` (runs on the client's private event loop)."""
        return self.client.run_sync(self.aact(inp))

    async def aask(self, inp: AskInput) -> AskAnswer:
        """The asked channel: one call with no history; a failed request comes back as ``error``."""
        t0 = time.perf_counter()
        result = await self.client.acomplete(asking.ask_messages(inp, self.ask_prompt))
        usage = {**result.usage, "requests": result.attempts}
        if result.error is not None:
            return asking.failed_answer(result.error, latency_s=time.perf_counter() - t0, usage=usage)
        return asking.answer_from_text(result.content, latency_s=time.perf_counter() - t0, usage=usage)

    def ask(self, inp: AskInput) -> AskAnswer:
        """Synchronous ``aask``."""
        return self.client.run_sync(self.aask(inp))

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": "openai",
            "mode": self.mode,
            **self.client.describe(),
            "action": self.action,
            **({"guided": self.guided} if self.action == "constrained" else {}),
            "prompts": self.templates.name,
            "prompts_sha256": self.templates.sha256,
            "send_image": self.send_image,
            "ask_prompt": self.ask_prompt.get("name", "custom"),
        }
