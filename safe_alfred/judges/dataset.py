"""The labelled recognition set, its splits, and the metrics used to score judges on it.

``data/recognition_traces.jsonl`` is built from hand-written sources by
``scripts/judge_traces/build.py`` (labelling rules in that folder's README): ``train`` (fitting
and word lists), ``dev`` (thresholds and choices), ``test`` (scenarios written separately, scored
once per judge change). ``data/independent_traces.jsonl``, when present, is the ``independent``
split: traces written elsewhere, in styles of their own, never used to build or tune anything.
Shared by the tests, the accuracy benchmark, calibration and training, so that all read the
same data the same way.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from safe_alfred.judges.base import TraceSegment

DATA_DIR = Path(__file__).resolve().parent / "data"
TRACES_PATH = DATA_DIR / "recognition_traces.jsonl"
INDEPENDENT_PATH = DATA_DIR / "independent_traces.jsonl"
SPLITS = ("train", "dev", "test", "independent")
FIT_SPLITS = ("train", "dev")  # what a judge may be built, fitted and tuned on


@dataclass(frozen=True)
class LabelledTrace:
    id: str
    instruction: str
    hazard: str
    category: str
    segments: list[TraceSegment]
    before_step: int | None
    label: bool
    reason: str = ""
    style: str = ""
    split: str = "train"
    group: str = ""
    hazard_action: str | None = None
    prompt: str | None = None
    case: str = ""  # the independent set's case kind (restatement, dismissal, lexical_gap, ...)
    confidence: str = ""  # "low" where its writer says a second labeller could disagree

    def context(self) -> dict:
        """The keyword context every judge receives (``judges.base.CONTEXT_KEYS``)."""
        return {"category": self.category or None, "prompt": self.prompt, "hazard_action": self.hazard_action}


def _trace(d: dict, split: str | None) -> LabelledTrace:
    trace = d["trace"]
    segments = ([TraceSegment(1, trace)] if isinstance(trace, str)
                else [TraceSegment(int(s["step"]), str(s["text"])) for s in trace])
    return LabelledTrace(
        id=str(d["id"]), instruction=d["instruction"], hazard=d["hazard"], category=d.get("category") or "",
        segments=segments, before_step=d.get("before_step"), label=bool(d["label"]), reason=d.get("reason", ""),
        style=d.get("style") or d.get("hard_case") or "", split=split or d.get("split") or "train",
        group=d.get("group") or str(d["id"]), hazard_action=d.get("hazard_action"), prompt=d.get("prompt"),
        case=d.get("hard_case") or "", confidence=d.get("confidence") or "",
    )


def load_labelled(path: Path | str = TRACES_PATH, split: str | Iterable[str] | None = None) -> list[LabelledTrace]:
    """Read a labelled set (one JSON object per line), optionally only some splits."""
    forced = "independent" if Path(path) == INDEPENDENT_PATH else None
    wanted = None if split is None else ({split} if isinstance(split, str) else set(split))
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                t = _trace(json.loads(line), forced)
                if wanted is None or t.split in wanted:
                    out.append(t)
    return out


def load_split(split: str) -> list[LabelledTrace]:
    """One split by name; ``independent`` reads its own file."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose from {SPLITS}")
    if split == "independent":
        if not INDEPENDENT_PATH.is_file():
            return []
        return load_labelled(INDEPENDENT_PATH)
    return load_labelled(TRACES_PATH, split)


@dataclass(frozen=True)
class Scores:
    n: int
    accuracy: float
    precision: float
    recall: float
    f1: float

    def row(self) -> str:
        return f"n={self.n:<4d} acc={self.accuracy:.3f} prec={self.precision:.3f} rec={self.recall:.3f} f1={self.f1:.3f}"

    def to_dict(self) -> dict:
        return {"n": self.n, "accuracy": round(self.accuracy, 4), "precision": round(self.precision, 4),
                "recall": round(self.recall, 4), "f1": round(self.f1, 4)}


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


def score_by_style(items: list[LabelledTrace], preds: list[bool], field: str = "style") -> dict[str, Scores]:
    """Scores overall ("all") and for each value of ``field`` (style, case) present."""
    out = {"all": score([t.label for t in items], preds)}
    for value in sorted({getattr(t, field) for t in items} - {""}):
        idx = [i for i, t in enumerate(items) if getattr(t, field) == value]
        out[value] = score([items[i].label for i in idx], [preds[i] for i in idx])
    return out


def prefetch(judge: object, traces: list[tuple]) -> None:
    """Let an embedding-based judge encode the sentences of many ``(hazard, segments, before_step,
    context)`` traces in one batched pass before they are judged one by one (others: nothing)."""
    fn = getattr(judge, "prefetch", None) or getattr(getattr(judge, "features", None), "prefetch", None)
    if fn is not None:
        fn(traces)


def predict(judge: object, items: list[LabelledTrace]) -> list[bool]:
    """The judge's verdicts on ``items`` (an undecided verdict counts as not recognised)."""
    prefetch(judge, [(t.hazard, t.segments, t.before_step, {**t.context(), "instruction": t.instruction})
                     for t in items])
    return [bool(judge_trace(judge, t).recognized) for t in items]


def judge_trace(judge: object, t: LabelledTrace) -> object:
    """A judge's verdict on one labelled trace, with the trace's full context."""
    from safe_alfred.judges.base import call_judge

    return call_judge(judge, t.instruction, t.hazard, t.segments, t.before_step, **t.context())
