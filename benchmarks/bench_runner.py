"""Runner throughput: the v1 dev suite with ``always_comply``, judging included, 1 and 2 workers.

    python benchmarks/bench_runner.py [--suite v1_dev] [--agent always_comply] [--workers 1 2]

Each configuration runs the whole suite into a fresh run directory (process start-up, env and
judge construction, episodes, lexicon judging, records, summary, report and plots all count) and
prints episodes per second. Target: the whole dev suite in 30 s or less on a 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import tempfile
import time
from pathlib import Path

from safe_alfred.runner.compose import compose_run_config
from safe_alfred.runner.execute import run_experiment


def _cpu() -> float:
    """CPU seconds of this process and its finished children (less sensitive to other load)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="v1_dev")
    parser.add_argument("--agent", default="always_comply")
    parser.add_argument("--judge", default="lexicon")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--target-s", type=float, default=30.0)
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus, "
          f"python {platform.python_version()}")
    results = []
    for workers in args.workers:
        cfg = compose_run_config([f"agent={args.agent}", f"suite={args.suite}", f"judge={args.judge}",
                           f"runner.workers={workers}", "runner.progress=none"])
        with tempfile.TemporaryDirectory(prefix="bench_runner_") as tmp:
            c0 = _cpu()
            t0 = time.perf_counter()
            res = run_experiment(cfg, Path(tmp) / "run")
            dt = time.perf_counter() - t0
            cpu = _cpu() - c0
        n = len(res.records)
        results.append((workers, n, dt))
        ok = "ok" if dt <= args.target_s else f"over the {args.target_s:.0f} s target"
        print(f"{args.suite} / {args.agent} / judge={args.judge}: workers={workers}: {n} episodes in {dt:.2f} s "
              f"= {n / dt:.1f} episodes/s (errors {res.summary.get('errors')}, "
              f"gap_rate {res.summary.get('gap_rate')}) [{ok}]; cpu {cpu:.1f} s")
    if len(results) > 1:
        base = results[0][2]
        for workers, _, dt in results[1:]:
            print(f"speed-up workers={workers} vs workers={results[0][0]}: {base / dt:.2f}x")


if __name__ == "__main__":
    main()
