"""Cliff-as-a-Judge: the episodes whose refusal fell furthest, exported as fine-tuning data.

Episodes are ranked by cliff magnitude (by default only hazardous episodes that the probe says
were recognised inside the reasoning and that did not end in a refusal: recognition present, then
lost). Each becomes one chat example::

    {"messages": [{"role": "system", ...}, {"role": "user", ...},
                  {"role": "assistant", "content": "<think>KEPT</think>\\nrefuse REASON"}]}

``system`` and ``user`` are the messages the planner was given in the decisive call. ``KEPT`` is
the model's own reasoning cut at the end of the sentence holding the probe's peak (where the
hazard was recognised most strongly); what came after (the talk-down) is dropped. ``REASON`` is
the task's hazard description, or the peak sentence when the task has none. A sidecar file holds
each example's episode key and cliff statistics.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from safe_alfred.probes.collect import episode_index
from safe_alfred.probes.scoring import decisive_call

FINETUNE_FILE = "cliff_finetune.jsonl"
_TAG_RE = re.compile(r"</?(think|thinking|reasoning|thought)>", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[.!?](\s|$)|\n")


def rank_by_cliff(rows: list[dict[str, Any]], k: int, *, include_refused: bool = False,
                  require_latent: bool = True, hazard_only: bool = True,
                  min_cliff: float = 0.0) -> list[dict[str, Any]]:
    """The top ``k`` score rows by cliff magnitude, at least ``min_cliff`` (ties: episode key)."""
    pool = [r for r in rows if r.get("cliff") is not None and float(r["cliff"]) >= min_cliff
            and (not hazard_only or r.get("kind") == "hazard")
            and (include_refused or not r.get("refused"))
            and (not require_latent or r.get("latent_recognized"))]
    pool.sort(key=lambda r: (-float(r["cliff"]), str(r["episode_key"])))
    return pool[: max(0, int(k))]


def _clean(text: str) -> str:
    return _TAG_RE.sub(" ", text).strip()


def kept_reasoning(full: str, upto_peak: str) -> str:
    """``full`` cut at the first sentence end at or after the length of ``upto_peak``."""
    full, upto_peak = _clean(full), _clean(upto_peak)
    cut = len(upto_peak)
    m = _SENTENCE_END.search(full, max(0, cut - 1))
    return (full[: m.start() + 1] if m else full).strip()


def _peak_sentence(kept: str) -> str:
    parts = [p.strip() for p in re.split(r"(?<=[.!?])\s+|\n", kept) if p.strip()]
    return parts[-1] if parts else kept


def _reasoning_texts(call: dict, peak_position: int, tokenizer: Any, fallback: str) -> tuple[str, str]:
    """(full reasoning, reasoning up to the peak) of a call, by tokens when a tokenizer is given,
    else by the peak's relative position in the recorded reasoning text."""
    start = int(call["reasoning_start"])
    end = int(call["answer_start"]) if call.get("answer_start") is not None else int(call["n_positions"])
    if tokenizer is not None:
        ids = call["token_ids"]
        return (tokenizer.decode(ids[start:end], skip_special_tokens=True),
                tokenizer.decode(ids[start: peak_position + 1], skip_special_tokens=True))
    frac = (peak_position + 1 - start) / max(1, end - start)
    return fallback, fallback[: int(round(frac * len(fallback)))]


def build_example(row: dict[str, Any], record: dict, run_dir: str | os.PathLike,
                  tokenizer: Any = None) -> dict[str, Any] | None:
    """One chat example for a score row (None when the call's messages were not collected)."""
    found = episode_index(run_dir, row["episode_key"])
    if found is None:
        return None
    _, index = found
    call = decisive_call(index, record)
    if call is None or row.get("peak_position") is None:
        return None
    msgs = {m["role"]: m["content"] for m in call.get("messages") or []}
    if "user" not in msgs:
        return None
    decisions = record.get("decisions") or []
    recorded = str(decisions[int(call["call"])].get("reasoning") or "") if int(call["call"]) < len(decisions) else ""
    full, upto = _reasoning_texts(call, int(row["peak_position"]), tokenizer, recorded)
    kept = kept_reasoning(full, upto)
    hazard = str(((record.get("task") or {}).get("hazard") or {}).get("description") or "").strip()
    reason = hazard or _peak_sentence(kept) or "this instruction is dangerous"
    content = f"<think>{kept}</think>\nrefuse {reason}" if kept else f"refuse {reason}"
    messages = [{"role": "system", "content": msgs["system"]}] if "system" in msgs else []
    messages += [{"role": "user", "content": msgs["user"]}, {"role": "assistant", "content": content}]
    return {"messages": messages}


def export_finetune(rows: list[dict[str, Any]], records: list[dict], run_dir: str | os.PathLike,
                    out: str | os.PathLike, k: int, *, tokenizer: Any = None,
                    include_refused: bool = False, min_cliff: float = 0.0) -> list[dict[str, Any]]:
    """Write the top-``k`` examples to ``out`` (JSONL) and ``<out>.meta.jsonl``; returns them."""
    by_key = {str(r.get("episode_key")): r for r in records}
    examples, meta = [], []
    for row in rank_by_cliff(rows, len(rows), include_refused=include_refused, min_cliff=min_cliff):
        if len(examples) >= k:
            break
        rec = by_key.get(row["episode_key"])
        ex = build_example(row, rec, run_dir, tokenizer) if rec is not None else None
        if ex is None:
            continue
        examples.append(ex)
        meta.append({"line": len(examples) - 1, "episode_key": row["episode_key"], "task_id": row["task_id"],
                     "outcome": row["outcome"], "cliff": row["cliff"], "peak": row["peak"],
                     "final": row["final"], "peak_position": row["peak_position"]})
    out = Path(out)
    with open(out, "w", encoding="utf-8") as f:
        for ex in examples:
            f.write(json.dumps(ex, ensure_ascii=False) + "\n")
    with open(out.with_suffix(".meta.jsonl"), "w", encoding="utf-8") as f:
        for m in meta:
            f.write(json.dumps(m, ensure_ascii=False) + "\n")
    return examples
