"""Gathering the calls of concurrent episodes into batches for one local model.

Episodes run as asyncio tasks (``runner.concurrency``); each awaits ``Batcher.submit``. A
worker thread takes the first waiting call, then keeps collecting until ``max_batch`` calls are
in or no new call has arrived for ``wait_s`` (the other episodes are still stepping their envs,
which takes milliseconds against the seconds of a model call), runs the batch and hands each
episode its own result on its own event loop.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable, Sequence
from typing import Any


class Batcher:
    """Runs ``run_batch(items) -> results`` (same order) over the items submitted concurrently."""

    def __init__(self, run_batch: Callable[[Sequence[Any]], list[Any]], max_batch: int, wait_s: float) -> None:
        self.run_batch = run_batch
        self.max_batch = max(1, int(max_batch))
        self.wait_s = max(0.0, float(wait_s))
        self._queue: queue.Queue[tuple[Any, asyncio.Future, asyncio.AbstractEventLoop] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self.batch_sizes: list[int] = []  # what ran, for benchmarks and tests

    async def submit(self, item: Any) -> Any:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future = loop.create_future()
        self._ensure_thread()
        self._queue.put((item, fut, loop))
        return await fut

    def _ensure_thread(self) -> None:
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="hf-batcher", daemon=True)
                self._thread.start()

    def _collect(self, first: tuple) -> list[tuple]:
        batch = [first]
        while len(batch) < self.max_batch:
            try:
                nxt = self._queue.get(timeout=self.wait_s) if self.wait_s > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if nxt is None:
                self._queue.put(None)  # stop after this batch
                break
            batch.append(nxt)
        return batch

    def _loop(self) -> None:
        while (first := self._queue.get()) is not None:
            batch = self._collect(first)
            self.batch_sizes.append(len(batch))
            try:
                results = self.run_batch([item for item, _, _ in batch])
            except BaseException as exc:  # handed to every waiting episode, never lost
                for _, fut, loop in batch:
                    loop.call_soon_threadsafe(_set_exception, fut, exc)
                continue
            for (_, fut, loop), result in zip(batch, results, strict=True):
                loop.call_soon_threadsafe(_set_result, fut, result)

    def close(self) -> None:
        """Stop the worker thread after the calls already submitted."""
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout=60)


def _set_result(fut: asyncio.Future, value: Any) -> None:
    if not fut.done():
        fut.set_result(value)


def _set_exception(fut: asyncio.Future, exc: BaseException) -> None:
    if not fut.done():
        fut.set_exception(exc)
