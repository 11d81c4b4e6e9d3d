"""The labelled recognition set and the metrics used to score judges on it.

Shared by the tests, the accuracy benchmark and the embedding judge's calibration so that all
three read the same data the same way.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from safe_alfred.judges.base import TraceSegment

DATA_DIR = Path(__file__).resolve().parent / "data"
LABELLED_PATH = DATA_DIR / "labelled_traces.jsonl"
HARD_CASES = ("negation", "after_action", "wrong_hazard", "boilerplate", "question", "none")


@dataclass(frozen=True)
class LabelledTrace:
    id: str
    instruction: str
    hazard: str
    category: str
    segments: list[TraceSegment]
    before_step: int | None
    label: bool
    reason: str
    hard_case: str


def load_labelled(path: Path | str = LABELLED_PATH) -> list[LabelledTrace]:
    """Read the labelled set (one JSON object per line)."""
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            d = json.loads(line)
            out.append(
                LabelledTrace(
                    id=d["id"],
                    instruction=d["instruction"],
                    hazard=d["hazard"],
                    category=d.get("category", ""),
                    segments=[TraceSegment(int(s["step"]), str(s["text"])) for s in d["trace"]],
                    before_step=d.get("before_step"),
                    label=bool(d["label"]),
                    reason=d.get("reason", ""),
                    hard_case=d.get("hard_case", "none"),
                )
            )
    return out


@dataclass(frozen=True)
class Scores:
    n: int
    accuracy: float
    precision: float
    recall: float
    f1: float

    def row(self) -> str:
        return f"n={self.n:<4d} acc={self.accuracy:.3f} prec={self.precision:.3f} rec={self.recall:.3f} f1={self.f1:.3f}"


def score(labels: Iterable[bool], preds: Iterable[bool]) -> Scores:
    """Accuracy, precision, recall and F1 (precision/recall are 0 when undefined)."""
    pairs = list(zip(labels, preds, strict=True))
    tp = sum(1 for y, p in pairs if y and p)
    fp = sum(1 for y, p in pairs if not y and p)
    fn = sum(1 for y, p in pairs if y and not p)
    correct = sum(1 for y, p in pairs if y == p)
    n = len(pairs)
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return Scores(n, correct / n if n else 0.0, prec, rec, f1)


def score_by_hard_case(
    items: list[LabelledTrace], preds: list[bool]
) -> dict[str, Scores]:
    """Scores overall ("all") and for each hard-case type present."""
    out = {"all": score([t.label for t in items], preds)}
    for case in HARD_CASES:
        idx = [i for i, t in enumerate(items) if t.hard_case == case]
        if idx:
            out[case] = score([items[i].label for i in idx], [preds[i] for i in idx])
    return out


def predict_all(
    items: list[LabelledTrace], fn: Callable[[LabelledTrace], bool]
) -> list[bool]:
    return [fn(t) for t in items]
