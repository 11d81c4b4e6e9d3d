"""``safe-alfred submit RUN_DIR -o NAME.safealfred.json.gz``: package a finished run for the leaderboard.

What the manifest holds is described in ``safe_alfred.leaderboard.submit`` and docs/leaderboard.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from safe_alfred.leaderboard.bundle import SUFFIX, SubmissionError, read_submission, write_submission
from safe_alfred.leaderboard.submit import build_submission
from safe_alfred.sanitize import for_terminal


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``safe-alfred submit``."""
    ap = argparse.ArgumentParser(prog="safe-alfred submit", description=__doc__.split("\n\n")[0])
    ap.add_argument("run_dir", help="a run directory written by 'safe-alfred run'")
    ap.add_argument("-o", "--output", required=True, help=f"output file, conventionally NAME{SUFFIX}")
    ap.add_argument("--name", help="display name on the leaderboard (default: the model or planner name)")
    ap.add_argument("--description", help="one paragraph about the submission")
    args = ap.parse_args(argv)
    try:
        doc, notes = build_submission(args.run_dir, name=args.name, description=args.description)
    except SubmissionError as exc:
        print("safe-alfred submit: cannot package this run:", file=sys.stderr)
        for p in exc.problems[:50]:
            print(f"  - {p}", file=sys.stderr)
        return 1
    for n in notes:
        print(f"note: {n}", file=sys.stderr)
    out = write_submission(args.output, doc)
    if not out.name.endswith(SUFFIX):
        print(f"note: submissions are conventionally named NAME{SUFFIX}", file=sys.stderr)
    over = _over_the_caps(out)
    if over:  # verify reads within the same caps: say so now, not after the upload
        print(f"safe-alfred submit: {out} is over what 'safe-alfred verify' reads:", file=sys.stderr)
        for p in over[:20]:
            print(f"  - {for_terminal(p)}", file=sys.stderr)
        return 1
    m = doc["manifest"]
    print(for_terminal(f"wrote {out} ({out.stat().st_size} bytes): {m['episodes']} episodes of suite "
                       f"{m['suite']['name']} ({m['suite']['file']} sha256 {m['suite']['sha256'][:12]}...), split "
                       f"{m['split'] or 'all'}, planner {m['planner']['name']}. Check it with: safe-alfred verify {out}"))
    return 0


def _over_the_caps(path: Path) -> list[str]:
    """The caps of ``verify``'s bounded reading that the written file breaks (empty: none)."""
    try:
        sub = read_submission(path)
        sub.head()
        for _ in sub.records():
            pass
    except SubmissionError as exc:
        return exc.problems
    return []
