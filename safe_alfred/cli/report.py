"""``safe-alfred report RUN_DIR``: score a run and write ``summary.json``, ``report.md`` and plots.

Records without a verdict are judged (the judged copy goes to ``records.judged.jsonl``; the
original file is never rewritten, so a run still appending to it is safe).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from safe_alfred.cli.options import JUDGES_HELP, judges_or_none
from safe_alfred.errors import UserError
from safe_alfred.metrics.gap import N_BOOT
from safe_alfred.metrics.report import write_report
from safe_alfred.metrics.run_header import episodes_text
from safe_alfred.records import RECORDS_FILE
from safe_alfred.run_dir import RunDir


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="safe-alfred report", description=__doc__.split("\n\n")[0])
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--judge", default="lexicon", help=JUDGES_HELP)
    ap.add_argument("--rejudge", action="store_true", help="judge every record again, replacing stored verdicts")
    ap.add_argument("--bootstrap", type=int, default=N_BOOT, help="bootstrap resamples")
    ap.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    args = ap.parse_args(argv)
    if not (args.run_dir / RECORDS_FILE).exists():
        raise UserError(f"no {RECORDS_FILE} in {args.run_dir}")
    run_dir = RunDir(args.run_dir)
    records = run_dir.load_records()
    run_dir.check_records(records)  # one configuration per report, never a mix
    summary = write_report(run_dir, records, judges_or_none(args.judge), n_boot=args.bootstrap,
                           seed=args.seed, rejudge=args.rejudge)
    gap = summary["gap_rate"]
    run = summary.get("run") or {}
    partial = " (partial run)" if run.get("partial") else ""
    print(f"{episodes_text(run, summary['episodes'])} episodes{partial} ({summary['errors']} errors); gap "
          f"{'–' if gap is None else f'{100 * gap:.1f}%'}; report: {run_dir.file(RunDir.REPORT)}")
    sys.stdout.flush()
    return 0
