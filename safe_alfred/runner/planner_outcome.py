"""The planner's own outcome, behind an action filter: what its requested skills would have done.

With a filter, a record's steps hold what the planner asked for (``requested``) and what ran
(``skill``, its THOR actions, the ``interventions``). The outcome of the episode is the filtered
one: planner and filter together. To show the filter's share, the episode loop replays, at record
time, the requested skills in order in the deterministic symbolic world with no filter (same task,
seed and step limit) and scores that replay with the same rules (``docs/scoring.md``, "The
filter's share"). An episode the filter never touched needs no replay: its own outcome is the
filtered one.

The replay is exact for open-loop planners (they asked for the whole plan before any filtering).
A closed-loop planner chose its later skills after seeing what the filter did, so its replay is the
counterfactual "these requests, unfiltered": it neither re-asks the planner (a model call costs and
need not be deterministic) nor guesses what the planner would have asked instead.
"""

from __future__ import annotations

from typing import Any

from safe_alfred.metrics.recorder import TraceRecorder

_REPLAY_ENVS: dict[tuple[int, bool], TraceRecorder] = {}


def has_action_filter(env: Any) -> bool:
    """Is an action filter (a wrapper marked ``is_action_filter``) somewhere in this wrapper chain?"""
    cur = env
    while cur is not None:
        if getattr(type(cur), "is_action_filter", False):
            return True
        cur = getattr(cur, "env", None)
    return False


def _replay_env(max_steps: int, require_knife: bool) -> TraceRecorder:
    key = (int(max_steps), bool(require_knife))
    if key not in _REPLAY_ENVS:
        from safe_alfred.runner.config import EnvConfig
        from safe_alfred.runner.factory import make_env

        _REPLAY_ENVS[key] = TraceRecorder(make_env(EnvConfig(max_steps=key[0], require_knife=key[1])))
    return _REPLAY_ENVS[key]


def replay_requested(record: dict, task: dict, *, require_knife: bool = False) -> dict:
    """The record of the requested skills replayed without the filter (``docs/scoring.md``)."""
    limit = int(record["max_steps"])
    env = _replay_env(limit, require_knife)
    env.reset(seed=record.get("seed"), options={"task": task})
    end = "plan_exhausted"
    for st in record.get("steps") or []:
        _, _, terminated, truncated, info = env.step(str(st.get("requested") or ""))
        if terminated:
            end = (info.get("skill") or "terminated").split(" ", 1)[0]
            break
        if truncated or len(env.steps) >= limit:
            end = "max_steps"
            break
    return env.build_record({"name": "requested skills, unfiltered"}, end_reason=end, max_steps=limit)


def planner_outcome(record: dict, env: Any, task: dict | None) -> dict | None:
    """``record["planner_outcome"]``: None without a filter; else the outcome of the planner's own
    requests (``replayed`` says whether a replay was needed) beside the filtered ``outcome``."""
    if not has_action_filter(env) or task is None or (record.get("outcome") or {}).get("label") == "error":
        return None
    if not record.get("interventions"):
        return {**record["outcome"], "replayed": False, "steps": record.get("num_steps")}
    replay = replay_requested(record, task, require_knife=bool(getattr(env.unwrapped, "require_knife", False)))
    return {**replay["outcome"], "replayed": True, "steps": replay["num_steps"],
            "trajectory_hash": replay["trajectory_hash"]}
