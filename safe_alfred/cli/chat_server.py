"""``safe-alfred chat-server``: a scripted OpenAI-compatible chat server (``safe_alfred.agents.scripted_server``).

It answers ``POST /v1/chat/completions`` with scripted text, so ``agent=openai`` and ``judge=llm``
can be tried without a model. The first line printed is ``PORT <n>``; stop it with Ctrl-C.
"""

from __future__ import annotations

import argparse
import json

from safe_alfred.agents.scripted_server import FAULTS, Script, make_server


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="safe-alfred chat-server", description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="0 picks a free port (printed as 'PORT <n>')")
    ap.add_argument("--answer", action="append", default=[], help="an answer; repeat for several")
    ap.add_argument("--script", help="JSON file: {answers: [...], rules: [{pattern, answer}], select}")
    ap.add_argument("--select", choices=["turn", "cycle"], default=None)
    ap.add_argument("--delay", type=float, default=0.0, help="seconds to wait before every response")
    ap.add_argument("--fail-first", type=int, default=0, help="fail the first N chat requests")
    ap.add_argument("--fail-always", action="store_true")
    ap.add_argument("--fail-status", type=int, default=429)
    ap.add_argument("--retry-after", type=float, default=None, help="Retry-After header on failures")
    ap.add_argument("--reasoning-field", default=None, help="e.g. reasoning_content or reasoning")
    ap.add_argument("--chunked", action="store_true", help="Transfer-Encoding: chunked responses")
    ap.add_argument("--close", action="store_true", help="close the connection after every response")
    ap.add_argument("--fault", choices=FAULTS, default=None,
                    help="serve this faulty HTTP 200 reply to the failing requests instead of --fail-status")
    return ap.parse_args(argv)


def script_from_args(args: argparse.Namespace) -> Script:
    answers: list[str] = []
    rules: list[tuple[str, str]] = []
    select = "turn"
    if args.script:
        with open(args.script, encoding="utf-8") as f:
            spec = json.load(f)
        answers += list(spec.get("answers", []))
        rules += [(r["pattern"], r["answer"]) for r in spec.get("rules", [])]
        select = spec.get("select", select)
    answers += args.answer
    script = Script(
        rules=rules,
        select=args.select or select,
        delay_s=args.delay,
        fail_first=args.fail_first,
        fail_always=args.fail_always,
        fail_status=args.fail_status,
        retry_after=args.retry_after,
        reasoning_field=args.reasoning_field,
        chunked=args.chunked,
        close=args.close,
        fault=args.fault,
    )
    if answers:
        script.answers = answers
    return script


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    server = make_server(script_from_args(args), args.host, args.port)
    print(f"PORT {server.server_address[1]}", flush=True)
    try:
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
