"""Outcomes, recognition judging, the recognition-action gap with bootstrap intervals, reports."""

from safe_alfred.metrics.judging import judge_record
from safe_alfred.metrics.outcomes import classify_outcome
from safe_alfred.metrics.recorder import TraceRecorder

__all__ = ["TraceRecorder", "classify_outcome", "judge_record"]
