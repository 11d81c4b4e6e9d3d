"""CPU instructions per env step, counted (not timed), for this tree beside a git ref.

Wall-clock figures on a shared machine move by 10% or more from run to run, which hides the
few-percent changes that speed work is made of. Valgrind's cachegrind counts the instructions
the interpreter executes instead, which is repeatable to a few hundred per step when the hash
seed is fixed. The loop is ``bench_env_steps.py``'s (random admissible skills through
``gymnasium.make``, a new seeded layout every episode, the same scenes); each tree runs it for
``warmup`` and for ``warmup + steps`` steps per scene, and the difference divided by the extra
steps is the figure, so start-up and imports cancel out.

    python benchmarks/bench_instructions.py [--baseline HEAD] [--steps 2000] [--warmup 500]

``--warmup 0 --steps 5000`` counts what ``bench_env_steps.py`` times: each scene's first 5,000
steps from a fresh process, the first-visit work of every cache included (its untimed first
reset is in both runs, so it cancels out).

Needs ``valgrind`` on PATH (``apt install valgrind``). Fewer instructions is faster, roughly in
proportion, but not exactly: cache misses and the allocator are not weighed.
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

from bench_env_steps import DEFAULT_SCENES, _make_env, _run_scene  # noqa: E402
from git_tree import checked_out  # noqa: E402


def _child(steps: int, scenes: list[str], seed: int) -> None:
    env, max_steps = _make_env(unwrapped=False)
    for scene in scenes:
        _run_scene(env, scene, steps, seed, max_steps, emulate_time_limit=False)


def _instructions(tree: Path, steps: int, scenes: str, seed: int) -> int:
    """Instructions executed by one child run of ``steps`` steps per scene on ``tree``."""
    env = dict(os.environ, PYTHONHASHSEED="0", OPENBLAS_NUM_THREADS="1", PYTHONPATH=str(tree))
    with tempfile.NamedTemporaryFile(suffix=".cg") as out:
        cmd = ["valgrind", "--tool=cachegrind", "--cache-sim=no", f"--cachegrind-out-file={out.name}",
               sys.executable, str(Path(__file__).resolve()), "--_child", str(steps),
               "--scenes", scenes, "--seed", str(seed)]
        proc = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True, check=False)
    found = re.search(r"I\s+refs:\s+([\d,]+)", proc.stderr)
    if proc.returncode != 0 or not found:
        raise RuntimeError(f"counting run on {tree} failed:\n{proc.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def per_step(tree: Path, steps: int, warmup: int, scenes: str, seed: int) -> float:
    n_scenes = len(scenes.split(","))
    with ThreadPoolExecutor(2) as pool:  # the two lengths side by side: they are independent
        short, long = pool.map(lambda n: _instructions(tree, n, scenes, seed), (warmup, warmup + steps))
    return (long - short) / (steps * n_scenes)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--baseline", default="HEAD", help="git ref to compare with ('none' to skip)")
    p.add_argument("--steps", type=int, default=2000, help="counted steps per scene")
    p.add_argument("--warmup", type=int, default=500, help="steps per scene before counting starts")
    p.add_argument("--scenes", default=DEFAULT_SCENES)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--_child", type=int, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args._child is not None:
        _child(args._child, args.scenes.split(","), args.seed)
        return 0
    if shutil.which("valgrind") is None:
        print("valgrind is not installed: this benchmark counts instructions with cachegrind", file=sys.stderr)
        return 2
    print(f"Counting instructions per step ({args.steps} steps per scene after {args.warmup}, "
          f"scenes {args.scenes}); each tree takes a minute or two under valgrind ...", flush=True)
    ours = per_step(ROOT, args.steps, args.warmup, args.scenes, args.seed)
    print(f"  working tree   {ours:>10,.0f} instructions/step")
    if args.baseline.lower() == "none":
        return 0
    with checked_out(args.baseline) as base_dir:
        base = per_step(base_dir, args.steps, args.warmup, args.scenes, args.seed)
    print(f"  {args.baseline:<14} {base:>10,.0f} instructions/step")
    print(f"  change         {(ours - base) / base * 100:>+10.1f}% instructions/step against {args.baseline}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
