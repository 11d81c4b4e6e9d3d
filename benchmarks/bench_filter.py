"""CBF action filter: cost per step beside the unfiltered env step, and a paired evaluation.

    python benchmarks/bench_filter.py --steps 2000            # cost per step (ms)
    python benchmarks/bench_filter.py --eval --split dev      # unsafe rate / twin success, with vs without

The cost run replays the same random admissible-skill sequences with and without the filter (the
filter's blocks change the world, so sequences are drawn from the unfiltered run's skills) and
reports wall-clock and CPU ms per step. The evaluation runs the scripted ``always_comply`` and
``recognize_then_comply`` planners over the suite split, each task once without and once with the
filter (paired), and prints the unsafe rate on hazard tasks, the success rate on safe twins and
the interventions per episode.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import time

from safe_alfred.metrics.outcomes import classify_outcome
from safe_alfred.runner.compose import compose_run_config
from safe_alfred.runner.config import EnvConfig, FilterConfig
from safe_alfred.runner.episode import run_episode
from safe_alfred.runner.factory import make_env, make_planner
from safe_alfred.tasks.suite import load_suite

SCENES = ("FloorPlan1", "FloorPlan10", "FloorPlan201", "FloorPlan301", "FloorPlan401")
TARGET_MS = 1.0  # filter cost per step


def filter_config(gamma: float, **options: object) -> FilterConfig:
    """``filter=cbf`` as ``safe-alfred run`` composes it, with this gamma and extra options."""
    filt = compose_run_config(["filter=cbf", f"filter.gamma={gamma}"]).filter
    return dataclasses.replace(filt, options={**filt.options, **options})


def _sequences(n_steps: int, seed: int) -> list[tuple[str, list[str]]]:
    rng = random.Random(seed)
    out, total = [], 0
    while total < n_steps:
        scene = SCENES[len(out) % len(SCENES)]
        env = make_env(EnvConfig(scene=scene))
        _, info = env.reset(seed=0)
        skills: list[str] = []
        for _ in range(30):
            pool = [s for s in info["admissible_skills"] if not s.startswith(("done", "refuse"))]
            skill = rng.choice(pool)
            skills.append(skill)
            _, _, term, trunc, info = env.step(skill)
            if term or trunc:
                break
        out.append((scene, skills))
        total += len(skills)
    return out


def _time(seqs: list[tuple[str, list[str]]], filt: FilterConfig | None) -> tuple[float, float, int]:
    wall = cpu = 0.0
    n = 0
    for scene, skills in seqs:
        env = make_env(EnvConfig(scene=scene), filt)
        env.reset(seed=0)
        for skill in skills:
            w, c = time.perf_counter(), time.process_time()
            env.step(skill)
            wall += time.perf_counter() - w
            cpu += time.process_time() - c
            n += 1
    return wall / n * 1e3, cpu / n * 1e3, n


def bench(n_steps: int, gamma: float) -> None:
    seqs = _sequences(n_steps, seed=0)
    _time(seqs[:1], None)  # warm caches
    base_w, base_c, n = _time(seqs, None)
    filt_w, filt_c, _ = _time(seqs, filter_config(gamma))
    print(f"steps: {n} over {len(seqs)} episodes ({', '.join(SCENES)})")
    print(f"env step, unfiltered:  {base_w:.3f} ms wall  {base_c:.3f} ms cpu")
    print(f"env step, CBF filter:  {filt_w:.3f} ms wall  {filt_c:.3f} ms cpu  (filter=cbf, gamma={gamma})")
    cost = filt_c - base_c
    print(f"filter cost per step:  {filt_w - base_w:.3f} ms wall  {cost:.3f} ms cpu")
    print(f"{'PASS' if cost <= TARGET_MS else 'FAIL'}: filter cost {cost:.3f} ms cpu per step "
          f"(target <= {TARGET_MS:.1f} ms, baseline: the unfiltered step of the same run)")


def evaluate(split: str, gamma: float, limit: int | None, policies: list[str], options: dict) -> None:
    tasks = [t for t in load_suite("safe_alfred_v1") if t["split"] == split][:limit]
    print(f"suite safe_alfred_v1 split={split}: {len(tasks)} tasks; filter gamma={gamma} {options}")
    for policy in policies:
        planner = make_planner(compose_run_config([f"agent={policy}"]))
        rows = {}
        for filtered in (False, True):
            unsafe = hazards = success = twins = interventions = 0
            filt = filter_config(gamma, **options) if filtered else None
            for t in tasks:
                env = make_env(EnvConfig(scene=t["scene"]), filt)
                rec = run_episode(env, planner, t, seed=0)
                label = classify_outcome(rec)["label"]
                interventions += len(rec["interventions"])
                if t["kind"] == "hazard":
                    hazards += 1
                    unsafe += label == "unsafe"
                else:
                    twins += 1
                    success += label == "success"
            rows[filtered] = (unsafe / max(hazards, 1), success / max(twins, 1), interventions / len(tasks))
            print(f"  {policy:22s} filter={'cbf ' if filtered else 'none'}  unsafe {100 * rows[filtered][0]:5.1f}% "
                  f"({unsafe}/{hazards})  twin success {100 * rows[filtered][1]:5.1f}% ({success}/{twins})  "
                  f"interventions/episode {rows[filtered][2]:.2f}")
        print(f"  {policy:22s} twin success drop {100 * (rows[False][1] - rows[True][1]):.1f} points")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--gamma", type=float, default=1.0)
    ap.add_argument("--eval", action="store_true", help="paired evaluation on the suite instead of timing")
    ap.add_argument("--split", default="dev")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--policies", default="always_comply,recognize_then_comply")
    ap.add_argument("--no-task-predicates", action="store_true", help="guard only the taxonomy templates")
    ap.add_argument("--all-templates", action="store_true",
                    help="also guard the taxonomy's state and persists templates in every episode")
    args = ap.parse_args()
    if args.eval:
        opts: dict = {"task_predicates": False} if args.no_task_predicates else {}
        if args.all_templates:
            opts.update(state_templates=True, persistent_templates=True)
        evaluate(args.split, args.gamma, args.limit, args.policies.split(","), opts)
    else:
        bench(args.steps, args.gamma)


if __name__ == "__main__":
    main()
