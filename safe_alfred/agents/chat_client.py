"""One chat-completions client for every OpenAI-compatible server (vLLM, llama.cpp, Ollama, hosted).

It speaks the chat-completions wire format directly rather than through the ``openai`` package:
the request and response are plain JSON (so server-specific fields such as ``reasoning_content``
or ``top_k`` pass through untouched), and the client's CPU per request stays small, which matters
with dozens of episodes in flight: plain-HTTP servers (local vLLM, llama.cpp, Ollama) are reached
through a lean keep-alive HTTP/1.1 client (``http11.py``), HTTPS and proxied URLs through httpx. This module decides what is retried
(429, 408, 409, 5xx, connection errors and timeouts, and an HTTP 200 whose reply cannot be used: a
body that is not JSON, truncated or nested too deeply, no or malformed ``choices``, a message
without text), how long it waits (exponential backoff with jitter, honouring ``Retry-After``) and
what a request that still fails becomes: a ``ChatResult`` with ``error`` set and the cause, never
an exception. The text of a usable reply is sanitised (lone surrogates, control characters) before
anyone records it. Planners and the LLM judge share it.
"""

from __future__ import annotations

import asyncio
import os
import random
import threading
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from safe_alfred.sanitize import clean_text

T = TypeVar("T")

RETRY_STATUS = frozenset({408, 409, 429})


@dataclass
class ChatResult:
    content: str = ""
    reasoning: str | None = None  # the server's separate reasoning field, when it sends one
    usage: dict[str, int] = field(default_factory=dict)
    latency_s: float = 0.0  # wall time including retries and waits
    attempts: int = 0
    error: str | None = None
    finish_reason: str | None = None


class _Pool:
    """One httpx client (connection pool) and the number of requests it is serving now."""

    def __init__(self, timeout: float, connections: int, headers: dict[str, str], ssl_context: Any) -> None:
        import httpx

        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        self.client = httpx.AsyncClient(timeout=timeout, limits=limits, headers=headers, verify=ssl_context)
        self.in_flight = 0


class _LoopThread:
    """A private event loop in a daemon thread, so synchronous callers can reuse one async client."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="chat-client-loop", daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()


def _int_usage(data: Any) -> dict[str, int]:
    if not isinstance(data, dict):
        return {}
    out: dict[str, int] = {}
    for k, v in data.items():
        if isinstance(v, int) and not isinstance(v, bool):
            out[k] = v
        elif isinstance(v, dict):  # completion_tokens_details.reasoning_tokens, ...
            for k2, v2 in v.items():
                if isinstance(v2, int) and not isinstance(v2, bool):
                    out[f"{k}.{k2}"] = v2
    return out


def _reasoning_of(message: dict[str, Any]) -> str | None:
    for name in ("reasoning_content", "reasoning"):
        value = message.get(name)
        if isinstance(value, str) and value.strip():
            return value
    return None


def _reply(resp: Any) -> tuple[ChatResult | None, str]:
    """The usable reply in an HTTP 2xx response, or None and why it cannot be used."""
    try:
        data = resp.json()
    except (ValueError, RecursionError):  # not JSON, truncated, or nested past the parser's depth
        return None, f"the body is not JSON: {clean_text(resp.text[:200])!r}"
    choices = data.get("choices") if isinstance(data, dict) else None
    if not isinstance(choices, list) or not choices:
        return None, f"the reply has no choices list: {clean_text(str(data)[:200])}"
    first = choices[0]
    message = first.get("message") if isinstance(first, dict) else None
    if not isinstance(message, dict):
        return None, f"the first choice has no message: {clean_text(str(first)[:200])}"
    content = message.get("content")
    if isinstance(content, list):  # some servers return content parts
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    if not isinstance(content, str):
        return None, f"the message has no text (content is {type(content).__name__})"
    reasoning = _reasoning_of(message)
    return ChatResult(
        content=clean_text(content),
        reasoning=None if reasoning is None else clean_text(reasoning),
        usage=_int_usage(data.get("usage")),
        finish_reason=first.get("finish_reason") if isinstance(first.get("finish_reason"), str) else None,
    ), ""


def _retry_after(headers: Any) -> float | None:
    value = headers.get("retry-after") if headers is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class ChatClient:
    """Async chat completions with bounded retries, a per-request timeout and errors as values."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key_env: str = "OPENAI_API_KEY",
        *,
        api_key: str | None = None,
        timeout: float = 120.0,
        max_retries: int = 4,
        backoff_base: float = 0.5,
        backoff_max: float = 20.0,
        temperature: float | None = 0.0,
        max_tokens: int | None = 1024,
        seed: int | None = None,
        extra_body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        max_connections: int = 256,
        connections_per_pool: int = 8,
        transport: str = "auto",
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key_env = api_key_env
        # Local servers ignore the key but the client insists on one.
        self._api_key = api_key or os.environ.get(api_key_env) or "EMPTY"
        self.timeout = float(timeout)
        self.max_retries = int(max_retries)
        self.backoff_base = float(backoff_base)
        self.backoff_max = float(backoff_max)
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.seed = seed
        self.extra_body = dict(extra_body or {})
        self.headers = dict(headers or {})
        self.max_connections = int(max_connections)
        self.connections_per_pool = max(1, int(connections_per_pool))
        self._pools: list[_Pool] = []  # connection pools of the current event loop
        self._h11: Any = None  # http11.H11Pool of the current event loop
        self._ssl_context: Any = None
        if transport not in ("auto", "httpx", "h11"):
            raise ValueError(f"transport must be auto, httpx or h11, not {transport!r}")
        if transport == "auto":
            proxied = any(os.environ.get(v) for v in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"))
            transport = "h11" if self.base_url.startswith("http://") and not proxied else "httpx"
        self.transport = transport
        self._client_loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: _LoopThread | None = None
        self._lock = threading.Lock()

    def describe(self) -> dict[str, Any]:
        """Settings worth recording; never the key itself."""
        return {
            "base_url": self.base_url, "model": self.model, "api_key_env": self.api_key_env,
            "temperature": self.temperature, "max_tokens": self.max_tokens, "seed": self.seed,
            "timeout": self.timeout, "max_retries": self.max_retries, "extra_body": self.extra_body,
            "transport": self.transport,
        }  # fmt: skip

    def _check_loop(self) -> None:
        loop = asyncio.get_running_loop()
        if self._client_loop is not loop:
            # Connections belong to one event loop: a new loop needs new ones.
            self._pools, self._h11, self._client_loop = [], None, loop

    def _h11_pool(self) -> Any:
        from safe_alfred.agents.http11 import H11Pool

        self._check_loop()
        if self._h11 is None:
            headers = {"Authorization": f"Bearer {self._api_key}", **self.headers}
            self._h11 = H11Pool(self.base_url, self.max_connections, headers)
        return self._h11

    async def _post(self, body: dict[str, Any]) -> tuple[Any, str | None]:
        """(response, None) or (None, why the request got no response)."""
        import httpx

        from safe_alfred.agents.http11 import HTTPError

        if self.transport == "h11":
            try:
                return await self._h11_pool().post_json("/chat/completions", body, self.timeout), None
            except asyncio.TimeoutError:
                return None, f"timeout after {self.timeout:g}s"
            except HTTPError as e:
                return None, f"connection error: {e}"
        pool = self._acquire_pool()
        try:
            return await pool.client.post(f"{self.base_url}/chat/completions", json=body), None
        except httpx.TimeoutException:
            return None, f"timeout after {self.timeout:g}s"
        except httpx.TransportError as e:
            return None, f"connection error: {type(e).__name__}: {e}"
        finally:
            pool.in_flight -= 1

    def _acquire_pool(self) -> _Pool:
        """The least busy connection pool of this loop, opening a new one while all are full.

        httpcore's pool scans every connection for every queued request, so its cost grows with
        the square of the requests in flight; several small pools keep it flat (with one pool,
        32 requests in flight spent most of the client's CPU there).
        """
        self._check_loop()
        max_pools = max(1, -(-self.max_connections // self.connections_per_pool))
        pool = min(self._pools, key=lambda p: p.in_flight, default=None)
        if pool is None or (pool.in_flight >= self.connections_per_pool and len(self._pools) < max_pools):
            headers = {"Authorization": f"Bearer {self._api_key}", **self.headers}
            if self._ssl_context is None:
                # Loading the CA bundle takes ~0.1 s of blocking CPU: do it once, not per pool.
                import httpx

                self._ssl_context = httpx.create_ssl_context()
            pool = _Pool(self.timeout, self.connections_per_pool, headers, self._ssl_context)
            self._pools.append(pool)
        pool.in_flight += 1
        return pool

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.backoff_max)
        return min(self.backoff_base * (2**attempt), self.backoff_max) * (0.5 + random.random() / 2)

    async def acomplete(self, messages: list[dict[str, Any]], **params: Any) -> ChatResult:
        """One chat completion; retried on transient failures; errors come back in ``error``."""
        body: dict[str, Any] = {"model": self.model, "messages": messages}
        for k in ("temperature", "max_tokens", "seed"):
            v = params.pop(k, getattr(self, k))
            if v is not None:
                body[k] = v
        body.update(self.extra_body)
        body.update(params.pop("extra_body", {}))
        body.update(params)
        t0 = time.perf_counter()
        last_error = "no attempt made"
        attempts = 0
        for attempt in range(self.max_retries + 1):
            attempts = attempt + 1
            retry_after: float | None = None
            resp, failure = await self._post(body)
            if failure is not None:
                last_error = failure
            elif resp.status_code < 400:
                result, unusable = _reply(resp)
                if result is not None:
                    result.latency_s, result.attempts = time.perf_counter() - t0, attempts
                    return result
                last_error = f"HTTP {resp.status_code} but {unusable}"  # retried like a 5xx
            else:
                last_error = f"HTTP {resp.status_code}: {clean_text(resp.text[:300])}"
                if resp.status_code not in RETRY_STATUS and resp.status_code < 500:
                    break
                retry_after = _retry_after(resp.headers)
            if attempt < self.max_retries:
                await asyncio.sleep(self._backoff(attempt, retry_after))
        return ChatResult(
            latency_s=time.perf_counter() - t0,
            attempts=attempts,
            error=f"request failed after {attempts} attempt(s): {last_error}",
        )

    def run_sync(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine of this client from synchronous code, on the client's private loop."""
        with self._lock:
            if self._loop_thread is None:
                self._loop_thread = _LoopThread()
        return self._loop_thread.run(coro)

    def complete(self, messages: list[dict[str, Any]], **params: Any) -> ChatResult:
        """Synchronous ``acomplete``."""
        return self.run_sync(self.acomplete(messages, **params))

    async def aclose(self) -> None:
        """Close the connection pools (call from the loop that used them)."""
        pools, self._pools = self._pools, []
        for pool in pools:
            await pool.client.aclose()
        if self._h11 is not None:
            h11_pool, self._h11 = self._h11, None
            await h11_pool.aclose()
