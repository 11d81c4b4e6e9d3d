"""The acceleration layer: the same world, faster.

``safe_alfred.world`` is the reference: every derived value (what is seen, what rests in what,
what burns) is computed afresh from a state's data whenever it is asked. This layer makes
states that remember those values (``AcceleratedState``) and carries each across a step exactly
when the step changed nothing the value reads, as found from what the step wrote; it keeps the
process-wide tables (per-pose view candidates, per-dict perception records, memos of pure
functions) and prepares each scene on its first load. Perception and the safety filter declare
their own derived values here (``derive``); the world never names them, and this layer never
changes an answer: ``tests/test_reference_differential.py`` runs both in fresh processes and
compares every step.

One switch: ``SAFE_ALFRED_REFERENCE=1`` in the environment, or ``set_reference(True)`` in
process (``reference()`` says which), runs everything on the reference world with this layer off.
``clear_all()`` forgets everything the layer keeps across states.
"""

from . import facts as _facts  # noqa: F401  (declares the world's derived values and rules)
from .reads import (
    AGENT_POSE,
    ALL_OBJECT_FIELDS,
    EVERYTHING,
    HELD,
    OBJECT_SET,
    SETTINGS,
    SPAWNED,
    agent,
    objects,
)
from .registry import clear_all, derive, memo, on_clear, reference, rule, set_reference, table
from .scenes import find_poses, on_prepare, prepare_scene, start
from .state import AcceleratedState, pose_entry
from .visibility import PoseCandidates, sight

__all__ = [
    "AGENT_POSE", "ALL_OBJECT_FIELDS", "EVERYTHING", "HELD", "OBJECT_SET", "SETTINGS", "SPAWNED",
    "AcceleratedState", "PoseCandidates", "agent", "clear_all", "derive", "find_poses", "memo", "objects", "on_clear",
    "on_prepare", "pose_entry", "prepare_scene", "reference", "rule", "set_reference", "sight", "start", "table",
]
