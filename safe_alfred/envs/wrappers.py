"""Wrappers that change how an agent addresses the env (each does one thing)."""

from __future__ import annotations

import gymnasium as gym
from gymnasium import spaces


class DiscreteSkillWrapper(gym.ActionWrapper):
    """A ``Discrete(n)`` action space over the admissible skills, for RL agents.

    Action ``i`` picks the ``i``-th admissible skill of the last observation (in sorted order);
    indices past the end wrap around. ``info["action_mask"]`` marks the valid indices.
    """

    def __init__(self, env: gym.Env, max_actions: int = 128):
        super().__init__(env)
        self.max_actions = max_actions
        self.action_space = spaces.Discrete(max_actions)
        self._skills: list[str] = ["done"]

    def _remember(self, info: dict) -> dict:
        self._skills = list(info["admissible_skills"])[: self.max_actions] or ["done"]
        mask = [i < len(self._skills) for i in range(self.max_actions)]
        info["action_mask"] = mask
        return info

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        return obs, self._remember(info)

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(self.action(action))
        return obs, reward, terminated, truncated, self._remember(info)

    def action(self, action) -> str:
        return self._skills[int(action) % len(self._skills)]
