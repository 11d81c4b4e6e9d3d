"""The episode loop: one task, one planner, one seed -> one episode record.

``run_episode`` and ``arun_episode`` share one generator (``_episode``) that yields each
``PlannerInput`` and receives the planner's ``Decision``; the sync driver calls ``planner.act``,
the async one awaits ``planner.aact`` when the planner has it. Nothing is global, so worker
processes can build their own env and planner and call these directly.

Rules: open-loop planners are asked once and their whole plan runs; closed-loop planners are
asked after every observation (all skills of a decision run before asking again). An output the
planner could not parse becomes one invalid step (the env's empty skill), counted in
``parse_errors`` and ``invalid_steps``; it never crashes the episode. A planner ``error`` (or an
exception from the planner or the simulator) ends the episode with outcome ``error``. Every
decision passes through ``planner_output.stored_decision`` first (clean text, fields capped), so
what is executed is exactly what the record holds and a replay of the record reproduces it.

With ``ask`` (the default) and a planner that has ``ask``, the episode starts with the *asked*
recognition channel: the generator first yields an ``AskInput`` (instruction and first
observation, no history) and receives an ``AskAnswer``, stored as ``record["asked"]``. The
answer never reaches the episode: a failed asked call is recorded and the episode runs on.
"""

from __future__ import annotations

import inspect
import traceback
from collections.abc import Generator
from typing import Any

import gymnasium as gym

from safe_alfred import DEFAULT_MAX_STEPS
from safe_alfred.agents.asking import AskAnswer, AskInput, failed_answer
from safe_alfred.agents.base import Decision, HistoryItem, PlannerInput
from safe_alfred.metrics.recorder import TraceRecorder, find_recorder
from safe_alfred.planner_output import DEFAULT_MAX_OUTPUT_CHARS, stored_answer, stored_decision
from safe_alfred.runner.planner_outcome import planner_outcome

# The env parses the empty string as an invalid skill: the step is counted and nothing happens.
UNPARSEABLE_SKILL = ""

_Loop = Generator["PlannerInput | AskInput", "Decision | AskAnswer", dict]


def _planner_info(planner: Any) -> dict:
    info = dict(planner.describe()) if hasattr(planner, "describe") else {}
    info.setdefault("name", getattr(planner, "name", type(planner).__name__))
    info.setdefault("mode", getattr(planner, "mode", "closed_loop"))
    return info


def _wants_task(planner: Any, info: dict) -> bool:
    """Only scripted baselines may see the task record (it holds the reference plans)."""
    return bool(getattr(planner, "needs_task", False) or info.get("kind") == "scripted")


def _terminal(skill: str | None) -> str | None:
    verb = (skill or "").split(" ", 1)[0]
    return verb if verb in ("done", "refuse") else None


def prompt_text(planner: Any, inp: PlannerInput) -> str | None:
    """The text a model planner is shown for ``inp`` (every message's text, in order), or None for
    planners without a prompt. Stored once per record so that judges can discount what the
    planner merely copied from its prompt (examples, skill list, instruction)."""
    messages_of = getattr(planner, "messages", None)
    templates = getattr(planner, "templates", None)
    try:
        if callable(messages_of):
            messages = messages_of(inp)
        elif templates is not None and hasattr(templates, "messages"):
            messages = templates.messages(inp, getattr(planner, "mode", "closed_loop"), send_image=False)
        else:
            return None
    except Exception:
        return None
    texts = []
    for m in messages or []:
        content = m.get("content") if isinstance(m, dict) else None
        if isinstance(content, list):
            content = "\n".join(p.get("text", "") for p in content if isinstance(p, dict))
        if isinstance(content, str):
            texts.append(content)
    return "\n\n".join(texts) or None


def _episode(env: gym.Env, planner: Any, task: Any, seed: int | None, max_steps: int | None,
             suite_hash: str | None, ask: bool = True,
             max_output_chars: int | None = DEFAULT_MAX_OUTPUT_CHARS) -> _Loop:
    recorder = find_recorder(env) or TraceRecorder(env)
    info_planner = _planner_info(planner)
    mode = info_planner["mode"]
    limit = int(max_steps if max_steps is not None else getattr(env.unwrapped, "max_steps", DEFAULT_MAX_STEPS))

    def finish(end_reason: str, error: str | None = None) -> dict:
        extra = None if max_output_chars is None else {"max_output_chars": int(max_output_chars)}
        record = recorder.build_record(info_planner, end_reason=end_reason, error=error,
                                       suite_hash=suite_hash, max_steps=limit, extra=extra)
        record["planner_outcome"] = planner_outcome(record, env, task_dict)
        return record

    obs, info = recorder.reset(seed=seed, options={"task": task} if task is not None else None)
    task_dict = info.get("task") if isinstance(info.get("task"), dict) else (task if isinstance(task, dict) else None)
    planner.reset(task_dict, seed)
    give_task = _wants_task(planner, info_planner)
    instruction = str((task_dict or {}).get("instruction") or "")
    if ask and callable(getattr(planner, "ask", None)):
        answer = yield AskInput(instruction=instruction, observation=obs, task=task_dict if give_task else None)
        recorder.note_asked(stored_answer(answer, max_output_chars))
    history: list[HistoryItem] = []
    calls = 0
    while True:
        if mode == "open_loop" and calls > 0:
            return finish("plan_exhausted")
        inp = PlannerInput(
            instruction=instruction,
            observation=obs,
            step=len(recorder.steps),
            history=list(history),
            admissible_skills=list(info.get("admissible_skills") or []),
            image=info.get("image"),
            task=task_dict if give_task else None,
        )
        if calls == 0:
            recorder.prompt_text = prompt_text(planner, inp)
        decision = stored_decision((yield inp), max_output_chars)  # what runs is what is recorded
        calls += 1
        next_step = len(recorder.steps) + 1
        recorder.note_decision(next_step, decision)
        if decision.error:
            return finish("error", f"planner: {decision.error}")
        skills = list(decision.skills or [])
        unparsed = not skills
        if unparsed:
            skills = [UNPARSEABLE_SKILL]
        for skill_text in skills:
            try:
                obs, _, terminated, truncated, info = recorder.step(skill_text)
            except Exception as exc:  # a simulator failure is an outcome, not a crash of the run
                return finish("error", f"simulator: {type(exc).__name__}: {exc}")
            step = recorder.steps[-1]
            if unparsed:
                step["parse_error"] = decision.parse_error or "the planner returned no skill"
            history.append(HistoryItem(
                step=step["step"], skill=step["skill"] or step["requested"],
                success=step["valid"] and all(a["success"] for a in step["thor_actions"]),
                feedback=step["feedback"]))
            if terminated:
                return finish(_terminal(step["skill"]) or "terminated")
            if truncated or len(recorder.steps) >= limit:
                recorder.truncated = True
                return finish("max_steps")


def _exception_text(exc: BaseException) -> str:
    return "exception in planner: " + traceback.format_exception_only(type(exc), exc)[-1].strip()


def _error_decision(exc: BaseException) -> Decision:
    return Decision(reasoning="", skills=[], error=_exception_text(exc))


def run_episode(env: gym.Env, planner: Any, task: Any, seed: int | None = None,
                max_steps: int | None = None, *, suite_hash: str | None = None, ask: bool = True,
                max_output_chars: int | None = DEFAULT_MAX_OUTPUT_CHARS) -> dict:
    """Run one episode synchronously and return its record (outcome set, recognition empty).

    ``max_output_chars`` caps each stored field of a decision (``planner_output``); None stores it whole.
    """
    loop = _episode(env, planner, task, seed, max_steps, suite_hash, ask, max_output_chars)
    try:
        inp = next(loop)
        while True:
            is_ask = isinstance(inp, AskInput)
            try:
                reply: Any = planner.ask(inp) if is_ask else planner.act(inp)
            except Exception as exc:
                reply = failed_answer(_exception_text(exc)) if is_ask else _error_decision(exc)
            inp = loop.send(reply)
    except StopIteration as stop:
        return stop.value


async def _acall(planner: Any, method: str, inp: Any) -> Any:
    """``planner.a<method>(inp)`` when the planner has it, else the synchronous one (awaited if async)."""
    fn = getattr(planner, f"a{method}", None)
    if fn is not None:
        return await fn(inp)
    out = getattr(planner, method)(inp)
    return await out if inspect.isawaitable(out) else out


async def arun_episode(env: gym.Env, planner: Any, task: Any, seed: int | None = None,
                       max_steps: int | None = None, *, suite_hash: str | None = None, ask: bool = True,
                       max_output_chars: int | None = DEFAULT_MAX_OUTPUT_CHARS) -> dict:
    """Like ``run_episode``, awaiting ``planner.aact`` (and ``aask``) when present (concurrent LLM calls)."""
    loop = _episode(env, planner, task, seed, max_steps, suite_hash, ask, max_output_chars)
    try:
        inp = next(loop)
        while True:
            is_ask = isinstance(inp, AskInput)
            try:
                reply: Any = await _acall(planner, "ask" if is_ask else "act", inp)
            except Exception as exc:
                reply = failed_answer(_exception_text(exc)) if is_ask else _error_decision(exc)
            inp = loop.send(reply)
    except StopIteration as stop:
        return stop.value
