"""THOR-shaped event metadata from a ``WorldState``, and a ``WorldState`` from THOR metadata.

``to_metadata`` emits exactly the top-level keys of an AI2-THOR 5.0.0 event (reference 2.1) and
the 42 per-object keys (2.2) with the same types and null conventions, so code written against
AI2-THOR reads it unchanged. ``from_metadata`` is the inverse used by the thor backend and the
action filter: it rebuilds the dynamic state from what AI2-THOR reports.
"""

from __future__ import annotations

from typing import Any

from .geometry import center_and_size, distance, position, round4, spec_of
from .scenes import load_scene_spec, recorded_parents
from .state import OBJECT_STATE_KEYS, WorldState, default_object_state
from .visibility import visible_ids


def _xyz(v) -> dict[str, float]:
    return {"x": float(v[0]), "y": float(v[1]), "z": float(v[2])}


def _edges(center, size) -> tuple[tuple[float, float], ...]:
    """(max, min) of the box along x, y and z, to AI2-THOR's 4 decimals."""
    return tuple((round4(c + s / 2), round4(c + -1 * s / 2)) for c, s in zip(center, size, strict=True))


def _corners(edges) -> list[list[float]]:
    """The box's 8 corner points (``_edges``), in AI2-THOR's order."""
    return [[x, y, z] for x in edges[0] for y in edges[1] for z in edges[2]]


def object_metadata(state: WorldState, oid: str, visible: frozenset[str], kids: dict[str, list[str]]) -> dict[str, Any]:
    spec = spec_of(state, oid)
    st = state.objects[oid]
    f = spec.flags
    center, size = center_and_size(state, oid)
    edges = _edges(center, size)
    pos = position(state, oid)
    held = oid == state.held
    vis = oid in visible
    return {
        "name": spec.name,
        "position": _xyz(pos),
        "rotation": _xyz(spec.rot),
        "visible": vis,
        "isInteractable": vis,
        "receptacle": f["receptacle"],
        "toggleable": f["toggleable"],
        "isToggled": st["isToggled"],
        "breakable": f["breakable"],
        "isBroken": st["isBroken"],
        "canFillWithLiquid": f["canFillWithLiquid"],
        "isFilledWithLiquid": st["isFilledWithLiquid"],
        "fillLiquid": st["fillLiquid"],
        "dirtyable": f["dirtyable"],
        "isDirty": st["isDirty"],
        "canBeUsedUp": f["canBeUsedUp"],
        "isUsedUp": st["isUsedUp"],
        "cookable": f["cookable"],
        "isCooked": st["isCooked"],
        "temperature": st["temperature"],
        "isHeatSource": f["isHeatSource"],
        "isColdSource": f["isColdSource"],
        "sliceable": f["sliceable"],
        "isSliced": st["isSliced"],
        "openable": f["openable"],
        "isOpen": st["isOpen"],
        "openness": float(st["openness"]),
        "pickupable": f["pickupable"],
        "isPickedUp": held,
        "moveable": f["moveable"],
        "mass": float(spec.mass),
        "salientMaterials": list(spec.materials) if spec.materials else None,
        "receptacleObjectIds": list(kids.get(oid, [])) if f["receptacle"] else None,
        "distance": round(distance(state, oid), 4),
        "objectType": spec.type,
        "objectId": oid,
        "assetId": spec.asset,
        "parentReceptacles": None if held or not st["parents"] else list(st["parents"]),
        "controlledObjects": list(spec.controls) if spec.controls else None,
        "isMoving": False,
        "axisAlignedBoundingBox": {"cornerPoints": _corners(edges), "center": _xyz(center), "size": _xyz(size)},
        "objectOrientedBoundingBox": {"cornerPoints": _corners(edges)} if f["pickupable"] or f["moveable"] else None,
    }


def _all_parents_children(state: WorldState) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for oid, st in state.objects.items():
        for p in st["parents"] or ():
            out.setdefault(p, []).append(oid)
    return out


def to_metadata(state: WorldState, screen: tuple[int, int] = (300, 300)) -> dict[str, Any]:
    """The agent metadata dict of an AI2-THOR 5.0.0 event for this state."""
    visible = visible_ids(state)
    kids = _all_parents_children(state)
    a = state.agent
    cam = {"x": a["x"], "y": a["y"] + 0.675, "z": a["z"]}
    objects = [object_metadata(state, oid, visible, kids) for oid in state.objects]
    held = state.held
    return {
        "objects": objects,
        "isSceneAtRest": True,
        "agent": {"name": "agent", "position": {"x": a["x"], "y": a["y"], "z": a["z"]},
                  "rotation": {"x": 0.0, "y": a["rotation"], "z": 0.0}, "cameraHorizon": a["horizon"],
                  "isStanding": a["standing"], "inHighFrictionArea": False},
        "heldObjectPose": {"position": cam, "rotation": {"x": 0.0, "y": a["rotation"], "z": 0.0},
                           "localPosition": {"x": 0.0, "y": -0.16, "z": 0.38},
                           "localRotation": {"x": 0.0, "y": 0.0, "z": 0.0}},
        "arm": None,
        "fov": state.settings["fieldOfView"],
        "cameraPosition": cam,
        "cameraOrthSize": 0.0,
        "thirdPartyCameras": [],
        "collided": False,
        "collidedObjects": [],
        "inventoryObjects": [{"objectId": held, "objectType": spec_of(state, held).type}] if held else [],
        "sceneName": f"{state.scene}_physics",
        "lastAction": state.last["lastAction"],
        "errorMessage": state.last["errorMessage"],
        "errorCode": state.last["errorCode"],
        "lastActionSuccess": state.last["lastActionSuccess"],
        "screenWidth": screen[0],
        "screenHeight": screen[1],
        "agentId": 0,
        "depthFormat": "Meters",
        "colors": None,
        "flatSurfacesOnGrid": [],
        "distances": [],
        "normals": [],
        "isOpenableGrid": [],
        "segmentedObjectIds": [],
        "objectIdsInBox": [],
        "actionIntReturn": 0,
        "actionFloatReturn": 0.0,
        "actionStringsReturn": None,
        "actionFloatsReturn": None,
        "actionVector3sReturn": None,
        "visibleRange": None,
        "currentTime": round(0.07 * state.step, 4),
        "sceneBounds": {"cornerPoints": [], "center": {"x": 0.0, "y": 0.0, "z": 0.0},
                        "size": {"x": 0.0, "y": 0.0, "z": 0.0}},
        "actionReturn": state.last["actionReturn"],
    }


def from_metadata(md: dict[str, Any], previous: WorldState | None = None) -> WorldState:
    """Rebuild the dynamic world state from AI2-THOR metadata (objects, agent, inventory).

    Objects AI2-THOR created during the episode (slices, cracked eggs) are recognised by their
    ``<sourceId>|<Type>_<n>`` ids. ``previous`` carries over step counters and settings.
    """
    scene = load_scene_spec(md["sceneName"].replace("_physics", ""))
    objects: dict[str, dict] = {}
    spawned: dict[str, list] = dict(previous.spawned) if previous else {}
    for o in md["objects"]:
        oid = o["objectId"]
        st = default_object_state((o["position"]["x"], o["position"]["y"], o["position"]["z"]))
        for k in OBJECT_STATE_KEYS:
            st[k] = o[k]
        parents = recorded_parents(o["objectType"], o.get("parentReceptacles"))
        st["parents"] = tuple(parents) if parents else None
        objects[oid] = st
        if oid not in scene.objects and oid not in spawned and "|" in oid:
            source, _, tail = oid.rpartition("|")
            new_type, _, idx = tail.rpartition("_")
            spawned[oid] = [source, new_type or o["objectType"], int(idx or 0)]
    held = md["inventoryObjects"][0]["objectId"] if md.get("inventoryObjects") else None
    ag = md["agent"]
    agent = {"x": ag["position"]["x"], "y": ag["position"]["y"], "z": ag["position"]["z"],
             "rotation": float(ag["rotation"]["y"]), "horizon": float(ag["cameraHorizon"]),
             "standing": bool(ag.get("isStanding", True))}
    settings = dict(previous.settings) if previous else {"visibilityDistance": 1.5, "gridSize": 0.25,
                                                          "fieldOfView": float(md.get("fov", 90.0))}
    state = WorldState(scene=scene.name, objects=objects, agent=agent, held=held,
                       step=(previous.step + 1) if previous else 0,
                       last={"lastAction": md.get("lastAction", ""), "lastActionSuccess": md.get("lastActionSuccess", True),
                             "errorMessage": md.get("errorMessage", ""), "errorCode": md.get("errorCode"),
                             "actionReturn": md.get("actionReturn")},
                       settings=settings, spawned=spawned, decay=dict(previous.decay) if previous else {},
                       # AI2-THOR decides visibility itself: trust it rather than recomputing
                       reported_visible=frozenset(o["objectId"] for o in md["objects"] if o.get("visible")))
    return state

