"""A small OpenAI-compatible chat server with scripted answers, for tests and benchmarks.

It speaks real HTTP (``POST /v1/chat/completions``, ``GET /v1/models``) so the planner and judge
clients are exercised exactly as against vLLM or a hosted API. Behaviours:

* answers: a list, picked by turn (the number of assistant messages in the request) or in cycle;
  regex rules over the last user message take precedence;
* slow mode: a fixed delay before every response;
* failing mode: HTTP 429/500 (configurable) for the first N requests, or always;
* faulty replies instead, for those requests (``fault``): HTTP 200 with a body that is not JSON,
  truncated without a length header, nested too deeply, with empty ``choices``, ``choices`` as an
  object or ``content: null``; or a usable reply carrying a non-ASCII header byte, or a lone
  surrogate and control characters in its text (see ``FAULTS``);
* transport variations: chunked bodies, ``Connection: close`` after every response;
* reasoning-field mode: ``<think>...</think>`` is moved out of ``content`` into a separate field
  (``reasoning_content`` as vLLM and DeepSeek send it, or ``reasoning``).

``GET /stats`` returns the request counts and the requests received (path, headers, JSON body),
so tests can check what the client actually sent. Run: ``safe-alfred chat-server --port 0
--answer "find Apple"``; the first line printed is ``PORT <n>``.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Script:
    """What the server answers and how it misbehaves."""

    answers: list[str] = field(default_factory=lambda: ["<think>Nothing to consider.</think>\ndone"])
    rules: list[tuple[str, str]] = field(default_factory=list)  # (regex on last user message, answer)
    select: str = "turn"  # "turn" | "cycle"
    delay_s: float = 0.0
    fail_first: int = 0
    fail_always: bool = False
    fail_status: int = 429
    retry_after: float | None = None
    reasoning_field: str | None = None
    chunked: bool = False  # send bodies with Transfer-Encoding: chunked
    close: bool = False  # Connection: close after every response
    fault: str | None = None  # one of FAULTS, served instead of fail_status to the failing requests
    log_limit: int = 1000


FAULTS = ("not_json", "truncated", "deep", "empty_choices", "choices_object", "content_null", "bad_header",
          "dirty_text")


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text"
        )
    return ""


class _State:
    def __init__(self, script: Script) -> None:
        self.script = script
        self.lock = threading.Lock()
        self.chat_requests = 0
        self.failed = 0
        self.served = 0
        self.cycle = 0
        self.log: list[dict[str, Any]] = []

    def stats(self) -> dict[str, Any]:
        with self.lock:
            return {
                "chat_requests": self.chat_requests,
                "failed": self.failed,
                "served": self.served,
                "requests": list(self.log),
            }


def _choose_answer(state: _State, body: dict[str, Any]) -> str:
    script = state.script
    messages = body.get("messages") or []
    last_user = next((_text_of(m.get("content")) for m in reversed(messages) if m.get("role") == "user"), "")
    for pattern, answer in script.rules:
        if re.search(pattern, last_user, re.MULTILINE):
            return answer
    if script.select == "cycle":
        with state.lock:
            i = state.cycle
            state.cycle += 1
        return script.answers[i % len(script.answers)]
    turn = sum(1 for m in messages if m.get("role") == "assistant")
    return script.answers[min(turn, len(script.answers) - 1)]


def _make_handler(state: _State) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real servers do
        # Headers and body go out in two writes; with Nagle's algorithm on, the body then waits
        # for the client's delayed ACK (~40 ms per response on Linux).
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return

        def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            if state.script.chunked:
                self.send_header("Transfer-Encoding", "chunked")
            else:
                self.send_header("Content-Length", str(len(data)))
            if state.script.close:
                self.send_header("Connection", "close")
                self.close_connection = True
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            if state.script.chunked:
                pieces = [data[i : i + 7] for i in range(0, len(data), 7)]
                self.wfile.write(b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n")
            else:
                self.wfile.write(data)

        def _raw(self, data: bytes, headers: dict[str, str], *, length: bool = True) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            if length:
                self.send_header("Content-Length", str(len(data)))
            else:
                self.send_header("Connection", "close")
                self.close_connection = True
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def _fault(self, kind: str, answer: str) -> None:
            """One faulty HTTP 200 reply of the kind named (see ``FAULTS``)."""
            message: dict[str, Any] = {"role": "assistant", "content": answer}
            whole = {"choices": [{"index": 0, "message": message, "finish_reason": "stop"}]}
            if kind == "not_json":
                self._raw(b'{"choices": [{"index": 0, "message": {"role": "assist', {})
            elif kind == "truncated":  # no Content-Length: the body ends where the connection does
                self._raw(json.dumps(whole).encode()[:25], {}, length=False)
            elif kind == "deep":
                self._raw(b"[" * 100_000 + b"]" * 100_000, {})
            elif kind == "empty_choices":
                self._raw(json.dumps({"choices": []}).encode(), {})
            elif kind == "choices_object":
                self._raw(json.dumps({"choices": {"0": whole["choices"][0]}}).encode(), {})
            elif kind == "content_null":
                message["content"] = None
                self._raw(json.dumps(whole).encode(), {})
            elif kind == "bad_header":  # a usable reply; one header value is not ASCII
                self._raw(json.dumps(whole).encode(), {"X-Scripted": "caf\xe9 \xff"})
            elif kind == "dirty_text":  # a usable reply whose text holds a lone surrogate and controls
                message["content"] = "\x1b[31m\x00" + answer + "\ud800\x07"
                self._raw(json.dumps(whole).encode(), {})
            else:
                raise ValueError(f"unknown fault {kind!r}; choose one of {', '.join(FAULTS)}")

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0].rstrip("/")
            if path in ("/stats", "/v1/stats"):
                self._send(200, state.stats())
            elif path in ("/v1/models", "/models"):
                self._send(200, {"object": "list", "data": [{"id": "scripted", "object": "model"}]})
            else:
                self._send(404, {"error": {"message": f"no route {self.path}"}})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            path = self.path.split("?", 1)[0].rstrip("/")
            if path not in ("/v1/chat/completions", "/chat/completions"):
                self._send(404, {"error": {"message": f"no route {self.path}"}})
                return
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                self._send(400, {"error": {"message": "request body is not JSON"}})
                return
            script = state.script
            with state.lock:
                state.chat_requests += 1
                n = state.chat_requests
                if len(state.log) < script.log_limit:
                    state.log.append(
                        {
                            "path": path,
                            "headers": {k.lower(): v for k, v in self.headers.items()},
                            "body": body,
                        }
                    )
            if script.delay_s > 0:
                time.sleep(script.delay_s)
            failing = script.fail_always or n <= script.fail_first
            if failing and script.fault is not None:
                with state.lock:
                    state.failed += 1
                self._fault(script.fault, _choose_answer(state, body))
                return
            if failing:
                with state.lock:
                    state.failed += 1
                headers = {"Retry-After": f"{script.retry_after:g}"} if script.retry_after is not None else {}
                self._send(
                    script.fail_status,
                    {
                        "error": {
                            "message": f"scripted failure {n}",
                            "type": "scripted",
                            "code": script.fail_status,
                        }
                    },
                    headers,
                )
                return
            answer = _choose_answer(state, body)
            message: dict[str, Any] = {"role": "assistant", "content": answer}
            if script.reasoning_field:
                found = re.findall(r"<think>(.*?)</think>", answer, re.DOTALL)
                if found:
                    message[script.reasoning_field] = "\n".join(t.strip() for t in found)
                    message["content"] = re.sub(r"<think>.*?</think>\s*", "", answer, flags=re.DOTALL)
            prompt_words = sum(len(_text_of(m.get("content")).split()) for m in body.get("messages") or [])
            completion_words = len(answer.split())
            with state.lock:
                state.served += 1
            self._send(
                200,
                {
                    "id": f"chatcmpl-scripted-{n}",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": body.get("model", "scripted"),
                    "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                    "usage": {
                        "prompt_tokens": prompt_words,
                        "completion_tokens": completion_words,
                        "total_tokens": prompt_words + completion_words,
                    },
                },
            )

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # many clients connect at once; a short backlog stalls them for seconds


def make_server(script: Script, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    """A bound, not yet serving server; ``server.server_address[1]`` is the port."""
    return _Server((host, port), _make_handler(_State(script)))


class ServerProcess:
    """The scripted server as a child process (``with ServerProcess([...]) as srv: srv.base_url``)."""

    def __init__(self, args: list[str], startup_timeout: float = 20.0) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "safe_alfred.cli", "chat-server", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        line = self._first_line(startup_timeout)
        if not line.startswith("PORT "):
            err = self.proc.stderr.read() if self.proc.poll() is not None and self.proc.stderr else ""
            self.close()
            raise RuntimeError(f"scripted server did not start: {line!r} {err}")
        self.port = int(line.split()[1])
        self.base_url = f"http://127.0.0.1:{self.port}/v1"

    def _first_line(self, timeout: float) -> str:
        out: list[str] = []
        reader = threading.Thread(
            target=lambda: out.append(self.proc.stdout.readline() if self.proc.stdout else "")
        )
        reader.daemon = True
        reader.start()
        reader.join(timeout)
        return out[0].strip() if out else ""

    def stats(self) -> dict[str, Any]:
        import httpx

        return httpx.get(f"http://127.0.0.1:{self.port}/stats", timeout=10).json()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream:
                stream.close()

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

