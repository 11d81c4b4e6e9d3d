"""A recognition judge that asks an LLM, over any OpenAI-compatible server, with a YAML rubric.

Only the reasoning written before the hazardous step is shown to the judge model (segments with
``step < before_step``). Its answer must be one strict JSON object
``{"recognized": bool, "score": float, "evidence": [str], "first_step": int | null}``; anything
else becomes a Verdict with ``error`` set and ``recognized=False``, never an exception, so a
judging run over thousands of episodes cannot be stopped by one odd answer.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from string import Template
from typing import Any

from safe_alfred.agents.chat_client import ChatClient
from safe_alfred.config_paths import conf_path
from safe_alfred.judges.base import EvidenceSpan, TraceSegment, Verdict

REQUIRED_KEYS = ("recognized", "score", "evidence", "first_step")


def load_rubric(rubric: str | Path | dict | None = None) -> dict[str, Any]:
    """The rubric as a dict: None -> the default file, a name -> ``conf/judge/<name>.yaml``, a path, or a dict."""
    if isinstance(rubric, dict):
        data = dict(rubric)
    else:
        from omegaconf import OmegaConf

        if rubric is None:
            path = conf_path("judge", "llm_rubric.yaml")
        else:
            path = Path(rubric)
            if not path.exists():
                path = conf_path("judge", f"{rubric}.yaml")
        data = OmegaConf.to_container(OmegaConf.load(path), resolve=False)  # type: ignore[assignment]
    missing = [k for k in ("system", "user", "segment") if k not in data]
    if missing:
        raise ValueError(f"judge rubric lacks keys: {missing}")
    return data


def _strip_wrapping(text: str) -> str:
    """Drop a reasoning block and one enclosing code fence; the rest must be the JSON object."""
    text = re.sub(r"<think>.*?</think>", "", text, flags=re.DOTALL).strip()
    m = re.fullmatch(r"```(?:json)?\s*\n?(.*?)\n?```", text, flags=re.DOTALL)
    return m.group(1).strip() if m else text


def parse_judge_output(text: str, steps: list[int]) -> tuple[dict[str, Any] | None, str | None]:
    """(validated answer, None) or (None, why it was rejected)."""
    body = _strip_wrapping(text or "")
    if not body:
        return None, "empty judge output"
    try:
        data = json.loads(body)
    except ValueError as e:
        return None, f"judge output is not JSON: {e}"
    if not isinstance(data, dict):
        return None, "judge output is not a JSON object"
    missing = [k for k in REQUIRED_KEYS if k not in data]
    if missing:
        return None, f"judge output lacks keys: {missing}"
    rec, score, evidence, first = (data[k] for k in REQUIRED_KEYS)
    if not isinstance(rec, bool):
        return None, "'recognized' must be true or false"
    if isinstance(score, bool) or not isinstance(score, (int, float)) or not 0.0 <= float(score) <= 1.0:
        return None, "'score' must be a number in [0, 1]"
    if not isinstance(evidence, list) or not all(isinstance(e, str) for e in evidence):
        return None, "'evidence' must be a list of strings"
    if first is not None and (isinstance(first, bool) or not isinstance(first, int)):
        return None, "'first_step' must be an integer or null"
    if rec and first is not None and first not in steps:
        return None, f"'first_step' {first} is not a step of the trace that was sent ({steps})"
    return {
        "recognized": rec,
        "score": float(score),
        "evidence": evidence,
        "first_step": first if rec else None,
    }, None


def _locate(quote: str, segments: list[TraceSegment], prefer: int | None) -> EvidenceSpan:
    ordered = sorted(segments, key=lambda s: (s.step != prefer, s.step))
    for fold in (False, True):
        for seg in ordered:
            hay, needle = (seg.text.lower(), quote.lower()) if fold else (seg.text, quote)
            i = hay.find(needle)
            if needle and i >= 0:
                return EvidenceSpan(
                    step=seg.step, start=i, end=i + len(quote), text=seg.text[i : i + len(quote)], cue="llm"
                )
    return EvidenceSpan(
        step=prefer if prefer is not None else -1,
        start=-1,
        end=-1,
        text=quote,
        cue="llm: quote not found in trace",
    )


class LLMJudge:
    """Judge protocol over an LLM: rubric prompt in, strict JSON verdict out."""

    name = "llm"

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key_env: str = "OPENAI_API_KEY",
        rubric: str | Path | dict | None = None,
        timeout: float = 120.0,
        *,
        max_retries: int = 4,
        temperature: float | None = 0.0,
        max_tokens: int | None = 512,
        seed: int | None = 0,
        json_mode: bool = False,
        extra_body: dict[str, Any] | None = None,
        **client_kwargs: Any,
    ) -> None:
        self.rubric = load_rubric(rubric)
        extra = dict(extra_body or {})
        if json_mode:  # servers that support it constrain the answer to JSON
            extra.setdefault("response_format", {"type": "json_object"})
        self.client = ChatClient(
            base_url, model, api_key_env, timeout=timeout, max_retries=max_retries,
            temperature=temperature, max_tokens=max_tokens, seed=seed, extra_body=extra, **client_kwargs,
        )  # fmt: skip

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, **self.client.describe(), "rubric": self.rubric.get("name", "custom")}

    def messages(self, instruction: str, hazard: str, segments: list[TraceSegment]) -> list[dict[str, str]]:
        """The rubric prompt for these (already filtered) segments."""
        seg = Template(self.rubric["segment"])
        trace = "\n".join(seg.safe_substitute(step=s.step, text=s.text.strip()) for s in segments)
        user = Template(self.rubric["user"]).safe_substitute(
            instruction=instruction, hazard=hazard, trace=trace
        )
        return [
            {"role": "system", "content": self.rubric["system"].strip()},
            {"role": "user", "content": user.strip()},
        ]

    @staticmethod
    def _visible(segments: list[TraceSegment], before_step: int | None) -> list[TraceSegment]:
        kept = [s for s in segments if before_step is None or s.step < before_step]
        return [s for s in kept if s.text and s.text.strip()]

    async def ajudge(
        self, instruction: str, hazard: str, segments: list[TraceSegment], before_step: int | None = None
    ) -> Verdict:
        """Async ``judge``: several episodes can be judged at once."""
        visible = self._visible(segments, before_step)
        if not visible:  # nothing was written before the hazard: there is nothing to recognise in
            return Verdict(recognized=False, score=0.0)
        result = await self.client.acomplete(self.messages(instruction, hazard, visible))
        if result.error is not None:
            return Verdict(recognized=False, score=0.0, error=result.error)
        parsed, why = parse_judge_output(result.content, [s.step for s in visible])
        if parsed is None:
            return Verdict(recognized=False, score=0.0, error=f"{why}; raw: {result.content[:200]!r}")
        evidence = [_locate(q, visible, parsed["first_step"]) for q in parsed["evidence"]]
        return Verdict(
            recognized=parsed["recognized"],
            score=parsed["score"],
            evidence=evidence,
            first_step=parsed["first_step"],
        )

    def judge(
        self, instruction: str, hazard: str, segments: list[TraceSegment], before_step: int | None = None,
        category: str | None = None,
    ) -> Verdict:
        """Did the reasoning before ``before_step`` recognise ``hazard``? Errors come back in the Verdict.

        ``category`` is accepted (the ``Judge`` protocol) and unused: the rubric reads the hazard's text.
        """
        return self.client.run_sync(self.ajudge(instruction, hazard, segments, before_step))
