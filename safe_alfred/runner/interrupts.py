"""Stopping a run on request: Ctrl-C (SIGINT) and SIGTERM both end it within moments, cleanly.

Inside ``stop_on_signals()`` SIGTERM (a scheduler pre-empting the job, ``kill``) raises
``KeyboardInterrupt`` in the main thread just as Ctrl-C does, so one path unwinds the episode in
flight, keeps every finished record and marks the run interrupted. Handlers other code installed
are left alone, and the previous ones come back when the block ends.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


class RunInterrupted(KeyboardInterrupt):
    """The run stopped on request; finished episodes are saved and the same command resumes it."""

    def __init__(self, run_dir: Path, done: int, expected: int, signal_name: str = "SIGINT") -> None:
        super().__init__(f"interrupted ({signal_name}) after {done} of {expected} episodes")
        self.run_dir, self.done, self.expected, self.signal_name = run_dir, done, expected, signal_name


_received: list[str] = []


def _raise_interrupt(signum: int, frame: Any) -> None:
    _received.append(signal.Signals(signum).name)
    raise KeyboardInterrupt


def last_signal() -> str:
    """The name of the signal that ended the latest block (SIGINT for a plain Ctrl-C)."""
    return _received[-1] if _received else "SIGINT"


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """Ctrl-C and SIGTERM raise ``KeyboardInterrupt`` in the main thread for the ``with`` block."""
    _received.clear()
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved: dict[int, Any] = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        current = signal.getsignal(sig)
        if current in (signal.SIG_DFL, signal.default_int_handler, None):
            saved[sig] = current
            signal.signal(sig, _raise_interrupt)
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)


def ignore_interrupts_in_worker() -> None:
    """In a worker process: Ctrl-C reaches the whole process group, but only the parent decides."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
