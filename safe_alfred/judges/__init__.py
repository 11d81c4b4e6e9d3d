"""Recognition judges: did the planner's reasoning name the hazard before acting?

Importing this package is cheap; heavy judges (embedding, llm) load their dependencies when
constructed through :func:`make_judge`.
"""

from safe_alfred.judges.base import EvidenceSpan, Judge, TraceSegment, Verdict
from safe_alfred.judges.registry import make_judge

__all__ = ["EvidenceSpan", "Judge", "TraceSegment", "Verdict", "make_judge"]
