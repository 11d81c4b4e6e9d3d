"""Scene preparation: what can be seen from every pose a ``find`` can put the agent at, made
once when a process first loads a scene instead of on the first visit to each pose.

A ``find`` teleports to the pose facing an object at its scene-start place or at a place a
layout can put it (``geometry.find_poses``): a few hundred poses per scene. What can be in view
from each (``visibility.PoseCandidates``), and how the furniture in view is perceived with the
hand empty or full (``perception.fixed_in_view``), depend on the pose alone. Made lazily, they
cost every early episode its first visits; made here in one pass, they cost a scene's first
reset some tens of milliseconds. Nothing an env returns depends on whether this ran: it only
fills caches (``tests/test_scene_prep.py`` checks that).
"""

from __future__ import annotations

from ..world.geometry import find_poses, teleport_action
from ..world.scenes import initial_state
from ..world.transition import transition
from ..world.visibility import sight
from .perception import fixed_in_view, perceive

_PREPARED: set[str] = set()


def prepare_scene(scene: str) -> int:
    """Fill the per-pose caches of ``scene`` (once per process); the number of poses prepared."""
    if scene in _PREPARED:
        return 0
    _PREPARED.add(scene)
    start = initial_state(scene, 0)  # a private state: an env's own view tables stay its own
    prepared = 0
    for pose in find_poses(scene, start.agent["y"]):
        state, _ = transition(start, teleport_action(pose))
        if not state.last["lastActionSuccess"]:
            continue
        perceive(state)
        cands = sight(state)
        if cands is not None:
            fixed_in_view(state, cands, holding=True)
        prepared += 1
    return prepared
