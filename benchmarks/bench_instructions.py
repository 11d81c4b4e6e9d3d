"""CPU instructions per env step, counted (not timed), for this tree beside a git ref.

Wall-clock figures on a shared machine move by 10% or more from run to run, which hides the
few-percent changes that speed work is made of. Valgrind's cachegrind counts the instructions
the interpreter executes instead, which is repeatable to a few hundred per step when the hash
seed is fixed. The loop is ``bench_env_steps.py``'s (random admissible skills through
``gymnasium.make``, a new seeded layout every episode, the same scenes); each tree runs it for
``warmup`` and for ``warmup + steps`` steps per scene, and the difference divided by the extra
steps is the figure, so start-up and imports cancel out.

    python benchmarks/bench_instructions.py [--baseline HEAD] [--steps 2000] [--warmup 500]
    python benchmarks/bench_instructions.py --baseline 0fd2aee --same-episode-length

``--warmup 0 --steps 5000`` counts what ``bench_env_steps.py`` times: each scene's first 5,000
steps from a fresh process, the first-visit work of every cache included (its untimed first
reset is in both runs, so it cancels out).

Needs ``valgrind`` on PATH (``apt install valgrind``). Fewer instructions is faster, roughly in
proportion, but not exactly: cache misses, mispredicted branches and the allocator are not weighed.
``--simulate`` also counts, per step, cachegrind's simulated first-level and last-level data-cache
misses and branch mispredicts (conditional and indirect): when the wall-clock time of a change
grows faster than its instructions, these say which of the two it is.

A reset costs several steps, so a ref whose env ends its episodes later (a larger default
``max_steps``) walks fewer resets per step and counts fewer instructions for that alone;
``--same-episode-length`` makes the ref's envs end theirs after as many steps as this tree's.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_env_steps import DEFAULT_SCENES, _make_env, _run_scene, episode_steps_here  # noqa: E402
from git_tree import checked_out  # noqa: E402


def _child(steps: int, scenes: list[str], seed: int, episode_steps: int | None) -> None:
    env, max_steps = _make_env(unwrapped=False, episode_steps=episode_steps)
    for scene in scenes:
        _run_scene(env, scene, steps, seed, max_steps, emulate_time_limit=False)


# cachegrind's summary lines: (label, pattern of the figure); the simulated ones need --simulate
_FIGURES = (("instructions", r"I\s+refs:\s+([\d,]+)"),
            ("D1 misses", r"D1\s+misses:\s+([\d,]+)"),
            ("LL misses", r"LL misses:\s+([\d,]+)"),
            ("branch mispredicts", r"Mispredicts:\s+([\d,]+)"),
            ("indirect mispredicts", r"Mispredicts:\s+[\d,]+\s+\(\s*[\d,]+ cond \+\s+([\d,]+) ind"))


def _counts(tree: Path, steps: int, scenes: str, seed: int, simulate: bool,
            episode_steps: int | None = None) -> dict[str, int]:
    """cachegrind's counts for one child run of ``steps`` steps per scene on ``tree`` (its envs'
    episodes ending after ``episode_steps``, or at the tree's default)."""
    env = dict(os.environ, PYTHONHASHSEED="0", OPENBLAS_NUM_THREADS="1", PYTHONPATH=str(tree))
    sim = ["--cache-sim=yes", "--branch-sim=yes"] if simulate else ["--cache-sim=no"]
    with tempfile.NamedTemporaryFile(suffix=".cg") as out:
        cmd = ["valgrind", "--tool=cachegrind", *sim, f"--cachegrind-out-file={out.name}",
               sys.executable, str(Path(__file__).resolve()), "--_child", str(steps),
               "--scenes", scenes, "--seed", str(seed)]
        if episode_steps is not None:
            cmd += ["--_episode-steps", str(episode_steps)]
        proc = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True, check=False)
    counts = {}
    for label, pattern in _FIGURES if simulate else _FIGURES[:1]:
        found = re.search(pattern, proc.stderr)
        if proc.returncode != 0 or not found:
            raise RuntimeError(f"counting run on {tree} failed:\n{proc.stderr[-2000:]}")
        counts[label] = int(found.group(1).replace(",", ""))
    return counts


def per_step(tree: Path, steps: int, warmup: int, scenes: str, seed: int, simulate: bool = False,
             episode_steps: int | None = None) -> dict[str, float]:
    """Each count per counted step: the long run's less the short run's, over the extra steps."""
    n_scenes = len(scenes.split(","))
    with ThreadPoolExecutor(2) as pool:  # the two lengths side by side: they are independent
        short, long = pool.map(lambda n: _counts(tree, n, scenes, seed, simulate, episode_steps),
                               (warmup, warmup + steps))
    return {k: (long[k] - short[k]) / (steps * n_scenes) for k in long}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--baseline", default="HEAD", help="git ref to compare with ('none' to skip)")
    p.add_argument("--steps", type=int, default=2000, help="counted steps per scene")
    p.add_argument("--warmup", type=int, default=500, help="steps per scene before counting starts")
    p.add_argument("--scenes", default=DEFAULT_SCENES)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--simulate", action="store_true",
                   help="also simulate the caches and the branch predictor (D1 and LL misses, mispredicts; slower)")
    p.add_argument("--same-episode-length", action="store_true",
                   help="make the baseline's envs end their episodes after as many steps as this tree's, so that "
                        "both walks reset as often (a reset costs several steps)")
    p.add_argument("--_child", type=int, help=argparse.SUPPRESS)
    p.add_argument("--_episode-steps", dest="episode_steps", type=int, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args._child is not None:
        _child(args._child, args.scenes.split(","), args.seed, args.episode_steps)
        return 0
    if shutil.which("valgrind") is None:
        print("valgrind is not installed: this benchmark counts instructions with cachegrind", file=sys.stderr)
        return 2
    print(f"Counting instructions per step ({args.steps} steps per scene after {args.warmup}, "
          f"scenes {args.scenes}); each tree takes a minute or two under valgrind"
          f"{' (several with --simulate)' if args.simulate else ''} ...", flush=True)
    ours = per_step(ROOT, args.steps, args.warmup, args.scenes, args.seed, args.simulate)
    base = None
    if args.baseline.lower() != "none":
        episode_steps = episode_steps_here() if args.same_episode_length else None
        if episode_steps is not None:
            print(f"  {args.baseline}'s episodes end after {episode_steps} steps, as this tree's (--same-episode-length)")
        with checked_out(args.baseline) as base_dir:
            base = per_step(base_dir, args.steps, args.warmup, args.scenes, args.seed, args.simulate, episode_steps)
    for label, value in ours.items():
        print(f"  {label + ' per step':<32} working tree {value:>10,.0f}", end="")
        if base is not None:
            change = (value - base[label]) / base[label] * 100 if base[label] else float("nan")
            print(f"   {args.baseline} {base[label]:>10,.0f}   {change:+6.1f}%", end="")
        print()
    if base is not None:
        change = (ours["instructions"] - base["instructions"]) / base["instructions"] * 100
        print(f"  change {change:+.1f}% instructions/step against {args.baseline}")
    return 0

if __name__ == "__main__":
    sys.exit(main())
