#!/usr/bin/env python
"""Where the environment's time goes, by kind of step: microseconds per ``find``, ``pickup``,
``wait``, ... and per reset, for this tree beside a git ref, in the same run.

``bench_env_steps.py`` gives one figure, steps/s over a random walk; when it falls, this says
which kind of step got slower and whether the walk itself changed (the mix of skills, how many
episodes: an env whose episodes are shorter resets more often, and a reset costs several steps).
The loop is ``bench_env_steps.py``'s (``gymnasium.make("SafeAlfred-v0")``, a seeded random
admissible skill per step, a reset when the episode ends, the first reset of each scene untimed),
each tree in its own fresh interpreter pinned to one core, in alternating rounds; each kind's
figure is its fastest round. Only the public env API is used, so any ref can be timed.

Usage::

    python benchmarks/bench_step_kinds.py --baseline 0fd2aee
    python benchmarks/bench_step_kinds.py --baseline 0fd2aee --same-episode-length   # as many resets per step
    python benchmarks/bench_step_kinds.py --steps 20000 --rounds 3 --json kinds.json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_env_steps import (  # noqa: E402
    DEFAULT_SCENES,
    REPO_ROOT,
    _make_env,
    _normalise_scene,
    _pin_to_one_core,
    episode_steps_here,
)
from git_tree import checked_out, short_commit  # noqa: E402

RESET = "(reset)"


def measure(scenes: list[str], steps: int, seed: int, episode_steps: int | None = None) -> dict:
    """Nanoseconds and counts per kind of step (a skill's verb), and per reset; ``episode_steps``:
    the envs' ``max_steps`` (None: the package's default)."""
    clock = time.perf_counter_ns
    ns: dict[str, int] = {}
    count: dict[str, int] = {}
    per_scene = [steps // len(scenes)] * len(scenes)
    per_scene[0] += steps - sum(per_scene)
    for scene, n in zip(scenes, per_scene, strict=True):
        env, _ = _make_env(unwrapped=False, episode_steps=episode_steps)
        rng = random.Random(seed)
        episode_seed = seed
        _, info = env.reset(seed=episode_seed, options={"scene": scene})  # loads and prepares the scene
        for _ in range(n):
            skill = rng.choice(info["admissible_skills"])
            t0 = clock()
            _, _, terminated, truncated, info = env.step(skill)
            kind = skill.split(" ", 1)[0]
            ns[kind] = ns.get(kind, 0) + clock() - t0
            count[kind] = count.get(kind, 0) + 1
            if terminated or truncated or not info["admissible_skills"]:
                episode_seed += 1
                t0 = clock()
                _, info = env.reset(seed=episode_seed, options={"scene": scene})
                ns[RESET] = ns.get(RESET, 0) + clock() - t0
                count[RESET] = count.get(RESET, 0) + 1
        env.close()
    return {"ns": ns, "count": count, "steps": steps}


def _child_run(package_root: Path, args: argparse.Namespace, episode_steps: int | None = None) -> dict:
    env = dict(os.environ, PYTHONPATH=str(package_root), PYTHONHASHSEED="0")
    env.pop("SAFE_ALFRED_REFERENCE", None)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", "--steps", str(args.steps),
           "--scenes", args.scenes, "--seed", str(args.seed)]
    if episode_steps is not None:
        cmd += ["--episode-steps", str(episode_steps)]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=str(REPO_ROOT))
    if out.returncode != 0:
        raise RuntimeError(f"timing run for {package_root} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _fastest(rounds: list[dict]) -> dict:
    """Per kind, the least time per call over the rounds (each round walks the same steps)."""
    kinds = rounds[0]["count"]
    return {"count": kinds, "steps": rounds[0]["steps"],
            "us": {k: min(r["ns"][k] / r["count"][k] for r in rounds) / 1e3 for k in kinds},
            "total_ms": min(sum(r["ns"].values()) for r in rounds) / 1e6}


def _table(label: str, tree: dict, base: dict | None) -> str:
    kinds = sorted(tree["count"], key=lambda k: -tree["us"][k] * tree["count"][k])
    head = f"{'kind':12s} {'calls':>7s} {'us/call':>9s} {'share':>6s}"
    if base is not None:
        head += f"   {'base calls':>10s} {'base us':>8s} {'x base':>7s}"
    lines = [f"== {label}: {tree['steps']:,} steps, {tree['total_ms']:.0f} ms in steps and resets ==", head]
    total = sum(tree["us"][k] * tree["count"][k] for k in kinds)
    for k in kinds + [k for k in (base or {}).get("count", {}) if k not in tree["count"]]:
        n, us = tree["count"].get(k, 0), tree["us"].get(k)
        row = f"{k:12s} {n:7,d} " + (f"{us:9.1f} {us * n / total:6.1%}" if us is not None else f"{'-':>9s} {'-':>6s}")
        if base is not None:
            bn, bus = base["count"].get(k, 0), base["us"].get(k)
            ratio = f"{us / bus:7.2f}" if us is not None and bus else f"{'-':>7s}"
            row += f"   {bn:10,d} " + (f"{bus:8.1f}" if bus is not None else f"{'-':>8s}") + f" {ratio}"
        lines.append(row)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=20_000, help="steps per tree and round, split across scenes")
    parser.add_argument("--scenes", default=DEFAULT_SCENES)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; each kind's fastest is kept")
    parser.add_argument("--baseline", metavar="REF", help="also time a git ref's package, same loop, every round")
    parser.add_argument("--cpu", type=int, default=None, help="CPU to pin to (default: the first allowed)")
    parser.add_argument("--no-pin", action="store_true")
    parser.add_argument("--same-episode-length", action="store_true",
                        help="make the baseline's envs end their episodes after as many steps as this tree's")
    parser.add_argument("--json", metavar="OUT", help="write the figures as JSON")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--episode-steps", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    scenes = [_normalise_scene(s) for s in args.scenes.split(",")]
    if args.steps < len(scenes) or args.rounds < 1:
        parser.error("--steps must be at least the number of scenes and --rounds at least 1")
    if args.child:
        print(json.dumps(measure(scenes, args.steps, args.seed, args.episode_steps)))
        return 0
    if not args.no_pin:  # the timing runs inherit it
        print(_pin_to_one_core(args.cpu)[1])
    with contextlib.ExitStack() as stack:
        trees = {"this tree": REPO_ROOT}
        lengths: dict[str, int | None] = {"this tree": None}
        if args.baseline:
            name = f"baseline {short_commit(args.baseline)}"
            trees[name] = stack.enter_context(checked_out(args.baseline))
            lengths[name] = episode_steps_here() if args.same_episode_length else None
            if lengths[name] is not None:
                print(f"{name}: episodes end after {lengths[name]} steps, as this tree's (--same-episode-length)")
        rounds: dict[str, list[dict]] = {name: [] for name in trees}
        for i in range(args.rounds):
            for name, root in trees.items():
                print(f"[round {i + 1}/{args.rounds}] {name}: {args.steps:,} steps ...", flush=True)
                rounds[name].append(_child_run(root, args, lengths[name]))
    results = {name: _fastest(r) for name, r in rounds.items()}
    tree = results.pop("this tree")
    base_name, base = next(iter(results.items()), (None, None))
    print()
    print(_table("this tree" + (f" beside {base_name}" if base_name else ""), tree, base))
    if base is not None:
        print(f"\nsteps and resets: this tree {tree['total_ms']:.0f} ms, baseline {base['total_ms']:.0f} ms "
              f"({tree['total_ms'] / base['total_ms']:.3f}x); resets: {tree['count'].get(RESET, 0):,} against "
              f"{base['count'].get(RESET, 0):,}")
    if args.json:
        Path(args.json).write_text(json.dumps({"this tree": tree, **results}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
