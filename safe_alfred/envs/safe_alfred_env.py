"""``SafeAlfred-v0``: the Gymnasium environment over the symbolic world (or AI2-THOR).

Observation: text (what the agent sees, holds, and how the last step went). Action: one skill as
text (see ``skills.py``). ``info`` carries ``admissible_skills``, ``metadata`` (THOR-shaped, built
on first access), ``events`` (typed consequences with their step), the THOR actions the skill
compiled to with their results, and, with a task, the task and its monitor's findings.
``terminated`` on ``done`` or ``refuse`` (or when a task monitor ends the episode); ``truncated``
at ``max_steps``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.utils import seeding

from .. import DEFAULT_MAX_STEPS
from ..skills import SkillParseError, compile_skill, parse_skill
from ..tasks.layout import episode_layout
from ..tasks.monitor import TaskMonitor
from ..tasks.suite import get_task
from ..world.state import WorldState
from .backends import Backend, make_backend
from .observation import CHARSET, MAX_OBS_CHARS, render_text
from .perception import perceive


class LazyMetadata(Mapping):
    """THOR event metadata built only when someone reads it (it is large; most steps never do)."""

    def __init__(self, backend: Backend, state: WorldState):
        self._backend, self._state, self._data = backend, state, None

    def _get(self) -> dict:
        if self._data is None:
            if self._backend.state is self._state:
                self._data = self._backend.metadata()
            else:
                from ..world.metadata import to_metadata
                self._data = to_metadata(self._state)
        return self._data

    def __getitem__(self, key: str) -> Any:
        return self._get()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())


def _resolve_task(task: Any) -> dict:
    return task if isinstance(task, dict) else get_task(str(task))


class SafeAlfredEnv(gym.Env):
    metadata = {"render_modes": ["ansi"], "render_fps": 2}
    # The seed the last seeded reset gave, until ``np_random`` is first read: the env draws
    # nothing from it (a layout has its own generator), and making numpy's costs about as much
    # as a whole step, so it is made, from that seed, only when someone asks for it.
    _seed_for_rng: int | None = None
    _rng: np.random.Generator | None = None  # (never through ``__dict__``: attribute reads stay fast)

    def __init__(self, backend: str = "symbolic", scene: str = "FloorPlan1", max_steps: int = DEFAULT_MAX_STEPS,
                 require_knife: bool = False, randomize_layout: bool = True, render_mode: str | None = None,
                 backend_options: dict | None = None):
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']}, got {render_mode!r}")
        self.render_mode = render_mode
        self.backend_name = backend
        self.backend: Backend = make_backend(backend, **(backend_options or {}))
        self.default_scene = scene
        self.max_steps = int(max_steps)
        self.require_knife = require_knife
        self.randomize_layout = randomize_layout
        self.observation_space = spaces.Text(max_length=MAX_OBS_CHARS, min_length=0, charset="".join(sorted(CHARSET)))
        self.action_space = spaces.Text(max_length=256, min_length=1, charset="".join(sorted(CHARSET)))
        self.task: dict | None = None
        self.monitor = None
        self.state: WorldState | None = None
        self.steps = 0
        self._last_obs = ""

    # -- gymnasium API ---------------------------------------------------------------------------
    @property
    def _np_random(self) -> np.random.Generator | None:
        """gymnasium's generator slot: after a seeded reset, the generator of that seed, made
        when first read (through ``np_random`` or by gymnasium's checker)."""
        rng = self._rng
        if rng is None and self._seed_for_rng is not None:
            rng = self._rng = seeding.np_random(self._seed_for_rng)[0]
            self._seed_for_rng = None
        return rng

    @_np_random.setter
    def _np_random(self, value: np.random.Generator | None) -> None:
        self._rng = value
        self._seed_for_rng = None

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        if seed is not None:  # ``super().reset(seed=seed)``, the generator left to ``np_random``
            if not (isinstance(seed, int) and seed >= 0):
                seeding.np_random(seed)  # gymnasium's own error for a seed it does not take
            self._np_random = None
            self._np_random_seed = self._seed_for_rng = seed
        options = dict(options or {})
        self.task = _resolve_task(options["task"]) if options.get("task") is not None else None
        scene = options.get("scene") or (self.task or {}).get("scene") or self.default_scene
        layout, keep = episode_layout(self.task, seed, self.randomize_layout)
        self.state = self.backend.reset(scene, layout, keep)
        self.steps = 0
        events: list[dict] = []
        feedback = ""
        self.monitor = None
        if self.task is not None:
            for action in self.task.get("setup", []):
                self.state, ev = self.backend.step(dict(action, forceAction=action.get("forceAction", True)))
                if not self.state.last["lastActionSuccess"]:
                    raise ValueError(f"task {self.task.get('id')}: setup action {action} failed: "
                                     f"{self.state.last['errorMessage']}")
                events.extend(ev)
            self.monitor = TaskMonitor(self.task)
            self.monitor.on_reset(self.state)
        seen, skills = perceive(self.state)
        obs = render_text(self.state, (self.task or {}).get("instruction"), feedback, [], seen)
        self._last_obs = obs
        info = self._info(events=events, skill=None, actions=[], valid=True, feedback=feedback, skills=skills)
        if self.task is not None:
            info["task"] = self.task
        return obs, info

    def step(self, action: str):
        if self.state is None:
            raise RuntimeError("call reset() before step()")
        self.steps += 1
        terminated = False
        thor_results: list[dict] = []
        events: list[dict] = []
        valid = True
        canonical = None
        try:
            skill = parse_skill(action)
        except SkillParseError as exc:
            skill, valid, feedback = None, False, f"Invalid skill {str(action)[:80]!r}: {exc}."
        if skill is not None:
            canonical = skill.canonical()
            compiled = compile_skill(self.state, skill, require_knife=self.require_knife)
            if skill.verb in ("done", "refuse"):
                terminated = True
                feedback = "You refused the task." if skill.verb == "refuse" else "You declared the task done."
            elif compiled.error:
                valid, feedback = False, f"Invalid skill '{canonical}': {compiled.error}"
            else:
                ok = True
                for thor_action in compiled.actions:
                    self.state, ev = self.backend.step(thor_action)
                    last = self.state.last
                    ok = last["lastActionSuccess"]
                    thor_results.append({"action": thor_action, "success": ok, "errorMessage": last["errorMessage"]})
                    events.extend(ev)
                    if not ok:
                        break
                feedback = (f"Last step '{canonical}' succeeded." if ok
                            else f"Last step '{canonical}' failed: {thor_results[-1]['errorMessage']}")
        reward = 0.0
        extra: dict = {}
        if self.monitor is not None:
            extra = self.monitor.on_step(self.state, events, skill=canonical, valid=valid)
            reward = float(extra.pop("reward", 0.0))
            terminated = terminated or bool(extra.pop("terminated", False))
        truncated = not terminated and self.steps >= self.max_steps
        seen, skills = perceive(self.state)
        obs = render_text(self.state, (self.task or {}).get("instruction"), feedback, events, seen)
        self._last_obs = obs
        info = self._info(events=events, skill=canonical, actions=thor_results, valid=valid, feedback=feedback,
                          skills=skills)
        info.update(extra)
        return obs, reward, terminated, truncated, info

    def render(self):
        if self.render_mode == "ansi":
            return self._last_obs
        return None

    def close(self):
        self.backend.close()

    # -- helpers ---------------------------------------------------------------------------------
    def _info(self, *, events, skill, actions, valid, feedback, skills) -> dict:
        return {
            "admissible_skills": list(skills),
            "metadata": LazyMetadata(self.backend, self.state),
            "events": events,
            "skill": skill,
            "thor_actions": actions,
            "valid": valid,
            "feedback": feedback,
            "step": self.steps,
        }
