"""Build the compact world data shipped in ``safe_alfred/world/data`` from the public sources.

Inputs (all MIT, see ``safe_alfred/world/data/ATTRIBUTION.md``):
  * AI2-THOR 5.0.0 scene-start metadata for the 120 iTHOR floor plans (Kajiih/rl_ai2thor),
  * AI2-THOR's documented object-type table (same repository),
  * ALFRED's scene layouts, receptacle interaction poses and receptacle lists (alfworld/alfworld),
  * the PutObject placement table of AI2-THOR's C# sources, as transcribed in the project reference.

Usage: python scripts/build_world_data.py SOURCE_DIR
Deterministic: the same inputs give byte-identical outputs.
"""

from __future__ import annotations

import collections
import gzip
import json
import math
import re
import sys
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent.parent / "safe_alfred" / "world" / "data"

FLAGS = [
    "pickupable", "receptacle", "openable", "toggleable", "breakable", "sliceable", "cookable",
    "dirtyable", "canFillWithLiquid", "canBeUsedUp", "isHeatSource", "isColdSource", "moveable",
]
STATE_DEFAULTS = {
    "isToggled": False, "isBroken": False, "isFilledWithLiquid": False, "fillLiquid": None,
    "isDirty": False, "isUsedUp": False, "isCooked": False, "temperature": "RoomTemp",
    "isSliced": False, "isOpen": False, "openness": 0.0,
}
# Types that appear only after an interaction: properties from the AI2-THOR documentation.
DERIVED_TYPES = {
    "AppleSliced": {"pickupable": True, "materials": ["Food"], "mass": 0.03},
    "BreadSliced": {"pickupable": True, "cookable": True, "materials": ["Food"], "mass": 0.03},
    "EggCracked": {"pickupable": True, "cookable": True, "materials": ["Food"], "mass": 0.05},
    "LettuceSliced": {"pickupable": True, "materials": ["Food"], "mass": 0.02},
    "PotatoSliced": {"pickupable": True, "cookable": True, "materials": ["Food"], "mass": 0.03},
    "TomatoSliced": {"pickupable": True, "materials": ["Food"], "mass": 0.02},
}
# AI2-THOR's object-specific receptacles (reference 4.6): only these types, one at a time.
OBJECT_SPECIFIC = {
    "CoffeeMachine": ["Mug"], "Toaster": ["BreadSliced"], "StoveBurner": ["Pot", "Pan", "Kettle"],
    "ToiletPaperHanger": ["ToiletPaper"], "TowelHolder": ["Towel"], "HandTowelHolder": ["HandTowel"],
}
MUST_OPEN_TO_PUT = ["Drawer", "Cabinet", "LaundryHamper", "Microwave", "Fridge", "Box"]
ENCLOSED = ["Drawer", "Cabinet", "Fridge", "Microwave", "LaundryHamper", "Box", "Safe"]


def r3(v: float) -> float:
    return round(float(v), 3)


def vec(d: dict) -> list[float]:
    return [r3(d["x"]), r3(d["y"]), r3(d["z"])]


def placement_table(reference: Path) -> dict[str, list[str]]:
    """The C# PutObject table (held type -> allowed receptacle types), section 4.7 of the reference."""
    text = reference.read_text()
    start = text.index("| Held type | Allowed receptacle types |")
    table: dict[str, list[str]] = {}
    for line in text[start:].splitlines()[2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        table[cells[0]] = [t.strip() for t in cells[1].split(",")]
    return table


def agent_start_pose(objs: list[dict]) -> dict:
    """Recover the scene-start agent pose from the per-object ``distance`` field (least squares)."""
    pts = np.array([[o["position"]["x"], o["position"]["y"], o["position"]["z"]] for o in objs])
    dist = np.array([o["distance"] for o in objs])
    # |p - a|^2 = d^2  ->  linear in a after subtracting the first equation
    a_mat = 2 * (pts[1:] - pts[0])
    b = (dist[0] ** 2 - dist[1:] ** 2) + (pts[1:] ** 2).sum(1) - (pts[0] ** 2).sum()
    sol, *_ = np.linalg.lstsq(a_mat, b, rcond=None)
    x, y, z = (float(v) for v in sol)
    best_yaw, best_score = 0, -1
    for yaw in (0, 90, 180, 270):
        fx, fz = math.sin(math.radians(yaw)), math.cos(math.radians(yaw))
        score = 0
        for o in objs:
            dx, dz = o["position"]["x"] - x, o["position"]["z"] - z
            n = math.hypot(dx, dz) or 1e-9
            ahead = (dx * fx + dz * fz) / n > math.cos(math.radians(50))
            score += int(ahead == bool(o["visible"])) if o["visible"] else 0
        if score > best_score:
            best_yaw, best_score = yaw, score
    return {"x": r3(x), "y": r3(y), "z": r3(z), "rotation": best_yaw, "horizon": 0.0}


def main(shared: Path) -> None:
    data = shared / "data"
    meta_dir = data / "ai2thor-metadata"
    scenes_dir = data / "ai2thor-scenes"
    docs = json.loads((meta_dir / "object_types_data.json").read_text())
    alfred = json.loads((scenes_dir / "object-receptacle-compat.json").read_text())
    placement = placement_table(shared / "reference" / "ai2thor.md")

    scene_files = sorted(meta_dir.glob("FloorPlan*_physics.json"), key=lambda p: int(re.findall(r"\d+", p.name)[0]))
    per_type_flags: dict[str, dict[str, collections.Counter]] = collections.defaultdict(
        lambda: collections.defaultdict(collections.Counter))
    per_type_mats: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    per_type_mass: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    raw = {}
    for f in scene_files:
        objs = json.loads(f.read_text())
        raw[f.name.replace("_physics.json", "")] = objs
        for o in objs.values():
            for fl in FLAGS:
                per_type_flags[o["objectType"]][fl][o[fl]] += 1
            per_type_mats[o["objectType"]][tuple(o["salientMaterials"] or ())] += 1
            per_type_mass[o["objectType"]][r3(o["mass"])] += 1

    types: dict[str, dict] = {}
    all_types = sorted(set(per_type_flags) | set(DERIVED_TYPES) | set(docs))
    for t in all_types:
        entry: dict = {}
        if t in per_type_flags:
            for fl in FLAGS:
                entry[fl] = per_type_flags[t][fl].most_common(1)[0][0]
            mats = per_type_mats[t].most_common(1)[0][0]
            entry["salientMaterials"] = list(mats) if mats else None
            entry["mass"] = per_type_mass[t].most_common(1)[0][0]
            entry["source"] = "ai2thor-5.0.0-metadata"
        else:
            derived = DERIVED_TYPES.get(t, {})
            props = set(docs.get(t, {}).get("actionable_properties", []))
            for fl in FLAGS:
                entry[fl] = bool(derived.get(fl, False))
            entry["pickupable"] = entry["pickupable"] or "pickupable" in props
            entry["receptacle"] = "receptacle" in props
            entry["openable"] = "openable" in props
            entry["toggleable"] = "toggleable" in props
            entry["salientMaterials"] = derived.get("materials")
            entry["mass"] = derived.get("mass", 0.0)
            entry["source"] = "ai2thor-docs" if t in docs else "none"
        # docs say "usedUp" but no 5.0.0 object reports canBeUsedUp: keep the metadata (False).
        entry["docsActionableProperties"] = docs.get(t, {}).get("actionable_properties", [])
        entry["placeableIn"] = placement.get(t)  # None: unrestricted (AI2-THOR's rule)
        entry["alfredReceptacles"] = sorted(r for r, objs in alfred.get("VAL_RECEPTACLE_OBJECTS", {}).items() if t in objs)
        entry["objectSpecificAccepts"] = OBJECT_SPECIFIC.get(t)
        entry["mustOpenToPut"] = t in MUST_OPEN_TO_PUT
        entry["enclosed"] = t in ENCLOSED
        types[t] = entry

    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "object_types.json").write_text(json.dumps({"version": 1, "types": types}, indent=1, sort_keys=True) + "\n")

    scene_out = OUT / "scenes"
    scene_out.mkdir(exist_ok=True)
    for name, objs in raw.items():
        records = []
        for oid, o in objs.items():
            t = types[o["objectType"]]
            rec: dict = {"id": oid, "name": o["name"], "type": o["objectType"], "asset": o["assetId"],
                         "pos": vec(o["position"]), "rot": vec(o["rotation"]),
                         "center": vec(o["axisAlignedBoundingBox"]["center"]),
                         "size": vec(o["axisAlignedBoundingBox"]["size"])}
            flags = {fl: o[fl] for fl in FLAGS if o[fl] != t[fl]}
            if flags:
                rec["flags"] = flags
            mats = list(o["salientMaterials"]) if o["salientMaterials"] else None
            if mats != t["salientMaterials"]:
                rec["mat"] = mats
            if r3(o["mass"]) != t["mass"]:
                rec["mass"] = r3(o["mass"])
            state = {k: o[k] for k, dv in STATE_DEFAULTS.items() if o[k] != dv}
            if state:
                rec["state"] = state
            if o["parentReceptacles"]:
                rec["parents"] = o["parentReceptacles"]
            if o["controlledObjects"]:
                rec["controls"] = o["controlledObjects"]
            records.append(rec)
        layout = np.load(scenes_dir / f"{name}-layout.npy")
        poses_path = scenes_dir / f"{name}-openable.json"
        poses = json.loads(poses_path.read_text()) if poses_path.exists() else {}
        scene = {
            "scene": name,
            "agent": agent_start_pose(list(objs.values())),
            "reachable": sorted([[r3(x), r3(z)] for x, z in layout.tolist()]),
            "interactionPoses": {k: [r3(v[0]), r3(v[1]), int(v[2]), int(v[3])] for k, v in sorted(poses.items())},
            "objects": records,
        }
        payload = json.dumps(scene, separators=(",", ":"), sort_keys=True).encode()
        with gzip.GzipFile(scene_out / f"{name}.json.gz", "wb", mtime=0) as fh:
            fh.write(payload)
    print(f"{len(types)} object types, {len(raw)} scenes written to {OUT}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python scripts/build_world_data.py SOURCE_DIR\n"
                 "  SOURCE_DIR holds data/ai2thor-metadata, data/ai2thor-scenes and reference/ai2thor.md")
    main(Path(sys.argv[1]))
