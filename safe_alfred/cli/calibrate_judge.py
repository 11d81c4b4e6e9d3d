"""``safe-alfred calibrate-judge``: refit a trained judge from the labelled traces' train split.

``--judge embedding`` fits the embedding judge's ``weight``, ``instruction_weight`` and
``threshold`` (``safe_alfred.judges.calibrate``); ``--judge learned`` retrains the learned judge's
weights (``safe_alfred.judges.learned_train``). Both fit on the train split, choose on dev and
never read the test or independent splits; the result is printed and written to the file the judge
ships with (``--dry-run``: print only). Deterministic: the same data gives the same file.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    from safe_alfred.judges.embedding import CALIBRATION_PATH
    from safe_alfred.judges.learned import WEIGHTS_PATH

    ap = argparse.ArgumentParser(prog="safe-alfred calibrate-judge", description=__doc__.split("\n\n")[0])
    ap.add_argument("--judge", choices=("embedding", "learned"), default="embedding")
    ap.add_argument("--out", default=None, help="where to write (default: the file the judge ships with)")
    ap.add_argument("--dry-run", action="store_true", help="print, do not write")
    args = ap.parse_args(argv)

    if args.judge == "embedding":
        from safe_alfred.judges.calibrate import run

        result, default_out = run(), CALIBRATION_PATH
    else:
        from safe_alfred.judges.learned_train import train

        result, default_out = train(), WEIGHTS_PATH
    shown = {k: v for k, v in result.items() if k != "weights"}
    print(json.dumps(shown, indent=2))
    if not args.dry_run:
        Path(args.out or default_out).write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return 0
