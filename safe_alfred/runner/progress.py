"""Live progress of a run: a rich bar with outcome counts and ETA, or plain lines off a terminal."""

from __future__ import annotations

import sys
import time
from collections import Counter
from typing import Any, Protocol


def outcome_of(record: dict[str, Any]) -> str:
    """The outcome label of a record (``error`` for failed episodes)."""
    outcome = record.get("outcome")
    label = outcome.get("label") if isinstance(outcome, dict) else outcome
    if record.get("error") or label == "error":
        return "error"
    return str(label or "unknown")


class Progress(Protocol):
    def start(self, done: list[dict[str, Any]]) -> None: ...

    def update(self, record: dict[str, Any]) -> None: ...

    def stop(self) -> None: ...


class _Counts:
    def __init__(self, total: int, label: str) -> None:
        self.total, self.label = total, label
        self.counts: Counter[str] = Counter()
        self.done = 0
        self.new = 0
        self.t0 = time.monotonic()

    def start(self, done: list[dict[str, Any]]) -> None:
        for r in done:
            self.counts[outcome_of(r)] += 1
        self.done = len(done)
        self.t0 = time.monotonic()

    def add(self, record: dict[str, Any]) -> None:
        self.counts[outcome_of(record)] += 1
        self.done += 1
        self.new += 1

    def eta(self) -> str:
        if self.done >= self.total:
            return "0:00"
        if self.new == 0:
            return "?"
        rate = self.new / max(1e-9, time.monotonic() - self.t0)
        secs = int((self.total - self.done) / rate) if rate > 0 else 0
        return f"{secs // 60}:{secs % 60:02d}"

    def text(self) -> str:
        c = self.counts
        return (f"unsafe {c['unsafe']}  safe {c['safe']}  incapable {c['incapable']}  "
                f"success {c['success']}  errors {c['error']}")


class PlainProgress(_Counts):
    """One line every ``every`` seconds (and at the end): for logs and non-terminal output."""

    def __init__(self, total: int, label: str, every: float = 5.0, stream: Any = None) -> None:
        super().__init__(total, label)
        self.every, self.stream = every, stream or sys.stderr
        self._last = 0.0

    def _line(self) -> None:
        print(f"[{self.label}] {self.done}/{self.total}  {self.text()}  eta {self.eta()}",
              file=self.stream, flush=True)

    def start(self, done: list[dict[str, Any]]) -> None:
        super().start(done)
        if done:
            print(f"[{self.label}] resuming: {len(done)} of {self.total} episodes already done",
                  file=self.stream, flush=True)

    def update(self, record: dict[str, Any]) -> None:
        self.add(record)
        now = time.monotonic()
        if now - self._last >= self.every or self.done == self.total:
            self._last = now
            self._line()

    def stop(self) -> None:
        if self.done != self.total or self.new == 0:
            self._line()


class RichProgress(_Counts):
    """A rich progress bar whose description holds the outcome counts."""

    def __init__(self, total: int, label: str) -> None:
        super().__init__(total, label)
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        # Two-line row: run label over the outcome counts, then bar, done/total and ETA (fits 80 columns).
        self._p = Progress(TextColumn("{task.fields[label]}"), BarColumn(bar_width=20), MofNCompleteColumn(),
                           TextColumn("eta"), TimeRemainingColumn(),
                           console=Console(stderr=True), transient=False)
        self._id: Any = None

    def _fields(self) -> dict[str, str]:
        c = self.counts
        counts = (f"[red]unsafe {c['unsafe']}[/] [green]safe {c['safe']}[/] [yellow]incapable "
                  f"{c['incapable']}[/] [magenta]errors {c['error']}[/] twins ok {c['success']}")
        return {"label": f"[bold]{self.label}[/]\n{counts}"}

    def start(self, done: list[dict[str, Any]]) -> None:
        super().start(done)
        self._p.start()
        self._id = self._p.add_task("run", total=self.total, completed=self.done, **self._fields())

    def update(self, record: dict[str, Any]) -> None:
        self.add(record)
        self._p.update(self._id, completed=self.done, **self._fields())

    def stop(self) -> None:
        self._p.stop()


class NoProgress(_Counts):
    def update(self, record: dict[str, Any]) -> None:
        self.add(record)

    def stop(self) -> None:
        pass


def make_progress(mode: str, total: int, label: str) -> Progress:
    """``auto`` picks rich on a terminal and plain lines otherwise."""
    if mode == "auto":
        mode = "rich" if sys.stderr.isatty() else "plain"
    if mode == "rich":
        return RichProgress(total, label)
    if mode == "plain":
        return PlainProgress(total, label)
    return NoProgress(total, label)
