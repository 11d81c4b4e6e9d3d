"""Where things are: positions, footprints, containment, distances and reachable poses.

Static facts come from the scene's ``SceneSpec``; dynamic ones from the state's object dicts.
What the agent can see is in ``visibility.py``.
"""

from __future__ import annotations

import math

import numpy as np

from .object_types import type_info
from .scenes import ObjSpec, children_map, derived_spec, load_scene_spec, placement_slots, rehome_children
from .state import WorldState

ENCLOSED = frozenset({"Drawer", "Cabinet", "Fridge", "Microwave", "LaundryHamper", "Box", "Safe"})
HAND_OFFSET = 0.5  # metres in front of the agent, as THOR's default hand pose

# scene name -> objectId -> ObjSpec, scene objects and the ones created by slicing or breaking
# (a created id names its source and kind, so its spec is the same in every episode)
_SPECS: dict[str, dict[str, ObjSpec]] = {}


def spec_of(state: WorldState, object_id: str) -> ObjSpec:
    try:
        return _SPECS[state.scene][object_id]
    except KeyError:
        pass
    table = _SPECS.get(state.scene)
    if table is None:
        table = _SPECS[state.scene] = dict(load_scene_spec(state.scene).objects)
        if object_id in table:
            return table[object_id]
    source, new_type, index = state.spawned[object_id]
    spec = table[object_id] = derived_spec(spec_of(state, source), object_id, new_type, index)
    return spec


def forward(agent: dict) -> tuple[float, float]:
    r = math.radians(agent["rotation"])
    return math.sin(r), math.cos(r)


def hand_position(agent: dict) -> tuple[float, float, float]:
    fx, fz = forward(agent)
    return (agent["x"] + fx * HAND_OFFSET, agent["y"] + 0.2, agent["z"] + fz * HAND_OFFSET)


def position(state: WorldState, object_id: str) -> tuple[float, float, float]:
    """Current pivot position; a held object (and what it carries) is at the hand."""
    held = state.held
    st = state.objects[object_id]
    if held is not None and (object_id == held or (st["parents"] and held in ancestors(state, object_id))):
        return hand_position(state.agent)
    return st["pos"]


def rounded(value: float, ndigits: int) -> float:
    """``round(value, ndigits)``, memoised: distances and coordinates come from a small set of
    grid and layout values, and Python's decimal rounding is slow."""
    table = _ROUNDED.get(ndigits)
    if table is None:
        table = _ROUNDED[ndigits] = {}
    r = table.get(value)
    if r is None or value == 0.0:  # 0.0 and -0.0 share a key but not a sign
        r = round(value, ndigits)
        if len(table) > 200_000:
            table.clear()
        table[value] = r
    return r


_ROUNDED: dict[int, dict[float, float]] = {}


def placed_center(spec: ObjSpec, pos) -> tuple[float, float, float]:
    """Centre of the object's box when its pivot is at ``pos``: the box moves with the pivot."""
    return (pos[0] + spec.center[0] - spec.pos[0], pos[1] + spec.center[1] - spec.pos[1],
            pos[2] + spec.center[2] - spec.pos[2])


def center_and_size(state: WorldState, object_id: str):
    spec = spec_of(state, object_id)
    return placed_center(spec, position(state, object_id)), spec.size


def primary_parent(state: WorldState, object_id: str) -> str | None:
    parents = state.objects[object_id]["parents"]
    return parents[0] if parents else None


def ancestors(state: WorldState, object_id: str) -> list[str]:
    """The chain of receptacles holding the object, innermost first (cycle-safe)."""
    chain: list[str] = []
    cur = state.objects[object_id]["parents"]
    while cur:
        p = cur[0]
        if p in chain or p == object_id:
            break
        chain.append(p)
        cur = state.objects[p]["parents"]
    return chain


def contents(state: WorldState, receptacle_id: str, kids: dict[str, list[str]] | None = None) -> list[str]:
    """Everything inside/on the receptacle, transitively (food in a pan on a burner)."""
    kids = children(state) if kids is None else kids
    out: list[str] = []
    stack = list(kids.get(receptacle_id, ()))
    while stack:
        oid = stack.pop()
        if oid in out or oid == receptacle_id:
            continue
        out.append(oid)
        stack.extend(kids.get(oid, ()))
    return sorted(out)


def children(state: WorldState) -> dict[str, list[str]]:
    """receptacle id -> ids of objects resting directly in it (their innermost parent), cached."""
    cached = state.__dict__.get("_children")
    if cached is not None:
        return cached
    out = state.__dict__["_children"] = children_map(state.objects)
    return out


def carry_children(prev: WorldState, state: WorldState, changed) -> None:
    """Give ``state`` the children map of ``prev`` (if it has one), updated for the objects in
    ``changed`` (the only ones whose parent may differ): no walk over every object."""
    kids = prev.__dict__.get("_children")
    if kids is not None:
        state.__dict__["_children"] = rehome_children(kids, prev.objects, state.objects, changed)


def is_hidden(state: WorldState, object_id: str) -> bool:
    """Inside a closed Drawer/Cabinet/Fridge/Microwave/Box/...: AI2-THOR cannot see or reach it."""
    for p in ancestors(state, object_id):
        if spec_of(state, p).type in ENCLOSED and not state.objects[p]["isOpen"]:
            return True
    return False


def is_gone(state: WorldState, object_id: str) -> bool:
    """A sliced or cracked original: still listed by AI2-THOR, but no longer seen or touched."""
    st = state.objects[object_id]
    if st["isSliced"]:
        return True
    return st["isBroken"] and spec_of(state, object_id).type == "Egg"


def footprint_distance(agent: dict, center, size) -> tuple[float, float, float]:
    """Plan-view distance from the agent to the nearest point of the object's box, and that point."""
    ax, az = agent["x"], agent["z"]
    px = min(max(ax, center[0] - size[0] / 2), center[0] + size[0] / 2)
    pz = min(max(az, center[2] - size[2] / 2), center[2] + size[2] / 2)
    return math.hypot(px - ax, pz - az), px, pz


def angle_to(agent: dict, x: float, z: float) -> float:
    fx, fz = forward(agent)
    return view_angle(agent["x"], agent["z"], fx, fz, x, z)


def view_angle(ax: float, az: float, fx: float, fz: float, x: float, z: float) -> float:
    """Degrees between the facing direction (fx, fz) and the direction from (ax, az) to (x, z)."""
    dx, dz = x - ax, z - az
    n = math.hypot(dx, dz)
    if n < 1e-9:
        return 0.0
    return math.degrees(math.acos(max(-1.0, min(1.0, (dx * fx + dz * fz) / n))))


def distance(state: WorldState, object_id: str) -> float:
    """THOR's ``distance``: agent pivot to object pivot, in 3-D."""
    p = position(state, object_id)
    a = state.agent
    return math.dist((a["x"], a["y"], a["z"]), p)


def moved_ids(state: WorldState) -> frozenset[str]:
    """Objects no longer at their scene-start position (held, put, dropped, created). Cached."""
    cached = state.__dict__.get("_moved")
    if cached is None:
        scene = load_scene_spec(state.scene)
        cached = frozenset(oid for oid, st in state.objects.items()
                           if oid not in scene.objects or st["pos"] != scene.objects[oid].pos)
        state.__dict__["_moved"] = cached
    return cached


def mark_moved(state: WorldState, object_id: str) -> None:
    state.__dict__["_moved"] = moved_ids(state) | {object_id}


def ids_of_type(state: WorldState, object_type: str) -> list[str]:
    """Every object of a type, scene objects first then objects created during the episode."""
    scene = load_scene_spec(state.scene)
    index = scene.__dict__.get("_by_type")
    if index is None:
        index = {}
        for oid, spec in scene.objects.items():
            index.setdefault(spec.type, []).append(oid)
        scene.__dict__["_by_type"] = index
    out = list(index.get(object_type, ()))
    if state.spawned:
        out += [oid for oid, (_, t, _) in state.spawned.items() if t == object_type]
    return out


_POSE_CACHE: dict[tuple, dict | None] = {}


def nearest_reachable_pose(state: WorldState, object_id: str) -> dict | None:
    """The reachable grid point nearest the object, facing it: AI2-THOR's TeleportFull idiom."""
    y = state.agent["y"]
    key = (state.scene, object_id, position(state, object_id), y)
    if key not in _POSE_CACHE:
        if len(_POSE_CACHE) > 200_000:
            _POSE_CACHE.clear()
            _POSES_FILLED.clear()
            _SCENE_POSES.clear()
        if (state.scene, y) not in _POSES_FILLED:
            _fill_scene_poses(state.scene, y)
        if key not in _POSE_CACHE:
            center, size = center_and_size(state, object_id)
            _POSE_CACHE[key] = _poses_facing(state.scene, y, [(center, size)])[0]
    pose = _POSE_CACHE[key]
    return dict(pose) if pose is not None else None


def teleport_action(pose: dict) -> dict:
    """The ``TeleportFull`` action that puts the agent at ``pose`` (``nearest_reachable_pose``)."""
    return {"action": "TeleportFull", "position": {"x": pose["x"], "y": pose["y"], "z": pose["z"]},
            "rotation": {"x": 0.0, "y": pose["rotation"], "z": 0.0}, "horizon": pose["horizon"], "standing": True}


def find_poses(scene_name: str, y: float) -> list[dict]:
    """Every distinct pose ``nearest_reachable_pose`` gives for an object at its scene-start
    place or at a place a layout can put it: where the agent stands after a find, in order."""
    if (scene_name, y) not in _POSES_FILLED:
        _fill_scene_poses(scene_name, y)
    return _SCENE_POSES[(scene_name, y)]


_POSES_FILLED: set[tuple[str, float]] = set()
_SCENE_POSES: dict[tuple[str, float], list[dict]] = {}


def _fill_scene_poses(scene_name: str, y: float) -> None:
    """Poses for every object at its scene-start place and at every place a layout can put it,
    in one vectorised pass (one call per object cost more than all of them together)."""
    _POSES_FILLED.add((scene_name, y))
    scene = load_scene_spec(scene_name)
    places = [(oid, o.pos) for oid, o in scene.objects.items()] + list(placement_slots(scene_name))
    boxes = [(placed_center(scene.objects[oid], pos), scene.objects[oid].size) for oid, pos in places]
    poses: list[dict | None] = []
    for start in range(0, len(boxes), 64):  # in chunks: a few hundred kB of arrays at a time
        poses += _poses_facing(scene_name, y, boxes[start:start + 64])
    for (oid, pos), pose in zip(places, poses, strict=True):
        _POSE_CACHE[(scene_name, oid, tuple(pos), y)] = pose
    distinct = {(p["x"], p["z"], p["rotation"], p["horizon"]): p for p in poses if p is not None}
    _SCENE_POSES[(scene_name, y)] = [distinct[k] for k in sorted(distinct)]


def _grid_columns(scene_name: str) -> tuple[np.ndarray, np.ndarray]:
    """The reachable grid's x and z as contiguous arrays (cached)."""
    cols = _GRID_COLUMNS.get(scene_name)
    if cols is None:
        grid = load_scene_spec(scene_name).reachable
        cols = _GRID_COLUMNS[scene_name] = (np.ascontiguousarray(grid[:, 0]), np.ascontiguousarray(grid[:, 1]))
    return cols


_GRID_COLUMNS: dict[str, tuple[np.ndarray, np.ndarray]] = {}


def _poses_facing(scene_name: str, y: float, boxes: list) -> list[dict | None]:
    """For each (centre, size) box: the grid point nearest its footprint (preferring 0.2 m or
    more away, a comfortable arm's length), facing its centre, camera pitched toward it."""
    gx, gz = _grid_columns(scene_name)
    if len(gx) == 0 or not boxes:
        return [None] * len(boxes)
    lo_x = np.array([[c[0] - s[0] / 2] for c, s in boxes])
    hi_x = np.array([[c[0] + s[0] / 2] for c, s in boxes])
    lo_z = np.array([[c[2] - s[2] / 2] for c, s in boxes])
    hi_z = np.array([[c[2] + s[2] / 2] for c, s in boxes])
    dx = gx - np.minimum(np.maximum(gx, lo_x), hi_x)  # to each footprint, clipped per axis
    dz = gz - np.minimum(np.maximum(gz, lo_z), hi_z)
    d = np.sqrt(dx * dx + dz * dz)
    best = (d + (d < 0.2)).argmin(axis=1).tolist()
    xs, zs = gx.tolist(), gz.tolist()
    cam_y = y + 0.675
    poses: list[dict | None] = []
    for (center, _), idx in zip(boxes, best, strict=True):
        x, z = xs[idx], zs[idx]
        yaw = math.degrees(math.atan2(center[0] - x, center[2] - z)) % 360.0
        horiz_d = max(math.hypot(center[0] - x, center[2] - z), 0.1)
        pitch = math.degrees(math.atan2(cam_y - center[1], horiz_d))
        horizon = float(min(60, max(-30, 30 * round(pitch / 30))))
        poses.append({"x": x, "y": y, "z": z, "rotation": round(yaw, 2), "horizon": horizon, "standing": True})
    return poses


def receptacle_accepts(receptacle_type: str, held_type: str) -> bool:
    allowed = type_info(held_type)["placeableIn"]
    return allowed is None or receptacle_type in allowed
