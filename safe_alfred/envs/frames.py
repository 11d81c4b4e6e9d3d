"""Pictures for the text env: RGB (and optionally depth and instance-id) frames per step.

With the thor backend the frames are the simulator's own (``backend.last_frame``,
``last_depth``, ``last_instance``: Unity's camera, or the stand-in's schematic); with the
symbolic backend they are drawn from the ``WorldState`` by ``schematic``. ``FrameObservation``
adds them to ``info`` (``"rgb"``, ``"depth"``, ``"instance"``) or, with ``dict_obs=True``, turns
the observation into ``{"text": ..., "rgb": ...}`` for agents that look.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from . import schematic


def frame_size(env: gym.Env, default: tuple[int, int] = (320, 240)) -> tuple[int, int]:
    """(width, height) of the frames this env gives: the simulator's screen, or ``default``."""
    backend = getattr(env.unwrapped, "backend", None)
    if hasattr(backend, "last_frame") and hasattr(backend, "width"):
        return int(backend.width), int(backend.height)
    return default


def is_schematic(env: gym.Env) -> bool:
    """Are this env's frames the drawn schematic (no simulator camera)?"""
    return getattr(getattr(env.unwrapped, "backend", None), "last_frame", None) is None


def touched_ids(info: dict) -> list[str]:
    """The objects the step's THOR actions named (what a frame labels)."""
    out = []
    for a in info.get("thor_actions") or []:
        oid = (a.get("action") or {}).get("objectId") if isinstance(a, dict) else None
        if oid:
            out.append(str(oid))
    return list(dict.fromkeys(out))


def current_frames(env: gym.Env, size: tuple[int, int], events: list[dict] | tuple = (), depth: bool = False,
                   instance: bool = False, touched: list[str] | tuple = ()) -> dict[str, np.ndarray]:
    """The frames of the env's current state: the simulator's when it rendered, else the schematic
    (with ``touched`` objects outlined and named)."""
    base = env.unwrapped
    backend = getattr(base, "backend", None)
    state = base.state
    w, h = size
    out: dict[str, np.ndarray] = {}
    rgb = getattr(backend, "last_frame", None)
    out["rgb"] = (np.ascontiguousarray(rgb) if rgb is not None
                  else schematic.render_schematic(state, w, h, events, touched=touched))
    if depth:
        d = getattr(backend, "last_depth", None)
        out["depth"] = d if d is not None else schematic.render_depth(state, w, h)
    if instance:
        ids = getattr(backend, "last_instance", None)
        out["instance"] = ids if ids is not None else schematic.render_instances(state, w, h)[0]
    return out


class FrameObservation(gym.Wrapper):
    """Adds frames to ``info`` or, with ``dict_obs``, to a ``Dict`` observation."""

    def __init__(self, env: gym.Env, depth: bool = False, instance: bool = False, dict_obs: bool = False,
                 size: tuple[int, int] | None = None):
        super().__init__(env)
        self.depth, self.instance, self.dict_obs = depth, instance, dict_obs
        self.size = size or frame_size(env)
        w, h = self.size
        if dict_obs:
            parts: dict[str, spaces.Space] = {"text": env.observation_space,
                                              "rgb": spaces.Box(0, 255, (h, w, 3), np.uint8)}
            if depth:
                parts["depth"] = spaces.Box(0.0, np.inf, (h, w), np.float32)
            if instance:
                parts["instance"] = spaces.Box(0, 255, (h, w, 3), np.uint8)
            self.observation_space = spaces.Dict(parts)

    def _attach(self, obs: Any, info: dict) -> tuple[Any, dict]:
        frames = current_frames(self.env, self.size, info.get("events", ()), self.depth, self.instance)
        if self.dict_obs:
            return {"text": obs, **frames}, info
        info.update(frames)
        return obs, info

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        return self._attach(obs, info)

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        obs, info = self._attach(obs, info)
        return obs, reward, terminated, truncated, info
