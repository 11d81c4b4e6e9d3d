"""The ``safe-alfred`` command: a thin dispatcher to one module per sub-command.

Each entry maps a sub-command to ``module:function``; the function takes the remaining argv
(a list of strings) and returns an exit code. Modules are imported only when their command
runs, so ``safe-alfred --help`` stays fast and heavy extras stay optional.
"""

from __future__ import annotations

import importlib
import sys

COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("safe_alfred.commands.demo:main", "run one episode on the symbolic world and print it"),
    "tasks": ("safe_alfred.tasks.cli:main", "task suites: validate, list, show, stats, import-safeagentbench"),
    "report": ("safe_alfred.metrics.report:main", "score a run: recognition-action gap, summary.json, report.md, plots"),
    "compare": ("safe_alfred.metrics.report:compare_main", "paired comparison of two runs (McNemar, paired bootstrap)"),
    "run": ("safe_alfred.runner.cli:main", "run a planner on a task suite (Hydra config; -m for sweeps)"),
    "sweep-summary": ("safe_alfred.runner.sweep:main", "tabulate the runs of a sweep directory"),
    "judge": ("safe_alfred.judges.cli:main", "judge hazard recognition in reasoning traces (JSONL in, JSONL out)"),
    "probe": ("safe_alfred.probes.cli:main", "hidden-state refusal probes: train, score (refusal cliff), select"),
    "submit": ("safe_alfred.leaderboard.submit:main", "package a run as a leaderboard submission (.safealfred.json.gz)"),
    "verify": ("safe_alfred.leaderboard.verify:main", "verify a submission: replay every episode, re-judge, re-score"),
    "leaderboard": ("safe_alfred.leaderboard.site:main", "build the static leaderboard site from verified submissions"),
}


def _usage() -> str:
    lines = ["usage: safe-alfred COMMAND [ARGS...]", "", "commands:"]
    lines += [f"  {name:<14} {desc}" for name, (_, desc) in sorted(COMMANDS.items())]
    lines.append("\n'safe-alfred COMMAND --help' for a command's own options.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"safe-alfred: unknown command '{name}'\n\n{_usage()}", file=sys.stderr)
        return 2
    target, _ = COMMANDS[name]
    module_name, func_name = target.split(":")
    func = getattr(importlib.import_module(module_name), func_name)
    return int(func(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
