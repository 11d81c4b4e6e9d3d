"""``safe-alfred judge``: run a recognition judge over a JSONL file of traces.

Input lines: ``{"id", "instruction", "hazard", "trace"}`` where ``trace`` is a string or a list of
``{"step", "text"}``; optional ``before_step`` (int or null: the step whose hazard fired; segments
up to it count), ``category``, ``prompt`` (the text the planner was shown: what it copies from it is
not recognition) and ``hazard_action`` (the skill that fired the hazard: inside one reasoning
string, text after the plan reaches it does not count). Output lines:
``{"id", "recognized", "score", "evidence", "first_step"}``. Every input line is validated before
any judging starts, so a bad line fails the run with its line number and field instead of being
dropped or crashing half-way.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from typing import Any

from safe_alfred.errors import UserError, commonest_cause
from safe_alfred.judges.base import TraceSegment, call_judge


class InputError(ValueError):
    """A malformed input line; the message names the line and the field."""


def parse_line(raw: str, lineno: int) -> dict[str, Any]:
    """Validate one input line and turn its trace into segments."""
    try:
        d = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InputError(f"line {lineno}: not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(d, dict):
        raise InputError(f"line {lineno}: expected a JSON object, got {type(d).__name__}")
    for key in ("id", "instruction", "hazard", "trace"):
        if key not in d:
            raise InputError(f"line {lineno}: missing field '{key}'")
    if not isinstance(d["id"], (str, int)):
        raise InputError(f"line {lineno}: field 'id' must be a string or integer")
    for key in ("instruction", "hazard"):
        if not isinstance(d[key], str):
            raise InputError(f"line {lineno}: field '{key}' must be a string")
    trace = d["trace"]
    if isinstance(trace, str):
        segments = [TraceSegment(0, trace)]
    elif isinstance(trace, list):
        segments = []
        for i, seg in enumerate(trace):
            where = f"line {lineno}: field 'trace[{i}]'"
            if not isinstance(seg, dict):
                raise InputError(f"{where} must be an object with 'step' and 'text'")
            step, text = seg.get("step"), seg.get("text")
            if not isinstance(step, int) or isinstance(step, bool):
                raise InputError(f"{where}.step must be an integer")
            if not isinstance(text, str):
                raise InputError(f"{where}.text must be a string")
            segments.append(TraceSegment(step, text))
    else:
        raise InputError(f"line {lineno}: field 'trace' must be a string or a list of {{step, text}}")
    before = d.get("before_step")
    if before is not None and (not isinstance(before, int) or isinstance(before, bool)):
        raise InputError(f"line {lineno}: field 'before_step' must be an integer or null")
    for key in ("category", "prompt", "hazard_action"):
        if d.get(key) is not None and not isinstance(d[key], str):
            raise InputError(f"line {lineno}: field '{key}' must be a string")
    category = d.get("category")
    return {
        "id": d["id"],
        "instruction": d["instruction"],
        "hazard": d["hazard"],
        "segments": segments,
        "before_step": before,
        "category": category,
        "prompt": d.get("prompt"),
        "hazard_action": d.get("hazard_action"),
    }


def _option(text: str) -> tuple[str, Any]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected key=value, got {text!r}")
    key, value = text.split("=", 1)
    try:
        return key, json.loads(value)  # numbers, booleans, null
    except json.JSONDecodeError:
        return key, value


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``safe-alfred judge``; returns the exit code."""
    ap = argparse.ArgumentParser(prog="safe-alfred judge", description=__doc__.split(": ", 1)[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("file", help="input JSONL ('-' for stdin)")
    ap.add_argument("--judge", default="lexicon", help="lexicon, embedding, learned or llm (default: lexicon)")
    ap.add_argument("-o", "--output", help="output JSONL (default: stdout)")
    ap.add_argument(
        "--judge-option", action="append", type=_option, default=[], metavar="KEY=VALUE",
        help="constructor option for the judge, repeatable (e.g. threshold=0.6, model=NAME)",
    )
    args = ap.parse_args(argv)

    try:
        if args.file == "-":
            lines = sys.stdin.read().splitlines()
        else:
            with open(args.file, encoding="utf-8") as f:
                lines = f.read().splitlines()
    except OSError as exc:
        raise UserError(f"cannot read {args.file}: {exc.strerror}") from None
    try:
        records = [parse_line(raw, n) for n, raw in enumerate(lines, 1) if raw.strip()]
    except InputError as exc:
        raise UserError(f"{args.file}: {exc}") from None

    from safe_alfred.judges.registry import make_judge
    from safe_alfred.runner.preflight import check_part

    check_part("judge", args.judge, dict(args.judge_option))  # e.g. an llm judge's server, before any line
    try:
        judge = make_judge(args.judge, **dict(args.judge_option))
    except (ValueError, ImportError, TypeError) as exc:
        raise UserError(str(exc)) from None

    out_lines = []
    for rec in records:
        v = call_judge(judge, rec["instruction"], rec["hazard"], rec["segments"], rec["before_step"],
                       category=rec["category"] or None, prompt=rec["prompt"], hazard_action=rec["hazard_action"])
        row = {
            "id": rec["id"],
            "recognized": v.recognized,
            "score": v.score,
            "evidence": [asdict(e) for e in v.evidence],
            "first_step": v.first_step,
        }
        if v.error:
            row["error"] = v.error
        out_lines.append(json.dumps(row, ensure_ascii=False))
    text = "".join(line + "\n" for line in out_lines)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    failed = commonest_cause(json.loads(line).get("error") for line in out_lines)
    if failed:
        n_err, cause, count = failed
        print(f"safe-alfred judge: {'error' if 2 * n_err > len(out_lines) else 'warning'}: the judge could not "
              f"decide {n_err} of {len(out_lines)} traces; commonest cause ({count}x): {cause}", file=sys.stderr)
        if 2 * n_err > len(out_lines):
            return 1
    return 0
