"""A small keep-alive HTTP/1.1 client for plain-HTTP inference servers, on asyncio streams and h11.

Local servers (vLLM, llama.cpp, Ollama) are reached over ``http://`` and an evaluation keeps
dozens of requests in flight. httpx costs about 2 ms of CPU per request there, this client about
0.5 ms, which is the difference between keeping up with the server and not on a small machine.
It does one thing: POST a JSON body and read the whole response (Content-Length, chunked or
close-delimited, as h11 decodes them), reusing idle connections. HTTPS, proxies and everything
else go through httpx (see ``chat_client.py``, which picks the transport).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import h11


class HTTPError(Exception):
    """The connection failed or the peer broke the protocol (never an HTTP status)."""


@dataclass
class Response:
    status_code: int
    headers: dict[str, str]  # lower-case names
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.content)


class _Conn:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.h11 = h11.Connection(h11.CLIENT)

    def close(self) -> None:
        self.writer.close()


class H11Pool:
    """Keep-alive connections to one ``http://host:port``; at most ``max_connections`` open."""

    def __init__(
        self, base_url: str, max_connections: int = 256, headers: dict[str, str] | None = None
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "http":
            raise ValueError(f"H11Pool speaks plain http only, not {parts.scheme!r}")
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.prefix = parts.path.rstrip("/")
        self.netloc = parts.netloc
        self.headers = dict(headers or {})
        self._idle: list[_Conn] = []
        self._slots = asyncio.Semaphore(max_connections)

    async def post_json(self, path: str, body: Any, timeout: float) -> Response:
        """POST ``body`` as JSON to ``prefix + path``; raises TimeoutError or HTTPError."""
        payload = json.dumps(body).encode()
        headers = [
            ("Host", self.netloc),
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(payload))),
            ("Accept", "application/json"),
            ("Accept-Encoding", "identity"),
            *self.headers.items(),
        ]
        request = h11.Request(method="POST", target=self.prefix + path, headers=headers)
        async with self._slots:
            if hasattr(asyncio, "timeout"):  # 3.11+: no extra task per request, unlike wait_for
                async with asyncio.timeout(timeout):
                    return await self._send(request, payload)
            return await asyncio.wait_for(self._send(request, payload), timeout)

    async def _send(self, request: h11.Request, payload: bytes) -> Response:
        # A reused connection may have been closed by the server while idle: if it fails before
        # any response byte arrives, try once more on a fresh one.
        while self._idle:
            conn = self._idle.pop()
            try:
                return await self._exchange(conn, request, payload)
            except _StaleConnection:
                continue
        try:
            reader, writer = await asyncio.open_connection(self.host, self.port)
        except OSError as e:
            raise HTTPError(f"cannot connect to {self.host}:{self.port}: {e}") from e
        try:
            return await self._exchange(_Conn(reader, writer), request, payload)
        except _StaleConnection as e:
            raise HTTPError(f"connection closed by {self.host}:{self.port} before a response") from e

    async def _exchange(self, conn: _Conn, request: h11.Request, payload: bytes) -> Response:
        got_bytes = False
        try:
            data = (
                conn.h11.send(request)
                + conn.h11.send(h11.Data(data=payload))
                + conn.h11.send(h11.EndOfMessage())
            )
            conn.writer.write(data)
            await conn.writer.drain()
            status, headers, chunks = 0, {}, []
            while True:
                event = conn.h11.next_event()
                if event is h11.NEED_DATA:
                    data = await conn.reader.read(65536)
                    if not data and not got_bytes:
                        raise _StaleConnection()
                    got_bytes = got_bytes or bool(data)
                    conn.h11.receive_data(data)
                elif isinstance(event, h11.Response):
                    status = event.status_code
                    # Header bytes are ISO-8859-1 (RFC 9110): any byte decodes, none can raise here.
                    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in event.headers}
                elif isinstance(event, h11.Data):
                    chunks.append(bytes(event.data))
                elif isinstance(event, h11.EndOfMessage):
                    break
                elif isinstance(event, h11.ConnectionClosed):
                    raise HTTPError("connection closed in the middle of a response")
        except _StaleConnection:
            conn.close()
            raise
        except (OSError, h11.ProtocolError, asyncio.IncompleteReadError) as e:
            conn.close()
            if not got_bytes and isinstance(e, (ConnectionResetError, BrokenPipeError)):
                raise _StaleConnection() from e
            raise HTTPError(f"{type(e).__name__}: {e}") from e
        except BaseException:  # cancelled or timed out mid-exchange: the connection is unusable
            conn.close()
            raise
        if conn.h11.our_state is h11.DONE and conn.h11.their_state is h11.DONE:
            conn.h11.start_next_cycle()
            self._idle.append(conn)
        else:
            conn.close()
        return Response(status, headers, b"".join(chunks))

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


class _StaleConnection(Exception):
    pass
