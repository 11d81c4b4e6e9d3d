"""The world's derived values and automatic rules, declared for the acceleration layer: what
each reads, and how to get it faster with the same answer.

This module names world functions; the world never names it. A rule author who changes what
one of these reads (visibility that depends on the lights, say) changes its ``reads`` here; the
differential test (``tests/test_reference_differential.py``) and the read check
(``tests/test_accel_reads.py``) say when a declaration no longer covers what its code reads.
"""

from __future__ import annotations

from ..world import context, visibility
from ..world.consequences import changed_objects, hazard_conditions, state_events
from ..world.geometry import children, is_gone, nearest_reachable_pose, on_grid, position
from ..world.state import WorldState, fact
from . import visibility as fast
from .reads import AGENT_POSE, DECAY, EVERYTHING, HELD, SETTINGS, SPAWNED, STEP, objects
from .registry import derive, pose_value, rule, table

_GRID = table("facts.on_grid")  # (scene, x, z) -> on the navigable floor
_POSES = table("facts.nearest_pose")  # (scene, id, position, agent height) -> the pose a find goes to


# --- what rests in what ---------------------------------------------------------------------

def rehome_children(kids: dict[str, list[str]], before: dict[str, dict], after: dict[str, dict],
                    changed) -> dict[str, list[str]]:
    """A children map (receptacle -> ids resting directly in it) for ``after``, from the one of
    ``before`` and the ids whose parent may differ; lists touched are copied, never edited."""
    out = kids
    copied: set[str] = set()
    for oid in changed:
        old, new = before.get(oid), after.get(oid)
        old_parent = old["parents"][0] if old is not None and old["parents"] else None
        new_parent = new["parents"][0] if new is not None and new["parents"] else None
        if old_parent == new_parent:
            continue
        if out is kids:
            out = dict(kids)
        for parent, add in ((old_parent, False), (new_parent, True)):
            if parent is None:
                continue
            if parent not in copied:
                out[parent] = list(out.get(parent, ()))
                copied.add(parent)
            if add:
                out[parent].append(oid)
            else:
                out[parent].remove(oid)
    return out


def _update_children(old, before: WorldState, after: WorldState, mask: int):
    return rehome_children(old, before.objects, after.objects, after.written)


def reindex_gone(old: frozenset[str], state: WorldState, ids) -> frozenset[str]:
    """``gone_ids`` of ``state`` from a value that may be wrong only for ``ids``."""
    objects_now = state.objects
    now = {oid for oid in ids if oid in objects_now and is_gone(state, oid)}
    was = {oid for oid in ids if oid in old}
    return old if now == was else (old - was) | now


def reindex_tempered(old: list[str], state: WorldState, ids) -> list[str]:
    """``tempered_ids`` of ``state`` from a value that may be wrong only for ``ids``."""
    objects_now = state.objects
    keep = set(old)
    for oid in ids:
        st = objects_now.get(oid)
        if st is not None and st["temperature"] != "RoomTemp":
            keep.add(oid)
        else:
            keep.discard(oid)
    return old if len(keep) == len(old) and keep.issuperset(old) else sorted(keep)


derive(children, reads=objects("parents"), update=_update_children)


# --- indexes over the objects, kept up to date from what a step wrote ------------------------

@fact
def gone_ids(state: WorldState) -> frozenset[str]:
    """Objects no longer seen or touched (``world.geometry.is_gone``)."""
    return frozenset(oid for oid in state.objects if is_gone(state, oid))


def _after_step(reindex):
    """An update (``registry.derive``) from a reindex over the ids a step wrote."""
    def update(old, before: WorldState, after: WorldState, mask: int):
        return reindex(old, after, after.written)
    return update


derive(fast.moved_ids, reads=objects("pos", "parents"), update=_after_step(fast.reindex_moved))
derive(gone_ids, reads=objects("isSliced", "isBroken") | SPAWNED, update=_after_step(reindex_gone))
derive(context.tempered_ids, reads=objects("temperature"), update=_after_step(reindex_tempered))

# --- hazards, and what a step changed ---------------------------------------------------------

derive(hazard_conditions,
       reads=objects("isToggled", "isSliced", "isBroken", "isFilledWithLiquid", "pos", "parents") | HELD)


def _changed_objects(state: WorldState, prev: WorldState) -> list[str]:
    """``changed_objects`` from what the step wrote (when ``prev`` is the state it came from)."""
    written = state.written
    if state.before is not prev:
        return changed_objects.compute(state, prev)
    if not written:
        return []
    now, old = state.objects, prev.objects
    out = [oid for oid in written if oid in now and old.get(oid) is not now[oid]]
    out.sort()
    return out


derive(changed_objects, reads=EVERYTHING, fast=_changed_objects, memo=False)


def _state_events(state: WorldState, prev: WorldState) -> list[dict]:
    """``state_events``: none, at once, when ``state`` came from ``prev`` by a step that wrote no
    object and carried what burns over unchanged (no object changed; no condition started)."""
    if state.before is prev and state.closed and not state.written:
        conditions = state.memo.get(hazard_conditions)
        if conditions is not None and conditions is prev.memo.get(hazard_conditions):
            return []
    return state_events.compute(state, prev)


derive(state_events, reads=EVERYTHING, fast=_state_events, memo=False)


# --- the floor and the poses a find goes to ---------------------------------------------------

def _on_grid(state: WorldState, x: float, z: float) -> bool:
    key = (state.scene, x, z)
    hit = _GRID.get(key)
    if hit is None:
        if len(_GRID) > 100_000:
            _GRID.clear()
        hit = _GRID[key] = on_grid.compute(state, x, z)
    return hit


def _nearest_pose(state: WorldState, object_id: str) -> dict | None:
    key = (state.scene, object_id, position(state, object_id), state.agent["y"])
    pose = _POSES.get(key, _POSES)
    if pose is _POSES:
        if len(_POSES) > 200_000:
            _POSES.clear()
        pose = _POSES[key] = nearest_reachable_pose.compute(state, object_id)
    return dict(pose) if pose is not None else None


derive(on_grid, reads=0, fast=_on_grid, memo=False)
derive(nearest_reachable_pose, reads=EVERYTHING, fast=_nearest_pose, memo=False)


def fill_poses(scene_name: str, y: float, places: list[tuple[str, tuple]], poses: list[dict | None]) -> None:
    """Record the poses (``geometry.poses_facing``) of objects at the given places."""
    for (oid, pos), pose in zip(places, poses, strict=True):
        _POSES[(scene_name, oid, tuple(pos), y)] = pose


# --- what the agent sees ------------------------------------------------------------------------

VISIBILITY_READS = objects("pos", "parents", "isOpen", "isSliced", "isBroken") | SPAWNED | HELD | SETTINGS | AGENT_POSE
derive(visibility.visible_in_order, reads=VISIBILITY_READS, fast=fast.fast_visible_in_order, by_pose=True)
derive(visibility.visible_ids, reads=VISIBILITY_READS, fast=fast.fast_visible_ids, by_pose=True)
pose_value(fast.SIGHT, reads=VISIBILITY_READS)  # worked out with visible_in_order, from the same parts

# --- the automatic rules --------------------------------------------------------------------------

# Heat, cold and water read what rests in what, what is switched on, filled, dirty, cooked and how
# warm, and what is cooling down; the return to room temperature reads the step counter, so it is
# never skipped.
rule(context.settle, reads=objects("parents", "isToggled", "isFilledWithLiquid", "isDirty", "isCooked", "temperature")
     | SPAWNED | DECAY, copies=STEP)
rule(context.cool_down, reads=DECAY | STEP | objects("temperature"), idle_without="decay")
