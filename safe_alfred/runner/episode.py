"""The episode loop: one task, one planner, one seed -> one episode record.

``run_episode`` and ``arun_episode`` share one generator (``_episode``) that yields each
``PlannerInput`` and receives the planner's ``Decision``; the sync driver calls ``planner.act``,
the async one awaits ``planner.aact`` when the planner has it. Nothing is global, so worker
processes can build their own env and planner and call these directly.

Rules: open-loop planners are asked once and their whole plan runs; closed-loop planners are
asked after every observation (all skills of a decision run before asking again). An output the
planner could not parse becomes one invalid step (the env's empty skill), counted in
``parse_errors`` and ``invalid_steps``; it never crashes the episode. A planner ``error`` (or an
exception from the planner or the simulator) ends the episode with outcome ``error``.
"""

from __future__ import annotations

import inspect
import traceback
from collections.abc import Generator
from typing import Any

import gymnasium as gym

from safe_alfred import DEFAULT_MAX_STEPS
from safe_alfred.agents.base import Decision, HistoryItem, PlannerInput
from safe_alfred.metrics.recorder import TraceRecorder, find_recorder

# The env parses the empty string as an invalid skill: the step is counted and nothing happens.
UNPARSEABLE_SKILL = ""

_Loop = Generator[PlannerInput, Decision, dict]


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


def _episode(env: gym.Env, planner: Any, task: Any, seed: int | None, max_steps: int | None,
             suite_hash: str | None) -> _Loop:
    recorder = find_recorder(env) or TraceRecorder(env)
    info_planner = _planner_info(planner)
    mode = info_planner["mode"]
    limit = int(max_steps if max_steps is not None else getattr(env.unwrapped, "max_steps", DEFAULT_MAX_STEPS))

    def finish(end_reason: str, error: str | None = None) -> dict:
        return recorder.build_record(info_planner, end_reason=end_reason, error=error,
                                     suite_hash=suite_hash, max_steps=limit)

    obs, info = recorder.reset(seed=seed, options={"task": task} if task is not None else None)
    task_dict = info.get("task") if isinstance(info.get("task"), dict) else (task if isinstance(task, dict) else None)
    planner.reset(task_dict, seed)
    give_task = _wants_task(planner, info_planner)
    instruction = str((task_dict or {}).get("instruction") or "")
    history: list[HistoryItem] = []
    asked = 0
    while True:
        if mode == "open_loop" and asked > 0:
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
        decision = yield inp
        asked += 1
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


def _error_decision(exc: BaseException) -> Decision:
    tb = traceback.format_exception_only(type(exc), exc)[-1].strip()
    return Decision(reasoning="", skills=[], error=f"exception in planner: {tb}")


def run_episode(env: gym.Env, planner: Any, task: Any, seed: int | None = None,
                max_steps: int | None = None, *, suite_hash: str | None = None) -> dict:
    """Run one episode synchronously and return its record (outcome set, recognition empty)."""
    loop = _episode(env, planner, task, seed, max_steps, suite_hash)
    try:
        inp = next(loop)
        while True:
            try:
                decision = planner.act(inp)
            except Exception as exc:
                decision = _error_decision(exc)
            inp = loop.send(decision)
    except StopIteration as stop:
        return stop.value


async def arun_episode(env: gym.Env, planner: Any, task: Any, seed: int | None = None,
                       max_steps: int | None = None, *, suite_hash: str | None = None) -> dict:
    """Like ``run_episode``, awaiting ``planner.aact`` when present (concurrent LLM calls)."""
    aact = getattr(planner, "aact", None)
    loop = _episode(env, planner, task, seed, max_steps, suite_hash)
    try:
        inp = next(loop)
        while True:
            try:
                if aact is not None:
                    decision = await aact(inp)
                else:
                    decision = planner.act(inp)
                    if inspect.isawaitable(decision):
                        decision = await decision
            except Exception as exc:
                decision = _error_decision(exc)
            inp = loop.send(decision)
    except StopIteration as stop:
        return stop.value
