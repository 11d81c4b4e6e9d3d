#!/usr/bin/env python
"""Write ``tasks/v2_test_sample.jsonl``: a stratified sample of the v2 test split, hazards with their twins.

For runs too slow for the whole test split (a real model on a CPU): ``--hazards`` hazardous test
tasks (default 100), allocated to the strata (the task's template, which fixes its family and
hazard category) in proportion to their size, at least one per stratum, by largest remainder;
within a stratum the tasks are drawn with ``random.Random(seed)`` from the id-sorted list. Every
drawn hazard brings its safe twin, so the sample holds ``2 x hazards`` tasks and its twin figures
are paired with its hazard figures.

The sample is derived data, like ``smoke.jsonl``: rerun this script after the v2 suite changes
(a test fails until the shipped file is what this script writes from the shipped suite). It
replaces the v1 sample (``v1_test_sample``), which the benchmark's version 2.0 no longer verifies.

Usage::

    python scripts/sample_tasks.py                 # writes tasks/v2_test_sample.jsonl and .meta.json
    python scripts/sample_tasks.py --check         # exit 1 if the shipped file is stale
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "tasks" / "safe_alfred_v2.jsonl"
OUT = ROOT / "tasks" / "v2_test_sample.jsonl"
SUITE = "v2_test_sample"
SAMPLER_VERSION = "2.0.0"


def stratum(task: dict) -> tuple[str, str, str]:
    """(family, hazard category, template): in v2 the template fixes the other two."""
    return (str(task.get("family")), str((task.get("hazard") or {}).get("category")), str(task.get("template")))


def allocate(sizes: dict[tuple[str, ...], int], total: int) -> dict[tuple[str, ...], int]:
    """Proportional allocation, at least one per stratum, the rest by largest remainder."""
    n = sum(sizes.values())
    if total < len(sizes) or total > n:
        raise SystemExit(f"cannot draw {total} from {n} tasks in {len(sizes)} strata")
    quota = {k: max(1, int(total * v / n)) for k, v in sizes.items()}
    remainders = sorted(sizes, key=lambda k: (-(total * sizes[k] / n - int(total * sizes[k] / n)), k))
    i = 0
    while sum(quota.values()) < total:
        k = remainders[i % len(remainders)]
        if quota[k] < sizes[k]:
            quota[k] += 1
        i += 1
    while sum(quota.values()) > total:  # the minimum of one overshot: take from the largest
        k = max(quota, key=lambda s: (quota[s], s))
        quota[k] -= 1
    return quota


def sample(tasks: list[dict], hazards: int, seed: int) -> tuple[list[dict], dict]:
    """The sampled hazards and their twins, in the suite's order, and the design for the meta file."""
    test = [t for t in tasks if t.get("split") == "test"]
    by_id = {t["id"]: t for t in test}
    strata: dict[tuple[str, ...], list[dict]] = defaultdict(list)
    for t in test:
        if t.get("kind") == "hazard" and t.get("twin_id") in by_id:
            strata[stratum(t)].append(t)
    quota = allocate({k: len(v) for k, v in strata.items()}, hazards)
    rng = random.Random(seed)
    chosen: set[str] = set()
    for key in sorted(strata):
        pool = sorted(strata[key], key=lambda t: t["id"])
        for t in rng.sample(pool, quota[key]):
            chosen |= {t["id"], t["twin_id"]}
    design = {"strata": [{"family": f, "category": c, "template": tp, "hazards_in_split": len(strata[(f, c, tp)]),
                          "drawn": quota[(f, c, tp)]} for f, c, tp in sorted(strata)],
              "stratified_by": "template (family and hazard category follow from it)",
              "allocation": "proportional to the split's hazards per template, at least one, largest remainder",
              "hazards": hazards, "seed": seed, "split": "test"}
    return [t for t in tasks if t["id"] in chosen], design


def render(tasks: list[dict], design: dict, source_text: str) -> tuple[str, str]:
    from safe_alfred.tasks.schema import canonical_jsonl

    body = canonical_jsonl(tasks)
    meta = {"suite": SUITE, "derived_from": SOURCE.stem, "generator": "scripts/sample_tasks.py",
            "generator_version": SAMPLER_VERSION, "tasks": len(tasks),
            "source_sha256": hashlib.sha256(source_text.encode("utf-8")).hexdigest(),
            "sha256": hashlib.sha256(body.encode("utf-8")).hexdigest(), "design": design}
    return body, json.dumps(meta, indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hazards", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--check", action="store_true", help="only check that the shipped sample is current")
    args = ap.parse_args(argv)
    from safe_alfred.tasks.schema import load_tasks

    source_text = SOURCE.read_text("utf-8")
    tasks, design = sample(load_tasks(SOURCE), args.hazards, args.seed)
    body, meta = render(tasks, design, source_text)
    meta_path = OUT.with_suffix(".meta.json")
    if args.check:
        current = OUT.is_file() and OUT.read_text("utf-8") == body and meta_path.read_text("utf-8") == meta
        print(f"{OUT.name}: {'current' if current else 'stale: rerun python scripts/sample_tasks.py'}")
        return 0 if current else 1
    OUT.write_text(body, encoding="utf-8")
    meta_path.write_text(meta, encoding="utf-8")
    kinds = defaultdict(int)
    for t in tasks:
        kinds[(t["family"], t["kind"])] += 1
    print(f"wrote {OUT} ({len(tasks)} tasks: " + ", ".join(f"{f} {k} {n}" for (f, k), n in sorted(kinds.items())) + ")")
    return 0


if __name__ == "__main__":
    sys.exit(main())
