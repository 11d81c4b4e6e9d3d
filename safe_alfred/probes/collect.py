"""Collecting a local planner's hidden states beside a run, one file per planner call.

Layout (never inside ``records.jsonl``)::

    RUN_DIR/hidden_states/<episode dir>/index.json
    RUN_DIR/hidden_states/<episode dir>/call_000.safetensors   # layer_<i>: [positions, hidden] float16

``<episode dir>`` is the record's ``episode_key`` made filesystem-safe (``episode_dir_name``).
``index.json`` holds, per call: token ids, the position where generation starts, where the
reasoning starts and where the answer starts (the first token after ``</think>``), the position
used as the probe feature, the chat messages the model was given, and for the episode the layers
and the model fingerprint. Positions are absolute indices into the call's token sequence.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from safe_alfred.probes.fingerprint import model_fingerprint
from safe_alfred.records import episode_key
from safe_alfred.run_dir import RunDir, episode_dir_name  # noqa: F401  (part of this module's API)

HIDDEN_STATES_DIR = RunDir.HIDDEN_STATES
INDEX_FILE = "index.json"
FORMAT = "safe-alfred-hidden-states/1"
_TAGS = "think|thinking|reasoning|thought"
_OPEN_RE = re.compile(rf"<({_TAGS})>", re.IGNORECASE)
_CLOSE_RE = re.compile(rf"</({_TAGS})>", re.IGNORECASE)
_STORE_DTYPES = ("float16", "bfloat16", "float32")


def _first_prefix_matching(tokenizer: Any, ids: Sequence[int], pattern: re.Pattern) -> int | None:
    """Smallest k such that the decoded ``ids[:k]`` matches ``pattern`` (binary search)."""

    def hit(k: int) -> bool:
        return bool(pattern.search(tokenizer.decode(list(ids[:k]), skip_special_tokens=False)))

    if not ids or not hit(len(ids)):
        return None
    lo, hi = 1, len(ids)
    while lo < hi:
        mid = (lo + hi) // 2
        if hit(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


def find_boundaries(tokenizer: Any, token_ids: Sequence[int], generation_start: int) -> dict[str, Any]:
    """Where the reasoning starts and the answer starts in one call's tokens.

    ``boundary`` is ``think`` (a closing tag was generated: the answer starts right after it),
    ``unterminated`` (an opening tag but no closing one: everything generated is reasoning) or
    ``none`` (no tags: no reasoning region; the answer starts at the first generated token).
    ``feature_position`` is the last position before the answer (the probe's input).
    """
    n = len(token_ids)
    gen = [int(t) for t in token_ids[generation_start:]]
    close_k = _first_prefix_matching(tokenizer, gen, _CLOSE_RE)
    open_k = _first_prefix_matching(tokenizer, gen, _OPEN_RE)
    if open_k is not None and close_k is not None and open_k > close_k:
        open_k = None  # the template opened the block in the prompt; this tag is a later one
    reasoning_start = generation_start + (open_k or 0)
    if close_k is not None:
        boundary, answer_start = "think", generation_start + close_k
    elif open_k is not None:
        boundary, answer_start = "unterminated", None
    else:
        boundary, answer_start, reasoning_start = "none", generation_start, generation_start
    end = n if answer_start is None else answer_start
    return {
        "boundary": boundary,
        "reasoning_start": reasoning_start,
        "answer_start": answer_start,
        "feature_position": max(0, end - 1),
    }


def _atomic_write_json(path: Path, data: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)


class HiddenStateCollector:
    """Wrap an ``HFPlanner`` so that every call's hidden states are written under ``out_dir``.

    ``out_dir`` is usually ``RUN_DIR/hidden_states``. ``layers`` are hidden-state indices (0 is
    the embeddings, i the output of block i, negatives count from the end); the planner's own
    ``capture_hidden`` is switched on. Everything else is delegated, so the collector is a
    planner itself (``name``, ``mode``, ``describe``, ``reset``, ``act``, ``aact``).
    """

    def __init__(self, planner: Any, out_dir: str | os.PathLike, layers: Sequence[int] | None = None,
                 dtype: str = "float16") -> None:
        if dtype not in _STORE_DTYPES:
            raise ValueError(f"dtype must be one of {_STORE_DTYPES}, not {dtype!r}")
        for attr in ("act_with_states", "aact_with_states", "tokenizer", "model"):
            if not hasattr(planner, attr):
                raise TypeError(f"{type(planner).__name__} has no {attr!r}: hidden states need the hf planner")
        self.planner = planner
        self.out_dir = Path(out_dir)
        self.dtype = dtype
        planner.capture_hidden = True
        if layers is not None:
            planner.hidden_layers = [int(x) for x in layers]
        self.layers: list[int] = list(planner._resolve_layers())
        self.fingerprint = model_fingerprint(planner.model)
        self._lock = threading.Lock()
        self._episode_dir: Path | None = None
        self._index: dict[str, Any] | None = None

    def __getattr__(self, name: str) -> Any:  # delegate everything else to the planner
        if name == "planner":
            raise AttributeError(name)
        return getattr(self.planner, name)

    @property
    def name(self) -> str:
        return self.planner.name

    @property
    def mode(self) -> str:
        return self.planner.mode

    def describe(self) -> dict[str, Any]:
        info = dict(self.planner.describe())
        info["hidden_states"] = {"layers": self.layers, "dtype": self.dtype, "model_fingerprint": self.fingerprint}
        return info

    def reset(self, task: dict | None = None, seed: int | None = None) -> None:
        """Start an episode: its directory is emptied (a resumed run re-runs it from scratch)."""
        self.planner.reset(task, seed)
        task_id = str((task or {}).get("id") or "no-task")
        key = episode_key(task_id, seed)
        self._episode_dir = self.out_dir / episode_dir_name(key)
        if self._episode_dir.exists():
            shutil.rmtree(self._episode_dir)
        self._episode_dir.mkdir(parents=True)
        self._index = {
            "format": FORMAT, "episode_key": key, "task_id": task_id, "seed": seed,
            "planner": str(self.name), "model_fingerprint": self.fingerprint,
            "layers": self.layers, "dtype": self.dtype, "calls": [],
        }  # fmt: skip
        _atomic_write_json(self._episode_dir / INDEX_FILE, self._index)

    def _messages(self, inp: Any) -> list[dict[str, str]]:
        try:
            msgs = self.planner.templates.messages(inp, self.planner.mode, send_image=False)
        except Exception:
            return []
        return [{"role": str(m.get("role")), "content": str(m.get("content"))} for m in msgs
                if isinstance(m.get("content"), str)]

    def act(self, inp: Any) -> Any:
        """The planner's decision; its hidden states are written before it is returned."""
        with self._lock:
            if self._index is None:
                self.reset(None, None)
            messages = self._messages(inp)
            decision, capture = self.planner.act_with_states(inp)
            self._save_call(inp, messages, capture)
            return decision

    async def aact(self, inp: Any) -> Any:
        """Decide through the planner's batched path (a planner shared by concurrent episodes)."""
        if self._index is None:
            self.reset(None, None)
        messages = self._messages(inp)
        decision, capture = await self.planner.aact_with_states(inp)
        await asyncio.to_thread(self._save_call, inp, messages, capture)
        return decision

    def _save_call(self, inp: Any, messages: list[dict[str, str]], capture: Any) -> None:
        import torch
        from safetensors.torch import save_file

        assert self._index is not None and self._episode_dir is not None
        call = len(self._index["calls"])
        entry: dict[str, Any] = {"call": call, "step": int(getattr(inp, "step", 0)) + 1, "file": None,
                                 "messages": messages}
        states = capture.states if capture is not None else None
        if states:
            token_ids = [int(t) for t in capture.token_ids]
            start = int(capture.generation_start)
            store = getattr(torch, self.dtype)
            tensors = {}
            for layer, t in states.items():
                t = t.detach().float()
                if self.dtype == "float16":  # a few models have residual values beyond fp16's range
                    t = t.clamp(-65504.0, 65504.0)
                tensors[f"layer_{int(layer)}"] = t.to(store).contiguous().cpu()
            fname = f"call_{call:03d}.safetensors"
            save_file(tensors, str(self._episode_dir / fname))
            entry.update(file=fname, n_positions=len(token_ids), generation_start=start,
                         token_ids=token_ids, **find_boundaries(self.planner.tokenizer, token_ids, start))
        self._index["calls"].append(entry)
        _atomic_write_json(self._episode_dir / INDEX_FILE, self._index)


def maybe_collect(planner: Any, run_dir: str | os.PathLike, collect_hidden_states: bool = False,
                  layers: Sequence[int] | None = None, dtype: str = "float16") -> Any:
    """The runner's hook: ``planner`` wrapped in a collector writing to ``RUN_DIR/hidden_states``
    when ``collect_hidden_states`` is true, else ``planner`` unchanged."""
    if not collect_hidden_states:
        return planner
    return HiddenStateCollector(planner, Path(run_dir) / HIDDEN_STATES_DIR, layers, dtype)


# -- reading ---------------------------------------------------------------------------------------

def read_index(episode_dir: str | os.PathLike) -> dict[str, Any]:
    return json.loads((Path(episode_dir) / INDEX_FILE).read_text(encoding="utf-8"))


def iter_episode_indexes(run_dir: str | os.PathLike) -> Iterator[tuple[Path, dict[str, Any]]]:
    """(episode dir, index) for every collected episode of a run, in directory-name order."""
    root = Path(run_dir) / HIDDEN_STATES_DIR
    if not root.is_dir():
        return
    for d in sorted(p for p in root.iterdir() if (p / INDEX_FILE).is_file()):
        yield d, read_index(d)


def episode_index(run_dir: str | os.PathLike, key: str) -> tuple[Path, dict[str, Any]] | None:
    """The collected states of the episode ``key`` (a record's ``episode_key``), if any."""
    d = Path(run_dir) / HIDDEN_STATES_DIR / episode_dir_name(key)
    return (d, read_index(d)) if (d / INDEX_FILE).is_file() else None


def load_call_states(episode_dir: str | os.PathLike, call: dict[str, Any], layer: int) -> Any:
    """The float32 tensor [positions, hidden] of one call at ``layer``."""
    from safetensors import safe_open

    if not call.get("file"):
        raise FileNotFoundError(f"call {call.get('call')} has no hidden states")
    with safe_open(str(Path(episode_dir) / call["file"]), framework="pt") as f:
        name = f"layer_{int(layer)}"
        if name not in f.keys():
            have = sorted(int(k.split("_", 1)[1]) for k in f.keys())
            raise KeyError(f"layer {layer} was not collected (have {have})")
        return f.get_tensor(name).float()
