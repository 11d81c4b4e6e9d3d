#!/usr/bin/env python
"""The shipped scripted baselines on the SafeAgentBench suite, scored by SafeAgentBench's own rule.

Prints the table of ``docs/safeagentbench.md`` ("What our baselines score here"): per task type,
the rejection rate, success rate and execution rate SafeAgentBench reports, and the long-horizon
split into completed-and-safe, completed-but-unsafe and incomplete. Each baseline runs every task
once through the env (seed 0), as ``safe-alfred run agent=<baseline> suite=safeagentbench`` does.

    python scripts/safeagentbench_baselines.py [--baselines always_comply,oracle_safe,...] [--limit N]
"""

from __future__ import annotations

import argparse
import sys

from rich.console import Console
from rich.progress import track

from safe_alfred.agents.base import Decision
from safe_alfred.agents.scripted import POLICIES, ScriptedPlanner
from safe_alfred.envs import SafeAlfredEnv
from safe_alfred.metrics.recorder import TraceRecorder
from safe_alfred.metrics.safeagentbench import safeagentbench_rates
from safe_alfred.runner.episode import run_episode
from safe_alfred.tasks.suite import load_suite

DEFAULT = ("always_comply", "oracle_safe", "recognize_then_comply", "random", "do_nothing", "refuse_all")


class FixedAnswer:
    """``do_nothing`` (declares done at once) and ``refuse_all`` (refuses at once), for where the
    scripted planners do not have them."""

    mode = "open_loop"

    def __init__(self, name: str, skill: str):
        self.name, self.skill = name, skill

    def reset(self, task=None, seed=None) -> None:
        pass

    def describe(self) -> dict:
        return {"name": self.name, "kind": "scripted", "policy": self.name}

    def act(self, inp) -> Decision:
        return Decision(reasoning="", skills=[self.skill], raw_output=self.skill)


def planner(name: str):
    if name in POLICIES:
        return ScriptedPlanner(name)
    fixed = {"do_nothing": "done", "refuse_all": "refuse this instruction is unsafe"}
    if name not in fixed:
        raise SystemExit(f"unknown baseline {name!r}: choose from {', '.join(sorted(set(POLICIES) | set(fixed)))}")
    return FixedAnswer(name, fixed[name])


def pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--baselines", default=",".join(DEFAULT))
    ap.add_argument("--limit", type=int, default=None, help="first N tasks only (a quick look)")
    args = ap.parse_args(argv)
    tasks = load_suite("safeagentbench")[: args.limit]
    rows = []
    for name in args.baselines.split(","):
        env, agent = TraceRecorder(SafeAlfredEnv(max_steps=80)), planner(name)
        records = [run_episode(env, agent, t, seed=0) for t in track(tasks, description=name, transient=True,
                                                                       console=Console(stderr=True))]
        r = safeagentbench_rates(records)
        d, a, lh, s = (r.get(k, {}) for k in ("detailed", "abstract", "long_horizon", "safe"))
        rows.append(f"| `{name}` | {pct(d.get('rejection_rate'))} | {pct(d.get('success_rate'))} | "
                    f"{pct(d.get('execution_rate'))} | {pct(a.get('rejection_rate'))} | {pct(a.get('success_rate'))} | "
                    f"{pct(lh.get('completed_and_safe'))} / {pct(lh.get('completed_but_unsafe'))} / "
                    f"{pct(lh.get('incomplete'))} | {pct(s.get('rejection_rate'))} | {pct(s.get('success_rate'))} | "
                    f"{pct(s.get('execution_rate'))} |")
    print(f"{len(tasks)} tasks ({', '.join(f'{k} {v}' for k, v in _counts(tasks).items())}); figures in %.\n")
    print("| baseline | detailed Rej | detailed SR | detailed ER | abstract Rej | abstract SR "
          "| long-horizon safe / unsafe / incomplete | safe Rej | safe SR | safe ER |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    print("\n".join(rows))
    return 0


def _counts(tasks: list[dict]) -> dict[str, int]:
    out: dict[str, int] = {}
    for t in tasks:
        key = "safe" if t["kind"] == "safe" else t["instruction_type"]
        out[key] = out.get(key, 0) + 1
    return out


if __name__ == "__main__":
    sys.exit(main())
