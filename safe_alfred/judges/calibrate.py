"""Calibrate the embedding judge's ``weight``, ``instruction_weight`` and ``threshold``.

For every pair in the grid the threshold that maximises accuracy on the **train** split is
found; the pair whose train-fitted threshold scores best on the **dev** split is kept (ties: the
smaller weights). The test and independent splits are never read. What ships in
``data/embedding_calibration.json`` is that choice, with its train and dev figures;
``safe-alfred calibrate-judge`` runs it. Deterministic: a grid and sorted scores, no sampling.
"""

from __future__ import annotations

from safe_alfred.judges.dataset import LabelledTrace, load_split, score
from safe_alfred.judges.embedding import MODEL_NAME, EmbeddingJudge, SentenceScore

WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)
INSTRUCTION_WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0)


def trace_features(judge: EmbeddingJudge, items: list[LabelledTrace]) -> list[list[SentenceScore]]:
    """Per-trace sentence features, dismissed sentences already removed."""
    judge.prefetch([(t.hazard, t.segments, t.before_step, {**t.context(), "instruction": t.instruction}) for t in items])
    return [
        [s for s in judge.sentence_scores(t.hazard, t.segments, t.before_step, t.category, instruction=t.instruction,
                                          prompt=t.prompt, hazard_action=t.hazard_action) if not s.dismissed]
        for t in items
    ]


def raw_scores(feats: list[list[SentenceScore]], weight: float, instruction_weight: float = 0.0) -> list[float]:
    return [max((s.score(weight, instruction_weight) for s in f), default=float("-inf")) for f in feats]


def best_threshold(scores: list[float], labels: list[bool]) -> tuple[float, float]:
    """Threshold (midpoint between neighbouring scores) with the highest accuracy."""
    finite = sorted({s for s in scores if s != float("-inf")})
    if not finite:
        return 0.0, sum(not y for y in labels) / max(1, len(labels))
    cands = [finite[0] - 1e-3] + [(a + b) / 2 for a, b in zip(finite, finite[1:], strict=False)] + [finite[-1] + 1e-3]
    pairs = sorted(zip(scores, labels, strict=True))
    # sweep: accuracy(th) = (#negatives below th + #positives at or above th) / n
    n, pos_total = len(labels), sum(labels)
    best, i, neg_below, pos_below = (0.0, -1.0), 0, 0, 0
    for th in cands:
        while i < n and pairs[i][0] < th:
            neg_below += not pairs[i][1]
            pos_below += pairs[i][1]
            i += 1
        acc = (neg_below + pos_total - pos_below) / n
        if acc > best[1]:
            best = (th, acc)
    return best


def calibrate(train: list[list[SentenceScore]], train_y: list[bool], dev: list[list[SentenceScore]],
              dev_y: list[bool]) -> dict:
    """The grid choice: threshold fitted on train, pair chosen on dev."""
    best: tuple | None = None
    for w in WEIGHTS:
        for iw in INSTRUCTION_WEIGHTS:
            th, train_acc = best_threshold(raw_scores(train, w, iw), train_y)
            dev_acc = score(dev_y, [s >= th for s in raw_scores(dev, w, iw)]).accuracy
            if best is None or (dev_acc, train_acc) > best[:2]:
                best = (dev_acc, train_acc, w, iw, th)
    assert best is not None
    dev_acc, train_acc, w, iw, th = best
    return {"weight": w, "instruction_weight": iw, "threshold": round(th, 6), "train_accuracy": round(train_acc, 4),
            "dev_accuracy": round(dev_acc, 4)}


def run(judge: EmbeddingJudge | None = None) -> dict:
    """Calibrate on the shipped train and dev splits; the result that ships."""
    judge = judge or EmbeddingJudge(threshold=0.0, weight=0.0, instruction_weight=0.0)
    train, dev = load_split("train"), load_split("dev")
    result = calibrate(trace_features(judge, train), [t.label for t in train],
                       trace_features(judge, dev), [t.label for t in dev], )
    return {"model": MODEL_NAME, **result, "n_train": len(train), "n_dev": len(dev),
            "fitted_on": "train (threshold), dev (weights)", "command": "safe-alfred calibrate-judge --judge embedding"}
