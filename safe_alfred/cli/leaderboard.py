"""``safe-alfred leaderboard DIR -o SITE_DIR``: a static leaderboard from the verified submissions in DIR.

How submissions are verified, ranked and rendered is described in ``safe_alfred.leaderboard.site``;
each one is verified in a child process of its own under the memory and time limits given here.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from safe_alfred.errors import UserError
from safe_alfred.leaderboard.bundle import SUFFIX
from safe_alfred.leaderboard.isolate import DEFAULT_ISOLATION, Isolation
from safe_alfred.leaderboard.site import build_site
from safe_alfred.sanitize import for_terminal


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``safe-alfred leaderboard``."""
    ap = argparse.ArgumentParser(prog="safe-alfred leaderboard", description=__doc__.split("\n\n")[0])
    ap.add_argument("submissions", help=f"a folder of *{SUFFIX} files")
    ap.add_argument("-o", "--output", required=True, help="site folder to write (index.html, submissions/, static/)")
    ap.add_argument("--split", default="test", help="split every submission must cover (see 'safe-alfred verify')")
    ap.add_argument("--max-errors", type=int, default=0, help="errored episodes allowed per submission")
    ap.add_argument("--memory-limit", type=int, default=DEFAULT_ISOLATION.memory_mb, metavar="MIB",
                    help=f"resident memory each verification may use (default {DEFAULT_ISOLATION.memory_mb})")
    ap.add_argument("--time-limit", type=float, default=DEFAULT_ISOLATION.time_s, metavar="S",
                    help=f"seconds each verification may take (default {DEFAULT_ISOLATION.time_s:g})")
    ap.add_argument("--jobs", type=int, default=1, help="submissions verified at once (default 1)")
    args = ap.parse_args(argv)
    if not Path(args.submissions).is_dir():
        raise UserError(f"{for_terminal(args.submissions)} is not a folder")
    if args.memory_limit < 64 or args.time_limit <= 0 or args.jobs < 1:
        raise UserError("--memory-limit must be at least 64 MiB, --time-limit positive and --jobs at least 1")
    entries, rejected = build_site(args.submissions, args.output, split=args.split, max_errors=args.max_errors,
                                   isolation=Isolation(memory_mb=args.memory_limit, time_s=args.time_limit),
                                   jobs=args.jobs)
    for name, problems in rejected:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        print(f"rejected {for_terminal(name)}: {for_terminal(problems[0])}{more}", file=sys.stderr)
    print(f"wrote {Path(args.output) / 'index.html'}: {len(entries)} verified submission(s), {len(rejected)} rejected")
    return 0
