"""What the agent perceives in a state: the ``You see`` line and the admissible skills.

``perceive`` says it plainly: every visible object described, every skill it admits, and a
``find`` for every type with an instance to walk to. It is a ``world.state.fact``, so a state
that remembers (``safe_alfred.accel``) answers it from memory; the faster computation declared
at the end of this module gives the same answer from per-object records (an object's
description and skills depend only on its own, copy-on-write, state dict) and the furniture in
view perceived once per pose and hand state.
"""

from __future__ import annotations

import bisect

from .. import accel
from ..skills import WAIT_OFFERED
from ..world.geometry import children, ids_of_type, is_gone, primary_parent, spec_of
from ..world.object_types import LIQUIDS
from ..world.scenes import load_scene_spec
from ..world.state import WorldState, fact
from ..world.transition import SOAP_DISPENSERS
from ..world.visibility import visible_in_order

# Vessels that only ever hold liquid: ``empty`` when they hold none (an empty kettle on the stove).
# (What rests in a pan or a microwave is listed as ``X (in Pan)``: nothing listed, nothing in it.)
SHOWN_EMPTY = frozenset({"Kettle", "Mug", "Cup"})
# A pot or pan is ``empty`` when it holds no liquid and nothing rests in it (an empty pan heating on a
# lit burner), an open microwave when nothing is in it (one about to run empty). That reads what rests
# in it, not only its own dict, so it is added to the description per state (``with_contents``), not
# kept in the object's record. (A closed microwave says nothing of its inside: what is in it is hidden.)
SHOWN_EMPTY_HOLDERS = ("Pot", "Pan", "Microwave")
ENCLOSED_SHUT = ("Drawer", "Cabinet", "Fridge", "Microwave", "Box", "LaundryHamper")  # closed: nothing can be put in


@fact
def perceive(state: WorldState) -> tuple[str, list[str]]:
    """(the ``You see: ...`` line, the sorted admissible skills)."""
    floor = load_scene_spec(state.scene).floor_id
    held = state.held
    holding = held is not None
    seen: list[str] = []
    skills: set[str] = set()
    for oid in visible_in_order(state):
        st = state.objects[oid]
        skills.update(object_skills(state, oid, st, holding))
        if oid != held and oid != floor:
            seen.append(with_contents(state, oid, describe(state, oid, st)))
    return _finish(state, seen, skills, findable(state))


def _finish(state: WorldState, seen: list[str], skills: set[str], finds) -> tuple[str, list[str]]:
    """The line and the skills, from the visible objects' descriptions and skills and the finds."""
    held = state.held
    if held is not None:
        skills.update(("drop", "throw"))
        if state.objects[held]["isFilledWithLiquid"] or spec_of(state, held).type in SOAP_DISPENSERS:
            skills.add("pour")
    skills.add("done")
    skills.update(WAIT_OFFERED)  # time can always pass
    ordered = sorted(skills)
    i = bisect.bisect_left(ordered, "find ")  # every "find <Type>" sorts together: the block goes here
    ordered[i:i] = finds
    return "You see: " + (", ".join(seen) if seen else "nothing nearby") + ".", ordered


@fact
def findable(state: WorldState) -> tuple[str, ...]:
    """``find <Type>`` for each type with an instance to walk to (not held, sliced away or
    cracked), types created during the episode (slices) included, sorted."""
    types = set(load_scene_spec(state.scene).types_present)
    types.update(spec_of(state, oid).type for oid in state.spawned)
    types.discard("Floor")
    held = state.held
    present = {spec_of(state, oid).type for oid in state.objects if oid != held and not is_gone(state, oid)}
    return tuple(f"find {t}" for t in sorted(types) if t in present)


def seen_line(state: WorldState) -> str:
    return perceive(state)[0]


def admissible_skills(state: WorldState) -> list[str]:
    """The skills that would be accepted now (valid grammar, object present, preconditions met),
    sorted; a fresh list the caller may change."""
    return list(perceive(state)[1])


@fact
def describe_object(state: WorldState, oid: str) -> str:
    """``Fridge (open)``, ``Apple (cold, in Fridge)``."""
    return with_contents(state, oid, describe(state, oid, state.objects[oid]))


def with_contents(state: WorldState, oid: str, description: str) -> str:
    """The description, with ``empty`` for a pot or pan that holds nothing (no liquid either) and for
    an open microwave with nothing in it: ``Pan (empty, hot, in StoveBurner)``."""
    return _as_holder(state, oid, description) if oid in _holder_ids(state) else description


def _as_holder(state: WorldState, oid: str, description: str) -> str:
    """``with_contents`` of a pot, a pan or a microwave (``_holder_ids``)."""
    st = state.objects[oid]
    if st["isFilledWithLiquid"] or children(state).get(oid):
        return description
    if not st["isOpen"] and spec_of(state, oid).flags["openable"]:
        return description
    head, sep, rest = description.partition(" (")
    return f"{head} (empty, {rest}" if sep else f"{description} (empty)"


def _holder_ids(state: WorldState) -> frozenset[str]:
    if not state.spawned:
        return _scene_holders(state.scene)
    return frozenset(o for t in SHOWN_EMPTY_HOLDERS for o in ids_of_type(state, t))


@accel.memo(limit=1000)
def _scene_holders(scene_name: str) -> frozenset[str]:
    by_type = load_scene_spec(scene_name).by_type
    return frozenset(o for t in SHOWN_EMPTY_HOLDERS for o in by_type.get(t, ()))


def describe(state: WorldState, oid: str, st: dict) -> str:
    """The description of object ``oid`` whose dict is ``st``: what a careful person sees of it (a
    lit candle, an empty kettle, a book on the floor). It reads only the object's own dict."""
    spec = spec_of(state, oid)
    f = spec.flags
    bits = []
    if f["openable"]:
        bits.append("open" if st["isOpen"] else "closed")
    if spec.type == "Candle":
        bits.append("lit" if st["isToggled"] else "unlit")
    elif f["toggleable"] or spec.type == "StoveBurner":
        bits.append("on" if st["isToggled"] else "off")
    if st["isBroken"]:
        bits.append("broken")
    if st["isDirty"]:
        bits.append("dirty")
    if st["isFilledWithLiquid"]:
        bits.append(f"filled with {st['fillLiquid'] or 'liquid'}")
    elif spec.type in SHOWN_EMPTY:
        bits.append("empty")
    if st["isCooked"]:
        bits.append("cooked")
    if st["temperature"] != "RoomTemp":
        bits.append(st["temperature"].lower())
    parent = primary_parent(state, oid)
    if parent is not None and f["pickupable"]:
        ptype = spec_of(state, parent).type
        bits.append("on the floor" if ptype == "Floor" else f"in {ptype}")
    return f"{spec.type} ({', '.join(bits)})" if bits else spec.type


def object_skills(state: WorldState, oid: str, st: dict, holding: bool) -> tuple[str, ...]:
    """The skills object ``oid`` (dict ``st``) admits, with the hand full or empty."""
    spec = spec_of(state, oid)
    scene = load_scene_spec(state.scene)
    f, t = spec.flags, spec.type
    out: list[str] = []
    if not holding and f["pickupable"]:
        out.append(f"pickup {t}")
    if holding and f["receptacle"] and oid != state.held and t != "Floor":
        if not (not st["isOpen"] and f["openable"] and t in ENCLOSED_SHUT):
            out.append(f"put {t}")
    if f["openable"]:
        out.append(f"close {t}" if st["isOpen"] else f"open {t}")
    if f["toggleable"]:
        out.append(f"toggle_off {t}" if st["isToggled"] else f"toggle_on {t}")
    if t == "StoveBurner" and oid in scene.knob_of:
        out.append("toggle_off StoveBurner" if st["isToggled"] else "toggle_on StoveBurner")
    if f["sliceable"] and not st["isSliced"] and oid != state.held:
        out.append(f"slice {t}")
    if f["breakable"] and not st["isBroken"]:
        out.append(f"break {t}")
    if f["cookable"] and not st["isCooked"]:
        out.append(f"cook {t}")
    if f["dirtyable"]:
        out.append(f"clean {t}" if st["isDirty"] else f"dirty {t}")
    if f["canFillWithLiquid"]:
        if st["isFilledWithLiquid"]:
            out.append(f"empty {t}")
        else:
            out.extend(f"fill {t} {liquid}" for liquid in LIQUIDS)
    return tuple(out)


# --- the accelerated computation ----------------------------------------------------------------
#
# Records: scene -> id of an object's state dict -> [that dict, description, skills when the hand
# is empty, skills when it holds something else, skills as the held object]; the last three
# filled on first need. Keyed by the dict, not the object: an object has other dicts in other
# layouts (and after actions), and every one that comes back finds its record. A state dict
# belongs to one object, and the record holds it, so its id is not reused while the record is kept.
_RECORDS = accel.table("perception.records")
_FREE, _HOLDING, _AS_HELD = 2, 3, 4
_MAX_RECORDS = 5000  # per scene: past this, start again (action-made dicts rarely come back)
# (scene, held id) -> ((id, state dict) of the other instances of its type, the find skills)
_FINDABLE_HOLDING = accel.table("perception.findable_holding")


# scene -> (its floor's id, its records, its pots, pans and microwaves): what every perception of a
# state of the scene looks up
_SCENE_PARTS = accel.table("perception.scene_parts")


def _records(scene: str) -> dict[int, list]:
    records = _RECORDS.get(scene)
    if records is None:
        records = _RECORDS[scene] = {}
    return records


def _scene_parts(scene: str) -> tuple[str, dict[int, list], frozenset[str]]:
    parts = _SCENE_PARTS.get(scene)
    if parts is None:
        parts = _SCENE_PARTS[scene] = (load_scene_spec(scene).floor_id, _records(scene), _scene_holders(scene))
    return parts


def _record(state: WorldState, oid: str, st: dict) -> list:
    records = _records(state.scene)
    rec = records.get(id(st))
    if rec is None or rec[0] is not st:
        if len(records) >= _MAX_RECORDS:
            records.clear()
        rec = records[id(st)] = [st, describe(state, oid, st), None, None, None]
    return rec


def _fast_perceive(state: WorldState, entry: dict) -> tuple[str, list[str]]:
    floor, records, holders = _scene_parts(state.scene)
    if state.spawned:
        holders = _holder_ids(state)
    held = state.held
    holding = held is not None
    objects = state.objects
    order = entry.get(visible_in_order)
    if order is None:
        order = accel.visibility.fast_visible_in_order(state, entry)
    cands = entry.get(accel.visibility.SIGHT)
    if cands is not None:  # the furniture in view, perceived once per pose, hand state and dicts
        fixed = fixed_in_view(state, cands, holding)
        skills = set(fixed[1])
        described = fixed[2]
    else:
        skills, described = set(), {}
    seen: list[str] = []
    for oid in order:
        desc = described.get(oid)
        if desc is not None:  # a fixed object ("" for the floor, never listed)
            if desc:
                seen.append(_as_holder(state, oid, desc) if oid in holders else desc)
            continue
        st = objects[oid]
        rec = records.get(id(st))
        if rec is None or rec[0] is not st:
            rec = _record(state, oid, st)
        slot = _AS_HELD if oid == held else _HOLDING if holding else _FREE
        mine = rec[slot]
        if mine is None:
            mine = rec[slot] = object_skills(state, oid, st, holding)
        skills.update(mine)
        if oid != held and oid != floor:
            seen.append(_as_holder(state, oid, rec[1]) if oid in holders else rec[1])
    finds = state.memo.get(findable) if state.closed else None
    return _finish(state, seen, skills, finds if finds is not None else findable(state))


def fixed_in_view(state: WorldState, cands: accel.PoseCandidates, holding: bool) -> tuple:
    """(their dicts, their skills, id -> description, "" for the floor) of the furniture in view
    (``cands.fixed``), kept on ``cands`` per hand state for the last few tuples of their dicts."""
    dicts = cands.dicts_of(state.objects)
    known = cands.memo.get(holding)
    if known is None:
        known = cands.memo[holding] = []
    for fixed in known:  # most recent first; equal tuples of the same dicts compare by identity
        if fixed[0] == dicts:
            return fixed
    fixed = _perceive_fixed(state, cands.fixed_ids, dicts, holding)
    known.insert(0, fixed)
    del known[4:]
    return fixed


def _perceive_fixed(state: WorldState, ids: tuple[str, ...], dicts: tuple[dict, ...],
                    holding: bool) -> tuple[tuple[dict, ...], tuple[str, ...], dict[str, str]]:
    slot = _HOLDING if holding else _FREE
    floor = load_scene_spec(state.scene).floor_id
    skills: set[str] = set()
    described: dict[str, str] = {}
    for oid, st in zip(ids, dicts, strict=True):
        rec = _record(state, oid, st)
        if rec[slot] is None:
            rec[slot] = object_skills(state, oid, st, holding)
        skills.update(rec[slot])
        described[oid] = rec[1] if oid != floor else ""
    return dicts, tuple(skills), described


def _fast_findable(state: WorldState) -> tuple[str, ...]:
    """``findable`` from the scene's types, looking only at the doubtful ones: types with an
    instance created, gone or held (the common case, holding a scene object, kept per held id
    while the other instances' dicts stay the same)."""
    finds = _find_skills(state.scene)
    held = state.held
    gone = accel.facts.gone_ids(state)
    key = None
    if not state.spawned and not gone:
        if held is None:
            return finds
        key = (state.scene, held)
        hit = _FINDABLE_HOLDING.get(key)
        if hit is not None and all(state.objects[o] is st for o, st in hit[0]):
            return hit[1]
    doubtful = {spec_of(state, oid).type for oid in state.spawned}
    doubtful |= {spec_of(state, source).type for source, _, _ in state.spawned.values()}
    doubtful |= {spec_of(state, oid).type for oid in gone}
    if held is not None:
        doubtful.add(spec_of(state, held).type)
    doubtful.discard("Floor")
    out = list(finds)
    for t in sorted(doubtful):
        skill = f"find {t}"
        i = bisect.bisect_left(out, skill)
        present = i < len(out) and out[i] == skill
        if any(oid != held and not is_gone(state, oid) for oid in ids_of_type(state, t)):
            if not present:
                out.insert(i, skill)
        elif present:
            del out[i]
    out = tuple(out)
    if key is not None:
        others = [(o, state.objects[o]) for o in ids_of_type(state, spec_of(state, held).type) if o != held]
        if len(_FINDABLE_HOLDING) > 20_000:
            _FINDABLE_HOLDING.clear()
        _FINDABLE_HOLDING[key] = (others, out)
    return out


@accel.memo(limit=1000)
def _find_skills(scene_name: str) -> tuple[str, ...]:
    return tuple(f"find {t}" for t in load_scene_spec(scene_name).types_present if t != "Floor")


def _fast_description(state: WorldState, oid: str) -> str:
    return with_contents(state, oid, _record(state, oid, state.objects[oid])[1])


def _prepare(state: WorldState) -> None:
    """Scene preparation: the furniture at a find pose perceived with the hand empty and full."""
    perceive(state)
    cands = accel.sight(state)
    if cands is not None:
        fixed_in_view(state, cands, holding=True)


accel.derive(perceive, reads=accel.facts.VISIBILITY_READS | accel.ALL_OBJECT_FIELDS, fast=_fast_perceive,
             by_pose=True)
accel.derive(findable, reads=accel.objects("isSliced", "isBroken") | accel.HELD | accel.SPAWNED, fast=_fast_findable)
accel.derive(describe_object, reads=accel.EVERYTHING, fast=_fast_description, memo=False)
accel.on_prepare(_prepare)
