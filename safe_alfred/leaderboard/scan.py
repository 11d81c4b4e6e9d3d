"""A structural pre-scan of a submission's JSON text, run on the inflated stream before any object is built.

``json.loads`` builds the whole object before any cap can be checked: a 60 KB gzip file of ``[],``
repeated inflates to tens of millions of empty lists and costs gigabytes. The scanner reads the
decompressed bytes chunk by chunk and looks only at strings (matched whole by one regular
expression, in C) and at the structural bytes ``[]{},:``: it bounds nesting depth, the number of
JSON values, every string's encoded length, the number of records, the steps per record and the
bytes of every top-level member and every record, and stops at the first cap it meets. It keeps
no text, only the byte spans of the top-level members and of each element of ``records``, so the
reader can then parse one member or one record at a time.

It is deliberately not a full JSON validator (numbers, literals and a misplaced ``:`` pass it);
the parse of each span that follows is, and its input is already bounded.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

# A string (closing quote optional: an unterminated one runs to the end of the buffer and is
# carried over to the next chunk), or one structural byte.
_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*(")?|[\[\]{},:]', re.DOTALL)
_WS = b" \t\r\n"
_QUOTE, _COMMA, _COLON = 0x22, 0x2C, 0x3A
_OPEN = {0x7B: 0x7D, 0x5B: 0x5D}  # { -> }, [ -> ]
_STEPS_KEY = b'"steps"'
_MAX_MEMBERS = 64  # the format has four


class ScanError(ValueError):
    """The text breaks a cap or is not a JSON object; the message says which and where."""


@dataclass(frozen=True)
class ScanLimits:
    """The caps the scan enforces (``bundle.Limits`` supplies them)."""

    max_depth: int
    max_values: int
    max_string_bytes: int  # encoded, quotes included
    max_records: int
    max_steps_per_record: int
    max_member_bytes: int  # any top-level member but ``records``, and any one record
    max_member_values: int  # JSON values in one such member or record


@dataclass
class ScanResult:
    """Where things are in the inflated text: byte spans ``(start, end)``, end exclusive."""

    members: dict[str, tuple[int, int]] = field(default_factory=dict)  # top-level key -> value span
    records: list[tuple[int, int]] | None = None  # element spans, when ``records`` is an array
    values: int = 0
    size: int = 0


class StructureScanner:
    """Feed the inflated text in chunks (``feed``), then ``finish``; raises ``ScanError`` on the first cap."""

    def __init__(self, limits: ScanLimits) -> None:
        self.lim = limits
        self.result = ScanResult()
        self._carry = b""  # an unterminated string from the end of the previous chunk
        self._offset = 0  # absolute offset of the next byte fed
        self._stack: list[int] = []  # closing bytes of the open containers
        self._started = False
        self._done = False
        self._key1: bytes | None = None  # last string at depth 1 (a key once ':' follows)
        self._member: str | None = None  # the top-level member whose value is being scanned
        self._member_start = 0
        self._in_records = False  # inside the records array (depth 2)
        self._record_start = 0
        self._record_commas = 0
        self._key3: bytes | None = None  # last string at depth 3 (inside a record)
        self._record_key: bytes | None = None  # the record key whose value is open
        self._steps_depth = 0  # depth of the open steps array, 0 when none
        self._steps = 0
        self._part_values = 0  # the value count where the open member or record began
        self._head_bytes = 0  # bytes and values of the members but records, so far
        self._head_values = 0

    # -- input ------------------------------------------------------------------------------------
    def feed(self, chunk: bytes) -> None:
        """Scan the next piece of inflated text."""
        if self._done:
            if chunk.strip(_WS):
                raise ScanError(f"invalid JSON: extra data after the top-level object (byte {self._offset})")
            self._offset += len(chunk)
            return
        buf = self._carry + chunk if self._carry else chunk
        base = self._offset - len(self._carry)
        self._offset += len(chunk)
        self._carry = b""
        self._scan(buf, base)

    def finish(self) -> ScanResult:
        """The spans, once all text is fed; raises when the text ends inside a value."""
        if self._carry:
            raise ScanError("invalid JSON: the text ends inside a string")
        if not self._started:
            raise ScanError("invalid JSON: the top level must be an object")
        if not self._done:
            raise ScanError("invalid JSON: the text ends before the top-level object is closed")
        self.result.size = self._offset
        return self.result

    # -- the token loop ---------------------------------------------------------------------------
    def _scan(self, buf: bytes, base: int) -> None:
        lim = self.lim
        stack = self._stack
        values = self.result.values
        try:
            for m in _TOKEN.finditer(buf):
                start = m.start()
                c = buf[start]
                if c == _QUOTE:
                    if m.end(1) < 0:  # no closing quote in this buffer
                        if m.end() - start > lim.max_string_bytes:
                            raise ScanError(self._long_string(base + start))
                        self._carry = buf[start:]
                        return
                    length = m.end() - start
                    if length > lim.max_string_bytes:
                        raise ScanError(self._long_string(base + start))
                    values += 1
                    depth = len(stack)
                    if depth == 1:
                        self._key1 = m.group() if length <= 256 else None
                    elif depth == 3 and self._in_records:
                        self._key3 = m.group() if length <= 64 else None
                    elif depth == 0:
                        raise ScanError(f"invalid JSON: extra data after the top-level object (byte {base + start})"
                                        if self._done else "invalid JSON: the top level must be an object")
                    continue
                pos = base + start
                if not self._started:
                    self._begin(buf, start, c)
                    stack.append(_OPEN[c])
                    values += 1
                    continue
                if self._done:
                    raise ScanError(f"invalid JSON: extra data after the top-level object (byte {pos})")
                if c in _OPEN:
                    values += 1
                    stack.append(_OPEN[c])
                    depth = len(stack)
                    if depth > lim.max_depth:
                        raise ScanError(f"too deep: {self._where()} is nested more than {lim.max_depth} levels "
                                        f"(byte {pos})")
                    if depth == 2 and c == 0x5B and self._member == "records":
                        self._in_records, self._record_start = True, pos + 1
                        self.result.records = []
                    elif depth == 4 and c == 0x5B and self._in_records and self._record_key == _STEPS_KEY:
                        self._steps_depth, self._steps = depth, 0
                    continue
                if c == _COMMA:
                    values += 1
                    depth = len(stack)
                    self.result.values = values
                    if depth == 1:
                        self._end_member(pos)
                    elif depth == 2 and self._in_records:
                        self._end_record(pos)
                        self._record_start = pos + 1
                    elif depth == self._steps_depth:
                        self._steps += 1
                        if self._steps >= lim.max_steps_per_record:
                            raise ScanError(f"records/{len(self.result.records or [])}: more than "
                                            f"{lim.max_steps_per_record} steps (cap {lim.max_steps_per_record})")
                    elif depth == 3 and self._in_records:
                        self._record_key = None
                    continue
                if c == _COLON:
                    depth = len(stack)
                    if depth == 1:
                        self.result.values = values
                        self._start_member(pos)
                    elif depth == 3 and self._in_records:
                        self._record_key = self._key3
                    continue
                # a closing bracket
                if not stack or stack[-1] != c:
                    raise ScanError(f"invalid JSON: unexpected {chr(c)!r} at byte {pos}")
                depth = len(stack)
                stack.pop()
                self.result.values = values
                if depth == self._steps_depth:
                    self._steps_depth = 0
                elif depth == 3 and self._in_records:
                    self._record_key = None
                elif depth == 2 and self._in_records:
                    self._end_record(pos)
                    self._in_records = False
                elif depth == 1:
                    self._end_member(pos)
                    self._done = True
                    if buf[m.end():].strip(_WS):
                        raise ScanError(f"invalid JSON: extra data after the top-level object (byte {pos + 1})")
                    return
        finally:
            self.result.values = values
        if values > lim.max_values:
            raise ScanError(f"too many JSON values: more than {lim.max_values} (cap)")
        self._check_part_values()

    def _where(self) -> str:
        if self._in_records:
            return f"records/{len(self.result.records or [])}"
        return f"member {self._member!r}" if self._member is not None else "the top level"

    def _check_part_values(self) -> None:
        if self._member is None or self.result.values - self._part_values <= self.lim.max_member_values:
            return
        raise ScanError(f"too many JSON values: {self._where()} holds more than {self.lim.max_member_values} (cap)")

    def _begin(self, buf: bytes, start: int, c: int) -> None:
        prefix = buf[:start]
        if prefix.strip(_WS):
            try:
                prefix.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ScanError(f"invalid JSON: not UTF-8 ({exc.reason} at byte {exc.start})") from None
        if prefix.strip(_WS) or c != 0x7B:
            raise ScanError("invalid JSON: the top level must be an object")
        self._started = True

    def _long_string(self, pos: int) -> str:
        return (f"string too long: the string at byte {pos} is over {self.lim.max_string_bytes} bytes "
                "encoded (cap)")

    # -- spans --------------------------------------------------------------------------------------
    def _start_member(self, pos: int) -> None:
        if self._key1 is None:
            raise ScanError(f"invalid JSON: a top-level key is missing or too long (byte {pos})")
        try:
            key = json.loads(self._key1)
        except ValueError:
            raise ScanError(f"invalid JSON: bad top-level key at byte {pos}") from None
        if key in self.result.members or key == self._member:
            raise ScanError(f"invalid JSON: duplicate key {key!r}")
        if len(self.result.members) >= _MAX_MEMBERS:
            raise ScanError(f"too many top-level members: more than {_MAX_MEMBERS}")
        self._member, self._member_start = key, pos + 1
        self._key1 = None
        self._part_values = self.result.values

    def _end_member(self, pos: int) -> None:
        if self._member is None:
            return  # ',' or '}' without a value: the parse of the spans reports it
        span = (self._member_start, pos)
        if self._member != "records" or self.result.records is None:
            # Everything but the records array counts towards one head budget.
            self._head_bytes += span[1] - span[0]
            self._head_values += self.result.values - self._part_values
            if self._head_bytes > self.lim.max_member_bytes:
                raise ScanError(f"too large: the top-level members but records are over {self.lim.max_member_bytes} "
                                "bytes (cap)")
            if self._head_values > self.lim.max_member_values:
                raise ScanError(f"too many JSON values: the top-level members but records hold more than "
                                f"{self.lim.max_member_values} (cap)")
        self.result.members[self._member] = span
        self._member = None

    def _end_record(self, pos: int) -> None:
        records = self.result.records
        assert records is not None
        span = (self._record_start, pos)
        if span[1] - span[0] > self.lim.max_member_bytes:
            raise ScanError(f"too large: records/{len(records)} is over {self.lim.max_member_bytes} bytes (cap)")
        records.append(span)
        self._check_part_values()
        self._part_values = self.result.values
        if len(records) > self.lim.max_records:
            raise ScanError(f"too many records: more than {self.lim.max_records} (cap {self.lim.max_records})")
