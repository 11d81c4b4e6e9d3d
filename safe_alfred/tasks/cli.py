"""``safe-alfred tasks``: validate, list, show, stats and import-safeagentbench."""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import time
from collections import Counter
from pathlib import Path

from .schema import TaskFileError, canonical_jsonl, load_tasks
from .suite import DEFAULT_SUITE, get_task, load_suite, suite_path


def _load(name: str | None) -> tuple[Path, list[dict]]:
    path = suite_path(name or DEFAULT_SUITE)
    return path, load_tasks(path)


def cmd_validate(args: argparse.Namespace) -> int:
    from .validate import validate_tasks
    t0 = time.perf_counter()
    try:
        path, tasks = _load(args.file)
    except (TaskFileError, FileNotFoundError) as exc:
        print(f"FAIL {exc}")
        return 1
    failures = validate_tasks(tasks)
    meta_path = path.with_suffix(".meta.json")
    if meta_path.exists():
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        digest = hashlib.sha256(canonical_jsonl(tasks).encode()).hexdigest()
        if meta.get("sha256") != digest:
            failures["<suite>"] = [f"content hash {digest} differs from {meta_path.name}'s {meta.get('sha256')}"]
    shown = 0
    for tid, errs in failures.items():
        for e in errs:
            if args.max_failures is None or shown < args.max_failures:
                print(f"FAIL {tid}: {e}")
            shown += 1
    dt = time.perf_counter() - t0
    ok = len(tasks) - len([k for k in failures if k != "<suite>"])
    print(f"{path.name}: {ok}/{len(tasks)} tasks valid, {len(failures)} failing ({dt:.1f}s)")
    return 0 if not failures else 1


def cmd_list(args: argparse.Namespace) -> int:
    _, tasks = _load(args.suite)
    for t in tasks:
        if args.family and t["family"] != args.family or args.kind and t["kind"] != args.kind \
                or args.split and t["split"] != args.split:
            continue
        cat = (t["hazard"] or {}).get("category", "-")
        print(f"{t['id']}\t{t['kind']}\t{cat}\t{t['scene']}\t{t['instruction']}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    try:
        task = next(t for t in load_suite(args.suite) if t["id"] == args.id) if args.suite else get_task(args.id)
    except (KeyError, StopIteration):
        print(f"unknown task id {args.id!r}")
        return 1
    print(json.dumps(task, indent=2))
    return 0


def stats_lines(tasks: list[dict]) -> list[str]:
    """Counts by family, kind, category, room type, instruction type, split; distinct scenes."""
    lines = [f"tasks: {len(tasks)}  scenes: {len({t['scene'] for t in tasks})}"]
    for title, key in (("family", lambda t: t["family"]), ("kind", lambda t: t["kind"]),
                       ("category", lambda t: (t["hazard"] or {}).get("category", "(safe)")),
                       ("room_type", lambda t: t["room_type"]), ("instruction_type", lambda t: t["instruction_type"]),
                       ("split", lambda t: t["split"]), ("source", lambda t: t["source"])):
        counts = Counter(key(t) for t in tasks)
        lines.append(f"{title}:")
        lines += [f"  {k:<26}{v}" for k, v in sorted(counts.items())]
    return lines


def cmd_stats(args: argparse.Namespace) -> int:
    _, tasks = _load(args.suite)
    print("\n".join(stats_lines(tasks)))
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from .safeagentbench import convert
    from .validate import validate_tasks
    tasks, skipped = convert(args.dir)
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(canonical_jsonl(tasks), encoding="utf-8")
    total = len(tasks) + sum(skipped.values())
    print(f"converted {len(tasks)}/{total} SafeAgentBench records -> {out}")
    for reason, n in skipped.most_common():
        print(f"  not converted ({n}): {reason}")
    if not args.no_validate:
        failures = validate_tasks(tasks)
        print(f"validated {len(tasks) - len(failures)}/{len(tasks)}")
        reasons: Counter = Counter()
        for errs in failures.values():
            reasons[_reason(errs[0])] += 1
        for reason, n in reasons.most_common():
            print(f"  invalid ({n}): {reason}")
    return 0


def _reason(err: str) -> str:
    """Group failure messages: drop step numbers, skill text and object ids."""
    err = re.sub(r"step \d+ '[^']*'", "a step", err)
    return re.sub(r"[A-Za-z]+(_[0-9a-f]{8}|\|[^ ]+)", "<object>", err)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="safe-alfred tasks", description="task suites: validate, browse, import")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("validate", help="prove every task of a suite (schema, plans, predicates, goals)")
    p.add_argument("file", nargs="?", help=f"suite name or JSONL path (default {DEFAULT_SUITE})")
    p.add_argument("--max-failures", type=int, default=50, help="failures to print (default 50)")
    p.set_defaults(func=cmd_validate)
    p = sub.add_parser("list", help="one line per task")
    p.add_argument("--suite")
    p.add_argument("--family")
    p.add_argument("--kind", choices=("hazard", "safe"))
    p.add_argument("--split", choices=("dev", "test"))
    p.set_defaults(func=cmd_list)
    p = sub.add_parser("show", help="one task as JSON")
    p.add_argument("id")
    p.add_argument("--suite")
    p.set_defaults(func=cmd_show)
    p = sub.add_parser("stats", help="counts by family, category, room type, instruction type and split")
    p.add_argument("suite", nargs="?")
    p.set_defaults(func=cmd_stats)
    p = sub.add_parser("import-safeagentbench", help="convert SafeAgentBench's task files to our schema")
    p.add_argument("dir")
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--no-validate", action="store_true")
    p.set_defaults(func=cmd_import)
    args = ap.parse_args(argv)
    return int(args.func(args))
