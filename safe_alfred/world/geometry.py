"""Where things are and what the agent can see: positions, containment, visibility, facing.

AI2-THOR decides visibility with the camera and ray casts; the symbolic world uses the same
ingredients in plan view: within ``visibilityDistance`` of the agent (to the nearest point of the
object's footprint), inside the camera's horizontal field of view, not hidden in a closed
enclosed receptacle, and not a sliced-away original.
"""

from __future__ import annotations

import math

from .object_types import type_info
from .scenes import ObjSpec, derived_spec, load_scene_spec
from .state import WorldState

ENCLOSED = frozenset({"Drawer", "Cabinet", "Fridge", "Microwave", "LaundryHamper", "Box", "Safe"})
HAND_OFFSET = 0.5  # metres in front of the agent, as THOR's default hand pose


def spec_of(state: WorldState, object_id: str) -> ObjSpec:
    scene = load_scene_spec(state.scene)
    spec = scene.objects.get(object_id)
    if spec is not None:
        return spec
    cache = scene.__dict__.setdefault("_derived", {})
    spec = cache.get(object_id)
    if spec is None:
        source, new_type, index = state.spawned[object_id]
        spec = derived_spec(spec_of(state, source), object_id, new_type, index)
        cache[object_id] = spec
    return spec


def forward(agent: dict) -> tuple[float, float]:
    r = math.radians(agent["rotation"])
    return math.sin(r), math.cos(r)


def hand_position(agent: dict) -> tuple[float, float, float]:
    fx, fz = forward(agent)
    return (agent["x"] + fx * HAND_OFFSET, agent["y"] + 0.2, agent["z"] + fz * HAND_OFFSET)


def position(state: WorldState, object_id: str) -> tuple[float, float, float]:
    """Current pivot position; a held object (and what it carries) is at the hand."""
    if state.held is not None and (object_id == state.held or state.held in ancestors(state, object_id)):
        return hand_position(state.agent)
    return state.objects[object_id]["pos"]


def center_and_size(state: WorldState, object_id: str):
    spec = spec_of(state, object_id)
    pos = position(state, object_id)
    c = (pos[0] + spec.center[0] - spec.pos[0], pos[1] + spec.center[1] - spec.pos[1],
         pos[2] + spec.center[2] - spec.pos[2])
    return c, spec.size


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
    out: dict[str, list[str]] = {}
    for oid, st in state.objects.items():
        if st["parents"]:
            out.setdefault(st["parents"][0], []).append(oid)
    state.__dict__["_children"] = out
    return out


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
    dx, dz = x - agent["x"], z - agent["z"]
    n = math.hypot(dx, dz)
    if n < 1e-9:
        return 0.0
    c = max(-1.0, min(1.0, (dx * fx + dz * fz) / n))
    return math.degrees(math.acos(c))


def visible_ids(state: WorldState) -> frozenset[str]:
    """Ids of the objects the agent sees now (cached per state)."""
    cached = state.__dict__.get("_visible")
    if cached is not None:
        return cached
    agent = state.agent
    max_d = state.settings["visibilityDistance"]
    half_fov = state.settings["fieldOfView"] / 2 + 15.0
    out = set()
    for oid in state.objects:
        if oid == state.held:
            out.add(oid)
            continue
        if is_gone(state, oid) or is_hidden(state, oid):
            continue
        if state.held is not None and state.held in ancestors(state, oid):
            out.add(oid)
            continue
        center, size = center_and_size(state, oid)
        d, px, pz = footprint_distance(agent, center, size)
        if d > max_d:
            continue
        if d < 0.35 or angle_to(agent, px, pz) <= half_fov or angle_to(agent, center[0], center[2]) <= half_fov:
            out.add(oid)
    result = frozenset(out)
    state.__dict__["_visible"] = result
    return result


def distance(state: WorldState, object_id: str) -> float:
    """THOR's ``distance``: agent pivot to object pivot, in 3-D."""
    p = position(state, object_id)
    a = state.agent
    return math.dist((a["x"], a["y"], a["z"]), p)


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


def nearest_reachable_pose(state: WorldState, object_id: str) -> dict | None:
    """The reachable grid point nearest the object, facing it: AI2-THOR's TeleportFull idiom."""
    scene = load_scene_spec(state.scene)
    grid = scene.reachable
    if len(grid) == 0:
        return None
    center, size = center_and_size(state, object_id)
    lo_x, hi_x = center[0] - size[0] / 2, center[0] + size[0] / 2
    lo_z, hi_z = center[2] - size[2] / 2, center[2] + size[2] / 2
    px = grid[:, 0].clip(lo_x, hi_x)
    pz = grid[:, 1].clip(lo_z, hi_z)
    dx = grid[:, 0] - px
    dz = grid[:, 1] - pz
    d = (dx * dx + dz * dz) ** 0.5
    # prefer points at a comfortable arm's length (0.25 m or more from the footprint)
    penalty = (d < 0.2) * 1.0
    idx = int((d + penalty).argmin())
    x, z = float(grid[idx, 0]), float(grid[idx, 1])
    yaw = math.degrees(math.atan2(center[0] - x, center[2] - z)) % 360.0
    horiz_d = max(math.hypot(center[0] - x, center[2] - z), 0.1)
    cam_y = state.agent["y"] + 0.675
    pitch = math.degrees(math.atan2(cam_y - center[1], horiz_d))
    horizon = float(min(60, max(-30, 30 * round(pitch / 30))))
    return {"x": x, "y": state.agent["y"], "z": z, "rotation": round(yaw, 2), "horizon": horizon,
            "standing": True}


def receptacle_accepts(receptacle_type: str, held_type: str) -> bool:
    allowed = type_info(held_type)["placeableIn"]
    return allowed is None or receptacle_type in allowed
