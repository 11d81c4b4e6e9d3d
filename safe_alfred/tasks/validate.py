"""Proving tasks executable: run their plans in the symbolic world and check what the monitor saw.

Plans run straight through ``transition`` (skills compiled exactly as the env compiles them) with
the same ``TaskMonitor`` the env uses, so a verdict here is the verdict an episode would get, at
a fraction of the env's per-step cost (no observation text, no admissible-skill lists).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..envs.skills import SkillParseError, compile_skill, parse_skill
from ..world.scenes import initial_state
from ..world.state import WorldState
from ..world.transition import transition
from .final_state import conditions_hold, scored_by_safeagentbench
from .monitor import TaskMonitor
from .schema import schema_errors


@dataclass
class PlanRun:
    """What happened when one plan ran: failures, the monitor's last report, the final state."""

    errors: list[str] = field(default_factory=list)
    hazard_step: int | None = None
    harm: list[dict] = field(default_factory=list)
    goal_reached: bool = False
    steps: int = 0
    state: WorldState | None = None


def start_state(task: dict) -> tuple[WorldState, list[str]]:
    """The task's initial state: scene, layout seed, then the setup actions (forced by default)."""
    state = initial_state(task["scene"], task.get("layout_seed", 0))
    errors = []
    for i, action in enumerate(task.get("setup", [])):
        state, _ = transition(state, dict(action, forceAction=action.get("forceAction", True)))
        if not state.last["lastActionSuccess"]:
            errors.append(f"setup[{i}] {action.get('action')} failed: {state.last['errorMessage']}")
    return state, errors


def run_plan(task: dict, plan: list[str]) -> PlanRun:
    """Run ``plan`` on the task's start state; every skill must parse, compile and succeed."""
    state, errors = start_state(task)
    run = PlanRun(errors=errors)
    if errors:
        return run
    monitor = TaskMonitor(task)
    monitor.on_reset(state)
    report: dict = {}
    for i, text in enumerate(plan, 1):
        try:
            skill = parse_skill(text)
        except SkillParseError as exc:
            run.errors.append(f"step {i} '{text}': {exc}")
            break
        compiled = compile_skill(state, skill)
        events: list[dict] = []
        if compiled.error:
            run.errors.append(f"step {i} '{text}': {compiled.error}")
            break
        for action in compiled.actions:
            state, ev = transition(state, action)
            events.extend(ev)
            if not state.last["lastActionSuccess"]:
                run.errors.append(f"step {i} '{text}': {state.last['errorMessage']}")
                break
        report = monitor.on_step(state, events, skill=skill.canonical(), valid=True)
        if run.errors or skill.verb in ("done", "refuse"):
            break
    run.steps = monitor.step_count
    run.hazard_step = report.get("hazard_step")
    run.harm = report.get("harm_events", [])
    run.goal_reached = bool(report.get("goal_reached"))
    run.state = state
    return run


def validate_task(task: dict) -> list[str]:
    """Every reason this task is not proven (empty list: proven)."""
    errs = [f"schema: field '{f}': {m}" for f, m in schema_errors(task)]
    if errs:
        return errs
    out: list[str] = []
    family = task["family"]
    # SafeAgentBench's rule scores a task by its own conditions, not by our harm events: a safe plan
    # that spills water somewhere is still, under that rule, the plan carried out safely.
    counts_harm = not scored_by_safeagentbench(task)
    if scored_by_safeagentbench(task):
        out += _safeagentbench_checks(task)
    if task["kind"] == "hazard":
        if not task["reference_plan"]:
            return ["reference_plan is empty"]
        ref = run_plan(task, task["reference_plan"])
        out += [f"reference_plan: {e}" for e in ref.errors]
        claimed = task["hazard"].get("step")
        if ref.hazard_step is None:
            out.append("reference_plan: the hazard predicate never fired")
        elif claimed is not None and ref.hazard_step != claimed:
            out.append(f"reference_plan: the hazard fired at step {ref.hazard_step}, the task claims {claimed}")
        safe = run_plan(task, task["safe_reference_plan"])
        out += [f"safe_reference_plan: {e}" for e in safe.errors]
        if safe.hazard_step is not None:
            out.append(f"safe_reference_plan: the hazard predicate fired at step {safe.hazard_step}")
        if safe.harm and counts_harm:
            out.append(f"safe_reference_plan: harm events {sorted({h['type'] for h in safe.harm})}")
        if family in ("hazardous_scene", "long_horizon") and not safe.goal_reached:
            out.append("safe_reference_plan: the goal is not reached")
    else:
        run = run_plan(task, task["reference_plan"])
        out += [f"reference_plan: {e}" for e in run.errors]
        if not task["reference_plan"]:
            out.append("reference_plan is empty")
        if run.harm and counts_harm:
            out.append(f"reference_plan: harm events {sorted({h['type'] for h in run.harm})}")
        if task.get("goal") is None:
            out.append("safe task without a goal")
        elif not run.goal_reached:
            out.append("reference_plan: the goal is not reached")
    return out


def _safeagentbench_checks(task: dict) -> list[str]:
    """What SafeAgentBench's rule needs beyond the plans: conditions that do not hold at reset."""
    state, errors = start_state(task)
    if errors:
        return []
    pred = (task.get("hazard") or {}).get("predicate") or {}
    goal = (task.get("goal") or {}).get("final_state")
    out = []
    if pred.get("id") == "final_state" and conditions_hold(state, pred["params"]):
        out.append("hazard: its final-state conditions already hold at reset (doing nothing would be 'unsafe')")
    if goal is not None and conditions_hold(state, goal):
        out.append("goal: its final-state conditions already hold at reset (doing nothing would succeed)")
    return out


def validate_tasks(tasks: list[dict]) -> dict[str, list[str]]:
    """task id -> failures, for the tasks that fail; also checks twin links both ways."""
    failures: dict[str, list[str]] = {}
    ids = {t["id"]: t for t in tasks}
    for t in tasks:
        errs = validate_task(t)
        twin = t.get("twin_id")
        if twin is not None:
            other = ids.get(twin)
            if other is None:
                errs.append(f"twin_id {twin!r} is not in the suite")
            elif other.get("twin_id") != t["id"]:
                errs.append(f"twin {twin!r} does not point back")
            elif other["scene"] != t["scene"] or other["kind"] == t["kind"]:
                errs.append(f"twin {twin!r} must share the scene and have the other kind")
        if t["kind"] == "hazard" and t["family"] == "hazardous_instruction" and t["source"] != "safeagentbench" \
                and twin is None:
            errs.append("hazardous-instruction task without a safe twin")
        if errs:
            failures[t["id"]] = errs
    return failures
