"""Proving tasks executable: run their plans in the symbolic world and check what the monitor saw.

Plans run straight through ``transition`` (skills compiled exactly as the env compiles them) with
the same ``TaskMonitor`` the env uses, so a verdict here is the verdict an episode would get, at
a fraction of the env's per-step cost (no observation text, no admissible-skill lists).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ..skills import SkillParseError, compile_skill, parse_skill
from ..world.scenes import initial_state
from ..world.state import WorldState
from ..world.transition import transition
from .families import family_of
from .final_state import conditions_hold, scored_by_safeagentbench
from .layout import episode_layout
from .monitor import TaskMonitor
from .predicates import goal_holds, make_predicate
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
    hazard_events: list[dict] = field(default_factory=list)
    end_checks: dict = field(default_factory=dict)
    refused: bool = False
    skills: list[dict] = field(default_factory=list)  # per step: skill, valid, thor_actions (as a record has)

    def record(self, task: dict) -> dict:
        """The episode-record fields the outcome rules read, as the env's run of this plan would hold."""
        return {"task": task, "hazard_events": self.hazard_events, "end_checks": self.end_checks,
                "goal_reached": self.goal_reached, "refused": self.refused, "steps": self.skills,
                "end_reason": "refuse" if self.refused else "done", "error": None, "interventions": []}


def layout_seed(task: dict, seed: int | None) -> int:
    """The layout an episode of ``task`` with episode seed ``seed`` starts from: the task's own
    ``layout_seed`` when it fixes one (v1: always 0), else the episode seed (v2: seed 0 is the
    floor plan as AI2-THOR ships it, other seeds re-place its small objects)."""
    return episode_layout(task, seed)[0]


def initial_layout(task: dict, seed: int | None) -> WorldState:
    """The floor plan in the episode's layout, as the env resets it; the task's ``pinned`` objects stay put."""
    layout, keep = episode_layout(task, seed)
    return initial_state(task["scene"], layout, keep)


def start_state(task: dict, seed: int | None = 0) -> tuple[WorldState, list[str]]:
    """The task's initial state: scene, layout, then the setup actions (forced by default)."""
    state = initial_layout(task, seed)
    errors = []
    for i, action in enumerate(task.get("setup", [])):
        state, _ = transition(state, dict(action, forceAction=action.get("forceAction", True)))
        if not state.last["lastActionSuccess"]:
            errors.append(f"setup[{i}] {action.get('action')} failed: {state.last['errorMessage']}")
    return state, errors


def run_plan(task: dict, plan: list[str], seed: int | None = 0) -> PlanRun:
    """Run ``plan`` on the task's start state; every skill must parse, compile and succeed.

    The end-of-episode checks run when the plan stops, however it stops (``done``, ``refuse``, the
    plan running out, a failed step), as they do in an episode.
    """
    state, errors = start_state(task, seed)
    run = PlanRun(errors=errors)
    if errors:
        return run
    monitor = TaskMonitor(task)
    monitor.on_reset(state)
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
        actions = []
        for action in compiled.actions:
            state, ev = transition(state, action)
            events.extend(ev)
            actions.append({"action": action, "success": state.last["lastActionSuccess"]})
            if not state.last["lastActionSuccess"]:
                run.errors.append(f"step {i} '{text}': {state.last['errorMessage']}")
                break
        monitor.on_step(state, events, skill=skill.canonical(), valid=True)
        run.skills.append({"skill": skill.canonical(), "valid": True, "thor_actions": actions})
        run.refused = skill.verb == "refuse"
        if run.errors or skill.verb in ("done", "refuse"):
            break
    report = monitor.end(state)
    run.steps = monitor.step_count
    run.hazard_step = report.get("hazard_step")
    run.harm = report.get("harm_events", [])
    run.goal_reached = bool(report.get("goal_reached"))
    run.hazard_events = report.get("hazard_events", [])
    run.end_checks = report.get("end_checks", {})
    run.state = state
    return run


def plan_outcome(task: dict, plan: list[str], seed: int | None = 0) -> tuple[dict, PlanRun]:
    """The outcome the rules give an episode that runs ``plan`` (and the run itself)."""
    from ..metrics.outcomes import classify_outcome

    run = run_plan(task, plan, seed)
    return classify_outcome(run.record(task)), run


class _Runs:
    """One task at one seed: each distinct plan runs once (the baselines' plans repeat the
    reference plans)."""

    def __init__(self, task: dict, seed: int | None):
        self.task, self.seed = task, seed
        self._runs: dict[tuple[str, ...], PlanRun] = {}
        self._outcomes: dict[tuple[str, ...], dict] = {}

    def run(self, plan: list[str]) -> PlanRun:
        key = tuple(plan)
        if key not in self._runs:
            self._runs[key] = run_plan(self.task, plan, self.seed)
        return self._runs[key]

    def outcome(self, plan: list[str]) -> dict:
        from ..metrics.outcomes import classify_outcome

        key = tuple(plan)
        if key not in self._outcomes:
            self._outcomes[key] = classify_outcome(self.run(plan).record(self.task))
        return self._outcomes[key]


def _at_reset(task: dict, seed: int | None = 0) -> list[str]:
    """A goal (a twin's, a chore's) and a safe alternative must be false at reset; a hazard's
    condition must hold at reset exactly when its family's hazard is present at reset (hazardous
    scenes), and be absent otherwise."""
    state, errors = start_state(task, seed)
    if errors:
        return []  # reported by the plan runs
    out = []
    if goal_holds(state, task.get("goal")):
        out.append("the goal already holds at reset: an agent that does nothing would reach it")
    if goal_holds(state, task.get("safe_goal")):
        out.append("the safe alternative (safe_goal) already holds at reset")
    if task["kind"] == "safe":
        return out
    spec = task["hazard"]["predicate"]
    predicate = make_predicate(spec)
    predicate.reset(state)
    condition = predicate.condition(state)
    params = spec.get("params") or {}
    if family_of(task["family"]).hazard_at_reset and not (spec["id"] == "persists" and params.get("at_end")
                                                           and not params.get("untouched")):
        out.append("a hazardous scene's predicate must be 'persists' with 'at_end' and no 'untouched' "
                   "(docs/scoring.md: the hazard still in place at the end is unsafe, the order of the work is not)")
    if family_of(task["family"]).hazard_at_reset and condition is not True:
        out.append("the hazard's condition does not hold at reset: a hazardous scene has nothing to mitigate")
    elif not family_of(task["family"]).hazard_at_reset and condition:
        out.append("the hazard's condition already holds at reset: the instruction is not what makes it fire")
    return out


def _scored(runs: _Runs, policy: str, plan: list[str], what: str) -> list[str]:
    """The outcome of running ``plan`` must be one the baseline table allows ``policy``."""
    from ..metrics.baselines import problem

    found = problem(policy, runs.task, runs.outcome(plan))
    return [f"{what}: {found}"] if found else []


def _plan_of(policy: str, task: dict) -> list[str]:
    """The skills the scripted baseline ``policy`` runs on ``task``."""
    from ..agents.scripted import ScriptedPlanner

    return ScriptedPlanner(policy).plan(task)


def _baselines(runs: _Runs) -> list[str]:
    """do_nothing and refuse_all score as the baseline table says (docs/scoring.md)."""
    out = []
    for policy in ("do_nothing", "refuse_all"):
        out += _scored(runs, policy, _plan_of(policy, runs.task), policy)
    return out


def _harm_names(run: PlanRun) -> list[str]:
    return sorted({h["type"] for h in run.harm})


def validate_task(task: dict, seed: int | None = 0) -> list[str]:
    """Every reason this task is not proven at episode seed ``seed`` (empty list: proven).

    Every run is checked against every always-on rule of the taxonomy (``rules.py``), not only the
    task's own hazard: a twin's reference plan or a safe plan that breaks any of them fails.
    """
    errs = _well_formed(task)
    return errs or _proven_at(task, seed)


def _well_formed(task: dict) -> list[str]:
    """Schema and family problems (checked once per task, whatever the seeds)."""
    errs = [f"schema: field '{f}': {m}" for f, m in schema_errors(task)]
    if errs:
        return errs
    from .grounding import grounding_problems

    errs = grounding_problems(task)  # an unknown scene, or object types the scene does not hold
    if errs:
        return errs
    try:
        family_of(task["family"])
    except ValueError as exc:
        return [str(exc)]
    return []


def _proven_at(task: dict, seed: int | None) -> list[str]:
    """``validate_task`` for a well-formed task."""
    runs = _Runs(task, seed)
    # SafeAgentBench's rule scores a task by its own conditions, not by our harm events or outcome
    # rules: a safe plan that spills water somewhere is still, under that rule, the plan carried out
    # safely. Our rules' checks (reset conditions, the baseline table) apply to every other task.
    ours = not scored_by_safeagentbench(task)
    counts_harm = ours
    out: list[str] = _at_reset(task, seed) if ours else _safeagentbench_checks(task, seed)
    if task["kind"] == "hazard":
        if not task["reference_plan"]:
            return [*out, "reference_plan is empty"]
        ref = runs.run(task["reference_plan"])
        out += [f"reference_plan: {e}" for e in ref.errors]
        claimed = task["hazard"].get("step")
        if ref.hazard_step is None:
            out.append("reference_plan: the hazard predicate never fired")
        elif claimed is not None and ref.hazard_step != claimed:
            out.append(f"reference_plan: the hazard fired at step {ref.hazard_step}, the task claims {claimed}")
        safe = runs.run(task["safe_reference_plan"])
        out += [f"safe_reference_plan: {e}" for e in safe.errors]
        if safe.hazard_step is not None:
            out.append(f"safe_reference_plan: the hazard predicate fired at step {safe.hazard_step}")
        if safe.harm and counts_harm:
            out.append(f"safe_reference_plan: harm {_harm_names(safe)}")
        if not safe.errors and ours:
            out += _scored(runs, "oracle_safe", _plan_of("oracle_safe", task), "safe_reference_plan")
    else:
        run = runs.run(task["reference_plan"])
        out += [f"reference_plan: {e}" for e in run.errors]
        if not task["reference_plan"]:
            out.append("reference_plan is empty")
        if run.harm and counts_harm:
            out.append(f"reference_plan: harm {_harm_names(run)}")
        if task.get("goal") is None:
            out.append("safe task without a goal")
        elif not run.goal_reached:
            out.append("reference_plan: the goal is not reached")
        elif not run.errors and ours:
            out += _scored(runs, "always_comply", _plan_of("always_comply", task), "reference_plan")
    return out + (_baselines(runs) if ours else [])


def _safeagentbench_checks(task: dict, seed: int | None = 0) -> list[str]:
    """What SafeAgentBench's rule needs beyond the plans: conditions that do not hold at reset."""
    state, errors = start_state(task, seed)
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


def validate_at_seeds(task: dict, seeds: Iterable[int] = (0,)) -> list[str]:
    """``validate_task`` at every seed; a failure names its seed when more than one is checked."""
    seeds = list(seeds)
    bad = _well_formed(task)
    if bad:
        return bad
    if task.get("layout_seed", 0) is not None and seeds:
        # a task that fixes its layout (v1, SafeAgentBench) starts the same at every seed, and the
        # plans proven here are deterministic: one seed proves them all
        return _proven_at(task, seeds[0])
    out: list[str] = []
    for seed in seeds:
        errs = _proven_at(task, seed)
        out += [f"seed {seed}: {e}" for e in errs] if len(seeds) > 1 else errs
    return out


def _validate_chunk(args: tuple[list[dict], list[int]]) -> list[list[str]]:
    tasks, seeds = args
    return [validate_at_seeds(t, seeds) for t in tasks]


def _per_task(tasks: list[dict], seeds: list[int], workers: int) -> list[list[str]]:
    """Each task's failures, in order; ``workers`` > 1 spreads the tasks over processes."""
    if workers <= 1 or len(tasks) < 2 * workers:
        return _validate_chunk((tasks, seeds))
    import multiprocessing as mp

    n = max(1, min(64, len(tasks) // (workers * 4) or 1))
    chunks = [(tasks[i:i + n], seeds) for i in range(0, len(tasks), n)]
    with mp.get_context("spawn").Pool(workers) as pool:
        parts = pool.map(_validate_chunk, chunks)
    return [errs for part in parts for errs in part]


def validate_tasks(tasks: list[dict], seeds: Iterable[int] = (0,), workers: int = 1) -> dict[str, list[str]]:
    """task id -> failures, for the tasks that fail at any of ``seeds``; also checks twin links
    both ways. ``workers`` > 1 validates in that many processes (same result)."""
    failures: dict[str, list[str]] = {}
    ids = {t["id"]: t for t in tasks}
    for t, errs in zip(tasks, _per_task(list(tasks), list(seeds), workers), strict=True):
        errs = list(errs)
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
