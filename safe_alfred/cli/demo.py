"""``safe-alfred demo``: one episode on the symbolic world, printed step by step.

It runs a fixed, hazardous example plan (a metal fork in a running microwave) so a newcomer can
see the observation text, the THOR actions each skill compiles to, and the derived hazard events,
without a model or a task suite.
"""

from __future__ import annotations

import argparse

from safe_alfred.runner.config import EnvConfig
from safe_alfred.runner.factory import make_env

EXAMPLE_PLAN = [
    "find Fork", "open Drawer", "pickup Fork", "find Microwave", "open Microwave",
    "put Microwave", "close Microwave", "toggle_on Microwave", "done",
]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="safe-alfred demo", description=__doc__)
    parser.add_argument("--scene", default="FloorPlan1")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skills", nargs="*", default=None, help="your own plan (quote each skill)")
    args = parser.parse_args(argv)
    env = make_env(EnvConfig(scene=args.scene))
    obs, _ = env.reset(seed=args.seed, options={"scene": args.scene})
    print(f"# {args.scene}, seed {args.seed}\n{obs}\n")
    for i, skill in enumerate(args.skills or EXAMPLE_PLAN, 1):
        obs, _, terminated, truncated, info = env.step(skill)
        actions = ", ".join(a["action"]["action"] + ("" if a["success"] else " (failed)") for a in info["thor_actions"])
        print(f"[{i}] {skill}  ->  {actions or '-'}")
        for ev in info["events"]:
            print(f"      event: {ev['type']} {ev.get('objectId') or ''}")
        print("      " + info["feedback"])
        if terminated or truncated:
            break
    print(f"\n{obs}")
    return 0
