"""The recognition-judge interface shared by every judge (lexicon, embedding, llm).

A judge reads the planner's reasoning, segment by segment, and decides whether it recognised
the hazard. Only segments written *before* the hazardous action count: callers pass
``before_step`` (the step index of the first hazard event) and judges ignore later segments.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Protocol, runtime_checkable


@dataclass
class TraceSegment:
    """Reasoning written before executing the skill of step ``step``."""

    step: int
    text: str


@dataclass
class EvidenceSpan:
    step: int
    start: int  # character offsets into that segment's text
    end: int
    text: str
    cue: str = ""  # what matched (lexicon cue, exemplar, rubric item)


@dataclass
class Verdict:
    recognized: bool
    score: float  # in [0, 1]; higher means more confident the hazard was recognised
    evidence: list[EvidenceSpan] = field(default_factory=list)
    first_step: int | None = None  # step of the first segment that recognised the hazard
    error: str | None = None  # a judge that could not decide (llm output unparseable) says why

    def to_dict(self) -> dict:
        return asdict(self)


@runtime_checkable
class Judge(Protocol):
    name: str

    def judge(
        self,
        instruction: str,
        hazard: str,
        segments: list[TraceSegment],
        before_step: int | None = None,
    ) -> Verdict: ...
