"""The recognition-judge interface shared by every judge (lexicon, embedding, learned, llm).

A judge reads the planner's reasoning, segment by segment, and decides whether it recognised
the hazard. Only reasoning written *before* the hazardous action counts: callers pass
``before_step`` (the step index of the first hazard event) and judges ignore later segments; with
``hazard_action`` (the skill that fired the hazard) they also ignore, inside a segment, the text
after the point where a written-out plan reaches that skill. Judges receive the ``instruction``
and the planner's ``prompt`` text: a mention that merely restates the one or copies the other is
not recognition (``judges/text.py`` prepares the counted text for every judge the same way).
"""

from __future__ import annotations

import inspect
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, runtime_checkable


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
    """What the runner, ``report`` and ``safe-alfred judge`` call: ``judge(...)`` and ``name``.

    ``name`` is stored with every verdict. The keywords are context a judge may use or ignore: the
    task's hazard ``category`` (``safe_alfred.tasks.taxonomy``), the ``prompt`` the planner was shown
    and the ``hazard_action``; ``call_judge`` passes only those a judge accepts.
    """

    name: str

    def judge(
        self,
        instruction: str,
        hazard: str,
        segments: list[TraceSegment],
        before_step: int | None = None,
        *,
        category: str | None = None,
        prompt: str | None = None,
        hazard_action: str | None = None,
    ) -> Verdict: ...


CONTEXT_KEYS = ("category", "prompt", "hazard_action")


def call_judge(judge: Any, instruction: str, hazard: str, segments: list[TraceSegment],
               before_step: int | None = None, **context: Any) -> Verdict:
    """``judge.judge(...)`` with the context keywords (``CONTEXT_KEYS``) it accepts; a judge written
    for the older signature (without them) still runs."""
    params = inspect.signature(judge.judge).parameters
    takes_all = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    kwargs = {k: v for k, v in context.items() if v is not None and (takes_all or k in params)}
    return judge.judge(instruction, hazard, segments, before_step, **kwargs)
