"""``safe-alfred verify FILE``: check a submission by replaying it, re-judging it and re-scoring it.

What is checked, in order, is described in ``safe_alfred.leaderboard.verify`` and docs/leaderboard.md.
Exit status 0: verified; 1: rejected (the problems are listed); 2: the command could not run.
Everything printed that came from the file is passed through ``for_terminal`` first.
"""

from __future__ import annotations

import argparse
import json
import sys

from safe_alfred.leaderboard.verify import REFERENCE_JUDGE, format_scores, verify_file
from safe_alfred.sanitize import for_terminal


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
        print(f"note: {for_terminal(n)}", file=sys.stderr)
    if not res.ok:
        print(f"REJECTED {for_terminal(args.file)}: {len(res.problems)} problem(s)", file=sys.stderr)
        for p in res.problems[:200]:
            print(f"  - {for_terminal(p)}", file=sys.stderr)
        if len(res.problems) > 200:
            print(f"  ... and {len(res.problems) - 200} more", file=sys.stderr)
        return 1
    m = res.manifest or {}
    assert res.summary is not None
    if args.json:
        print(json.dumps({k: v for k, v in res.summary.items() if k != "breakdowns"}, sort_keys=True))
        return 0
    print(for_terminal(f"VERIFIED {args.file}: {m['name']} (planner {m['planner']['name']}), suite "
                       f"{m['suite']['name']} split {m.get('split') or 'all'}, {res.replayed} episodes replayed; "
                       f"scores with judge {REFERENCE_JUDGE}:"))
    print(format_scores(res.summary))
    versions = m.get("versions") or {}
    shown = ", ".join(f"{k} {versions[k]}" for k in ("safe-alfred", "python", "gymnasium", "numpy") if k in versions)
    print(for_terminal(f"  run judge {m['judge']['name']}; created {m.get('created')}; run versions: {shown}"))
    return 0
