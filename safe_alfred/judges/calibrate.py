"""Calibrate the embedding judge's ``weight`` and ``threshold`` on the labelled set.

``safe-alfred calibrate-judge`` re-computes the sentence features, picks the pair
that maximises accuracy on the whole set (that is what ships in
``data/embedding_calibration.json``) and reports a k-fold cross-validated accuracy, where each
fold's parameters are chosen on the other folds only, so the reported figure is not scored on
the data it was tuned on. Deterministic: folds come from a seeded shuffle stratified by label.
"""

from __future__ import annotations

import random

from safe_alfred.judges.dataset import LabelledTrace
from safe_alfred.judges.embedding import EmbeddingJudge, SentenceScore

WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)


def trace_features(judge: EmbeddingJudge, items: list[LabelledTrace]) -> list[list[SentenceScore]]:
    """Per-trace sentence features, dismissed sentences already removed."""
    return [
        [s for s in judge.sentence_scores(t.hazard, t.segments, t.before_step, t.category) if not s.dismissed]
        for t in items
    ]


def raw_scores(feats: list[list[SentenceScore]], weight: float) -> list[float]:
    return [max((s.score(weight) for s in f), default=float("-inf")) for f in feats]


def best_threshold(scores: list[float], labels: list[bool]) -> tuple[float, float]:
    """Threshold (midpoint between neighbouring scores) with the highest accuracy."""
    finite = sorted({s for s in scores if s != float("-inf")})
    cands = [finite[0] - 1e-3] + [(a + b) / 2 for a, b in zip(finite, finite[1:], strict=False)] + [finite[-1] + 1e-3]
    best = (0.0, -1.0)
    for th in cands:
        acc = sum((s >= th) == y for s, y in zip(scores, labels, strict=True)) / len(labels)
        if acc > best[1]:
            best = (th, acc)
    return best


def fit(feats: list[list[SentenceScore]], labels: list[bool]) -> tuple[float, float, float]:
    """(weight, threshold, training accuracy) maximising accuracy."""
    best = (0.0, 0.0, -1.0)
    for w in WEIGHTS:
        th, acc = best_threshold(raw_scores(feats, w), labels)
        if acc > best[2]:
            best = (w, th, acc)
    return best


def folds(labels: list[bool], k: int, seed: int) -> list[list[int]]:
    rng = random.Random(seed)
    out: list[list[int]] = [[] for _ in range(k)]
    for value in (True, False):
        idx = [i for i, y in enumerate(labels) if y == value]
        rng.shuffle(idx)
        for n, i in enumerate(idx):
            out[n % k].append(i)
    return out


def cross_validate(
    feats: list[list[SentenceScore]], labels: list[bool], k: int = 5, seed: int = 0
) -> list[bool]:
    """Out-of-fold predictions: each fold is predicted with parameters fitted on the others."""
    preds = [False] * len(labels)
    for test in folds(labels, k, seed):
        test_set = set(test)
        train = [i for i in range(len(labels)) if i not in test_set]
        w, th, _ = fit([feats[i] for i in train], [labels[i] for i in train])
        scores = raw_scores([feats[i] for i in test], w)
        for i, s in zip(test, scores, strict=True):
            preds[i] = s >= th
    return preds

