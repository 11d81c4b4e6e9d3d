"""Prompt templates (YAML under ``conf/prompts/``) rendered into chat messages.

Templates are data so that a study can change the system prompt or observation format without
touching code, and so that every episode record can name the exact prompt it ran with
(``PromptTemplates.sha256``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Any

from safe_alfred.agents.base import Mode, PlannerInput
from safe_alfred.config_paths import conf_path

REQUIRED_KEYS = ("system", "skill_grammar", "output_format", "user", "history_item", "admissible")


def _load_yaml(path: Path) -> dict[str, Any]:
    from omegaconf import OmegaConf

    cfg = OmegaConf.load(path)
    data = OmegaConf.to_container(cfg, resolve=False)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a prompt file must hold a mapping")
    return data


def _resolve_path(name_or_path: str | Path) -> Path:
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") and p.exists():
        return p
    candidate = conf_path("prompts", f"{name_or_path}.yaml")
    if candidate.exists():
        return candidate
    raise FileNotFoundError(f"no prompt templates named {name_or_path!r} (looked for {candidate})")


def _merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


@dataclass
class PromptTemplates:
    """A prompt set loaded from YAML; ``base:`` chains to another set that it overrides."""

    data: dict[str, Any]

    @classmethod
    def load(cls, name_or_path: str | Path = "default", overrides: dict | None = None) -> PromptTemplates:
        """Load by name (``conf/prompts/<name>.yaml``) or path, resolving ``base:`` chains."""
        path = _resolve_path(name_or_path)
        data = _load_yaml(path)
        seen = {path.resolve()}
        while "base" in data and data["base"]:
            base_path = _resolve_path(data["base"])
            if base_path.resolve() in seen:
                raise ValueError(f"prompt templates: cycle through {base_path}")
            seen.add(base_path.resolve())
            child = {k: v for k, v in data.items() if k != "base"}
            data = _merge(_load_yaml(base_path), child)
        if overrides:
            data = _merge(data, overrides)
        missing = [k for k in REQUIRED_KEYS if k not in data]
        if missing:
            raise ValueError(f"prompt templates {name_or_path!r} lack keys: {missing}")
        return cls(data)

    @property
    def name(self) -> str:
        return str(self.data.get("name", "custom"))

    @property
    def sha256(self) -> str:
        """Hash of the templates (every record also holds the hash of each rendered prompt)."""
        return hashlib.sha256(json.dumps(self.data, sort_keys=True).encode()).hexdigest()

    @property
    def stop(self) -> list[str]:
        """Strings that end an answer: the start of a new prompt turn, end-of-turn tokens."""
        return [str(s) for s in self.data.get("stop") or []]

    def examples(self, mode: Mode) -> str:
        ex = self.data.get("examples", "")
        if isinstance(ex, dict):  # one set per mode: closed-loop examples for closed loop
            ex = ex.get(mode, "")
        return str(ex or "").rstrip()

    def system(self, mode: Mode = "closed_loop") -> str:
        d = self.data
        return (
            Template(d["system"])
            .safe_substitute(skill_grammar=d["skill_grammar"].rstrip(), examples=self.examples(mode))
            .strip()
        )

    def history(self, inp: PlannerInput) -> str:
        """Executed skills and their results; a step whose answer held no skill says only that."""
        if not inp.history:
            return str(self.data.get("history_empty", "(nothing yet)"))
        item = Template(self.data["history_item"])
        unreadable = str(self.data.get("history_unreadable", "(no skill)"))
        lines = []
        for h in inp.history:
            skill = h.skill or unreadable
            result = "ok" if h.success else ("failed" if not h.skill else f"failed: {_short_failure(h.feedback)}")
            lines.append(item.safe_substitute(step=h.step, skill=skill, result=result, feedback=h.feedback))
        return "\n".join(lines)

    def choices(self, inp: PlannerInput) -> list[str]:
        """The skills offered to the model: the admissible ones, then ``refuse <reason>`` and ``done``."""
        last = [str(s) for s in self.data.get("always_listed") or []]
        last_verbs = {s.split(" ", 1)[0] for s in last}
        return [s for s in inp.admissible_skills if s.split(" ", 1)[0] not in last_verbs] + last

    def admissible(self, inp: PlannerInput) -> str:
        limit = int(self.data.get("max_admissible", 200))
        if limit <= 0:
            return ""
        last = [str(s) for s in self.data.get("always_listed") or []]
        offered = self.choices(inp)[: len(self.choices(inp)) - len(last)]
        shown = offered[:limit]
        more = len(offered) - len(shown)
        listed = ", ".join(shown + ([f"... ({more} more)"] if more > 0 else []) + last)
        return (
            Template(self.data["admissible"])
            .safe_substitute(skills=listed, count=len(offered) + len(last))
            .rstrip()
        )

    def user(self, inp: PlannerInput, mode: Mode) -> str:
        d = self.data
        text = Template(d["user"][mode]).safe_substitute(
            instruction=inp.instruction,
            observation=observation_without_instruction(inp.observation, inp.instruction),
            step=inp.step,
            history=self.history(inp),
            admissible=self.admissible(inp),
            output_format=str(d["output_format"][mode]).strip(),
        )
        while "\n\n\n" in text:  # an empty block (no admissible list) leaves a gap
            text = text.replace("\n\n\n", "\n\n")
        return text.strip()

    def messages(self, inp: PlannerInput, mode: Mode, send_image: bool = False) -> list[dict[str, Any]]:
        """OpenAI chat messages; with ``send_image`` and a frame, the user turn carries it as a PNG."""
        user_text = self.user(inp, mode)
        content: Any = user_text
        if send_image and inp.image is not None:
            content = [
                {"type": "text", "text": user_text},
                {"type": "text", "text": str(self.data.get("image_caption", "Camera view:"))},
                {"type": "image_url", "image_url": {"url": png_data_url(inp.image)}},
            ]
        return [{"role": "system", "content": self.system(mode)}, {"role": "user", "content": content}]


def _short_failure(feedback: str) -> str:
    """The environment's reason for a failed skill, without the skill text it repeats."""
    text = feedback.strip()
    for sep in ("': ", "failed: "):
        if sep in text:
            text = text.split(sep, 1)[1]
            break
    return text.rstrip(".")[:120] or "failed"


def observation_without_instruction(observation: str, instruction: str) -> str:
    """The observation minus its own ``Instruction:`` line: the prompt states the instruction once."""
    lines = observation.splitlines()
    if lines and lines[0].startswith("Instruction:"):
        lines = lines[1:]
    return "\n".join(lines).strip()


def prompt_sha256(text: str) -> str:
    """The hash of one rendered prompt, as every decision of a model planner records it."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def encode_png(image: Any) -> bytes:
    """PNG bytes for an (H, W, 3) or (H, W) uint8 array, without an imaging library."""
    import numpy as np

    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        arr = np.clip(arr, 0, 255).astype(np.uint8)
    if arr.ndim == 2:
        color_type = 0
    elif arr.ndim == 3 and arr.shape[2] in (3, 4):
        color_type = 2 if arr.shape[2] == 3 else 6
    else:
        raise ValueError(f"expected an (H, W), (H, W, 3) or (H, W, 4) image, got shape {arr.shape}")
    h, w = arr.shape[:2]
    rows = arr.reshape(h, -1)
    raw = np.hstack([np.zeros((h, 1), dtype=np.uint8), rows]).tobytes()  # filter type 0 per row

    def chunk(tag: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + tag + payload + struct.pack(">I", zlib.crc32(tag + payload))

    header = struct.pack(">IIBBBBB", w, h, 8, color_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 6))
        + chunk(b"IEND", b"")
    )


def png_data_url(image: Any) -> str:
    """``data:image/png;base64,...`` for an RGB frame: the form OpenAI-compatible servers accept."""
    return "data:image/png;base64," + base64.b64encode(encode_png(image)).decode("ascii")
