"""Fast visibility: what can be seen from a pose is worked out once per scene and pose.

Every episode starts from the scene's start places or a layout's slots, so which of those places
are in view from a pose (``world.visibility.in_view`` over every box at once, with numpy) is
the same in every episode: ``PoseCandidates``, kept per scene and pose. A state then only checks
what is really at those places, hidden or gone, and looks one by one at the objects that rest
elsewhere (dropped, sliced). The answer is the reference's (``world.visibility``), computed with
the same arithmetic; ``tests/test_reference_differential.py`` holds it to that.

What this assumes of the world, and checks per state: an object at its scene-start place and in
its start receptacle (not in ``moved_ids``) has the box and ancestors it starts with, as long as
none of those ancestors moved; furniture that is not pickupable, not sliceable and in nothing
enclosed or pickupable (``fixed``) is seen whenever its place is in view, as long as neither it
nor an ancestor moved; only sliced objects and broken eggs are gone (``world.geometry.is_gone``).
"""

from __future__ import annotations

import bisect
import math
import operator
from collections.abc import Callable

import numpy as np

from ..world.geometry import ENCLOSED, contents, is_gone, is_hidden, plan_box, spec_of
from ..world.scenes import SceneSpec, load_scene_spec
from ..world.state import WorldState, fact
from ..world.visibility import CLOSE_M, FOV_MARGIN_DEG, in_view, view_cone, visible_in_order
from .registry import table
from .state import pose_entry

_ARRAYS = table("visibility.scene_arrays")  # scene -> numpy boxes of every start place and slot
_POSE_CANDIDATES = table("visibility.pose_candidates")  # (scene, pose, view settings) -> PoseCandidates
_IN_RANGE = table("visibility.in_range")  # (scene, x, z, view settings) -> what is within reach
_MOVED_INDEX = table("visibility.moved_index")  # id(moved set) -> _MovedIndex
_ROUNDED = table("visibility.rounded")  # plan distance -> round(distance, 2)
_BOXES = table("visibility.boxes")  # scene -> id(object dict) -> (that dict, its plan_box)
SIGHT = "sight"  # key in a pose entry: the PoseCandidates whose fixed objects the state all sees


@fact
def moved_ids(state: WorldState) -> frozenset[str]:
    """Objects away from their scene-start place or receptacle, and the ones created since."""
    scene = load_scene_spec(state.scene)
    return frozenset(oid for oid, st in state.objects.items() if _moved(scene, oid, st))


def _moved(scene: SceneSpec, oid: str, st: dict) -> bool:
    spec = scene.objects.get(oid)
    return spec is None or st["pos"] != spec.pos or st["parents"] != scene.initial[oid]["parents"]


def reindex_moved(old: frozenset[str], state: WorldState, ids) -> frozenset[str]:
    """``moved_ids`` of ``state`` from a value that may be wrong only for ``ids`` (what a step
    wrote, what a layout placed)."""
    scene = load_scene_spec(state.scene)
    objects = state.objects
    add, drop = set(), set()
    starts, initial = scene.objects, scene.initial
    for oid in ids:
        st = objects.get(oid)
        if st is None:
            now = False
        else:
            spec = starts.get(oid)
            now = spec is None or st["pos"] != spec.pos or st["parents"] != initial[oid]["parents"]
        if now and oid not in old:
            add.add(oid)
        elif not now and oid in old:
            drop.add(oid)
    if not add and not drop:
        return old  # the same set: what is built on it stays found
    return (old - drop) | add


def _rounded(value: float) -> float:
    r = _ROUNDED.get(value)
    if r is None or value == 0.0:  # 0.0 and -0.0 share a key but not a sign
        r = round(value, 2)
        if len(_ROUNDED) > 200_000:
            _ROUNDED.clear()
        _ROUNDED[value] = r
    return r


def _start_ancestors(scene: SceneSpec, oid: str) -> tuple[str, ...]:
    """The receptacles holding an object at scene start, innermost first (cycle-safe)."""
    chain: list[str] = []
    cur = scene.initial[oid]["parents"]
    while cur and cur[0] not in chain and cur[0] != oid:
        chain.append(cur[0])
        cur = scene.initial[cur[0]]["parents"]
    return tuple(chain)


def scene_arrays(scene: SceneSpec) -> dict:
    """Numpy boxes (``plan_box``) of every object at its scene-start place, then of every object
    at every place a seed's layout can put it (``placement_slots``), with the static facts the
    per-state checks use."""
    arrays = _ARRAYS.get(scene.name)
    if arrays is not None:
        return arrays
    ids = list(scene.objects)
    ancestors = {oid: _start_ancestors(scene, oid) for oid in ids}
    boxes = [plan_box(scene.objects[oid], scene.objects[oid].pos) for oid in ids]
    slots: dict[tuple[str, tuple], int] = {}
    for oid, pos in scene.placement_slots:
        slots[(oid, pos)] = len(boxes)
        boxes.append(plan_box(scene.objects[oid], pos))
    cols = np.array(boxes, dtype=float).reshape(-1, 6)
    # Slots are grouped by the receptacle they sit on (the plan point of its top): a group
    # whose every box lies beyond reach of a pose is skipped without looking at its slots.
    groups: dict[tuple[float, float], list[int]] = {}
    for (_, pos), k in slots.items():
        groups.setdefault((pos[0], pos[2]), []).append(k)
    centres = list(groups)
    radius = [max(math.hypot(max(abs(boxes[k][0] - gx), abs(boxes[k][1] - gx)),
                             max(abs(boxes[k][2] - gz), abs(boxes[k][3] - gz))) for k in groups[(gx, gz)])
              for gx, gz in centres]
    fixed = {oid: not o.flags["pickupable"] and not o.flags["sliceable"]
             and not any(scene.objects[p].type in ENCLOSED or scene.objects[p].flags["pickupable"]
                         for p in ancestors[oid])
             for oid, o in scene.objects.items()}
    arrays = {
        "ids": ids, "slots": slots, "types": {i: scene.objects[i].type for i in ids},
        "lo_x": cols[:, 0].copy(), "hi_x": cols[:, 1].copy(), "lo_z": cols[:, 2].copy(), "hi_z": cols[:, 3].copy(),
        "cx": cols[:, 4].copy(), "cz": cols[:, 5].copy(),
        "ancestors": ancestors,
        "enclosing": {oid: tuple(p for p in ancestors[oid] if scene.objects[p].type in ENCLOSED) for oid in ids},
        "fixed": fixed,
        # a fixed object, or a receptacle one of them rests in: if one moves, fixed ones may not be where they were
        "holds_fixed": {oid for oid in ids if fixed[oid]} | {p for oid in ids if fixed[oid] for p in ancestors[oid]},
        "holders": frozenset(p for oid in ids for p in ancestors[oid]),
        "n_static": len(ids),
        "group_x": np.array([c[0] for c in centres]), "group_z": np.array([c[1] for c in centres]),
        "group_radius": np.array(radius),
        "group_slots": [np.array(groups[c], dtype=np.intp) for c in centres],
        "static_index": np.arange(len(ids), dtype=np.intp),
        "slot_enclosing": {},
    }
    _ARRAYS[scene.name] = arrays
    return arrays


class _MovedIndex:
    """Where the objects of one moved set rest: layout slot -> (id, enclosing receptacles to
    check, or None to walk its ancestors), and the ids resting elsewhere. Built from the objects'
    dicts in ``was``: valid while a state's dicts for them rest where these did."""

    __slots__ = ("moved", "dicts_of", "was", "by_slot", "elsewhere", "has_fixed", "holders")

    def __init__(self, state: WorldState, moved: frozenset[str], arr: dict):
        objects, slots, enclosing, ancestors = state.objects, arr["slots"], arr["enclosing"], arr["ancestors"]
        ids = sorted(oid for oid in moved if oid in objects)
        self.moved = moved
        self.dicts_of = dicts_getter(ids)
        self.was = self.dicts_of(objects)
        self.by_slot: dict[int, tuple[str, tuple[str, ...] | None]] = {}
        self.elsewhere: list[str] = []
        self.has_fixed = not arr["holds_fixed"].isdisjoint(ids)
        self.holders = moved & arr["holders"]  # moved ones something rests in at scene start
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
                # a receptacle where it starts: a known chain; one that moved: walk the ancestors
                known = rid in enclosing and rid not in moved and moved.isdisjoint(ancestors[rid])
                chain = _slot_enclosing(arr, rid) if known else None
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
    """The ``_MovedIndex`` of this moved set, kept per set (an object that moves makes a new
    set) and rebuilt when one of its objects rests elsewhere now."""
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
    hit = _MOVED_INDEX[id(moved)] = _MovedIndex(state, moved, scene_arrays(load_scene_spec(state.scene)))
    return hit


def _slot_enclosing(arr: dict, receptacle_id: str) -> tuple[str, ...]:
    """The enclosed receptacles an object put into ``receptacle_id`` sits in, while that
    receptacle is where it starts: itself if enclosed, then its own enclosing ones."""
    cache = arr["slot_enclosing"]
    chain = cache.get(receptacle_id)
    if chain is None:
        own = (receptacle_id,) if arr["types"][receptacle_id] in ENCLOSED else ()
        chain = cache[receptacle_id] = own + arr["enclosing"][receptacle_id]
    return chain


class PoseCandidates:
    """What can be in view from one pose of a scene, whatever the episode (kept per pose).

    ``fixed``: (plan distance, id) of the furniture and fixtures in view, nearest first; they
    never move, hide or vanish, so they are seen from here in every state. ``loose``: (distance,
    id, enclosing receptacles, start ancestors) of the other objects whose scene-start place is
    in view, nearest first. ``slots``: layout slot in view -> plan distance. Whether a loose or
    slotted object is really there, hidden or gone is decided per state. ``memo`` is a place for
    what is derived from this pose: the furniture's perception per hand state (keyed on their
    dicts, ``dicts_of``), and under ``"elsewhere"`` whether an object resting outside the slots
    is in view (per dict)."""

    __slots__ = ("fixed", "fixed_ids", "dicts_of", "loose", "slots", "memo")

    def __init__(self, fixed: list, loose: list, slots: dict[int, float]):
        self.fixed = fixed
        self.fixed_ids = tuple(oid for _, oid in fixed)
        self.dicts_of = dicts_getter(self.fixed_ids)
        self.loose = loose
        self.slots = slots
        self.memo: dict = {}


def pose_candidates(state: WorldState) -> PoseCandidates:
    """The ``PoseCandidates`` of the agent's pose (kept per scene, pose and view settings)."""
    a = state.agent
    settings = state.settings
    key = (state.scene, a["x"], a["z"], a["rotation"], settings["visibilityDistance"], settings["fieldOfView"])
    hit = _POSE_CANDIDATES.get(key)
    if hit is not None:
        return hit
    arr = scene_arrays(load_scene_spec(state.scene))
    near = _in_range(state, arr)
    _, _, fx, fz, _, _ = view_cone(state)
    ok = (((near["px"] * fx + near["pz"] * fz) >= near["cos_d"]) | ((near["vx"] * fx + near["vz"] * fz) >= near["cos_dc"])
          | near["close"])
    n = near["n_static"]
    entries = near["static"]
    static = sorted([entries[i] for i in np.flatnonzero(ok[:n]).tolist()])
    in_sight = ok[n:]
    slots = {k: _rounded(d) for k, d in zip(near["slot_ids"][in_sight].tolist(), near["slot_dist"][in_sight].tolist(),
                                            strict=True)}
    ancestors = arr["ancestors"]
    hit = PoseCandidates([(d, oid) for d, oid, _, fixed in static if fixed],
                         [(d, oid, chain, ancestors[oid]) for d, oid, chain, fixed in static if not fixed], slots)
    if len(_POSE_CANDIDATES) > 20_000:
        _POSE_CANDIDATES.clear()
    _POSE_CANDIDATES[key] = hit
    return hit


def _in_range(state: WorldState, arr: dict) -> dict:
    """Every box within ``visibilityDistance`` of the agent's position, whatever its facing,
    with what ``in_view``'s test needs (kept per position: an agent turns more than it walks)."""
    a = state.agent
    settings = state.settings
    max_d, fov = settings["visibilityDistance"], settings["fieldOfView"]
    key = (state.scene, a["x"], a["z"], max_d, fov)
    hit = _IN_RANGE.get(key)
    if hit is not None:
        return hit
    ax, az = a["x"], a["z"]
    cos_half = math.cos(math.radians(min(179.0, fov / 2 + FOV_MARGIN_DEG)))  # as ``view_cone``
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
        "close": d < CLOSE_M, "n_static": n_static,
        "static": [(round(dd, 2), ids[k], enclosing[ids[k]], fixed[ids[k]])
                   for k, dd in zip(index_list[:n_static], dist[:n_static], strict=True)],
        # the layout slots in range (their index in the scene arrays) and their plan distances
        "slot_ids": index[n_static:], "slot_dist": d[n_static:],
    }
    if len(_IN_RANGE) > 20_000:
        _IN_RANGE.clear()
    _IN_RANGE[key] = hit
    return hit


def _elsewhere_in_view(state: WorldState, cands: PoseCandidates, moved, carried) -> list[tuple[float, str]]:
    """(plan distance, id) of the given objects resting outside the slots (present, not held)
    seen from here; carried ones are left out. ``in_view`` per object, kept on the pose per
    dict: slices and dropped things are looked at once from each pose they rest in view of."""
    objects = state.objects
    placed = cands.memo.get("elsewhere")
    if placed is None or len(placed) > 512:
        placed = cands.memo["elsewhere"] = {}
    out: list[tuple[float, str]] = []
    cone = None
    for oid in moved:
        st = objects[oid]
        hit = placed.get(id(st))
        if hit is None or hit[0] is not st:
            cone = cone or view_cone(state)
            hit = placed[id(st)] = (st, in_view(cone, _box(state, oid, st)))
        dd = hit[1]
        if dd is None:
            continue
        if st["isSliced"] or st["isBroken"] and is_gone(state, oid) or oid in carried:
            continue
        if st["parents"] and is_hidden(state, oid):
            continue
        out.append((dd, oid))
    return out


def _box(state: WorldState, oid: str, st: dict) -> tuple[float, ...]:
    """``plan_box`` of a resting object, kept per (copy-on-write) dict: a moved object costs one
    computation per place it rests in."""
    boxes = _BOXES.get(state.scene)
    if boxes is None:
        boxes = _BOXES[state.scene] = {}
    hit = boxes.get(id(st))
    if hit is None or hit[0] is not st:
        if len(boxes) > 5000:
            boxes.clear()
        hit = boxes[id(st)] = (st, plan_box(spec_of(state, oid), st["pos"]))
    return hit[1]


def fast_visible_in_order(state: WorldState, entry: dict) -> list[str]:
    """``visible_in_order`` from the pose's candidates (see ``_fill``)."""
    return _fill(state, entry)[visible_in_order]


def fast_visible_ids(state: WorldState, entry: dict) -> frozenset[str]:
    """``visible_ids`` from ``visible_in_order`` in the pose entry (filled if it is not there yet)."""
    order = entry.get(visible_in_order)
    return frozenset(order if order is not None else _fill(state, entry)[visible_in_order])


def _fill(state: WorldState, entry: dict) -> dict:
    """Work out what ``state`` sees into its pose ``entry``: ``visible_in_order`` and the sight
    (``SIGHT``); ``visible_ids`` is made from the order when it is asked."""
    objects = state.objects
    memo = state.memo
    moved = memo.get(moved_ids) if memo is not None else None
    if moved is None:
        moved = moved_ids(state)
    held = state.held
    carried = frozenset(contents(state, held)) if held is not None and spec_of(state, held).flags["receptacle"] else ()
    cands = pose_candidates(state)
    index = _moved_index(state, moved) if moved else None
    if index is None or not index.has_fixed:
        out = list(cands.fixed)  # furniture and fixtures: never carried, sliced, cracked or shut in
        entry[SIGHT] = cands
    else:  # furniture (or what it rests in) moved: moved ones are found below, the others checked
        ancestors = scene_arrays(load_scene_spec(state.scene))["ancestors"]
        out = [e for e in cands.fixed if e[1] not in moved
               and (moved.isdisjoint(ancestors[e[1]]) or not is_hidden(state, e[1]))]
        entry[SIGHT] = None
    n_fixed = len(out)
    holders = index.holders if index is not None else ()
    for d, oid, chain, anc in cands.loose:
        if oid in moved or oid in carried:
            continue
        st = objects[oid]
        if st["isSliced"] or st["isBroken"] and is_gone(state, oid):
            continue
        if holders and not holders.isdisjoint(anc):  # what it starts in has moved
            if is_hidden(state, oid):
                continue
        elif chain and _shut_in(objects, chain):
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
            out.extend(_elsewhere_in_view(state, cands, elsewhere, carried))
    if held is not None:  # the held object and what it carries, at distance 0
        out.append((0.0, held))
        out.extend((0.0, oid) for oid in carried)
    if len(out) > n_fixed:
        out.sort()
    entry[visible_in_order] = list(map(_second, out))
    return entry


_second = operator.itemgetter(1)


def _shut_in(objects: dict[str, dict], chain: tuple[str, ...]) -> bool:
    """Whether one of the enclosing receptacles (drawer, fridge, ...) in ``chain`` is closed."""
    for p in chain:
        if not objects[p]["isOpen"]:
            return True
    return False


def sight(state: WorldState) -> PoseCandidates | None:
    """The ``PoseCandidates`` whose ``fixed`` objects are all among what the state sees, or None
    (furniture moved by hand). Lets perception treat the furniture in view once per pose and
    hand state rather than once per state."""
    visible_in_order(state)
    return pose_entry(state).get(SIGHT)
