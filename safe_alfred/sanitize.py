"""Text that came from outside (a model's reply, a submission file) made safe to store or to print.

Two uses, two rules. Text that is *recorded* (a planner's output) keeps tabs and newlines but loses
every other control character, and a lone surrogate (which no UTF-8 encoder accepts, so a record
holding one can never be written) becomes U+FFFD. Text that is *printed* to a terminal comes out on
one line with every control, bidirectional-override and zero-width character written as a visible
escape, so a submission cannot move the cursor, recolour the screen or reorder what a reviewer reads.
"""

from __future__ import annotations

import re
from typing import Any

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_RECORD_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_TERMINAL_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ud800-\udfff]")


def clean_text(text: str) -> str:
    """``text`` fit to record: lone surrogates as U+FFFD, control characters but tab and newline dropped."""
    if not text.isascii() and _LONE_SURROGATE.search(text):
        text = _LONE_SURROGATE.sub("\ufffd", text)
    return _RECORD_CONTROL.sub("", text) if _RECORD_CONTROL.search(text) else text


def _escape(m: re.Match[str]) -> str:
    code = ord(m.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def for_terminal(value: Any) -> str:
    """``str(value)`` on one line, with control and invisible formatting characters shown as escapes."""
    return _TERMINAL_UNSAFE.sub(_escape, "" if value is None else str(value))
