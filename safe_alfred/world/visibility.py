"""What the agent can see: the objects in view from its pose, nearest first, and what it faces.

AI2-THOR decides visibility with the camera and ray casts; the symbolic world uses the same
ingredients in plan view. An object is in view when its footprint comes within
``visibilityDistance`` of the agent and either the footprint's nearest point or its centre lies
inside the camera's horizontal field of view widened by 15 degrees (anything under 0.35 m away
is in view whatever the facing); it is seen when it is in view, not hidden in a closed enclosed
receptacle and not a sliced-away original. The held object, and what it carries, are seen at
distance 0. Each object is looked at where its dict puts it, every time: this is the reference
that ``safe_alfred.accel``'s per-pose tables reproduce.
"""

from __future__ import annotations

import math

from .geometry import (
    angle_to,
    center_and_size,
    contents,
    footprint_distance,
    forward,
    is_gone,
    is_hidden,
    plan_box,
    spec_of,
)
from .state import WorldState, fact

CLOSE_M = 0.35  # nearer than this, an object is in view whatever the agent faces
FOV_MARGIN_DEG = 15.0


def view_cone(state: WorldState) -> tuple[float, float, float, float, float, float]:
    """(x, z, facing x, facing z, cosine of the widened half field of view, reach) of the agent."""
    a, settings = state.agent, state.settings
    fx, fz = forward(a)
    cos_half = math.cos(math.radians(min(179.0, settings["fieldOfView"] / 2 + FOV_MARGIN_DEG)))
    return a["x"], a["z"], fx, fz, cos_half, settings["visibilityDistance"]


def in_view(cone: tuple[float, ...], box: tuple[float, ...]) -> float | None:
    """The plan distance (to the cm) from the agent to the box (``geometry.plan_box``) if the box
    is in view of ``cone`` (``view_cone``), else None."""
    ax, az, fx, fz, cos_half, reach = cone
    lo_x, hi_x, lo_z, hi_z, cx, cz = box
    px = (lo_x if ax < lo_x else hi_x if ax > hi_x else ax) - ax  # to the footprint's nearest point
    pz = (lo_z if az < lo_z else hi_z if az > hi_z else az) - az
    d = math.sqrt(px * px + pz * pz)
    if d > reach:
        return None
    if not d < CLOSE_M:
        vx, vz = cx - ax, cz - az  # to the centre
        dc = math.sqrt(vx * vx + vz * vz) + 1e-9
        if px * fx + pz * fz < cos_half * (d + 1e-9) and vx * fx + vz * fz < cos_half * dc:
            return None
    return round(d, 2)


def carried_ids(state: WorldState) -> tuple[str, ...]:
    """What the held object carries (an egg on a held plate)."""
    held = state.held
    if held is None or not spec_of(state, held).flags["receptacle"]:
        return ()
    return tuple(contents(state, held))


@fact
def visible_ids(state: WorldState) -> frozenset[str]:
    """Ids of the objects the agent sees now."""
    return frozenset(visible_in_order(state))


@fact
def visible_in_order(state: WorldState) -> list[str]:
    """Visible ids, nearest first (plan-view distance to the footprint), ties by id."""
    if state.reported_visible is not None:
        return _reported_in_order(state)
    held = state.held
    carried = carried_ids(state)
    cone = view_cone(state)
    seen: list[tuple[float, str]] = []
    for oid, st in state.objects.items():
        if oid == held or oid in carried:
            continue
        d = in_view(cone, plan_box(spec_of(state, oid), st["pos"]))
        if d is not None and not is_gone(state, oid) and not is_hidden(state, oid):
            seen.append((d, oid))
    if held is not None:  # the held object and what it carries, at distance 0
        seen.append((0.0, held))
        seen.extend((0.0, oid) for oid in carried)
    seen.sort()
    return [oid for _, oid in seen]


def _reported_in_order(state: WorldState) -> list[str]:
    """What AI2-THOR reported as visible (the thor backend), in the same nearest-first order."""
    carried = set(contents(state, state.held)) | {state.held} if state.held else set()

    def key(o: str) -> tuple[float, str]:
        if o in carried:
            return 0.0, o
        return round(footprint_distance(state.agent, *center_and_size(state, o))[0], 2), o

    return sorted(state.reported_visible, key=key)


CAMERA_ABOVE_AGENT_M = 0.675  # AI2-THOR's camera sits this far above the agent's reported y


def facing_object(state: WorldState, exclude: set[str] | None = None) -> str | None:
    """What the agent's hand points at (pour, throw): of the visible objects nearest the heading (in
    10-degree bands), the nearest to the agent's eyes: the coffee machine on the counter the agent
    faces, not the drawer front below it nor the stool across the room. A surface gives way to what
    stands on it in the same band (water poured at the plant on the counter goes into the plant)."""
    exclude = exclude or set()
    eye = state.agent["y"] + CAMERA_ABOVE_AGENT_M
    near: list[tuple[int, float, float, str]] = []
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
        d = math.dist((center[0], center[1], center[2]), (state.agent["x"], eye, state.agent["z"]))
        near.append((round(ang / 10.0), round(d, 3), spec.volume, oid))
    if not near:
        return None
    band = min(near)[0]
    close = [c for c in near if c[0] == band]
    holders = {p for c in close for p in (state.objects[c[3]]["parents"] or ())}
    return min((c for c in close if c[3] not in holders), default=min(close))[3]
