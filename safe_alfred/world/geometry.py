"""Where things are: positions, footprints, containment, distances and reachable poses.

Static facts come from the scene's ``SceneSpec``; dynamic ones from the state's object dicts.
What the agent can see is in ``visibility.py``.
"""

from __future__ import annotations

import math

import numpy as np

from .object_types import type_info
from .scenes import LOADED, ObjSpec, children_map, derived_spec, load_scene_spec
from .state import WorldState, fact

ENCLOSED = frozenset({"Drawer", "Cabinet", "Fridge", "Microwave", "LaundryHamper", "Box", "Safe"})
HAND_OFFSET = 0.5  # metres in front of the agent, as THOR's default hand pose

def spec_of(state: WorldState, object_id: str) -> ObjSpec:
    """The static facts of an object: a scene object, or one created by slicing or breaking (a
    created id names its source and kind, so its spec is the same in every episode)."""
    try:
        return LOADED[state.scene].specs[object_id]
    except KeyError:
        pass
    spec = load_scene_spec(state.scene).specs.get(object_id)
    if spec is None:  # a created id the scene's list does not foresee (reported by AI2-THOR)
        source, new_type, index = state.spawned[object_id]
        spec = derived_spec(spec_of(state, source), object_id, new_type, index)
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


def round4(x: float) -> float:
    """``round(x, 4)`` (AI2-THOR keeps positions to 4 decimals), without its slow decimal
    conversion when ``x`` already is the float nearest a number of at most 4 decimals."""
    try:
        if round(x * 10000.0) / 10000.0 == x:
            return x
    except (OverflowError, ValueError):  # inf, nan
        pass
    return round(x, 4)


def placed_center(spec: ObjSpec, pos) -> tuple[float, float, float]:
    """Centre of the object's box when its pivot is at ``pos``: the box moves with the pivot."""
    return (pos[0] + spec.center[0] - spec.pos[0], pos[1] + spec.center[1] - spec.pos[1],
            pos[2] + spec.center[2] - spec.pos[2])


def plan_box(spec: ObjSpec, pos) -> tuple[float, float, float, float, float, float]:
    """Plan-view box of the object with its pivot at ``pos``: (min x, max x, min z, max z, centre
    x, centre z). At its scene-start place the box is the scene's own (no sum to round)."""
    if pos == spec.pos:
        cx, cz = spec.center[0], spec.center[2]
    else:
        cx, _, cz = placed_center(spec, pos)
    hx, hz = spec.size[0] / 2, spec.size[2] / 2
    return cx - hx, cx + hx, cz - hz, cz + hz, cx, cz


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


@fact
def children(state: WorldState) -> dict[str, list[str]]:
    """receptacle id -> ids of objects resting directly in it (their innermost parent)."""
    return children_map(state.objects)


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


def ids_of_type(state: WorldState, object_type: str) -> list[str]:
    """Every object of a type, scene objects first then objects created during the episode."""
    out = list(load_scene_spec(state.scene).by_type.get(object_type, ()))
    if state.spawned:
        out += [oid for oid, (_, t, _) in state.spawned.items() if t == object_type]
    return out


@fact
def nearest_reachable_pose(state: WorldState, object_id: str) -> dict | None:
    """The reachable grid point nearest the object, facing it: AI2-THOR's TeleportFull idiom (a
    fresh dict the caller may change)."""
    pose = poses_facing(state.scene, state.agent["y"], [center_and_size(state, object_id)])[0]
    return dict(pose) if pose is not None else None


def teleport_action(pose: dict) -> dict:
    """The ``TeleportFull`` action that puts the agent at ``pose`` (``nearest_reachable_pose``)."""
    return {"action": "TeleportFull", "position": {"x": pose["x"], "y": pose["y"], "z": pose["z"]},
            "rotation": {"x": 0.0, "y": pose["rotation"], "z": 0.0}, "horizon": pose["horizon"], "standing": True}


def poses_facing(scene_name: str, y: float, boxes: list) -> list[dict | None]:
    """For each (centre, size) box: the grid point nearest its footprint (preferring 0.2 m or
    more away, a comfortable arm's length), facing its centre, camera pitched toward it."""
    grid = load_scene_spec(scene_name).reachable
    if len(grid) == 0 or not boxes:
        return [None] * len(boxes)
    gx, gz = grid[:, 0], grid[:, 1]
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


@fact
def on_grid(state: WorldState, x: float, z: float) -> bool:
    """Whether (x, z) is within 0.2 m of a reachable grid point (AI2-THOR's navigable floor)."""
    grid = load_scene_spec(state.scene).reachable
    if len(grid) == 0:
        return True
    d = ((grid[:, 0] - x) ** 2 + (grid[:, 1] - z) ** 2).min() ** 0.5
    return bool(d <= 0.2)


def receptacle_accepts(receptacle_type: str, held_type: str) -> bool:
    allowed = type_info(held_type)["placeableIn"]
    return allowed is None or receptacle_type in allowed
