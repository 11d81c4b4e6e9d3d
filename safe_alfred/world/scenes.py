"""iTHOR floor plans: the static description of a scene and its initial world state.

A ``SceneSpec`` holds what never changes during an episode (object identities, types, sizes,
capabilities, the reachable grid); a ``WorldState`` (``state.py``) holds what does. Scene data
comes from the real AI2-THOR 5.0.0 scene-start metadata (``data/scenes/*.json.gz``).
"""

from __future__ import annotations

import gzip
import json
import math
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

import numpy as np

from .object_types import FLAGS, SLICE_RESULT, object_types, type_info
from .state import WorldState, default_object_state

KITCHENS = [f"FloorPlan{i}" for i in range(1, 31)]
LIVING_ROOMS = [f"FloorPlan{i}" for i in range(201, 231)]
BEDROOMS = [f"FloorPlan{i}" for i in range(301, 331)]
BATHROOMS = [f"FloorPlan{i}" for i in range(401, 431)]
ALL_SCENES = KITCHENS + LIVING_ROOMS + BEDROOMS + BATHROOMS
ROOM_TYPES = {"kitchen": KITCHENS, "living_room": LIVING_ROOMS, "bedroom": BEDROOMS, "bathroom": BATHROOMS}


def room_type(scene: str) -> str:
    n = int(re.findall(r"\d+", scene)[0])
    return {0: "kitchen", 2: "living_room", 3: "bedroom", 4: "bathroom"}[n // 100]


def canonical_scene(scene: str) -> str:
    """``FloorPlan1_physics`` and ``floorplan1`` both mean ``FloorPlan1``; unknown names raise."""
    m = re.fullmatch(r"(?i)floorplan(\d+)(_physics)?", scene.strip())
    name = f"FloorPlan{int(m.group(1))}" if m else scene
    if name not in ALL_SCENES:
        raise ValueError(f"unknown iTHOR scene {scene!r}: expected FloorPlan1-30, 201-230, 301-330 or 401-430")
    return name


class ObjSpec:
    """Static facts about one object: identity, type, geometry at scene start, capabilities."""

    __slots__ = ("id", "name", "type", "asset", "pos", "rot", "center", "size", "flags", "materials",
                 "mass", "controls", "volume")

    def __init__(self, id: str, name: str, type: str, asset: str, pos, rot, center, size, flags: dict,
                 materials, mass: float, controls):
        self.id, self.name, self.type, self.asset = id, name, type, asset
        self.pos, self.rot, self.center, self.size = tuple(pos), tuple(rot), tuple(center), tuple(size)
        self.flags, self.materials, self.mass = flags, (tuple(materials) if materials else None), mass
        self.controls = tuple(controls) if controls else None
        self.volume = max(self.size[0] * self.size[1] * self.size[2], 1e-6)


def derived_spec(source: ObjSpec, new_id: str, new_type: str, index: int) -> ObjSpec:
    """Spec of an object created by slicing or breaking ``source`` (``<sourceId>|<Type>_<n>``)."""
    t = type_info(new_type)
    flags = {f: bool(t[f]) for f in FLAGS}
    size = (0.05, 0.03, 0.05)
    offset = (index - 3) * 0.02
    pos = (source.pos[0] + offset, source.pos[1], source.pos[2])
    return ObjSpec(new_id, f"{new_type}_{index}", new_type, "", pos, source.rot, pos, size, flags,
                   t["salientMaterials"], t["mass"], None)


@dataclass
class SceneSpec:
    name: str
    objects: dict[str, ObjSpec]
    initial: dict[str, dict]
    agent_start: dict
    reachable: np.ndarray  # (N, 2) x, z grid points
    interaction_poses: dict[str, list]
    floor_id: str
    water_targets: dict[str, str] = field(default_factory=dict)  # Faucet/ShowerHead -> basin
    knob_of: dict[str, str] = field(default_factory=dict)  # StoveBurner -> its StoveKnob
    types_present: tuple[str, ...] = ()
    # indexes of the static data, made once when the scene is loaded
    by_type: dict[str, tuple[str, ...]] = field(default_factory=dict)  # type -> ids, in scene order
    heat_sources: tuple[str, ...] = ()
    cold_sources: tuple[str, ...] = ()
    water_sources: tuple[str, ...] = ()  # running-water sources (faucets, showers), sorted
    burners: tuple[str, ...] = ()
    candles: tuple[str, ...] = ()
    # the objects a seed may re-place, in draw order, each with the receptacles that accept it
    # (and where it goes in each: ``placed_position``)
    placement_options: tuple[tuple[str, tuple[tuple[ObjSpec, tuple[float, float, float]], ...]], ...] = ()
    # every (objectId, position) some seed's layout can put an object at
    placement_slots: tuple[tuple[str, tuple[float, float, float]], ...] = ()
    # every object's spec: the scene's own and the ones slicing or cracking can create
    specs: dict[str, ObjSpec] = field(default_factory=dict)

    def spec(self, object_id: str) -> ObjSpec:
        return self.objects[object_id]


def _load_raw(name: str) -> dict:
    path = resources.files("safe_alfred.world").joinpath(f"data/scenes/{name}.json.gz")
    return json.loads(gzip.decompress(path.read_bytes()))


# every scene read so far, by its canonical name (the loader's own store: static data only)
LOADED: dict[str, SceneSpec] = {}


def recorded_parents(obj_type: str, parents: list[str] | None) -> list[str] | None:
    """The receptacles AI2-THOR lists an object in, as the world takes them: a floor rests in
    nothing (FloorPlan329's metadata lists the bin as the floor's parent)."""
    return None if obj_type == "Floor" else parents


@cache
def load_scene_spec(scene: str) -> SceneSpec:
    name = canonical_scene(scene)
    if name in LOADED:
        return LOADED[name]
    raw = _load_raw(name)
    objects: dict[str, ObjSpec] = {}
    initial: dict[str, dict] = {}
    for rec in raw["objects"]:
        t = object_types()[rec["type"]]
        flags = {f: bool(rec.get("flags", {}).get(f, t[f])) for f in FLAGS}
        mats = rec["mat"] if "mat" in rec else t["salientMaterials"]
        spec = ObjSpec(rec["id"], rec["name"], rec["type"], rec["asset"], rec["pos"], rec["rot"],
                       rec["center"], rec["size"], flags, mats, rec.get("mass", t["mass"]), rec.get("controls"))
        objects[spec.id] = spec
        st = default_object_state(spec.pos)
        st.update(rec.get("state", {}))
        initial[spec.id] = st
    # Parents: the smallest containing receptacle first (it is the one the object really rests in).
    for rec in raw["objects"]:
        parents = recorded_parents(rec["type"], rec.get("parents"))
        if parents:
            parents = [p for p in parents if p in objects]
            parents.sort(key=lambda p: (objects[p].type == "Floor", objects[p].volume))
            initial[rec["id"]]["parents"] = tuple(parents) or None
    floors = [o for o in objects.values() if o.type == "Floor"]
    floor_id = max(floors, key=lambda o: o.volume).id
    spec = SceneSpec(name=name, objects=objects, initial=initial, agent_start=raw["agent"],
                     reachable=np.asarray(raw["reachable"], dtype=float).reshape(-1, 2),
                     interaction_poses=raw["interactionPoses"], floor_id=floor_id)
    basins = [o for o in objects.values() if o.type in ("SinkBasin", "BathtubBasin")]
    for o in objects.values():
        if o.type in ("Faucet", "ShowerHead") and basins:
            pool = [b for b in basins if b.type == "BathtubBasin"] if o.type == "ShowerHead" else basins
            pool = pool or basins
            spec.water_targets[o.id] = min(pool, key=lambda b: math.dist(b.center, o.center)).id
        if o.controls:
            for burner in o.controls:
                spec.knob_of[burner] = o.id
    spec.types_present = tuple(sorted({o.type for o in objects.values()}))
    for o in objects.values():
        spec.by_type.setdefault(o.type, ())
        spec.by_type[o.type] += (o.id,)
    spec.heat_sources = tuple(o.id for o in objects.values() if o.flags["isHeatSource"])
    spec.cold_sources = tuple(o.id for o in objects.values() if o.flags["isColdSource"])
    spec.water_sources = tuple(sorted(spec.water_targets))
    spec.burners = spec.by_type.get("StoveBurner", ())
    spec.candles = spec.by_type.get("Candle", ())
    spec.placement_options = _placement_options(spec)
    spec.placement_slots = tuple(sorted({(oid, pos) for oid, options in spec.placement_options for _, pos in options}))
    spec.specs = dict(objects)
    for o in objects.values():  # what slicing or cracking makes: ``<sourceId>|<Type>_<n>``
        made = SLICE_RESULT.get(o.type, (f"{o.type}Sliced", 4)) if o.flags["sliceable"] else None
        if o.type == "Egg":
            made = ("EggCracked", 1)
        if made is None or made[0] not in object_types():
            continue
        for i in range(made[1]):
            new_id = f"{o.id}|{made[0]}_{i}"
            spec.specs[new_id] = derived_spec(o, new_id, made[0], i)
    LOADED[name] = spec
    return spec


def _placement_options(spec: SceneSpec) -> tuple[tuple[str, tuple[tuple[ObjSpec, tuple], ...]], ...]:
    """The objects a seed may re-place, in draw order, each with the receptacles that accept it.

    An object is movable if it is pickupable and nothing rests in it at scene start; the
    receptacles exclude the Floor and object-specific ones (a toaster takes only bread).
    """
    receptacles = [o for o in spec.objects.values()
                   if o.flags["receptacle"] and o.type not in ("Floor",) and type_info(o.type)["objectSpecificAccepts"] is None]
    has_children = {p for st in spec.initial.values() for p in (st["parents"] or ())}
    out = []
    for oid in sorted(spec.objects):
        o = spec.objects[oid]
        if not o.flags["pickupable"] or oid in has_children:
            continue
        allowed = type_info(o.type)["placeableIn"]
        out.append((oid, tuple((r, placed_position(r)) for r in receptacles
                               if (allowed is None or r.type in allowed) and r.id != oid)))
    return tuple(out)


class LayoutRandom:
    """``numpy.random.default_rng(seed)``'s ``random()`` and ``integers(n)``, replayed from the
    raw 64-bit outputs of its PCG64 bit generator.

    Layouts have always been drawn with those two calls; numpy's scalar calls cost microseconds
    each, which made re-placing objects the slowest part of a reset. The replay follows numpy's
    algorithms: ``random()`` is the top 53 bits of one output; ``integers(n)`` is Lemire's
    bounded method on 32-bit halves, the bit generator keeping the unused upper half of an
    output for the next 32-bit draw. ``tests/test_world_layout.py`` checks it against numpy.
    """

    __slots__ = ("_bits", "_next_raw", "_half")

    def __init__(self, seed: int):
        self._bits = np.random.PCG64(seed)
        self._next_raw = iter(()).__next__  # the next of the outputs drawn so far (raises when none is left)
        self._half: int | None = None

    def _uint64(self) -> int:
        try:
            return self._next_raw()
        except StopIteration:
            self._next_raw = iter(self._bits.random_raw(64).tolist()).__next__
            return self._next_raw()

    def _uint32(self) -> int:
        half = self._half
        if half is not None:
            self._half = None
            return half
        value = self._uint64()
        self._half = value >> 32
        return value & 0xFFFFFFFF

    # ``random`` takes its output inline: most of a layout's draws are its own
    def random(self) -> float:
        try:
            value = self._next_raw()
        except StopIteration:
            value = self._uint64()
        return (value >> 11) * (1.0 / 9007199254740992.0)

    def integers(self, n: int) -> int:
        """An integer in [0, n), for 1 <= n < 2**32."""
        if n == 1:
            return 0
        m = self._uint32() * n
        leftover = m & 0xFFFFFFFF
        if leftover < n:
            threshold = (0xFFFFFFFF - (n - 1)) % n
            while leftover < threshold:
                m = self._uint32() * n
                leftover = m & 0xFFFFFFFF
        return m >> 32


def placed_position(target: ObjSpec) -> tuple[float, float, float]:
    """Where a seed puts a small object it re-places into ``target``: the centre of its top."""
    return (target.center[0], target.center[1] + target.size[1] / 2, target.center[2])


def placement_slots(scene: str) -> tuple[tuple[str, tuple[float, float, float]], ...]:
    """Every (objectId, position) some seed's layout can put an object at."""
    return load_scene_spec(scene).placement_slots


def _replace_objects(spec: SceneSpec, objects: dict[str, dict], seed: int,
                     keep: frozenset[str] = frozenset()) -> None:
    """Deterministically re-place small objects into receptacles that accept them (seed != 0),
    except the objects in ``keep``, which neither move nor receive one."""
    rng = LayoutRandom(seed)
    draw, pick = rng.random, rng.integers
    for oid, options in spec.placement_options:
        if keep:
            options = tuple(o for o in options if o[0].id not in keep)
        if draw() < 0.5 or not options or oid in keep:
            continue
        target, pos = options[pick(len(options))]
        st = dict(objects[oid])
        st["parents"] = (target.id,)
        st["pos"] = pos
        objects[oid] = st


def children_map(objects: dict[str, dict]) -> dict[str, list[str]]:
    """receptacle id -> ids of the objects resting directly in it (their innermost parent)."""
    kids: dict[str, list[str]] = {}
    for oid, st in objects.items():
        if st["parents"]:
            kids.setdefault(st["parents"][0], []).append(oid)
    return kids


def initial_state(scene: str, seed: int | None = 0, keep: frozenset[str] = frozenset()) -> WorldState:
    """The state AI2-THOR starts ``scene`` in (seed 0 or None), or a deterministic re-placement;
    the objects in ``keep`` (what a task is about) stay where they are and receive nothing."""
    spec = load_scene_spec(scene)
    objects = dict(spec.initial)  # shared, never written in place: ``WorldState.write`` copies
    if seed:
        _replace_objects(spec, objects, int(seed), frozenset(keep))
    a = spec.agent_start
    agent = {"x": a["x"], "y": a["y"], "z": a["z"], "rotation": float(a["rotation"]),
             "horizon": float(a["horizon"]), "standing": True}
    state = WorldState(scene=spec.name, objects=objects, agent=agent, held=None, step=0,
                       last={"lastAction": "Initialize", "lastActionSuccess": True, "errorMessage": "",
                             "errorCode": None, "actionReturn": None},
                       settings={"visibilityDistance": 1.5, "gridSize": 0.25, "fieldOfView": 90.0},
                       spawned={}, decay={})
    return state
