"""``CBFFilter``: a control-barrier-function action filter between planner and env.

For a proposed skill the filter predicts the next state with the world model (the skill's
compiled THOR actions run through the pure ``transition``, from ``env.unwrapped.state``, which is
a ``WorldState`` on either backend) and admits the skill only if, for every guarded hazard
predicate's barrier ``h``::

    h(s') >= (1 - gamma) * h(s)        (a predicted firing gives h(s') = -1)

``gamma = 1`` admits anything that stays in the safe set; smaller ``gamma`` intervenes earlier.
By default the guarded predicates are the taxonomy's always-on rules only; ``task_predicates``
also guards the running task's own hazard predicate, which makes an *oracle* filter (it is told
which hazard the task is about): that is recorded in every episode record (``record["filter"]``)
and shown apart on the leaderboard. The filter keeps the simulated clock (``tasks.clock``) so that
time limits ("an empty kettle on a lit burner for five minutes") are predicted as the monitor
counts them.

A rejected skill is replaced by the first substitute that satisfies the condition: a minimal
corrective skill when a persisting condition is about to become a hazard on its own (a burner
left on: ``toggle_off StoveBurner``; ``find`` it first when out of view), else a no-op whose
observation says what was blocked and why (``substitution="noop"``) or a refusal
(``substitution="refuse"``). Each intervention goes into ``info["interventions"]``, which the
trace recorder copies into the episode record.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from ..envs.observation import render_text
from ..tasks.clock import Clock, skill_seconds
from ..tasks.monitor import ends_episode
from ..world.geometry import spec_of
from ..world.state import WorldState
from .barriers import Guard, Predicted, build_guards, predict, relaxed

SUBSTITUTIONS = ("noop", "refuse")
NOOP_SKILL = ""  # the env's empty skill: one step passes, nothing in the world changes
TOL = 1e-9


class CBFFilter(gym.Wrapper):
    """Admit a skill only if every active barrier satisfies the discrete-time CBF condition."""

    is_action_filter = True  # records of episodes behind it get the planner's own outcome (docs/scoring.md)

    def __init__(self, env: gym.Env, gamma: float = 1.0, categories: list[str] | None = None,
                 substitution: str = "noop", horizon: int = 4, task_predicates: bool = False,
                 corrective: bool = True, persistent_templates: bool = True,
                 state_templates: bool = True, motion: bool = False, motion_options: dict | None = None):
        super().__init__(env)
        if not 0.0 < float(gamma) <= 1.0:
            raise ValueError(f"gamma must be in (0, 1], got {gamma}")
        if substitution not in SUBSTITUTIONS:
            raise ValueError(f"substitution must be one of {SUBSTITUTIONS}, got {substitution!r}")
        if int(horizon) < 1:
            raise ValueError(f"horizon must be >= 1, got {horizon}")
        self.gamma = float(gamma)
        self.categories = list(categories) if categories is not None else None
        self.substitution = substitution
        self.horizon = int(horizon)
        self.task_predicates = bool(task_predicates)
        self.corrective = bool(corrective)
        self.persistent_templates = bool(persistent_templates)
        self.state_templates = bool(state_templates)
        self.guards: list[Guard] = []
        self.t = 0
        self.clock = Clock()
        self.motion = None
        if motion:
            from .motion import MotionShield
            self.motion = MotionShield(self, **(motion_options or {}))
        if self.categories is not None:  # fail at construction on unknown names
            from ..tasks.taxonomy import CATEGORIES
            bad = [c for c in self.categories if c not in CATEGORIES]
            if bad:
                raise ValueError(f"unknown hazard categories {bad}; expected some of {sorted(CATEGORIES)}")

    # -- gymnasium API ---------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        base = self.env.unwrapped
        shielded = getattr(base, "backend", None)
        if self.motion is not None and hasattr(shielded, "active"):
            shielded.active = False  # task setup actions run unfiltered
        obs, info = self.env.reset(seed=seed, options=options)
        self.guards = build_guards(base.state, self.categories, getattr(base, "task", None),
                                   self.task_predicates, self.horizon, self.persistent_templates,
                                   self.state_templates)
        self.t = 0
        self.clock.reset(base.state)
        self._cache = None
        if self.motion is not None:
            self.motion.attach()
            base.backend.active = True
        info["interventions"] = []
        return obs, info

    def step(self, action: str):
        base = self.env.unwrapped
        state: WorldState = base.state
        t = self.t
        before = self._cached_values(state)
        if before is None:
            before = {g.name: g.value(state, t) for g in self.guards}
        pred = self._predict(state, action)
        after: dict[str, float] = {}
        violations = self._violations(pred, t + 1, before, after)
        interventions: list[dict] = []
        self._cache = None
        if not violations:
            out = self._execute(action)
            self._cache = (pred.state, after)
        else:
            substitute, sub_pred, kind = self._choose_substitute(state, action, t + 1, before)
            after_sub = {g.name: self._h_after(g, sub_pred, t + 1) for g in self.guards}
            worst = min(violations, key=lambda v: v["h_after"] - (1 - self.gamma) * v["h_before"])
            reason = worst["reason"]
            interventions.append({
                "step": t + 1,
                "proposed": str(action),
                "action": "blocked" if kind == "noop" else "substituted",
                "executed": None if kind == "noop" else substitute,
                "substitution": kind,
                "category": worst["category"],
                "categories": sorted({v["category"] for v in violations}),
                "barrier": worst["barrier"],
                "h_before": round(worst["h_before"], 4),
                "h_after": round(worst["h_after"], 4),
                "h_after_substitute": round(after_sub[worst["barrier"]], 4),
                "gamma": self.gamma,
                "reason": reason,
            })
            if kind == "noop":
                out = self._noop(action, reason)
            else:
                note = f"The safety filter replaced '{action}' with '{substitute}': {reason}."
                out = self._execute(substitute, note=note)
        obs, reward, terminated, truncated, info = out
        self._advance(info)
        if self.motion is not None:
            interventions.extend(self.motion.drain(t + 1))
        info["interventions"] = interventions
        return obs, reward, terminated, truncated, info

    # -- internals -------------------------------------------------------------------------------
    def _predict(self, state: WorldState, skill: str) -> Predicted:
        hook = self.motion.hook if self.motion is not None else None
        return predict(state, skill, require_knife=getattr(self.env.unwrapped, "require_knife", False), hook=hook)

    def _now_after(self, pred: Predicted) -> float:
        """The simulated clock after the predicted step (as the task monitor will count it)."""
        return self.clock.now + skill_seconds(pred.skill, self.env.unwrapped.state, pred.state, pred.valid)

    def _h_after(self, g: Guard, pred: Predicted, step: int) -> float:
        fired, clone = g.fires(pred.state, pred.events, step, pred.ended, self._now_after(pred))
        return -1.0 if fired else g.value(pred.state, step, clone)

    def _cached_values(self, state: WorldState) -> dict[str, float] | None:
        """Barrier values predicted for the last admitted step, if the world did what was predicted."""
        cache = getattr(self, "_cache", None)
        if cache is None:
            return None
        pred_state, values = cache
        same = (pred_state is state or (pred_state.held == state.held and pred_state.agent == state.agent
                                        and pred_state.objects == state.objects))
        return values if same else None

    def _violations(self, pred: Predicted, step: int, before: dict[str, float],
                    after: dict[str, float] | None = None) -> list[dict]:
        out = []
        now = self._now_after(pred)
        for g in self.guards:
            fired, clone = g.fires(pred.state, pred.events, step, pred.ended, now)
            h_after = -1.0 if fired else g.value(pred.state, step, clone)
            if after is not None:
                after[g.name] = h_after
            h_before = before[g.name]
            if h_after + TOL >= (1.0 - self.gamma) * h_before:
                continue
            if fired:
                reason = self._fired_reason(g, pred)
            else:
                reason = (f"it brings the {g.category.replace('_', ' ')} hazard too close "
                          f"(barrier {h_before:.2f} -> {h_after:.2f}, needs >= {(1 - self.gamma) * h_before:.2f})")
            out.append({"barrier": g.name, "category": g.category, "h_before": h_before, "h_after": h_after,
                        "fired": fired, "reason": reason})
        return out

    def _fired_reason(self, g: Guard, pred: Predicted) -> str:
        cat = g.category.replace("_", " ")
        params = g.spec.get("params") or {}
        if g.spec["id"] == "event":
            types = set(params.get("types") or ())
            hits = sorted({f"{e['type']} at the {self._type(pred.state, e.get('objectId'))}"
                           for e in pred.events if e.get("type") in types})
            return f"it would cause {', '.join(hits) or cat} ({cat} hazard)"
        fact = params.get("fact") or {}
        if g.spec["id"] == "state":
            return f"it would put an object where it must not go ({fact.get('fact')}; {cat} hazard)"
        if pred.ended:
            return f"the task cannot end while a hazard persists ({fact.get('fact')}; {cat} hazard)"
        return f"a hazardous condition has lasted too long ({fact.get('fact')}; {cat} hazard)"

    @staticmethod
    def _type(state: WorldState, oid: Any) -> str:
        return spec_of(state, oid).type if isinstance(oid, str) and oid in state.objects else "scene"

    def _correctives(self, state: WorldState) -> list[str]:
        """Skills toward ending each persisting condition (switch off, close, pick up): the one that ends
        it, then the ones that bring it within reach (``_choose_substitute`` takes the first that runs)."""
        if not self.corrective:
            return []
        from ..tasks.predicates import matches
        rel = relaxed(state)
        out: list[str] = []
        for g in self.guards:
            params = g.spec.get("params") or {}
            if g.spec["id"] != "persists" or g.predicate._since is None:
                continue
            fact = params["fact"]
            objs = sorted(matches(state, fact))
            name = fact.get("fact")
            if name == "condition":
                from ..world.consequences import hazard_conditions
                conds = hazard_conditions(state)
                objs = sorted({c for k in fact.get("kinds", ()) for o, c in conds.get(k, ()) if o in objs})
                name = "toggled"
            for o in objs:
                typ = spec_of(state, o).type
                switch = rel._switch(o)
                if name == "toggled":
                    skill = f"toggle_off {'StoveBurner' if switch != o else typ}"
                    near = switch
                elif name == "open":
                    skill, near = f"close {typ}", o
                elif name in ("on_floor", "in_receptacle"):
                    plan = rel.retrieve_plan(o)
                    if plan:
                        out.append(plan[0])
                    continue
                else:
                    continue
                out.append(skill)  # tried first: it is dropped when it cannot run from here
                if near != o:  # a burner switches at its knob: face the knobs, else the burner
                    out.append(f"find {spec_of(state, near).type}")
                if rel.reach(near):
                    out.append(f"find {typ}")
        seen: set[str] = set()
        return [s for s in out if not (s in seen or seen.add(s))]

    def _choose_substitute(self, state: WorldState, action: str, step: int,
                           before: dict[str, float]) -> tuple[str, Predicted, str]:
        """The first substitute that keeps every barrier condition, else the least-bad one."""
        fallback = ("refuse", f"refuse the safety filter blocked '{action}'") if self.substitution == "refuse" \
            else ("noop", NOOP_SKILL)
        candidates = [("corrective", s) for s in self._correctives(state)] + [fallback]
        best = None
        for kind, skill in candidates:
            p = self._predict(state, skill) if kind != "noop" else Predicted(state, [], False, None, False)
            if kind == "corrective" and not p.valid:
                continue
            if kind == "corrective" and not p.state.last.get("lastActionSuccess", True):
                continue
            bad = self._violations(p, step, before)
            if not bad:
                return skill, p, kind
            margin = min(v["h_after"] - (1 - self.gamma) * v["h_before"] for v in bad)
            if best is None or margin > best[0]:
                best = (margin, skill, p, kind)
        assert best is not None
        return best[1], best[2], best[3]

    def _execute(self, skill: str, note: str | None = None):
        obs, reward, terminated, truncated, info = self.env.step(skill)
        if note:
            info["feedback"] = f"{note} {info.get('feedback', '')}".strip()
            obs = self._render(info)
        return obs, reward, terminated, truncated, info

    def _noop(self, action: str, reason: str):
        obs, reward, terminated, truncated, info = self.env.step(NOOP_SKILL)
        info["skill"] = None
        info["valid"] = True
        info["feedback"] = f"The safety filter blocked '{action}': {reason}. Nothing happened; choose another step."
        return self._render(info), reward, terminated, truncated, info

    def _render(self, info: dict) -> str:
        base = self.env.unwrapped
        return render_text(base.state, (getattr(base, "task", None) or {}).get("instruction"),
                           info["feedback"], list(info.get("events") or []))

    def _advance(self, info: dict) -> None:
        self.t += 1
        state = self.env.unwrapped.state
        ended = ends_episode(info.get("skill"))
        events = list(info.get("events") or [])
        now = self.clock.advance(info.get("skill"), state, bool(info.get("valid", True)))
        for g in self.guards:
            g.advance(state, events, self.t, ended, now)

    def filter_description(self) -> dict[str, Any]:
        """What stood between planner and world, for the episode record: an ``oracle`` filter also
        guards the task's own hazard predicate (it is told the answer)."""
        return {"name": "cbf", "gamma": self.gamma, "oracle": self.task_predicates,
                "guards": "taxonomy rules and the task's hazard" if self.task_predicates else "taxonomy rules"}

    def barrier_values(self) -> dict[str, float]:
        """Current ``h`` of every guard (for inspection and tests)."""
        state = self.env.unwrapped.state
        return {g.name: g.value(state, self.t) for g in self.guards}


def make_filter(env: gym.Env, cfg: dict | None = None, **kwargs: Any) -> gym.Env:
    """Wrap ``env`` per a ``filter`` config (dict or kwargs); ``enabled: false`` returns it as is.

    Keys: ``gamma``, ``categories`` (None: all), ``substitution`` (noop|refuse), ``horizon``,
    ``task_predicates``, ``corrective``, ``persistent_templates``, ``state_templates``, ``motion``, ``motion_options``; ``options`` is merged in.
    """
    opts = dict(cfg or {})
    opts.update(kwargs)
    opts.update(opts.pop("options", None) or {})
    opts.pop("name", None)
    if not opts.pop("enabled", True):
        return env
    return CBFFilter(env, **opts)
