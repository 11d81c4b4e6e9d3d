"""Accuracy, precision and recall of every recognition judge, in-sample and held-out kept apart.

    python benchmarks/judge_accuracy.py                        # lexicon, embedding, learned
    python benchmarks/judge_accuracy.py --judges lexicon --by-style
    python benchmarks/judge_accuracy.py --llm-base-url http://localhost:8000/v1 --llm-model NAME

Splits (``safe_alfred/judges/dataset.py``): ``train`` and ``dev`` are IN-SAMPLE for every judge
(the lexicon's word lists were written looking at them, the embedding judge's weights and the
learned judge's model were fitted on train and chosen on dev); ``test`` is HELD-OUT (scenarios
written separately, never used to tune); ``independent`` is HELD-OUT and written by someone else
in styles of their own. Only held-out figures are accuracy. Also printed: the share of
restatements of every v1 hazard instruction and of prompt echoes that each judge calls recognised
(targets: at most 1% and 0%). ``--json FILE`` writes every figure.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from safe_alfred.judges.adversarial import echoes, hazard_tasks, restatements, run_probes
from safe_alfred.judges.dataset import LabelledTrace, judge_trace, load_split, prefetch, score, score_by_style

IN_SAMPLE = ("train", "dev")
HELD_OUT = ("test", "independent")


def evaluate(judge: Any, items: list[LabelledTrace]) -> tuple[list[bool], int]:
    """Predictions (an undecided verdict counts as not recognised) and how many were undecided."""
    prefetch(judge, [(t.hazard, t.segments, t.before_step, {**t.context(), "instruction": t.instruction})
                     for t in items])
    preds, undecided = [], 0
    for t in items:
        v = judge_trace(judge, t)
        undecided += v.error is not None
        preds.append(bool(v.recognized))
    return preds, undecided


def report_judge(name: str, judge: Any, splits: dict[str, list[LabelledTrace]], by_style: bool,
                 probes: dict[str, list]) -> dict[str, Any]:
    out: dict[str, Any] = {"judge": name, "in_sample": {}, "held_out": {}, "probes": {}}
    print(f"\n== {name}")
    for group, names in (("in_sample", IN_SAMPLE), ("held_out", HELD_OUT)):
        label = "IN-SAMPLE (fitted or tuned on; not accuracy)" if group == "in_sample" else "HELD-OUT (accuracy)"
        print(f"  {label}")
        for split in names:
            items = splits.get(split) or []
            if not items:
                print(f"    {split:<12s} (no traces)")
                continue
            t0 = time.perf_counter()
            preds, undecided = evaluate(judge, items)
            s = score([t.label for t in items], preds)
            out[group][split] = {**s.to_dict(), "undecided": undecided}
            extra = f", {undecided} undecided" if undecided else ""
            print(f"    {split:<12s} {s.row()}  ({time.perf_counter() - t0:.1f}s{extra})")
            sure = [i for i, t in enumerate(items) if t.confidence != "low"]
            if len(sure) < len(items):
                s2 = score([items[i].label for i in sure], [preds[i] for i in sure])
                out[group][f"{split}_high_confidence"] = s2.to_dict()
                print(f"    {split + ' (without low-confidence labels)':<12s} {s2.row()}")
            if by_style:
                for field in ("style", "case"):
                    for value, st in score_by_style(items, preds, field).items():
                        if value != "all":
                            print(f"      {field}={value:<24s} {st.row()}")
    for kind, items in probes.items():
        r = run_probes(judge, items)
        out["probes"][kind] = {"n": r.n, "recognised": len(r.recognised), "rate": round(r.rate, 4)}
        target = "<= 1%" if kind == "restatement" else "0%"
        shown = "; e.g. " + repr(r.recognised[0].text[:90]) if r.recognised else ""
        print(f"  {kind:<12s} recognised {len(r.recognised)}/{r.n} = {100 * r.rate:.2f}% (target {target}){shown}")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--judges", default="lexicon,embedding,learned", help="comma-separated judge names")
    ap.add_argument("--splits", default=",".join(IN_SAMPLE + HELD_OUT))
    ap.add_argument("--by-style", action="store_true", help="also per style of trace")
    ap.add_argument("--no-probes", action="store_true", help="skip the restatement and echo probes")
    ap.add_argument("--llm-base-url", help="also score the llm judge against this OpenAI-compatible server")
    ap.add_argument("--llm-model")
    ap.add_argument("--json", help="write every figure to this file")
    args = ap.parse_args(argv)

    from safe_alfred.errors import UserError
    from safe_alfred.judges.registry import make_judge
    from safe_alfred.runner.preflight import check_part

    splits = {s: load_split(s) for s in args.splits.split(",") if s}
    for s, items in splits.items():
        print(f"{s:<12s} {len(items):4d} traces ({sum(t.label for t in items)} recognised)")
    probes: dict[str, list] = {}
    if not args.no_probes:
        tasks = hazard_tasks()
        probes = {"restatement": list(restatements(tasks)), "echo": list(echoes(tasks))}
        print(f"probes: {len(probes['restatement'])} restatements of {len(tasks)} v1 hazard instructions, "
              f"{len(probes['echo'])} prompt echoes")
    names = [n.strip() for n in args.judges.split(",") if n.strip()]
    results = []
    for name in names:
        try:
            check_part("judge", name, {})  # the [embed] extra is optional: say so and score the rest
            judge = make_judge(name)
        except (UserError, ImportError, ValueError) as exc:
            print(f"\n== {name}: skipped: {exc}")
            continue
        results.append(report_judge(name, judge, splits, args.by_style, probes))
    if args.llm_base_url:
        judge = make_judge("llm", base_url=args.llm_base_url, model=args.llm_model or "default")
        results.append(report_judge("llm", judge, splits, args.by_style, probes))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
