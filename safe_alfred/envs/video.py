"""One browser-playable MP4 per episode, with the step, the skill and the reasoning on each frame.

Frames come from ``frames.current_frames`` (the simulator's camera with the thor backend, the
top-down schematic with the symbolic one), so episodes can be watched without Unity. Encoding is
imageio's ffmpeg plugin with ``libx264`` and ``yuv420p`` (what browsers play; OpenCV's wheels
cannot write H.264); frame sizes are made even because yuv420p needs it.

Reasoning reaches the overlay either through ``info["reasoning"]`` (a trace wrapper below this
one can put it there) or ``wrapper.set_reasoning(text)`` before ``step``.
"""

from __future__ import annotations

import os
import textwrap
from typing import Any

import cv2
import gymnasium as gym
import imageio.v2 as imageio
import numpy as np

from .frames import current_frames, frame_size, is_schematic, touched_ids
from .schematic import legend_band

BAND = (16, 16, 20)
FONT = cv2.FONT_HERSHEY_SIMPLEX


def _even(n: int) -> int:
    return n - (n % 2)


def open_writer(path: str, fps: int) -> Any:
    """An H.264/yuv420p MP4 writer (what browsers play)."""
    return imageio.get_writer(path, format="FFMPEG", mode="I", fps=fps, codec="libx264", pixelformat="yuv420p",
                              macro_block_size=1, ffmpeg_log_level="error", output_params=["-movflags", "+faststart"])


def compose_frame(frame: np.ndarray, size: tuple[int, int], head: str, colour: tuple[int, int, int], reasoning: str,
                  events: list[dict], reasoning_lines: int = 2, legend: bool = False) -> np.ndarray:
    """One video frame: the picture at ``size``, the step line, reasoning, events, and (for the
    schematic) the colour legend. Every frame of a video gets the same number of lines."""
    if frame.shape[1] != size[0] or frame.shape[0] != size[1]:
        frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
    width_chars = max(20, size[0] // 7)
    lines = [(head[:width_chars], colour)]
    wrapped = textwrap.wrap(" ".join(reasoning.split()), width_chars)[:reasoning_lines] if reasoning else []
    lines += [(t, (230, 230, 230)) for t in wrapped + [""] * (reasoning_lines - len(wrapped))]
    hazards = ", ".join(sorted({e["type"] for e in events if e.get("type")}))
    lines.append(((f"events: {hazards}" if hazards else "")[:width_chars], (255, 90, 90)))
    out = overlay(frame, lines)
    if legend:
        band = legend_band(out.shape[1])
        out = np.concatenate([out, band], axis=0)
        out = out[: _even(out.shape[0])]
    return out


def overlay(frame: np.ndarray, lines: list[tuple[str, tuple[int, int, int]]], scale: float = 0.4) -> np.ndarray:
    """Draws a text band under the frame (RGB in, RGB out), so the picture itself stays visible."""
    h, w = frame.shape[:2]
    line_h = int(22 * scale / 0.5)
    band = np.empty((line_h * len(lines) + 6, w, 3), np.uint8)
    band[:] = BAND
    for i, (text, colour) in enumerate(lines):
        cv2.putText(band, text, (4, line_h * (i + 1) - 2), FONT, scale, colour, 1, cv2.LINE_AA)
    out = np.concatenate([frame[:, :, :3].astype(np.uint8), band], axis=0)
    return out[: _even(out.shape[0]), : _even(out.shape[1])]


class EpisodeVideo(gym.Wrapper):
    """Writes ``<video_dir>/<prefix>-<n>.mp4`` for every episode (paths in ``self.paths``)."""

    def __init__(self, env: gym.Env, video_dir: str, fps: int = 2, size: tuple[int, int] | None = None,
                 name_prefix: str = "episode", reasoning_lines: int = 2):
        super().__init__(env)
        self.video_dir = video_dir
        self.fps = fps
        self.size = size or frame_size(env, default=(480, 360))
        self.name_prefix = name_prefix
        self.reasoning_lines = reasoning_lines
        self.paths: list[str] = []
        self.frames_written = 0
        self._writer = None
        self._episode = 0
        self._reasoning = ""
        os.makedirs(video_dir, exist_ok=True)

    def set_reasoning(self, text: str | None) -> None:
        """The reasoning to draw with the next step's frame."""
        self._reasoning = text or ""

    # -- gymnasium API ---------------------------------------------------------------------------
    def reset(self, **kwargs):
        self._finish()
        obs, info = self.env.reset(**kwargs)
        path = os.path.join(self.video_dir, f"{self.name_prefix}-{self._episode:04d}.mp4")
        self._episode += 1
        self._writer = open_writer(path, self.fps)
        self.paths.append(path)
        self.frames_written = 0
        task = info.get("task") or {}
        self._write(info, f"step 0  reset  {task.get('id', '')}".rstrip(), "", (220, 220, 220))
        return obs, info

    def step(self, action):
        reasoning = self._reasoning
        self._reasoning = ""
        obs, reward, terminated, truncated, info = self.env.step(action)
        reasoning = info.get("reasoning") or reasoning
        skill = info.get("skill") or str(action)
        ok = info.get("valid", True) and all(a.get("success", True) for a in info.get("thor_actions", []))
        head = f"step {info.get('step', '?')}  {skill}  [{'ok' if ok else 'failed'}]"
        self._write(info, head, reasoning, (140, 230, 140) if ok else (240, 170, 80))
        if terminated or truncated:
            self._finish()
        return obs, reward, terminated, truncated, info

    def close(self):
        self._finish()
        super().close()

    # -- helpers ---------------------------------------------------------------------------------
    def _write(self, info: dict[str, Any], head: str, reasoning: str, colour: tuple[int, int, int]) -> None:
        if self._writer is None:
            return
        events = info.get("events") or []
        frame = current_frames(self.env, self.size, events, touched=touched_ids(info))["rgb"]
        self._writer.append_data(compose_frame(frame, self.size, head, colour, reasoning, events,
                                               self.reasoning_lines, legend=is_schematic(self.env)))
        self.frames_written += 1

    def _finish(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class FrameCapture(gym.Wrapper):
    """Keeps the current episode's frames (reset, then one per step) for ``write_episode_video``.

    ``safe-alfred run runner.video=...`` wraps each worker's env in it; the text of each frame
    (skill, reasoning, events) comes from the finished record, so nothing is drawn for episodes
    whose video is not wanted.
    """

    def __init__(self, env: gym.Env, size: tuple[int, int] | None = None):
        super().__init__(env)
        self.size = size or frame_size(env, default=(480, 360))
        self.frames: list[np.ndarray] = []
        self.schematic = True

    def _grab(self, info: dict[str, Any]) -> None:
        self.schematic = is_schematic(self.env)
        frame = current_frames(self.env, self.size, info.get("events") or [], touched=touched_ids(info))["rgb"]
        self.frames.append(np.array(frame, copy=True))

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        self.frames = []
        self._grab(info)
        return obs, info

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._grab(info)
        return obs, reward, terminated, truncated, info


def write_episode_video(frames: list[np.ndarray], record: dict, path: str, fps: int = 2, legend: bool = True,
                        size: tuple[int, int] | None = None) -> str:
    """The MP4 of one finished episode: its frames, captioned from its record; written atomically."""
    steps = record.get("steps") or []
    size = size or (frames[0].shape[1], frames[0].shape[0])
    task = (record.get("task") or {}).get("id", "")
    outcome = (record.get("outcome") or {}).get("label", "")
    tmp = os.path.join(os.path.dirname(path) or ".", f".{os.path.basename(path)}.{os.getpid()}.tmp.mp4")
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    writer = open_writer(tmp, fps)
    try:
        for i, frame in enumerate(frames):
            if i == 0:
                head, colour, reasoning = f"step 0  reset  {task}  -> {outcome}", (220, 220, 220), ""
                events = list(record.get("reset_events") or [])
            else:
                st = steps[i - 1] if i - 1 < len(steps) else {}
                ok = st.get("valid", True) and all(a.get("success", True) for a in st.get("thor_actions") or [])
                head = f"step {st.get('step', i)}  {st.get('skill') or st.get('requested') or ''}  [{'ok' if ok else 'failed'}]"
                colour = (140, 230, 140) if ok else (240, 170, 80)
                reasoning, events = str(st.get("reasoning") or ""), list(st.get("events") or [])
            writer.append_data(compose_frame(frame, size, head, colour, reasoning, events, legend=legend))
    finally:
        writer.close()
    os.replace(tmp, path)
    return path
