#!/usr/bin/env python
"""Planner-concurrency benchmark: episodes per second with N episodes in flight on one planner.

The scripted OpenAI-compatible server (a child process, real HTTP) answers every request after a
fixed delay (default 200 ms). Each episode is closed-loop with a fixed length: ``--skills``
skills (``find CounterTop``), then ``done``; that is ``skills + 1`` requests per episode. One
``OpenAIPlanner`` instance serves all episodes through ``aact``; each episode has its own env.

If ``safe_alfred.envs`` is importable, episodes run in ``gymnasium.make("SafeAlfred-v0")``
(scene FloorPlan1); otherwise in a minimal loop that only feeds each decision back as history.
The output says which.

Ideal throughput at concurrency c: ``c / (delay * requests_per_episode)`` episodes per second.
Printed per concurrency level: measured episodes/s, ideal, their ratio, and PASS/FAIL for the
target (>= 90% of ideal at the highest level).

``--transport httpx`` measures the same run through httpx instead of the lean HTTP/1.1 client.

Usage::

    python benchmarks/bench_planner_concurrency.py
    python benchmarks/bench_planner_concurrency.py --levels 1,8,32 --delay 0.2 --skills 5 --rounds 4
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
import time
from typing import Any

from safe_alfred.agents.base import HistoryItem, PlannerInput
from safe_alfred.agents.openai_planner import OpenAIPlanner
from safe_alfred.agents.scripted_server import ServerProcess

INSTRUCTION = "Look at the counter top a few times, then stop."
SKILL = "find CounterTop"


def _make_env_factory() -> tuple[Any, str]:
    try:
        from safe_alfred.runner.config import EnvConfig
        from safe_alfred.runner.factory import make_env

        env = make_env(EnvConfig(scene="FloorPlan1"))
        env.reset(options={"scene": "FloorPlan1"})
        env.close()
        return (lambda: make_env(EnvConfig(scene="FloorPlan1"))), "real env: env=symbolic (the run's env), FloorPlan1"
    except Exception as e:  # the env is optional for this benchmark
        return None, f"minimal feedback loop (safe_alfred.envs unavailable: {type(e).__name__}: {e})"


async def run_episode(planner: OpenAIPlanner, env_factory: Any, max_steps: int) -> int:
    """One closed-loop episode; returns the number of decisions it took."""
    env = env_factory() if env_factory else None
    if env is not None:
        obs, info = env.reset(options={"scene": "FloorPlan1"})
        admissible = list(info.get("admissible_skills", []))
    else:
        obs, admissible = "You see: CounterTop.", [SKILL, "done"]
    history: list[HistoryItem] = []
    decisions = 0
    for step in range(max_steps):
        d = await planner.aact(
            PlannerInput(INSTRUCTION, obs, step=step, history=list(history), admissible_skills=admissible)
        )
        decisions += 1
        if d.error or not d.skills:
            raise RuntimeError(f"planner failed at step {step}: {d.error or d.parse_error}")
        skill = d.skills[0]
        if env is not None:
            obs, _, terminated, truncated, info = env.step(skill)
            admissible = list(info.get("admissible_skills", []))
            ok = True
            end = terminated or truncated
        else:
            obs, ok, end = f"Last step '{skill}' succeeded.", True, skill == "done"
        history.append(HistoryItem(step, skill, ok, obs.splitlines()[-1] if obs else ""))
        if end:
            break
    if env is not None:
        env.close()
    return decisions


async def run_level(
    planner: OpenAIPlanner, env_factory: Any, concurrency: int, episodes: int, max_steps: int
) -> dict:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(episodes):
        queue.put_nowait(i)
    lengths: list[int] = []

    async def worker() -> None:
        while True:
            try:
                queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            lengths.append(await run_episode(planner, env_factory, max_steps))

    t0, c0 = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"episodes": len(lengths), "wall_s": wall, "cpu_s": cpu, "decisions": lengths}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--levels", default="1,8,32", help="concurrency levels, comma-separated")
    ap.add_argument("--delay", type=float, default=0.2, help="server delay per request, seconds")
    ap.add_argument("--skills", type=int, default=5, help="skills per episode before done")
    ap.add_argument("--rounds", type=int, default=4, help="episodes per level = rounds * concurrency")
    ap.add_argument("--target", type=float, default=0.9, help="required share of ideal at the top level")
    ap.add_argument(
        "--transport",
        choices=["auto", "h11", "httpx"],
        default="auto",
        help="HTTP client of the planner (auto: the lean HTTP/1.1 client for http://)",
    )
    ap.add_argument("--json", help="write the figures to this file")
    args = ap.parse_args(argv)
    levels = [int(x) for x in args.levels.split(",")]
    requests_per_episode = args.skills + 1

    env_factory, env_desc = _make_env_factory()
    # The server answers the skill until the prompt reaches step `skills`, then done.
    spec = {
        "answers": [f"<think>Checking the counter again.</think>\n{SKILL}"],
        "rules": [
            {"pattern": rf"^Current step: {args.skills}$", "answer": "<think>That is enough.</think>\ndone"}
        ],
    }
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(spec, f)
    results = []
    try:
        with ServerProcess(["--script", f.name, "--delay", str(args.delay)]) as srv:
            planner = OpenAIPlanner(
                srv.base_url,
                "scripted",
                mode="closed_loop",
                timeout=30,
                max_retries=0,
                transport=args.transport,
            )
            print(f"planner concurrency benchmark: {env_desc}")
            print(
                f"planner: OpenAIPlanner.aact over HTTP ({planner.client.transport} transport), one instance"
            )
            print(
                f"server delay {args.delay * 1000:.0f} ms, {args.skills} skills + done = "
                f"{requests_per_episode} requests/episode, {args.rounds} x concurrency episodes per level"
            )
            print(f"python {platform.python_version()}, {os.cpu_count()} CPUs")

            async def all_levels() -> None:
                await run_level(planner, env_factory, 2, 2, requests_per_episode + 2)  # warm-up
                for c in levels:
                    r = await run_level(planner, env_factory, c, args.rounds * c, requests_per_episode + 2)
                    bad = [n for n in r["decisions"] if n != requests_per_episode]
                    if bad:
                        raise RuntimeError(f"episodes of unexpected length: {bad[:5]}")
                    eps = r["episodes"] / r["wall_s"]
                    ideal = c / (args.delay * requests_per_episode)
                    results.append(
                        {"concurrency": c, "episodes": r["episodes"], "wall_s": r["wall_s"],
                         "client_cpu_ms_per_request": 1000 * r["cpu_s"] / (r["episodes"] * requests_per_episode),
                         "episodes_per_s": eps, "ideal_per_s": ideal, "ratio": eps / ideal,
                         "load_avg_1min": os.getloadavg()[0]}
                    )  # fmt: skip

            asyncio.run(all_levels())
    finally:
        os.unlink(f.name)

    print(
        f"\n{'concurrency':>11} {'episodes':>8} {'wall s':>7} {'ep/s':>8} {'ideal ep/s':>10} {'ratio':>6}"
        f" {'cpu ms/req':>10} {'load 1m':>7}"
    )
    for r in results:
        print(
            f"{r['concurrency']:>11} {r['episodes']:>8} {r['wall_s']:>7.2f} {r['episodes_per_s']:>8.2f} "
            f"{r['ideal_per_s']:>10.2f} {r['ratio']:>6.1%} {r['client_cpu_ms_per_request']:>10.2f}"
            f" {r['load_avg_1min']:>7.2f}"
        )
    print("(cpu ms/req: this process's CPU per request, env steps included; load 1m: the machine's load")
    print(" average after the level; a load above the CPU count means the figures include contention)")
    top = results[-1]
    ok = top["ratio"] >= args.target
    print(f"\ntarget: >= {args.target:.0%} of ideal at concurrency {top['concurrency']}: "
          f"{top['ratio']:.1%} -> {'PASS' if ok else 'FAIL'}")  # fmt: skip
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"env": env_desc, "transport": args.transport, "delay_s": args.delay,
                       "requests_per_episode": requests_per_episode, "levels": results, "pass": ok},
                      fh, indent=2)  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
