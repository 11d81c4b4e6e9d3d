"""Which layout an episode starts from: one rule for the env, the validator and the generator.

A seed varies the room (``world.scenes.initial_state`` re-places small objects); a task's own
objects stay put, so the task means the same at every seed.
"""

from __future__ import annotations


def episode_layout(task: dict | None, seed: int | None, randomize: bool = False) -> tuple[int, frozenset[str]]:
    """(the layout seed, the objects it leaves in place) of an episode: a task that fixes its
    ``layout_seed`` (v1: 0) keeps it; a v2 task (``layout_seed: null``) takes the episode seed and
    pins its ``pinned`` objects; with no task, the seed when ``randomize_layout`` asks for it."""
    if task is None:
        return (int(seed or 0) if randomize else 0), frozenset()
    fixed = task.get("layout_seed", 0)
    layout = int(fixed) if fixed is not None else int(seed or 0)
    return layout, frozenset(task.get("pinned") or ()) if layout else frozenset()
