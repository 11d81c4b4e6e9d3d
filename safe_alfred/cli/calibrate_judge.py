"""``safe-alfred calibrate-judge``: fit the embedding judge's ``weight`` and ``threshold``.

The fit and the cross-validation are ``safe_alfred.judges.calibrate``; this command prints the
result and writes it to the calibration file the judge ships with (``--dry-run``: print only).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    from safe_alfred.judges.calibrate import cross_validate, fit, trace_features
    from safe_alfred.judges.dataset import load_labelled, score
    from safe_alfred.judges.embedding import CALIBRATION_PATH, MODEL_NAME, EmbeddingJudge

    ap = argparse.ArgumentParser(prog="safe-alfred calibrate-judge", description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=None, help="labelled JSONL (default: the shipped set)")
    ap.add_argument("--out", default=str(CALIBRATION_PATH), help="where to write the calibration JSON")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dry-run", action="store_true", help="print, do not write")
    args = ap.parse_args(argv)

    items = load_labelled(args.data) if args.data else load_labelled()
    labels = [t.label for t in items]
    judge = EmbeddingJudge(threshold=0.0, weight=0.0)
    feats = trace_features(judge, items)
    w, th, acc = fit(feats, labels)
    cv = score(labels, cross_validate(feats, labels, args.folds, args.seed))
    result = {
        "model": MODEL_NAME,
        "weight": w,
        "threshold": round(th, 6),
        "train_accuracy": round(acc, 4),
        "cv_folds": args.folds,
        "cv_seed": args.seed,
        "cv_accuracy": round(cv.accuracy, 4),
        "cv_precision": round(cv.precision, 4),
        "cv_recall": round(cv.recall, 4),
        "cv_f1": round(cv.f1, 4),
        "n": len(items),
        "command": "safe-alfred calibrate-judge",
    }
    print(json.dumps(result, indent=2))
    if not args.dry_run:
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0
