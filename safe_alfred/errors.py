"""The one error type a user sees: a problem with what they asked for, not a bug.

Anything in the package may raise ``UserError`` (a bad config value, a missing file, a server that
cannot be reached, records that do not belong together); the ``safe-alfred`` dispatcher prints it
as one line, ``safe-alfred COMMAND: error: MESSAGE``, and exits with status 2. Everything else is
a bug and keeps its traceback.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

USER_ERROR_EXIT = 2


class UserError(Exception):
    """A problem with the user's input (config, override, file, server) rather than a bug."""


class DiskError(UserError):
    """A run could not write one of its files: a full disk, a read-only or vanished directory.

    Records are appended one whole line at a time, so nothing finished is lost: once the cause is
    fixed, the same command resumes the run where it stopped.
    """

    def __init__(self, path: object, exc: OSError, *, started: bool = True) -> None:
        import errno

        self.path, self.cause = str(path), exc
        name = errno.errorcode.get(exc.errno or 0, "")
        why = (exc.strerror or str(exc)) + (f" ({name})" if name else "")
        hint = ("finished episodes are kept: free space or make the directory writable, then run the same "
                "command again to resume") if started else "choose another directory, or free space there"
        super().__init__(f"cannot write {self.path}: {why}; {hint}")


def commonest_cause(messages: Iterable[str | None]) -> tuple[int, str, int] | None:
    """``(failures, commonest cause, its count)`` over error messages (None: no failure), or None.

    Causes are first lines grouped with their numbers masked (``attempt 3``, ``step 12`` and ids vary
    between failures of one cause); the example returned is the first message of its group.
    """
    causes: Counter[str] = Counter()
    example: dict[str, str] = {}
    for message in messages:
        if not message:
            continue
        line = str(message).splitlines()[0][:300]
        key = re.sub(r"\d+", "#", line)
        causes[key] += 1
        example.setdefault(key, line)
    if not causes:
        return None
    key, n = causes.most_common(1)[0]
    return sum(causes.values()), example[key], n
