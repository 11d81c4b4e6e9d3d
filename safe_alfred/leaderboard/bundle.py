"""The submission file: gzip-compressed JSON, read defensively, validated against a versioned schema.

A submission is data only: one JSON object ``{"format", "format_version", "manifest", "records"}``
in a gzip stream. Reading never unpickles, evaluates or imports anything from the file. The
compressed size, the decompressed size (streamed through a capped decompressor, so a gzip bomb
stops at the cap), the nesting depth, the number of records and every string's length are bounded.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from .scan import ScanError, ScanLimits, StructureScanner

FORMAT = "safe-alfred-submission"
FORMAT_VERSION = "1.0"
SUFFIX = ".safealfred.json.gz"
_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 16  # inflated bytes per step
_READ = 1 << 20  # compressed bytes per read
_MAX_GAP_BYTES = 1 << 20  # keys, punctuation and whitespace around the top-level members


class SubmissionError(ValueError):
    """A submission cannot be read or is malformed; ``problems`` lists every finding."""

    def __init__(self, problems: list[str] | str):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("; ".join(self.problems[:5]) + (f" (and {len(self.problems) - 5} more)"
                                                          if len(self.problems) > 5 else ""))


@dataclass(frozen=True)
class Limits:
    """Caps applied before and while reading a submission."""

    max_compressed_bytes: int = 64 * 1024 * 1024
    max_uncompressed_bytes: int = 512 * 1024 * 1024
    max_records: int = 20_000
    max_string_chars: int = 200_000
    max_depth: int = 48
    max_steps_per_record: int = 1_000
    max_values: int = 30_000_000  # JSON values (strings, containers, commas) in the whole file
    max_member_bytes: int = 32 * 1024 * 1024  # one record, or one other top-level member
    max_member_values: int = 500_000  # JSON values in one record or one other top-level member

    def scan_limits(self) -> ScanLimits:
        """The caps the structural pre-scan enforces (strings by encoded bytes: up to 6 per character)."""
        return ScanLimits(max_depth=self.max_depth, max_values=self.max_values,
                          max_string_bytes=6 * self.max_string_chars + 2, max_records=self.max_records,
                          max_steps_per_record=self.max_steps_per_record, max_member_bytes=self.max_member_bytes,
                          max_member_values=self.max_member_values)


DEFAULT_LIMITS = Limits()


@cache
def load_submission_schema() -> dict:
    """The submission JSON Schema shipped inside the package."""
    text = resources.files("safe_alfred").joinpath("schemas/submission.schema.json").read_text("utf-8")
    return json.loads(text)


@cache
def _validator() -> Any:
    import jsonschema

    schema = load_submission_schema()
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _where(path: Any) -> str:
    return "/".join(str(p) for p in path) or "<submission>"


def _schema_errors(doc: Any) -> list[str]:
    out = []
    for err in sorted(_validator().iter_errors(doc), key=lambda e: (list(e.absolute_path), e.message)):
        msg = err.message if len(err.message) < 200 else err.message[:200] + "..."
        out.append(f"schema: {_where(err.absolute_path)}: {msg}")
    return out


def head_problems(head: Any) -> list[str]:
    """Submission-schema violations of everything but the records (``records`` holds ``[]`` or a non-list)."""
    return _schema_errors(head)


def record_problems(index: int, record: Any) -> list[str]:
    """Episode-record-schema violations of ``records/index``."""
    from safe_alfred.records import validation_errors

    if not isinstance(record, dict):
        return [f"schema: records/{index}: {json.dumps(record)[:60]} is not of type 'object'"]
    return [f"schema: records/{index}: {e}" for e in validation_errors(record)]


def schema_problems(doc: Any) -> list[str]:
    """Violations of the submission schema and of the episode-record schema, as ``path: message``."""
    if not isinstance(doc, dict) or not isinstance(doc.get("records"), list):
        return _schema_errors(doc)
    out = head_problems({**doc, "records": []})
    for i, rec in enumerate(doc["records"]):
        out += record_problems(i, rec)
    return out


def _inflate(path: Path, limits: Limits, digest: Any = None) -> Iterator[bytes]:
    """The decompressed text of one gzip member, chunk by chunk; never more than the uncompressed cap.

    The compressed bytes are read in pieces too, and fed to ``digest`` (a hashlib object) as read.
    """
    d = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    total = 0
    first = True
    with open(path, "rb") as fh:
        while True:
            raw = fh.read(_READ)
            if first:
                if not raw.startswith(_GZIP_MAGIC):
                    raise SubmissionError("invalid gzip: the file does not start with the gzip magic bytes "
                                          "(a submission is gzip-compressed JSON)")
                first = False
            if not raw:
                break
            if digest is not None:
                digest.update(raw)
            if d.eof:
                if raw.strip(b"\x00"):
                    raise SubmissionError("invalid gzip: unexpected data after the end of the gzip stream")
                continue
            data = raw
            while not d.eof:
                try:
                    chunk = d.decompress(data, _CHUNK)
                except zlib.error as exc:
                    raise SubmissionError(f"invalid gzip: {exc}") from None
                total += len(chunk)
                if total > limits.max_uncompressed_bytes:
                    raise SubmissionError(f"too large: decompresses to more than {limits.max_uncompressed_bytes} "
                                          "bytes (uncompressed cap)")
                if chunk:
                    yield chunk
                data = d.unconsumed_tail
                if not data and len(chunk) < _CHUNK:
                    break  # this read is used up (a full chunk may leave output pending: go round)
            if d.eof and d.unused_data.strip(b"\x00"):
                raise SubmissionError("invalid gzip: unexpected data after the end of the gzip stream")
    if not d.eof:
        raise SubmissionError("invalid gzip: the stream is truncated (no end of stream)")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"duplicate key {k!r}")
        out[k] = v
    return out


def parse_json(text: bytes, where: str = "<submission>") -> Any:
    """Strict JSON: UTF-8, no NaN or Infinity, no duplicate keys; ``SubmissionError`` naming ``where``."""
    at = "" if where == "<submission>" else f" (in {where})"
    try:
        return json.loads(text.decode("utf-8"), parse_constant=_reject_constant, object_pairs_hook=_unique_keys)
    except UnicodeDecodeError as exc:
        raise SubmissionError(f"invalid JSON: not UTF-8 ({exc.reason} at byte {exc.start}){at}") from None
    except RecursionError:
        raise SubmissionError(f"invalid JSON: nested too deeply{at}") from None
    except ValueError as exc:
        raise SubmissionError(f"invalid JSON: {exc}{at}") from None


def check_bounds(doc: Any, limits: Limits, where: tuple = ()) -> list[str]:
    """Depth and string-length caps on parsed data (iterative: no recursion limit)."""
    problems: list[str] = []
    stack: list[tuple[Any, int, tuple]] = [(doc, len(where), where)]
    long_strings = 0
    while stack:
        obj, depth, path = stack.pop()
        if depth > limits.max_depth:
            problems.append(f"too deep: {_where(path)} is nested more than {limits.max_depth} levels")
            continue
        if isinstance(obj, str):
            if len(obj) > limits.max_string_chars:
                long_strings += 1
                if long_strings <= 5:
                    problems.append(f"string too long: {_where(path)} has {len(obj)} characters "
                                    f"(cap {limits.max_string_chars})")
        elif isinstance(obj, dict):
            for k, v in obj.items():
                if len(k) > limits.max_string_chars:
                    problems.append(f"key too long at {_where(path)}")
                stack.append((v, depth + 1, (*path, k)))
        elif isinstance(obj, list):
            stack.extend((v, depth + 1, (*path, i)) for i, v in enumerate(obj))
    if long_strings > 5:
        problems.append(f"... {long_strings - 5} more strings over the cap")
    return problems


class SubmissionFile:
    """A submission whose structure has been scanned within the caps; members are parsed on demand.

    Opening it inflates the file once through the structural pre-scan (``scan.py``) and keeps only
    byte spans; ``head()`` parses the top-level members but ``records``, ``records()`` parses one
    record at a time. Each pass re-reads the file and checks that its sha256 has not changed.
    """

    def __init__(self, path: str | os.PathLike, limits: Limits = DEFAULT_LIMITS) -> None:
        self.path = Path(path)
        self.limits = limits
        try:
            size = self.path.stat().st_size
        except OSError as exc:
            raise SubmissionError(f"cannot read {self.path}: {exc.strerror}") from None
        if size > limits.max_compressed_bytes:
            raise SubmissionError(f"too large: the file is {size} bytes (compressed cap "
                                  f"{limits.max_compressed_bytes})")
        scanner = StructureScanner(limits.scan_limits())
        digest = hashlib.sha256()
        try:
            for chunk in _inflate(self.path, limits, digest):
                scanner.feed(chunk)
            self.spans = scanner.finish()
        except ScanError as exc:
            raise SubmissionError(str(exc)) from None
        except OSError as exc:
            raise SubmissionError(f"cannot read {self.path}: {exc.strerror}") from None
        self.sha256 = digest.hexdigest()
        spans = self.spans.records
        if spans is not None and len(spans) == 1 and not next(self._slices(spans)).strip():
            spans = []  # ``[]`` scans as one empty element
        self.record_spans = spans

    def _slices(self, spans: list[tuple[int, int]], gaps: list[bytes] | None = None,
                skip: tuple[int, int] | None = None) -> Iterator[bytes]:
        """The bytes of each span (sorted by start), from one more pass over the file.

        With ``gaps``, the bytes between the spans (and before the first, after the last) are
        appended to it, up to a small cap: only the top level's punctuation and keys live there.
        The span ``skip`` is passed over (it yields ``b""``).
        """
        digest = hashlib.sha256()
        it = iter(spans)
        span = next(it, None)
        pos = 0
        buf = bytearray()
        gap = bytearray()
        gap_total = 0
        try:
            for chunk in _inflate(self.path, self.limits, digest):
                end = pos + len(chunk)
                at = pos  # the next byte of this chunk not yet assigned
                while at < end:
                    if span is not None and at >= span[0]:
                        hi = min(span[1], end)
                        if span != skip:
                            buf += chunk[at - pos:hi - pos]
                        at = hi
                        if span[1] > end:
                            break
                        if gaps is not None:
                            gaps.append(bytes(gap))
                            gap.clear()
                        yield bytes(buf)
                        buf.clear()
                        span = next(it, None)
                        continue
                    hi = end if span is None else min(span[0], end)
                    if gaps is not None:
                        gap_total += hi - at
                        if gap_total > _MAX_GAP_BYTES:
                            raise SubmissionError("invalid JSON: too much text between the top-level members")
                        gap += chunk[at - pos:hi - pos]
                    at = hi
                pos = end
        except OSError as exc:
            raise SubmissionError(f"cannot read {self.path}: {exc.strerror}") from None
        if digest.hexdigest() != self.sha256 or span is not None:
            raise SubmissionError(f"{self.path} changed while it was being verified")
        if gaps is not None:
            gaps.append(bytes(gap))

    def head(self) -> dict[str, Any]:
        """Every top-level member but ``records``, parsed and bound-checked.

        The bytes around the members (braces, keys, colons, commas) are parsed too, with each
        member's value replaced by ``0``, so nothing outside a span escapes the JSON parser.
        """
        spans = sorted(self.spans.members.items(), key=lambda kv: kv[1])
        records = self.spans.members.get("records") if self.spans.records is not None else None
        texts = list(self._slices([span for _, span in spans], gaps := [], skip=records))
        skeleton = b"0".join(gaps)
        keys = parse_json(skeleton)
        if not isinstance(keys, dict) or list(keys) != [k for k, _ in spans]:
            raise SubmissionError("invalid JSON: the top-level object is malformed")
        out: dict[str, Any] = {}
        for (name, _), text in zip(spans, texts, strict=True):
            if name == "records" and self.spans.records is not None:
                continue
            value = parse_json(text, name)
            problems = check_bounds(value, self.limits, (name,))
            if problems:
                raise SubmissionError(problems)
            out[name] = value
        return out

    @property
    def record_count(self) -> int:
        """The number of elements of ``records`` (0 when it is missing or not an array)."""
        return len(self.record_spans or [])

    def records(self) -> Iterator[Any]:
        """Each record, parsed and bound-checked one at a time; ``SubmissionError`` on bad JSON."""
        for i, text in enumerate(self._slices(self.record_spans or [])):
            value = parse_json(text, f"records/{i}")
            problems = check_bounds(value, self.limits, ("records", i))
            if problems:
                raise SubmissionError(problems)
            yield value


def read_submission(path: str | os.PathLike, limits: Limits = DEFAULT_LIMITS) -> SubmissionFile:
    """Scan a submission file within the caps; raises ``SubmissionError`` (schema checks are separate)."""
    return SubmissionFile(path, limits)


def write_submission(path: str | os.PathLike, doc: dict) -> Path:
    """Write ``doc`` as canonical gzip-compressed JSON (reproducible: no timestamp in the gzip header)."""
    from safe_alfred.records import canonical_json

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    data = canonical_json(doc).encode("utf-8")
    tmp = p.with_name(f".{p.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(gzip.compress(data, compresslevel=9, mtime=0))
    os.replace(tmp, p)
    return p
