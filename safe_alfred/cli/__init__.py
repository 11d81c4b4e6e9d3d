"""The ``safe-alfred`` command: a thin dispatcher to one module per sub-command.

Each entry maps a sub-command to the module under ``safe_alfred.cli`` whose ``main(argv)`` runs
it and returns an exit status. Modules are imported only when their command runs, so
``safe-alfred --help`` stays fast and heavy extras stay optional.

One convention for every command: a ``UserError`` (bad input, a missing file, a server that
cannot be reached) is printed as ``safe-alfred COMMAND: error: MESSAGE`` on one line and exits
with status 2; Ctrl-C exits with 130 and no traceback; a reader that closes the pipe early
(``safe-alfred compare A B | head``) is not an error.
"""

from __future__ import annotations

import importlib
import os
import sys

from safe_alfred.errors import USER_ERROR_EXIT, UserError

# command -> (module under safe_alfred.cli, one-line summary)
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("run", "run a planner on a task suite (Hydra config; -m for sweeps)"),
    "report": ("report", "score a run: recognition-action gap, summary.json, report.md, plots"),
    "compare": ("compare", "paired comparison of two runs (McNemar, paired bootstrap)"),
    "sweep-summary": ("sweep_summary", "tabulate the runs of a sweep directory"),
    "tasks": ("tasks", "task suites: validate, list, show, stats, import-safeagentbench"),
    "demo": ("demo", "run one episode on the symbolic world and print it"),
    "judge": ("judge", "judge hazard recognition in reasoning traces (JSONL in, JSONL out)"),
    "calibrate-judge": ("calibrate_judge", "fit the embedding judge's weight and threshold on the labelled traces"),
    "probe": ("probe", "hidden-state refusal probes: train, score (refusal cliff), select"),
    "submit": ("submit", "package a run as a leaderboard submission (.safealfred.json.gz)"),
    "verify": ("verify", "verify a submission: replay every episode, re-judge, re-score"),
    "leaderboard": ("leaderboard", "build the static leaderboard site from verified submissions"),
    "chat-server": ("chat_server", "a scripted OpenAI-compatible chat server, to try agent=openai offline"),
}


COMMAND_ENTRY_POINTS = "safe_alfred.commands"  # another package's command: NAME = "pkg.mod:main"


def plugin_commands() -> dict[str, str]:
    """Commands other installed packages add (``[project.entry-points."safe_alfred.commands"]``)."""
    from importlib.metadata import entry_points

    return {ep.name: ep.value for ep in entry_points(group=COMMAND_ENTRY_POINTS) if ep.name not in COMMANDS}


def usage() -> str:
    lines = ["usage: safe-alfred COMMAND [ARGS...]", "", "commands:"]
    lines += [f"  {name:<16} {desc}" for name, (_, desc) in COMMANDS.items()]
    lines += [f"  {name:<16} (from {target.split(':')[0]})" for name, target in sorted(plugin_commands().items())]
    lines.append("\n'safe-alfred COMMAND --help' for a command's own options.")
    return "\n".join(lines)


def _quiet_stdout() -> None:
    """After a broken pipe: point stdout at /dev/null so the interpreter's final flush is silent."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def main(argv: list[str] | None = None) -> int:
    try:
        code = _dispatch(list(sys.argv[1:] if argv is None else argv))
        sys.stdout.flush()  # inside the try: a reader gone before the flush is not an error either
        return code
    except BrokenPipeError:
        _quiet_stdout()
        return 0


def _dispatch(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage())
        return 0
    if argv[0] == "--version":
        from safe_alfred import BENCHMARK_VERSION, __version__

        print(f"safe-alfred {__version__} (benchmark {BENCHMARK_VERSION})")
        return 0
    name, rest = argv[0], argv[1:]
    plugins = {} if name in COMMANDS else plugin_commands()
    if name not in COMMANDS and name not in plugins:
        print(f"safe-alfred: error: unknown command '{name}'\n\n{usage()}", file=sys.stderr)
        return USER_ERROR_EXIT
    try:
        if name in COMMANDS:
            command = importlib.import_module(f"safe_alfred.cli.{COMMANDS[name][0]}").main
        else:
            from safe_alfred.registry import import_target

            command = import_target(plugins[name], f"command {name!r}")
        return int(command(rest) or 0)
    except UserError as exc:
        print(f"safe-alfred {name}: error: {exc}", file=sys.stderr)
        return USER_ERROR_EXIT
    except KeyboardInterrupt:
        print(f"\nsafe-alfred {name}: interrupted", file=sys.stderr)
        return 130
