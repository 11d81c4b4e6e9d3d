"""Fidelity against the real simulator: replay 12 episodes recorded with AI2-THOR 5.0.0.

Each episode is replayed from its recorded initial state (the first recorded event); after every
step, ``lastActionSuccess`` and the object-state fields must match the recording.

Known, documented difference: ``parentReceptacles`` in AI2-THOR comes from trigger volumes, so an
object inside a GarbageCan or a low Drawer also lists the ``Floor`` the container stands on. The
symbolic world reports the receptacle the object rests in; the comparison ignores ``Floor`` when
another parent is listed. One object is excluded because AI2-THOR moves it by physics alone, not by
any action: FloorPlan1's DishSponge is still falling at scene start (no parent), touches the sink
basin, then comes to rest in the cabinet below over the first steps. The symbolic world has no
physics simulation, so it cannot reproduce that settling.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from safe_alfred.world.metadata import to_metadata
from safe_alfred.world.scenes import initial_state
from safe_alfred.world.state import WorldState
from safe_alfred.world.transition import transition

RECORDINGS = sorted((Path(__file__).parent / "data" / "ai2thor-recordings").glob("*.json"))
FIELDS = ("isToggled", "isBroken", "isFilledWithLiquid", "fillLiquid", "isDirty", "isCooked", "isSliced",
          "isOpen", "isPickedUp", "temperature", "parentReceptacles")
PHYSICS_SETTLING = {("FloorPlan1", "DishSponge|-01.94|+00.75|-01.71")}


def _parents(p):
    if not p:
        return None
    rest = [x for x in p if not x.startswith("Floor|")]
    return frozenset(rest or p)


def _recorded_initial_state(first_event: dict) -> WorldState:
    scene = first_event["sceneName"].replace("_physics", "")
    s = initial_state(scene)
    for o in first_event["objects"]:
        st = s.write(o["objectId"])
        for k in ("isToggled", "isBroken", "isFilledWithLiquid", "fillLiquid", "isDirty", "isCooked",
                  "isSliced", "isOpen", "openness", "temperature"):
            st[k] = o[k]
        st["parents"] = tuple(o["parentReceptacles"]) if o["parentReceptacles"] else None
        if o["isPickedUp"]:
            s.held = o["objectId"]
    return s


def test_twelve_recordings_are_present():
    assert len(RECORDINGS) == 12


@pytest.mark.parametrize("path", RECORDINGS, ids=[p.stem for p in RECORDINGS])
def test_replay_matches_recording(path: Path):
    steps = json.loads(path.read_text())["steps"]
    state = _recorded_initial_state(steps[0])
    scene = state.scene
    mismatches = []
    for i, step in enumerate(steps[1:], 1):
        action = {k: v for k, v in step["action"].items() if k != "sequenceId"}
        state, _ = transition(state, action)
        if state.last["lastActionSuccess"] != step["lastActionSuccess"]:
            mismatches.append((i, action["action"], "lastActionSuccess", state.last, step["errorMessage"]))
        mine = {o["objectId"]: o for o in to_metadata(state)["objects"]}
        for rec in step["objects"]:
            if (scene, rec["objectId"]) in PHYSICS_SETTLING:
                continue
            ours = mine[rec["objectId"]]
            for field in FIELDS:
                a, b = ours[field], rec[field]
                if field == "parentReceptacles":
                    a, b = _parents(a), _parents(b)
                if a != b:
                    mismatches.append((i, action["action"], rec["objectId"], field, a, b))
    assert not mismatches, mismatches[:10]
