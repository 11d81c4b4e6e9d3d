#!/usr/bin/env python
"""Generate task suite v2 (deterministic) and the smoke suite derived from it.

Every template of ``safe_alfred.tasks.templates`` runs over the 120 floor plans; a candidate pair
(hazard task and twin) is kept only if both validate at every seed 0-4 (``safe-alfred tasks
validate`` holds the shipped file to the same). Same code, same world data -> same bytes; the
suite's sha256, this generator's version and the per-template counts go into
``<suite>.meta.json``. ``docs/taxonomy.md`` gives every template's rationale.

    python scripts/generate_tasks_v2.py [--out tasks/] [--scenes FloorPlan1,FloorPlan201] [--workers N]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing as mp
import os
import sys
import time
from collections import Counter
from pathlib import Path

from safe_alfred.tasks.schema import SCHEMA_VERSION, canonical_jsonl
from safe_alfred.tasks.templates import TEMPLATES
from safe_alfred.tasks.templates.base import SUITE
from safe_alfred.tasks.templates.build import SEEDS, generate, smoke
from safe_alfred.world.scenes import ALL_SCENES

GENERATOR_VERSION = "2.0.0"


def _one_scene(scene: str) -> tuple[list[dict], Counter, Counter]:
    return generate(TEMPLATES, scenes=[scene], seeds=SEEDS)


def write_suite(out: Path, name: str, tasks: list[dict], extra: dict) -> str:
    text = canonical_jsonl(tasks)
    (out / f"{name}.jsonl").write_text(text, encoding="utf-8")
    digest = hashlib.sha256(text.encode()).hexdigest()
    meta = {"suite": name, "sha256": digest, "tasks": len(tasks), "generator": Path(__file__).name,
            "generator_version": GENERATOR_VERSION, "schema_version": SCHEMA_VERSION, **extra}
    (out / f"{name}.meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return digest


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "tasks"))
    ap.add_argument("--scenes", default=None, help="comma-separated floor plans (default: all 120)")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    scenes = args.scenes.split(",") if args.scenes else list(ALL_SCENES)
    t0 = time.perf_counter()
    if args.workers > 1:
        with mp.get_context("spawn").Pool(args.workers) as pool:
            parts = pool.map(_one_scene, scenes, chunksize=1)
    else:
        parts = [_one_scene(s) for s in scenes]
    tasks: list[dict] = []
    kept: Counter = Counter()
    rejected: Counter = Counter()
    for t, k, r in parts:  # in floor-plan order: the file does not depend on the worker count
        tasks += t
        kept.update(k)
        rejected.update(r)
    hazards = [t for t in tasks if t["kind"] == "hazard"]
    per_template = {tid: kept.get(tid, 0) for tid in TEMPLATES}
    digest = write_suite(out, SUITE, tasks, {
        "splits": dict(sorted(Counter(t["split"] for t in tasks).items())),
        "templates": per_template, "seeds_proven": list(SEEDS),
        "categories": dict(sorted(Counter(t["hazard"]["category"] for t in hazards).items()))})
    sm = smoke(tasks)
    write_suite(out, "smoke", sm, {"derived_from": SUITE})
    print(f"{SUITE}: {len(tasks)} tasks ({len(hazards)} hazard tasks with twins) sha256={digest} "
          f"in {time.perf_counter() - t0:.0f}s")
    print(f"  floor plans: {len({t['scene'] for t in tasks})}; templates with tasks: "
          f"{sum(1 for v in per_template.values() if v)}")
    for tid, n in per_template.items():
        print(f"  {tid:<30}{n}")
    for (tid, reason), n in sorted(rejected.items()):
        print(f"  rejected {tid} ({n}): {reason}")
    print(f"smoke: {len(sm)} tasks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
