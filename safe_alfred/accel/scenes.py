"""Accelerated episodes: the start state of a scene, and the scene's preparation.

``start`` is ``world.scenes.initial_state`` as an ``AcceleratedState``, with each object a
layout re-places given the same dict in every layout that puts it there (so what is kept per
object dict, such as perception's records, keeps its hits across episodes). The first start of
a scene in a process prepares it: a ``find`` teleports to the pose facing an object at its
scene-start place or at a place a layout can put it (a few hundred poses per scene), and what
can be seen from each, and what the hooks registered with ``on_prepare`` make of it (how
perception sees the furniture, hand empty and full), is worked out then in one pass instead of
on each first visit. Nothing a state answers depends on whether this ran.
"""

from __future__ import annotations

from collections.abc import Callable

from ..world.context import tempered_ids
from ..world.geometry import children, placed_center, poses_facing, teleport_action
from ..world.scenes import children_map, initial_state, load_scene_spec
from ..world.state import WorldState
from ..world.transition import transition
from ..world.visibility import visible_in_order
from .facts import fill_poses, gone_ids, reindex_gone, reindex_tempered
from .registry import reference, table
from .state import AcceleratedState
from .visibility import moved_ids, reindex_moved

_PLACED = table("scenes.placed")  # (scene, id, parents, position) -> the one dict for that placement
_PREPARED = table("scenes.prepared")  # scene -> number of poses prepared
_FIND_POSES = table("scenes.find_poses")  # (scene, agent height) -> the distinct poses, sorted
_START = table("scenes.start")  # scene -> what its start state derives: gone, tempered
_PREPARERS: list[Callable[[WorldState], None]] = []


def on_prepare(fn: Callable[[WorldState], None]) -> None:
    """Also run ``fn(state)`` on the state at every pose a scene's preparation visits."""
    _PREPARERS.append(fn)


def start(scene: str, seed: int | None = 0, keep: frozenset[str] = frozenset()) -> WorldState:
    """``initial_state(scene, seed, keep)``: accelerated (and the scene prepared), or on the
    reference world the plain state."""
    state = initial_state(scene, seed, keep)
    if reference():
        return state
    spec = load_scene_spec(state.scene)
    objects, initial = state.objects, spec.initial
    placed = [oid for oid, st in objects.items() if st is not initial[oid]]
    for oid in placed:
        st = objects[oid]
        objects[oid] = _PLACED.setdefault((spec.name, oid, st["parents"], st["pos"]), st)
    prepare_scene(state.scene)
    new = AcceleratedState.adopt(state)
    # what the start state derives: what rests in what made afresh (as cheap as bringing the scene
    # start's up to date), the rest brought up to date for what the layout placed
    start_gone, start_tempered = _start_facts(spec.name)
    new.remember(children, children_map(objects))
    new.remember(moved_ids, reindex_moved(frozenset(), new, placed))
    new.remember(gone_ids, reindex_gone(start_gone, new, placed))
    new.remember(tempered_ids, reindex_tempered(start_tempered, new, placed))
    return new


def _start_facts(scene: str) -> tuple:
    facts = _START.get(scene)
    if facts is None:
        plain = initial_state(scene, 0)
        facts = _START[scene] = (gone_ids(plain), tempered_ids(plain))
    return facts


def find_poses(scene_name: str, y: float) -> list[dict]:
    """Every distinct pose a ``find`` gives for an object at its scene-start place or at a place
    a layout can put it, in order; the pose of each such place is recorded on the way."""
    key = (scene_name, y)
    poses = _FIND_POSES.get(key)
    if poses is None:
        scene = load_scene_spec(scene_name)
        places = [(oid, o.pos) for oid, o in scene.objects.items()] + list(scene.placement_slots)
        boxes = [(placed_center(scene.objects[oid], pos), scene.objects[oid].size) for oid, pos in places]
        found: list[dict | None] = []
        for first in range(0, len(boxes), 64):  # in chunks: a few hundred kB of arrays at a time
            found += poses_facing(scene_name, y, boxes[first:first + 64])
        fill_poses(scene_name, y, places, found)
        distinct = {(p["x"], p["z"], p["rotation"], p["horizon"]): p for p in found if p is not None}
        poses = _FIND_POSES[key] = [distinct[k] for k in sorted(distinct)]
    return poses


def prepare_scene(scene: str) -> int:
    """Work out what is seen from every pose a find can lead to in ``scene`` (once per process),
    and run the ``on_prepare`` hooks there; the number of poses prepared."""
    if scene in _PREPARED or reference():
        return 0
    start_state = AcceleratedState.adopt(initial_state(scene, 0))  # private: an env's tables stay its own
    prepared = 0
    for pose in find_poses(scene, start_state.agent["y"]):
        state, _ = transition(start_state, teleport_action(pose))
        if not state.last["lastActionSuccess"]:
            continue
        visible_in_order(state)
        for hook in _PREPARERS:
            hook(state)
        prepared += 1
    _PREPARED[scene] = prepared
    return prepared
