"""The one error type a user sees: a problem with what they asked for, not a bug.

Anything in the package may raise ``UserError`` (a bad config value, a missing file, a server that
cannot be reached, records that do not belong together); the ``safe-alfred`` dispatcher prints it
as one line, ``safe-alfred COMMAND: error: MESSAGE``, and exits with status 2. Everything else is
a bug and keeps its traceback.
"""

from __future__ import annotations

USER_ERROR_EXIT = 2


class UserError(Exception):
    """A problem with the user's input (config, override, file, server) rather than a bug."""
