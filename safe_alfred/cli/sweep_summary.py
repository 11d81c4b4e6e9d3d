"""``safe-alfred sweep-summary DIR``: tabulate the ``summary.json`` of every run under DIR."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from safe_alfred.errors import UserError
from safe_alfred.runner.sweep import write_summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="safe-alfred sweep-summary",
                                     description="Tabulate the summary.json of every run under DIR.")
    parser.add_argument("dir", help="a multirun dir (or any folder of run dirs)")
    args = parser.parse_args(argv)
    d = Path(args.dir)
    if not d.is_dir():
        raise UserError(f"not a directory: {d}")
    md, csv_path, n = write_summary(d)
    if n == 0:
        raise UserError(f"no summary.json under {d}")
    print(md.read_text(encoding="utf-8"))
    print(f"wrote {md} and {csv_path}", file=sys.stderr)
    return 0
