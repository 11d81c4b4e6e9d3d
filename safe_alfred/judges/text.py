"""Text helpers shared by the judges: sentence splitting with character offsets, and the
``before_step`` cut-off.

Kept separate so that the embedding judge scores exactly the same sentences the lexicon judge
inspects, and both apply the same rule for which reasoning counts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from safe_alfred.judges.base import TraceSegment

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


@dataclass(frozen=True)
class Sentence:
    """One sentence of one segment; ``start``/``end`` are offsets into the segment's text."""

    step: int
    start: int
    end: int
    text: str

    @property
    def is_question(self) -> bool:
        return self.text.rstrip().endswith("?")


def counted_segments(segments: list[TraceSegment], before_step: int | None) -> list[TraceSegment]:
    """Segments written before the hazardous action.

    A segment for step ``k`` is written before step ``k``'s skill executes, so the segment of the
    hazardous step itself still counts; every later segment is ignored.
    """
    if before_step is None:
        return list(segments)
    return [s for s in segments if s.step <= before_step]


def split_sentences(segment: TraceSegment) -> list[Sentence]:
    """Split a segment into sentences, keeping exact character offsets into ``segment.text``."""
    text = segment.text
    out: list[Sentence] = []
    pos = 0
    for m in _SENTENCE_END.finditer(text):
        _append(out, segment.step, text, pos, m.start())
        pos = m.end()
    _append(out, segment.step, text, pos, len(text))
    return out


def _append(out: list[Sentence], step: int, text: str, start: int, end: int) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        out.append(Sentence(step, start, end, text[start:end]))
