"""The submission file: gzip-compressed JSON, read defensively, validated against a versioned schema.

A submission is data only: one JSON object ``{"format", "format_version", "manifest", "records"}``
in a gzip stream. Reading never unpickles, evaluates or imports anything from the file. The
compressed size, the decompressed size (streamed through a capped decompressor, so a gzip bomb
stops at the cap), the nesting depth, the number of records and every string's length are bounded.
"""

from __future__ import annotations

import gzip
import json
import os
import zlib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

FORMAT = "safe-alfred-submission"
FORMAT_VERSION = "1.0"
SUFFIX = ".safealfred.json.gz"
_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 16


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


def schema_problems(doc: Any) -> list[str]:
    """Violations of the submission schema and of the episode-record schema, as ``path: message``."""
    from safe_alfred.records import validation_errors

    out = []
    for err in sorted(_validator().iter_errors(doc), key=lambda e: (list(e.absolute_path), e.message)):
        msg = err.message if len(err.message) < 200 else err.message[:200] + "..."
        out.append(f"schema: {_where(err.absolute_path)}: {msg}")
    if isinstance(doc, dict) and isinstance(doc.get("records"), list):
        for i, rec in enumerate(doc["records"]):
            for e in validation_errors(rec) if isinstance(rec, dict) else ["<record>: not an object"]:
                out.append(f"schema: records/{i}: {e}")
    return out


def _decompress(raw: bytes, limits: Limits) -> bytes:
    """Inflate one gzip member, never holding more than the uncompressed cap."""
    if not raw.startswith(_GZIP_MAGIC):
        raise SubmissionError("invalid gzip: the file does not start with the gzip magic bytes "
                              "(a submission is gzip-compressed JSON)")
    d = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    parts: list[bytes] = []
    total = 0
    data = raw
    try:
        while data:
            chunk = d.decompress(data, _CHUNK)
            total += len(chunk)
            if total > limits.max_uncompressed_bytes:
                raise SubmissionError(f"too large: decompresses to more than {limits.max_uncompressed_bytes} bytes "
                                      "(uncompressed cap)")
            parts.append(chunk)
            data = d.unconsumed_tail
            if d.eof:
                break
        while not d.eof:  # flush what is buffered, still under the cap
            chunk = d.decompress(b"", _CHUNK)
            if not chunk:
                break
            total += len(chunk)
            if total > limits.max_uncompressed_bytes:
                raise SubmissionError(f"too large: decompresses to more than {limits.max_uncompressed_bytes} bytes "
                                      "(uncompressed cap)")
            parts.append(chunk)
    except zlib.error as exc:
        raise SubmissionError(f"invalid gzip: {exc}") from None
    if not d.eof:
        raise SubmissionError("invalid gzip: the stream is truncated (no end of stream)")
    if d.unused_data.strip(b"\x00"):
        raise SubmissionError("invalid gzip: unexpected data after the end of the gzip stream")
    return b"".join(parts)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"duplicate key {k!r}")
        out[k] = v
    return out


def check_bounds(doc: Any, limits: Limits) -> list[str]:
    """Depth, string-length, record-count and steps-per-record caps (iterative: no recursion limit)."""
    problems: list[str] = []
    stack: list[tuple[Any, int, tuple]] = [(doc, 0, ())]
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
    recs = doc.get("records") if isinstance(doc, dict) else None
    if isinstance(recs, list):
        if len(recs) > limits.max_records:
            problems.append(f"too many records: {len(recs)} (cap {limits.max_records})")
        for i, r in enumerate(recs):
            if isinstance(r, dict) and isinstance(r.get("steps"), list) and len(r["steps"]) > limits.max_steps_per_record:
                problems.append(f"records/{i}: {len(r['steps'])} steps (cap {limits.max_steps_per_record})")
    return problems


def parse_submission_bytes(raw: bytes, limits: Limits = DEFAULT_LIMITS) -> dict:
    """Decompress, parse and bound-check; raises ``SubmissionError`` (schema checks are separate)."""
    if len(raw) > limits.max_compressed_bytes:
        raise SubmissionError(f"too large: the file is {len(raw)} bytes (compressed cap "
                              f"{limits.max_compressed_bytes})")
    text = _decompress(raw, limits)
    try:
        doc = json.loads(text.decode("utf-8"), parse_constant=_reject_constant, object_pairs_hook=_unique_keys)
    except UnicodeDecodeError as exc:
        raise SubmissionError(f"invalid JSON: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    except RecursionError:
        raise SubmissionError("invalid JSON: nested too deeply") from None
    except ValueError as exc:
        raise SubmissionError(f"invalid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise SubmissionError("invalid JSON: the top level must be an object")
    problems = check_bounds(doc, limits)
    if problems:
        raise SubmissionError(problems)
    return doc


def read_submission(path: str | os.PathLike, limits: Limits = DEFAULT_LIMITS) -> dict:
    """Read a submission file safely; the size is checked before the file is read."""
    p = Path(path)
    try:
        size = p.stat().st_size
    except OSError as exc:
        raise SubmissionError(f"cannot read {p}: {exc.strerror}") from None
    if size > limits.max_compressed_bytes:
        raise SubmissionError(f"too large: the file is {size} bytes (compressed cap {limits.max_compressed_bytes})")
    with open(p, "rb") as fh:
        raw = fh.read(limits.max_compressed_bytes + 1)
    return parse_submission_bytes(raw, limits)


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
