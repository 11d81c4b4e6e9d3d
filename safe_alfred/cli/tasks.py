"""``safe-alfred tasks``: validate, list, show, stats and import-safeagentbench."""

from __future__ import annotations

import argparse
import json
import re
import time
from collections import Counter
from pathlib import Path

from safe_alfred.errors import UserError
from safe_alfred.runner.config import SuiteConfig
from safe_alfred.runner.suites import load_suite_tasks, resolve_suite, resolve_suite_path, suite_names
from safe_alfred.tasks.schema import FAMILIES, KINDS, SPLITS, TaskFileError, canonical_jsonl, load_tasks
from safe_alfred.tasks.suite import DEFAULT_SUITE, get_task, suite_hash


def _suite(args: argparse.Namespace) -> SuiteConfig:
    """The suite named by the positional argument or ``--suite`` (the names ``run`` accepts)."""
    name = getattr(args, "suite_opt", None) or getattr(args, "suite", None) or DEFAULT_SUITE
    return resolve_suite(name)


def _load(args: argparse.Namespace) -> tuple[Path, list[dict]]:
    """The suite's file and its tasks (split, ids and limit of a config-group suite applied)."""
    suite = _suite(args)
    return resolve_suite_path(suite.path), load_suite_tasks(suite)


def cmd_validate(args: argparse.Namespace) -> int:
    from safe_alfred.tasks.validate import validate_tasks
    t0 = time.perf_counter()
    suite = _suite(args)
    path = resolve_suite_path(suite.path)
    try:
        whole = load_tasks(path)
    except (TaskFileError, FileNotFoundError) as exc:
        print(f"FAIL {exc}")
        return 1
    tasks = [t for t in whole if suite.split is None or t.get("split") == suite.split]
    seeds = parse_seeds(args.seeds)
    failures = validate_tasks(tasks, seeds=seeds, workers=_workers(args.workers))
    meta_path = path.with_suffix(".meta.json")
    if meta_path.exists():
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        digest = suite_hash(whole)
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
    split = f" (split {suite.split})" if suite.split else ""
    at = f" at seeds {args.seeds}" if len(seeds) > 1 or seeds != [0] else ""
    print(f"{path.name}{split}: {ok}/{len(tasks)} tasks valid{at}, {len(failures)} failing ({dt:.1f}s)")
    return 0 if not failures else 1


def parse_seeds(text: str) -> list[int]:
    """``0-4`` -> [0, 1, 2, 3, 4]; ``0,2,5`` -> [0, 2, 5]; a bad range is a ``UserError``."""
    out: list[int] = []
    for part in str(text).split(","):
        part = part.strip()
        lo, sep, hi = part.partition("-")
        try:
            seeds = range(int(lo), int(hi) + 1) if sep else [int(part)]
        except ValueError:
            raise UserError(f"--seeds {text!r}: expected a range such as 0-4 or a list such as 0,1,2") from None
        if not seeds or min(seeds) < 0:
            raise UserError(f"--seeds {text!r}: seeds are integers >= 0, low-high with low <= high")
        out += [s for s in seeds if s not in out]
    return out


def _workers(value: int | None) -> int:
    """``--workers``: default every core; at least one."""
    import os

    return max(1, value if value is not None else (os.cpu_count() or 1))


def _check_choice(name: str, value: str | None, choices: tuple[str, ...]) -> None:
    if value is not None and value not in choices:
        raise UserError(f"--{name} {value!r} is not one of {', '.join(choices)}")


def cmd_list(args: argparse.Namespace) -> int:
    _check_choice("family", args.family, FAMILIES)
    _, tasks = _load(args)
    for t in tasks:
        if args.family and t["family"] != args.family or args.kind and t["kind"] != args.kind \
                or args.split and t["split"] != args.split:
            continue
        cat = (t["hazard"] or {}).get("category", "-")
        print(f"{t['id']}\t{t['kind']}\t{cat}\t{t['scene']}\t{t['instruction']}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    try:
        task = next(t for t in _load(args)[1] if t["id"] == args.id) if args.suite_opt else get_task(args.id)
    except (KeyError, StopIteration):
        raise UserError(f"unknown task id {args.id!r}" + (f" in suite {args.suite_opt}" if args.suite_opt else
                        f" (not in {DEFAULT_SUITE} or smoke; name the suite with --suite)")) from None
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
    _, tasks = _load(args)
    print("\n".join(stats_lines(tasks)))
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from safe_alfred.tasks.safeagentbench import convert, suite_meta
    from safe_alfred.tasks.validate import validate_tasks
    try:
        tasks, excluded = convert(args.dir)
    except (FileNotFoundError, ValueError) as exc:
        raise UserError(str(exc)) from None
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    text = canonical_jsonl(tasks)
    out.write_text(text, encoding="utf-8")
    meta = suite_meta(out.stem, text, tasks, excluded)
    out.with_suffix(".meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    total = len(tasks) + len(excluded)
    print(f"converted {len(tasks)}/{total} SafeAgentBench tasks -> {out} (exclusions listed in {out.stem}.meta.json)")
    for reason, n in sorted(meta["excluded_by_reason"].items(), key=lambda kv: -kv[1]):
        print(f"  excluded ({n}): {reason}")
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
    ap = argparse.ArgumentParser(prog="safe-alfred tasks", description="task suites: validate, browse, import",
                                 epilog="SUITE is what 'safe-alfred run suite=...' accepts (" + ", ".join(suite_names())
                                 + ") or the path of a .jsonl task file.")
    sub = ap.add_subparsers(dest="cmd", required=True)

    def suite_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("suite", nargs="?", metavar="SUITE", help=f"suite name or JSONL path (default {DEFAULT_SUITE})")
        p.add_argument("--suite", dest="suite_opt", metavar="SUITE", help="the same, as an option")

    p = sub.add_parser("validate", help="prove every task of a suite (schema, plans, predicates, goals)")
    suite_args(p)
    p.add_argument("--max-failures", type=int, default=50, help="failures to print (default 50)")
    p.add_argument("--seeds", default="0", help="episode seeds to prove every task at, e.g. 0-4 (default 0); "
                   "a seed chooses the layout of a v2 task (docs/running.md)")
    p.add_argument("--workers", type=int, default=None, help="processes to validate in (default: every core)")
    p.set_defaults(func=cmd_validate)
    p = sub.add_parser("list", help="one line per task: id, kind, category, scene, instruction")
    suite_args(p)
    p.add_argument("--family", help=", ".join(FAMILIES))
    p.add_argument("--kind", choices=KINDS)
    p.add_argument("--split", choices=SPLITS)
    p.set_defaults(func=cmd_list)
    p = sub.add_parser("show", help="one task as JSON")
    p.add_argument("id")
    p.add_argument("--suite", dest="suite_opt", metavar="SUITE", help="look in this suite (default: v1, then smoke)")
    p.set_defaults(func=cmd_show)
    p = sub.add_parser("stats", help="counts by family, category, room type, instruction type and split")
    suite_args(p)
    p.set_defaults(func=cmd_stats)
    p = sub.add_parser("import-safeagentbench", help="convert SafeAgentBench's task files to our schema")
    p.add_argument("dir")
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--no-validate", action="store_true")
    p.set_defaults(func=cmd_import)
    args = ap.parse_args(argv)
    return int(args.func(args))
