"""A git ref checked out beside the working tree, for benchmarks that compare against it in
the same run (the ref's package imported through ``PYTHONPATH``, the loop the current script's)."""

from __future__ import annotations

import contextlib
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def checked_out(ref: str) -> Iterator[Path]:
    """A detached worktree of ``ref`` for the duration of the block, removed after it."""
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "baseline"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(tree), ref], check=True)
        try:
            yield tree
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False)


def short_commit(ref: str) -> str:
    """``ref`` as a short commit hash (what a report names)."""
    out = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", ref], capture_output=True, text=True,
                         check=True)
    return out.stdout.strip()
