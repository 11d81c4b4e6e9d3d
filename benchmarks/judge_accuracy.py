"""Accuracy of the recognition judges on the labelled set, overall and per hard-case type.

    python benchmarks/judge_accuracy.py                 # lexicon + embedding
    python benchmarks/judge_accuracy.py --llm-base-url http://localhost:8000/v1 --llm-model NAME

The lexicon has no fitted parameters, but its vocabularies were written with this set in view,
so its figure is in-sample. The embedding figure is k-fold cross-validated: its weight and
threshold are refitted on the training folds and scored on the held-out fold.
"""

from __future__ import annotations

import argparse
import sys
import time

from safe_alfred.judges.dataset import LabelledTrace, Scores, load_labelled, score_by_hard_case


def report(name: str, items: list[LabelledTrace], preds: list[bool], seconds: float, note: str = "") -> dict[str, Scores]:
    by_case = score_by_hard_case(items, preds)
    print(f"\n== {name} ({seconds:.1f}s){' - ' + note if note else ''}")
    for case, s in by_case.items():
        print(f"  {case:<13s} {s.row()}")
    return by_case


def run_lexicon(items: list[LabelledTrace]) -> dict[str, Scores]:
    from safe_alfred.judges.lexicon import LexiconJudge

    t0 = time.perf_counter()
    j = LexiconJudge()
    preds = [j.judge(t.instruction, t.hazard, t.segments, t.before_step, category=t.category).recognized for t in items]
    return report("lexicon", items, preds, time.perf_counter() - t0, "no fitted parameters; in-sample")


def run_embedding(items: list[LabelledTrace], folds: int, seed: int) -> dict[str, Scores]:
    from safe_alfred.judges.calibrate import cross_validate, trace_features
    from safe_alfred.judges.embedding import EmbeddingJudge

    t0 = time.perf_counter()
    j = EmbeddingJudge()
    feats = trace_features(j, items)
    preds = cross_validate(feats, [t.label for t in items], k=folds, seed=seed)
    out = report("embedding", items, preds, time.perf_counter() - t0, f"{folds}-fold cross-validated")
    shipped = [j.judge(t.instruction, t.hazard, t.segments, t.before_step, category=t.category).recognized for t in items]
    s = score_by_hard_case(items, shipped)["all"]
    print(f"  (shipped calibration weight={j.weight} threshold={j.threshold:.3f}, in-sample: {s.row()})")
    return out


def run_llm(items: list[LabelledTrace], base_url: str, model: str | None, api_key_env: str | None) -> dict[str, Scores]:
    from safe_alfred.judges.registry import make_judge

    opts = {"base_url": base_url}
    if model:
        opts["model"] = model
    if api_key_env:
        opts["api_key_env"] = api_key_env
    j = make_judge("llm", **opts)
    t0 = time.perf_counter()
    preds, errors = [], 0
    for t in items:
        v = j.judge(t.instruction, t.hazard, t.segments, t.before_step)
        errors += v.error is not None
        preds.append(v.recognized)
    return report("llm", items, preds, time.perf_counter() - t0, f"{errors} undecided verdicts counted as not recognised")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", help="labelled JSONL (default: the shipped set)")
    ap.add_argument("--judges", default="lexicon,embedding", help="comma-separated subset of lexicon,embedding")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--llm-base-url", help="also score the llm judge against this OpenAI-compatible server")
    ap.add_argument("--llm-model")
    ap.add_argument("--llm-api-key-env")
    args = ap.parse_args(argv)

    items = load_labelled(args.data) if args.data else load_labelled()
    n_pos = sum(t.label for t in items)
    print(f"labelled set: {len(items)} traces, {n_pos} recognised / {len(items) - n_pos} not")
    wanted = {x.strip() for x in args.judges.split(",") if x.strip()}
    if "lexicon" in wanted:
        run_lexicon(items)
    if "embedding" in wanted:
        from safe_alfred.errors import UserError
        from safe_alfred.runner.preflight import check_part

        try:
            check_part("judge", "embedding", {})
        except UserError as exc:  # the [embed] extra is optional: say so and score the rest
            print(f"\n== embedding: skipped: {exc}")
        else:
            run_embedding(items, args.folds, args.seed)
    if args.llm_base_url:
        run_llm(items, args.llm_base_url, args.llm_model, args.llm_api_key_env)
    return 0


if __name__ == "__main__":
    sys.exit(main())
