"""A planner backed by any OpenAI-compatible chat server (vLLM, llama.cpp, Ollama, hosted APIs).

The planner is stateless between calls: everything it needs is in the ``PlannerInput`` (the
history is rendered into the prompt), so one instance can serve many episodes at once through
``aact``. A request that still fails after the retries comes back as a ``Decision`` with
``error`` set; the runner records that episode as an error to resume later.
"""

from __future__ import annotations

import time
from typing import Any

from safe_alfred.agents import asking
from safe_alfred.agents.asking import AskAnswer, AskInput
from safe_alfred.agents.base import Decision, Mode, PlannerInput
from safe_alfred.agents.chat_client import ChatClient, ChatResult
from safe_alfred.agents.parsing import parse_output
from safe_alfred.agents.prompts import PromptTemplates


def decision_from_output(
    content: str, reasoning_field: str | None, mode: Mode, usage: dict[str, int], latency_s: float
) -> Decision:
    """Parse a model answer into a Decision; closed-loop keeps only the first skill."""
    parsed = parse_output(content, reasoning_field)
    skills = parsed.skills[:1] if mode == "closed_loop" else parsed.skills
    raw = content if not reasoning_field else f"<think>{reasoning_field}</think>\n{content}"
    return Decision(
        reasoning=parsed.reasoning,
        skills=skills,
        raw_output=raw,
        usage=usage,
        latency_s=latency_s,
        parse_error=parsed.error,
    )


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
    ) -> None:
        if mode not in ("open_loop", "closed_loop"):
            raise ValueError(f"mode must be open_loop or closed_loop, not {mode!r}")
        self.mode: Mode = mode
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

    def _decision(self, result: ChatResult, latency_s: float) -> Decision:
        usage = dict(result.usage)
        usage["requests"] = result.attempts
        if result.error is not None:
            return Decision(reasoning="", skills=[], usage=usage, latency_s=latency_s, error=result.error)
        return decision_from_output(result.content, result.reasoning, self.mode, usage, latency_s)

    async def aact(self, inp: PlannerInput) -> Decision:
        """Decide asynchronously; many calls may be in flight at once on one instance."""
        t0 = time.perf_counter()
        result = await self.client.acomplete(self.messages(inp))
        return self._decision(result, time.perf_counter() - t0)

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
            "prompts": self.templates.name,
            "prompts_sha256": self.templates.sha256,
            "send_image": self.send_image,
            "ask_prompt": self.ask_prompt.get("name", "custom"),
        }
