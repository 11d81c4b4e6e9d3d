"""``TraceRecorder``: a Gymnasium wrapper that turns one episode into one episode record.

It sits outermost (planner -> recorder -> [action filter] -> env), so it sees the skill the
planner asked for, what actually ran (THOR actions with success and error message), the typed
events, the task monitor's hazard events and any interventions a filter reports in
``info["interventions"]``. Reasoning comes from the planner, not the env: the episode loop hands
it over with ``note_decision`` before the steps it governs.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from safe_alfred.records import (
    SCHEMA_VERSION,
    canonical_json,
    episode_key,
    package_versions,
    to_jsonable,
    trajectory_hash,
)
from safe_alfred.tasks.final_state import scored_by_safeagentbench

from .outcomes import classify_outcome
from .safeagentbench import classify_safeagentbench

_TASK_FIELDS = ("id", "family", "kind", "instruction", "instruction_type", "scene", "room_type", "hazard",
                "twin_id", "split")


def task_summary(task: dict | None) -> dict[str, Any]:
    """The task fields a record keeps (enough to group metrics without the suite at hand)."""
    task = task or {}
    out = {k: task.get(k) for k in _TASK_FIELDS}
    out["id"] = str(out["id"]) if out["id"] is not None else "<no task>"
    out["instruction"] = str(out["instruction"] or "")
    return to_jsonable(out)


def _answer_facts(d: dict) -> dict[str, Any]:
    """How a model planner's answer came about (echo, finish reason, prompt hash, selection)."""
    return {"echo": bool(d.get("echo")), "finish_reason": d.get("finish_reason"),
            "prompt_sha256": d.get("prompt_sha256"), "selection": d.get("selection")}


def filter_of(env: gym.Env) -> dict[str, Any] | None:
    """The action filter between planner and world (``filter_description()`` of the first wrapper
    that has one), or None when there is none: a record says whether an oracle filter ran."""
    seen = env
    while seen is not None:
        describe = getattr(type(seen), "filter_description", None)
        if describe is not None:
            return to_jsonable(describe(seen))
        seen = getattr(seen, "env", None)
    return None


def find_recorder(env: gym.Env) -> TraceRecorder | None:
    """The TraceRecorder in a wrapper chain, if any."""
    cur: Any = env
    while cur is not None:
        if isinstance(cur, TraceRecorder):
            return cur
        cur = getattr(cur, "env", None)
    return None


class TraceRecorder(gym.Wrapper):
    """Collects steps, events and hazard events; ``build_record`` returns the episode record."""

    def __init__(self, env: gym.Env):
        super().__init__(env)
        self._clear()

    def _clear(self) -> None:
        self.task: dict | None = None
        self.seed: int | None = None
        self.steps: list[dict] = []
        self.decisions: list[dict] = []
        self.hazard_events: list[dict] = []
        self._hazard_keys: set[str] = set()
        self.interventions: list[dict] = []
        self.goal_reached: bool | None = None
        self.final_state: dict | None = None
        self.terminated = False
        self.truncated = False
        self.refused = False
        self.last_skill: str | None = None
        self._pending_reasoning: str | None = None
        self.reset_events: list[dict] = []
        self.asked: dict | None = None
        self.prompt_text: str | None = None
        self.end_checks: dict | None = None

    # -- gymnasium API -----------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        obs, info = self.env.reset(seed=seed, options=options)
        self._clear()
        self.seed = seed
        self.task = info.get("task")
        self.reset_events = to_jsonable(list(info.get("events") or []))
        self._absorb_monitor(info)
        return obs, info

    def step(self, action: str):
        obs, reward, terminated, truncated, info = self.env.step(action)
        step_no = int(info.get("step", len(self.steps) + 1))
        interventions = to_jsonable(list(info.get("interventions") or []))
        for iv in interventions:
            iv.setdefault("step", step_no)
        entry = {
            "step": step_no,
            "reasoning": self._pending_reasoning,
            "requested": str(action),
            "skill": info.get("skill"),
            "valid": bool(info.get("valid", False)),
            "parse_error": None if info.get("valid", False) or info.get("skill") else info.get("feedback"),
            "thor_actions": to_jsonable(list(info.get("thor_actions") or [])),
            "events": to_jsonable(list(info.get("events") or [])),
            "feedback": str(info.get("feedback") or ""),
            "interventions": interventions,
        }
        self._pending_reasoning = None
        self.steps.append(entry)
        self.interventions.extend(interventions)
        self._absorb_monitor(info)
        skill = info.get("skill") or ""
        self.last_skill = skill
        if skill.split(" ", 1)[0] == "refuse":
            self.refused = True
        self.terminated, self.truncated = bool(terminated), bool(truncated)
        return obs, reward, terminated, truncated, info

    # -- episode-loop hooks ------------------------------------------------------------------------
    def note_decision(self, step: int, decision: Any) -> None:
        """Remember a planner decision; its reasoning is attached to the next executed step."""
        d = decision.to_dict() if hasattr(decision, "to_dict") else dict(decision)
        entry = {
            "step": int(step),
            "reasoning": str(d.get("reasoning") or ""),
            "skills": [str(s) for s in d.get("skills") or []],
            "raw_output": str(d.get("raw_output") or ""),
            "parse_error": d.get("parse_error"),
            "error": d.get("error"),
            "usage": dict(d.get("usage") or {}),
            "latency_s": max(0.0, float(d.get("latency_s") or 0.0)),
            **_answer_facts(d),
        }
        if d.get("truncated"):  # original lengths of the fields the stored-output cap cut
            entry["truncated"] = dict(d["truncated"])
        self.decisions.append(to_jsonable(entry))
        self._pending_reasoning = str(d.get("reasoning") or "")

    def note_asked(self, answer: Any) -> None:
        """Remember the asked-channel answer (``record["asked"]``)."""
        self.asked = to_jsonable(answer.to_dict() if hasattr(answer, "to_dict") else dict(answer))

    def _absorb_monitor(self, info: dict) -> None:
        # The monitor reports hazard firings cumulatively; keep each firing once, in order.
        for ev in info.get("hazard_events") or []:
            ev = to_jsonable(ev)
            key = canonical_json(ev)
            if key not in self._hazard_keys:
                self._hazard_keys.add(key)
                self.hazard_events.append(ev)
        if "goal_reached" in info:
            self.goal_reached = bool(info["goal_reached"])
        if "final_state" in info:
            self.final_state = to_jsonable(info["final_state"])
        if info.get("end_checks") is not None:
            self.end_checks = to_jsonable(info["end_checks"])

    def _run_end_checks(self) -> None:
        """The task monitor's end-of-episode checks, however the episode ended (``docs/scoring.md``)."""
        unwrapped = self.env.unwrapped
        monitor, state = getattr(unwrapped, "monitor", None), getattr(unwrapped, "state", None)
        if monitor is not None and state is not None and hasattr(monitor, "end"):
            self._absorb_monitor(monitor.end(state))

    def final_state_digest(self) -> str | None:
        state = getattr(self.env.unwrapped, "state", None)
        return state.digest() if state is not None else None

    def build_record(self, planner_info: dict, *, end_reason: str, error: str | None = None,
                     suite_hash: str | None = None, max_steps: int | None = None,
                     extra: dict | None = None) -> dict:
        """Assemble the record of the episode just run (outcome included, recognition empty)."""
        planner_info = to_jsonable(planner_info)
        self._run_end_checks()
        task = task_summary(self.task)
        digest = self.final_state_digest()
        usage: dict[str, int] = {}
        for d in self.decisions:
            for k, v in (d.get("usage") or {}).items():
                if isinstance(v, (int, float)):
                    usage[k] = usage.get(k, 0) + int(v)
        unwrapped = self.env.unwrapped
        record: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "episode_key": episode_key(task["id"], self.seed),
            "task": task,
            "suite_hash": suite_hash if suite_hash is not None else (self.task or {}).get("suite_hash"),
            "planner": planner_info,
            "seed": self.seed,
            "max_steps": int(max_steps if max_steps is not None else getattr(unwrapped, "max_steps", 0)),
            "env": {
                "id": getattr(getattr(unwrapped, "spec", None), "id", None) or type(unwrapped).__name__,
                "backend": getattr(unwrapped, "backend_name", None),
            },
            "versions": package_versions(),
            "decisions": self.decisions,
            "reset_events": self.reset_events,
            "steps": self.steps,
            "hazard_events": self.hazard_events,
            "interventions": self.interventions,
            "filter": filter_of(self.env),
            "goal_reached": self.goal_reached,
            "end_checks": self.end_checks,
            "refused": self.refused,
            "terminated": self.terminated,
            "truncated": self.truncated,
            "end_reason": end_reason,
            "error": error,
            "num_steps": len(self.steps),
            "invalid_steps": sum(1 for s in self.steps if not s["valid"]),
            "parse_errors": sum(1 for d in self.decisions if d.get("parse_error")),
            "usage": usage,
            "latency_s": sum(float(d.get("latency_s") or 0.0) for d in self.decisions),
            "final_state_digest": digest,
            "trajectory_hash": trajectory_hash(self.steps, digest),
            "outcome": None,
            "recognition": None,
            "asked": self.asked,
            "prompt_text": self.prompt_text,
        }
        if self.final_state is not None:
            record["final_state"] = self.final_state
        if extra:
            record.update(to_jsonable(extra))
        if scored_by_safeagentbench(self.task):
            record["scoring"] = "safeagentbench"
            record["outcome"] = classify_safeagentbench(record)
        else:
            record["outcome"] = classify_outcome(record)
        return record
