"""What the agent can see: the objects in view from its pose, nearest first, and what it faces.

AI2-THOR decides visibility with the camera and ray casts; the symbolic world uses the same
ingredients in plan view: within ``visibilityDistance`` of the agent (to the nearest point of the
object's footprint), inside the camera's horizontal field of view, not hidden in a closed
enclosed receptacle, and not a sliced-away original.

Every episode starts from the scene's start places or a layout's slots, so what can be in view
from a pose is computed once per scene and pose (numpy, cached); a state then only checks what
is really there, hidden or gone.
"""

from __future__ import annotations

import bisect
import math
import operator
from collections.abc import Callable

import numpy as np

from .geometry import (
    ENCLOSED,
    angle_to,
    center_and_size,
    contents,
    footprint_distance,
    forward,
    is_gone,
    is_hidden,
    moved_ids,
    placed_center,
    rounded,
    spec_of,
    view_angle,
)
from .scenes import load_scene_spec, placement_slots
from .state import WorldState


def _start_ancestors(scene, oid: str) -> list[str]:
    """The receptacles holding an object at scene start, innermost first (cycle-safe)."""
    chain, cur = [], scene.initial[oid]["parents"]
    while cur and cur[0] not in chain and cur[0] != oid:
        chain.append(cur[0])
        cur = scene.initial[cur[0]]["parents"]
    return chain


def _static_enclosing(scene) -> dict[str, tuple[str, ...]]:
    """For each object at its scene-start place: the enclosed receptacles (drawers, fridge, ...)
    among its ancestors. An object that has not moved keeps these, so hiding is a lookup."""
    return {oid: tuple(p for p in _start_ancestors(scene, oid) if scene.objects[p].type in ENCLOSED)
            for oid in scene.objects}


def _fixed_objects(scene) -> dict[str, bool]:
    """Objects whose visibility depends only on where the agent stands: not pickupable (so never
    held, put or dropped), not sliceable, in no enclosed receptacle, on no pickupable object (so
    never carried). Eggs, the one thing that cracks out of sight, are pickupable."""
    return {oid: not o.flags["pickupable"] and not o.flags["sliceable"]
            and not any(scene.objects[p].type in ENCLOSED or scene.objects[p].flags["pickupable"]
                        for p in _start_ancestors(scene, oid))
            for oid, o in scene.objects.items()}


def _static_arrays(scene) -> dict:
    """Per-scene numpy footprints (cached on the spec) of every object at its scene-start place,
    then of every object at every place a seed's layout can put it (``placement_slots``)."""
    arrays = scene.__dict__.get("_arrays")
    if arrays is None:
        ids = list(scene.objects)
        specs = [scene.objects[i] for i in ids]
        cx = [o.center[0] for o in specs]
        cz = [o.center[2] for o in specs]
        hx = [o.size[0] / 2 for o in specs]
        hz = [o.size[2] / 2 for o in specs]
        slots: dict[tuple[str, tuple], int] = {}
        for oid, pos in placement_slots(scene.name):
            o = scene.objects[oid]
            slots[(oid, pos)] = len(cx)
            c = placed_center(o, pos)
            cx.append(c[0])
            cz.append(c[2])
            hx.append(o.size[0] / 2)
            hz.append(o.size[2] / 2)
        # Slots are grouped by the receptacle they sit on (the plan point of its top): a group
        # whose every box lies beyond reach of a pose is skipped without looking at its slots.
        groups: dict[tuple[float, float], list[int]] = {}
        for (_, pos), k in slots.items():
            groups.setdefault((pos[0], pos[2]), []).append(k)
        centres = list(groups)
        radius = [max(math.hypot(abs(cx[k] - gx) + hx[k], abs(cz[k] - gz) + hz[k]) for k in groups[(gx, gz)])
                  for gx, gz in centres]
        arrays = {
            "ids": ids, "slots": slots, "types": {i: scene.objects[i].type for i in ids},
            "cx": np.array(cx), "cz": np.array(cz),
            "lo_x": np.array(cx) - np.array(hx), "hi_x": np.array(cx) + np.array(hx),
            "lo_z": np.array(cz) - np.array(hz), "hi_z": np.array(cz) + np.array(hz),
            "enclosing": _static_enclosing(scene),
            "fixed": _fixed_objects(scene),
            "n_static": len(ids),
            "group_x": np.array([c[0] for c in centres]), "group_z": np.array([c[1] for c in centres]),
            "group_radius": np.array(radius),
            "group_slots": [np.array(groups[c], dtype=np.intp) for c in centres],
            "static_index": np.arange(len(ids), dtype=np.intp),
        }
        scene.__dict__["_arrays"] = arrays
    return arrays


class _MovedIndex:
    """Where the moved objects of one moved set rest: layout slot -> (id, enclosing receptacles
    to check, or None to walk its ancestors), and the ids resting elsewhere. Built from the
    objects' dicts in ``was``: valid while a state's dicts for them compare equal."""

    __slots__ = ("moved", "dicts_of", "was", "by_slot", "elsewhere", "has_fixed")

    def __init__(self, state: WorldState, moved: frozenset[str], arr: dict):
        objects, slots, enclosing, fixed = state.objects, arr["slots"], arr["enclosing"], arr["fixed"]
        ids = sorted(oid for oid in moved if oid in objects)
        self.moved = moved
        self.dicts_of = dicts_getter(ids)
        self.was = self.dicts_of(objects)
        self.by_slot: dict[int, tuple[str, tuple[str, ...] | None]] = {}
        self.elsewhere: list[str] = []
        self.has_fixed = any(fixed.get(oid, False) for oid in ids)
        for oid in ids:
            st = objects[oid]
            slot = slots.get((oid, st["pos"]))
            if slot is None:
                self.elsewhere.append(oid)
                continue
            parents = st["parents"]
            chain: tuple[str, ...] | None = ()
            if parents:
                rid = parents[0]
                # a receptacle at its start place: a known chain; a moved one: walk the ancestors
                chain = None if rid in moved or rid not in enclosing else _slot_enclosing(arr, rid)
            self.by_slot[slot] = (oid, chain)


def dicts_getter(ids: list[str] | tuple[str, ...]) -> Callable[[dict], tuple]:
    """A function giving the tuple of ``objects[i]`` for ``ids`` (one C call, tuple always)."""
    if not ids:
        return lambda objects: ()
    if len(ids) == 1:
        only = ids[0]
        return lambda objects: (objects[only],)
    return operator.itemgetter(*ids)


def _moved_index(state: WorldState, moved: frozenset[str]) -> _MovedIndex:
    """The ``_MovedIndex`` of this moved set, cached per set (an object that moves makes a new
    set) and rebuilt when one of its objects' dicts changed (a moved mug filled, say)."""
    hit = _MOVED_INDEX.get(id(moved))
    if hit is not None and hit.moved is moved:
        dicts = hit.dicts_of(state.objects)
        if dicts == hit.was:
            return hit
        if all(a["pos"] == b["pos"] and a["parents"] == b["parents"] for a, b in zip(dicts, hit.was, strict=True)):
            hit.was = dicts  # changed in place only (filled, dirtied, ...): still resting where it was
            return hit
    if len(_MOVED_INDEX) > 4096:
        _MOVED_INDEX.clear()
    hit = _MOVED_INDEX[id(moved)] = _MovedIndex(state, moved, _static_arrays(load_scene_spec(state.scene)))
    return hit


_MOVED_INDEX: dict[int, _MovedIndex] = {}


def _slot_enclosing(arr: dict, receptacle_id: str) -> tuple[str, ...]:
    """The enclosed receptacles an object put into ``receptacle_id`` sits in, while that
    receptacle is at its scene-start place: itself if enclosed, then its own enclosing ones."""
    cache = arr.setdefault("slot_enclosing", {})
    chain = cache.get(receptacle_id)
    if chain is None:
        own = (receptacle_id,) if arr["types"][receptacle_id] in ENCLOSED else ()
        chain = cache[receptacle_id] = own + arr["enclosing"][receptacle_id]
    return chain


class PoseCandidates:
    """What can be in view from one pose of a scene, whatever the episode (cached per pose).

    ``fixed``: (plan distance, id) of the furniture and fixtures in view, nearest first; they
    never move, hide or vanish, so they are seen from here in every state. ``loose``: (distance,
    id, enclosing receptacles) of the other objects whose scene-start place is in view, nearest
    first. ``slots``: layout slot (``placement_slots``) in view -> plan distance (to the cm). Whether a
    loose or slotted object is really there, hidden or gone is decided per state. ``memo`` is a
    place for what is derived from this pose: the furniture's perception, per hand state (keyed
    on their dicts, ``dicts_of``), and under ``"elsewhere"`` whether a moved object resting
    outside the slots is in view (``_moved_in_view``)."""

    __slots__ = ("fixed", "fixed_ids", "dicts_of", "loose", "slots", "memo")

    def __init__(self, fixed: list, loose: list, slots: dict[int, float]):
        self.fixed = fixed
        self.fixed_ids = tuple(oid for _, oid in fixed)
        self.dicts_of = dicts_getter(self.fixed_ids)
        self.loose = loose
        self.slots = slots
        self.memo: dict = {}


_POSE_CANDIDATES: dict[tuple, PoseCandidates] = {}
_IN_RANGE: dict[tuple, dict] = {}


def _pose_candidates(state: WorldState) -> PoseCandidates:
    """The ``PoseCandidates`` of the agent's pose (cached per scene, pose and view settings)."""
    a = state.agent
    settings = state.settings
    key = (state.scene, a["x"], a["z"], a["rotation"], settings["visibilityDistance"], settings["fieldOfView"])
    hit = _POSE_CANDIDATES.get(key)
    if hit is not None:
        return hit
    near = _in_range(state, _static_arrays(load_scene_spec(state.scene)))
    fx, fz = forward(a)
    ok = (((near["px"] * fx + near["pz"] * fz) >= near["cos_d"]) | ((near["vx"] * fx + near["vz"] * fz) >= near["cos_dc"])
          | near["close"])
    n = near["n_static"]
    entries = near["static"]
    static = sorted([entries[i] for i in np.flatnonzero(ok[:n]).tolist()])
    in_view = ok[n:]
    slots = {k: rounded(d, 2) for k, d in zip(near["slot_ids"][in_view].tolist(), near["slot_dist"][in_view].tolist(),
                                              strict=True)}
    hit = PoseCandidates([(d, oid) for d, oid, _, fixed in static if fixed],
                         [(d, oid, chain) for d, oid, chain, fixed in static if not fixed], slots)
    if len(_POSE_CANDIDATES) > 20_000:
        _POSE_CANDIDATES.clear()
    _POSE_CANDIDATES[key] = hit
    return hit


def _in_range(state: WorldState, arr: dict) -> dict:
    """Everything within ``visibilityDistance`` of the agent's position, whatever its facing,
    with what the view test needs (cached per position: an agent turns more than it walks).

    The test is AI2-THOR's plan-view approximation: the footprint within reach and either its
    nearest point or its centre within the field of view widened by 15 degrees; objects under
    0.35 m away are always in view.
    """
    a = state.agent
    settings = state.settings
    max_d, fov = settings["visibilityDistance"], settings["fieldOfView"]
    key = (state.scene, a["x"], a["z"], max_d, fov)
    hit = _IN_RANGE.get(key)
    if hit is not None:
        return hit
    ax, az = a["x"], a["z"]
    cos_half = math.cos(math.radians(min(179.0, fov / 2 + 15.0)))
    reach = np.hypot(arr["group_x"] - ax, arr["group_z"] - az) - arr["group_radius"]
    slot_groups = arr["group_slots"]
    index = np.concatenate([arr["static_index"]] + [slot_groups[g] for g in np.flatnonzero(reach <= max_d + 1e-6).tolist()])
    px = np.minimum(np.maximum(ax, arr["lo_x"][index]), arr["hi_x"][index]) - ax
    pz = np.minimum(np.maximum(az, arr["lo_z"][index]), arr["hi_z"][index]) - az
    d = np.sqrt(px * px + pz * pz)
    inside = np.flatnonzero(d <= max_d)
    px, pz, d, index = px[inside], pz[inside], d[inside], index[inside]
    vx, vz = arr["cx"][index] - ax, arr["cz"][index] - az
    dc = np.sqrt(vx * vx + vz * vz) + 1e-9
    ids, enclosing, fixed, n = arr["ids"], arr["enclosing"], arr["fixed"], arr["n_static"]
    index_list, dist = index.tolist(), d.tolist()
    n_static = bisect.bisect_left(index_list, n)  # scene-start places come first, in index order
    hit = {
        "px": px, "pz": pz, "vx": vx, "vz": vz, "cos_d": cos_half * (d + 1e-9), "cos_dc": cos_half * dc,
        "close": d < 0.35, "n_static": n_static,
        "static": [(round(dd, 2), ids[k], enclosing[ids[k]], fixed[ids[k]])
                   for k, dd in zip(index_list[:n_static], dist[:n_static], strict=True)],
        # the layout slots in range (their index in the scene arrays) and their plan distances
        "slot_ids": index[n_static:], "slot_dist": d[n_static:],
    }
    if len(_IN_RANGE) > 20_000:
        _IN_RANGE.clear()
    _IN_RANGE[key] = hit
    return hit


def _box(state: WorldState, oid: str, st: dict) -> tuple[float, ...]:
    """Plan-view box of a resting object: (min x, max x, min z, max z, centre x, centre z).

    Cached on the object's (copy-on-write) dict, so a moved object costs one computation per
    place it rests in.
    """
    table = _BOXES.get(state.scene)
    if table is None:
        table = _BOXES[state.scene] = {}
    hit = table.get(oid)
    if hit is not None and hit[0] is st:
        return hit[1]
    spec = spec_of(state, oid)
    cx, _, cz = placed_center(spec, st["pos"])
    box = (cx - spec.size[0] / 2, cx + spec.size[0] / 2, cz - spec.size[2] / 2, cz + spec.size[2] / 2, cx, cz)
    table[oid] = (st, box)
    return box


_BOXES: dict[str, dict[str, tuple[dict, tuple[float, ...]]]] = {}


def _moved_in_view(state: WorldState, cands: PoseCandidates, moved, carried) -> list[tuple[float, str]]:
    """(plan distance, id) of the given moved or created objects (present, not held) seen from
    here; carried ones are left out.

    The same test as ``_pose_candidates``, written out per object: the footprint within
    ``visibilityDistance``, and its nearest point or its centre within the widened field of view.
    Where an object lies is in its (copy-on-write) dict, so the answer is kept on the pose per
    dict: slices and dropped things are looked at once from each pose they rest in view of.
    """
    objects = state.objects
    placed = cands.memo.get("elsewhere")
    if placed is None or len(placed) > 512:
        placed = cands.memo["elsewhere"] = {}
    out: list[tuple[float, str]] = []
    for oid in moved:
        st = objects[oid]
        hit = placed.get(id(st))
        if hit is None or hit[0] is not st:
            hit = placed[id(st)] = (st, _in_view_at(state, oid, st))
        dd = hit[1]
        if dd is None:
            continue
        if st["isSliced"] or st["isBroken"] and is_gone(state, oid) or oid in carried:
            continue
        if st["parents"] and is_hidden(state, oid):
            continue
        out.append((dd, oid))
    return out


def _in_view_at(state: WorldState, oid: str, st: dict) -> float | None:
    """The plan distance (to the cm) of a resting object from the agent if it is in view, else None."""
    agent = state.agent
    ax, az = agent["x"], agent["z"]
    lo_x, hi_x, lo_z, hi_z, cx, cz = _box(state, oid, st)
    qx = lo_x if ax < lo_x else hi_x if ax > hi_x else ax
    qz = lo_z if az < lo_z else hi_z if az > hi_z else az
    dd = math.hypot(qx - ax, qz - az)
    if dd > state.settings["visibilityDistance"]:
        return None
    if dd >= 0.35:
        half = state.settings["fieldOfView"] / 2 + 15.0
        fx, fz = forward(agent)
        if not (view_angle(ax, az, fx, fz, qx, qz) <= half or view_angle(ax, az, fx, fz, cx, cz) <= half):
            return None
    return round(dd, 2)


def visible_ids(state: WorldState) -> frozenset[str]:
    """Ids of the objects the agent sees now (cached per state; per-pose candidates cached)."""
    cached = state.__dict__.get("_visible")
    if cached is not None:
        return cached
    view = pose_view(state)
    if "visible" in view:
        state.__dict__["_visible"], state.__dict__["_visible_order"] = view["visible"], view["order"]
        if "sight" in view:
            state.__dict__["_sight"] = view["sight"]
        return view["visible"]
    objects = state.objects
    moved = moved_ids(state)
    held = state.held
    carried = frozenset(contents(state, held)) if held is not None and spec_of(state, held).flags["receptacle"] else ()
    cands = _pose_candidates(state)
    index = _moved_index(state, moved) if moved else None
    if index is None or not index.has_fixed:
        out = list(cands.fixed)  # furniture and fixtures: never carried, sliced, cracked or shut in
        state.__dict__["_sight"] = view["sight"] = cands
    else:  # a state built by hand with furniture moved: it is looked at where it now is
        out = [entry for entry in cands.fixed if entry[1] not in moved]
    n_fixed = len(out)
    for d, oid, chain in cands.loose:
        if oid in moved or oid in carried:
            continue
        st = objects[oid]
        if st["isSliced"] or st["isBroken"] and is_gone(state, oid):
            continue
        if chain and _shut_in(objects, chain):
            continue
        out.append((d, oid))
    if index is not None:
        by_slot, dist = index.by_slot, cands.slots
        for slot in by_slot.keys() & dist.keys():  # moved objects resting in a layout slot in view
            oid, chain = by_slot[slot]
            if oid == held or oid in carried:
                continue
            st = objects[oid]
            if st["isSliced"] or st["isBroken"] and is_gone(state, oid):
                continue
            if chain is None:  # in a receptacle that moved too: walk its ancestors
                if is_hidden(state, oid):
                    continue
            elif chain and _shut_in(objects, chain):
                continue
            out.append((dist[slot], oid))
        elsewhere = [oid for oid in index.elsewhere if oid != held]  # tested one by one
        if elsewhere:
            out.extend(_moved_in_view(state, cands, elsewhere, carried))
    if held is not None:  # the held object and what it carries, at distance 0
        out.append((0.0, held))
        out.extend((0.0, oid) for oid in carried)
    if len(out) > n_fixed:
        out.sort()
    order = list(map(_second, out))
    result = frozenset(order)
    state.__dict__["_visible"] = view["visible"] = result
    state.__dict__["_visible_order"] = view["order"] = order
    return result


_second = operator.itemgetter(1)


def _shut_in(objects: dict[str, dict], chain: tuple[str, ...]) -> bool:
    """Whether one of the enclosing receptacles (drawer, fridge, ...) in ``chain`` is closed."""
    for p in chain:
        if not objects[p]["isOpen"]:
            return True
    return False


def sight(state: WorldState) -> PoseCandidates | None:
    """The ``PoseCandidates`` whose ``fixed`` objects are all among what the state sees, or None
    (visibility reported by AI2-THOR, or furniture moved by hand). Lets a caller treat the
    furniture in view once per pose and hand state rather than once per state."""
    visible_ids(state)
    return state.__dict__.get("_sight")


def pose_view(state: WorldState) -> dict:
    """A place to keep what is seen from the agent's pose, shared by the states of an episode
    between which no object changed (``transition`` starts a new table when one does): walking
    back to a pose finds the view, and what was made of it, already there."""
    view = state.__dict__.get("_view")  # this state's own entry, once looked up
    if view is not None:
        return view
    views = state.__dict__.get("_views")
    if views is None:
        views = state.__dict__["_views"] = {}
    a = state.agent
    key = (a["x"], a["z"], a["rotation"])
    view = views.get(key)
    if view is None:
        view = views[key] = {}
    state.__dict__["_view"] = view
    return view


def visible_in_order(state: WorldState) -> list[str]:
    """Visible ids, nearest first (plan-view distance to the footprint), ties by id."""
    order = state.__dict__.get("_visible_order")
    if order is None:
        vis = visible_ids(state)
        order = state.__dict__.get("_visible_order")
        if order is None:  # visibility reported by AI2-THOR itself (thor backend): same order key
            carried = set(contents(state, state.held)) | {state.held} if state.held else set()
            def key(o: str) -> tuple[float, str]:
                if o in carried:
                    return 0.0, o
                return round(footprint_distance(state.agent, *center_and_size(state, o))[0], 2), o
            order = sorted(vis, key=key)
            state.__dict__["_visible_order"] = order
    return order


def facing_object(state: WorldState, exclude: set[str] | None = None) -> str | None:
    """What the agent's hand points at: the visible object nearest the view axis (pour, throw)."""
    exclude = exclude or set()
    best, best_key = None, None
    for oid in sorted(visible_ids(state)):
        if oid in exclude or oid == state.held:
            continue
        spec = spec_of(state, oid)
        if spec.type == "Floor":
            continue
        center, size = center_and_size(state, oid)
        ang = angle_to(state.agent, center[0], center[2])
        if ang > 30.0:
            continue
        key = (round(ang / 5.0), spec.volume)
        if best_key is None or key < best_key:
            best, best_key = oid, key
    return best
