"""``safe-alfred leaderboard DIR -o SITE_DIR``: a static leaderboard from the verified submissions in DIR.

How submissions are verified, ranked and rendered is described in ``safe_alfred.leaderboard.site``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from safe_alfred.errors import UserError
from safe_alfred.leaderboard.bundle import SUFFIX
from safe_alfred.leaderboard.site import build_site


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``safe-alfred leaderboard``."""
    ap = argparse.ArgumentParser(prog="safe-alfred leaderboard", description=__doc__.split("\n\n")[0])
    ap.add_argument("submissions", help=f"a folder of *{SUFFIX} files")
    ap.add_argument("-o", "--output", required=True, help="site folder to write (index.html, submissions/, static/)")
    ap.add_argument("--split", default="test", help="split every submission must cover (see 'safe-alfred verify')")
    ap.add_argument("--max-errors", type=int, default=0, help="errored episodes allowed per submission")
    args = ap.parse_args(argv)
    if not Path(args.submissions).is_dir():
        raise UserError(f"{args.submissions} is not a folder")
    entries, rejected = build_site(args.submissions, args.output, split=args.split, max_errors=args.max_errors)
    for name, problems in rejected:
        print(f"rejected {name}: {problems[0]}" + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""),
              file=sys.stderr)
    print(f"wrote {Path(args.output) / 'index.html'}: {len(entries)} verified submission(s), {len(rejected)} rejected")
    return 0
