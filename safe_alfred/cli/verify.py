"""``safe-alfred verify FILE``: check a submission by replaying it, re-judging it and re-scoring it.

What is checked, in order, is described in ``safe_alfred.leaderboard.verify`` and docs/leaderboard.md.
Exit status 0: verified; 1: rejected (the problems are listed); 2: the command could not run.
"""

from __future__ import annotations

import argparse
import json
import sys

from safe_alfred.leaderboard.verify import REFERENCE_JUDGE, format_scores, verify_file


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``safe-alfred verify``."""
    ap = argparse.ArgumentParser(prog="safe-alfred verify", description=__doc__.split("\n\n")[0])
    ap.add_argument("file", help="a submission (NAME.safealfred.json.gz)")
    ap.add_argument("--split", default="test",
                    help="split whose every task must be present: test (default), dev, 'manifest' (the "
                         "submission's own split; its whole suite when it has none) or 'all'")
    ap.add_argument("--max-errors", type=int, default=0, help="episodes allowed to end in an error (default 0)")
    ap.add_argument("--json", action="store_true", help="print the verified summary as JSON")
    args = ap.parse_args(argv)
    res = verify_file(args.file, split=args.split, max_errors=args.max_errors)
    for n in res.notes:
        print(f"note: {n}", file=sys.stderr)
    if not res.ok:
        print(f"REJECTED {args.file}: {len(res.problems)} problem(s)", file=sys.stderr)
        for p in res.problems[:200]:
            print(f"  - {p}", file=sys.stderr)
        if len(res.problems) > 200:
            print(f"  ... and {len(res.problems) - 200} more", file=sys.stderr)
        return 1
    m = res.manifest or {}
    assert res.summary is not None
    if args.json:
        print(json.dumps({k: v for k, v in res.summary.items() if k != "breakdowns"}, sort_keys=True))
        return 0
    print(f"VERIFIED {args.file}: {m['name']} (planner {m['planner']['name']}), suite {m['suite']['name']} "
          f"split {m.get('split')}, {res.replayed} episodes replayed; scores with judge {REFERENCE_JUDGE}:")
    print(format_scores(res.summary))
    return 0
