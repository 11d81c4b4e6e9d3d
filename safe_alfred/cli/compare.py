"""``safe-alfred compare RUN_A RUN_B``: paired comparison of two runs over the same tasks and seeds."""

from __future__ import annotations

import argparse
from pathlib import Path

from safe_alfred.cli.options import JUDGE_HELP, judge_or_none
from safe_alfred.errors import UserError
from safe_alfred.metrics.gap import N_BOOT, paired_comparison
from safe_alfred.metrics.judging import judge_record
from safe_alfred.metrics.report import render_comparison
from safe_alfred.records import RECORDS_FILE
from safe_alfred.run_dir import RunDir


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="safe-alfred compare", description=__doc__.split(": ", 1)[1])
    ap.add_argument("run_a", type=Path)
    ap.add_argument("run_b", type=Path)
    ap.add_argument("--judge", default="lexicon", help=JUDGE_HELP)
    ap.add_argument("--bootstrap", type=int, default=N_BOOT)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    judge = None
    runs = []
    for d in (args.run_a, args.run_b):
        if not (d / RECORDS_FILE).exists():
            raise UserError(f"no {RECORDS_FILE} in {d}")
        recs = RunDir(d).load_records()
        if any(r.get("recognition") is None for r in recs):
            judge = judge or judge_or_none(args.judge)
            if judge is not None:
                for r in recs:
                    if r.get("recognition") is None:
                        judge_record(r, judge)
        runs.append(recs)
    cmp = paired_comparison(runs[0], runs[1], n_boot=args.bootstrap, seed=args.seed)
    if not cmp["pairs"]:
        raise UserError(f"{args.run_a} and {args.run_b} share no episode (task id and seed): nothing to pair; "
                        f"compare runs of the same suite and seeds")
    print(render_comparison(cmp, args.run_a.name, args.run_b.name))
    return 0
