"""Each AI2-THOR action: preconditions fail with AI2-THOR's message, effects as AI2-THOR has them."""

from __future__ import annotations

from safe_alfred.world.scenes import initial_state
from safe_alfred.world.transition import transition

APPLE = "Apple|-00.47|+01.15|+00.48"
MUG = "Mug|-01.76|+00.90|-00.62"
FRIDGE = "Fridge|-02.10|+00.00|+01.07"
MICROWAVE = "Microwave|-00.24|+01.69|-02.53"
COUNTER = "CounterTop|-00.08|+01.15|00.00"
CABINET = "Cabinet|-01.55|+00.50|+00.38"
BURNER = "StoveBurner|-00.47|+00.92|-02.37"
KNOB = "StoveKnob|-00.48|+00.88|-02.19"
POT = "Pot|-01.22|+00.90|-02.36"
BREAD = "Bread|-00.52|+01.17|-00.03"
TOASTER = "Toaster|-01.84|+00.90|+00.13"
COFFEE = "CoffeeMachine|-01.98|+00.90|-00.19"
EGG = "Egg|-02.04|+00.81|+01.24"
BOWL = "Bowl|+00.27|+01.10|-00.75"


def test_failed_action_leaves_world_unchanged_and_never_raises(kitchen):
    before = kitchen.state
    last = kitchen.do("PickupObject", COUNTER)
    assert last["lastActionSuccess"] is False
    assert "must have the property CanPickup" in last["errorMessage"]
    assert kitchen.state.objects == before.objects and kitchen.state.held is None


def test_pickup_requires_visibility_without_force(kitchen):
    last = kitchen.do("PickupObject", "Egg|-02.04|+00.81|+01.24", force=False)
    assert last["errorMessage"] == "Target object not found within the specified visibility."


def test_pickup_then_hand_full(kitchen):
    assert kitchen.do("PickupObject", APPLE)["lastActionSuccess"]
    assert kitchen.state.held == APPLE and kitchen.obj(APPLE)["parents"] is None
    assert kitchen.state.last["actionReturn"] == APPLE
    last = kitchen.do("PickupObject", MUG)
    assert "Agent hand has something in it already" in last["errorMessage"]


def test_unknown_object_and_unknown_action(kitchen):
    assert "is not the objectId on any object" in kitchen.do("PickupObject", "Unicorn|1|2|3")["errorMessage"]
    last = kitchen.do("Fly")
    assert last["errorCode"] == "InvalidAction" and last["errorMessage"] == "Invalid action: Fly"
    s, _ = transition(kitchen.state, {"action": "PickupObject"})
    assert s.last["errorCode"] == "MissingArguments"


def test_put_rules(kitchen):
    assert kitchen.do("PutObject", COUNTER)["errorMessage"] == "Can't place an object if Agent isn't holding anything"
    kitchen.do("PickupObject", APPLE)
    assert "CLOSED" in kitchen.do("PutObject", FRIDGE)["errorMessage"]
    assert "NOT a receptacle" in kitchen.do("PutObject", KNOB)["errorMessage"]
    assert "not a valid Object Type to be placed in" in kitchen.do("PutObject", TOASTER)["errorMessage"]
    kitchen.do("OpenObject", FRIDGE)
    assert kitchen.do("PutObject", FRIDGE)["lastActionSuccess"]
    assert kitchen.obj(APPLE)["parents"] == (FRIDGE,)
    assert kitchen.obj(APPLE)["temperature"] == "Cold"  # same event, as in AI2-THOR


def test_put_type_table_without_force(kitchen):
    kitchen.do("PickupObject", APPLE)
    kitchen.do("OpenObject", CABINET)
    last = kitchen.do("PutObject", CABINET, force=False)
    # Apple's row does not list Cabinet (reference 4.7)
    assert not last["lastActionSuccess"] and "cannot be placed in" in last["errorMessage"]


def test_object_specific_receptacle_is_full(kitchen):
    kitchen.do("PickupObject", POT)
    assert kitchen.do("PutObject", BURNER)["lastActionSuccess"]
    kitchen.do("PickupObject", "Pan|+00.72|+00.90|-02.42")
    assert "is full right now" in kitchen.do("PutObject", BURNER)["errorMessage"]


def test_drop_lands_on_floor_and_breaks_only_eggs(kitchen):
    kitchen.do("PickupObject", MUG)
    kitchen.do("DropHandObject")
    assert kitchen.obj(MUG)["parents"][0].startswith("Floor|") and not kitchen.obj(MUG)["isBroken"]
    kitchen.do("PickupObject", EGG)
    kitchen.do("DropHandObject")
    assert kitchen.obj(EGG)["isBroken"]
    assert f"{EGG}|EggCracked_0" in kitchen.state.objects
    assert kitchen.do("DropHandObject")["errorMessage"] == "Nothing is in the agent's hand to drop!"


def test_throw_breaks_fragile_objects(kitchen):
    kitchen.do("PickupObject", MUG)
    assert kitchen.do("ThrowObject", moveMagnitude=150)["lastActionSuccess"]
    assert kitchen.obj(MUG)["isBroken"]
    assert "shards" in kitchen.event_types() and "broken" in kitchen.event_types()
    assert kitchen.do("ThrowObject", moveMagnitude=150)["errorMessage"] == "Nothing in Hand to Throw!"


def test_open_close_and_microwave_interlocks(kitchen):
    assert kitchen.do("OpenObject", APPLE)["errorMessage"].endswith("is not an Openable object")
    kitchen.do("OpenObject", MICROWAVE)
    assert kitchen.obj(MICROWAVE)["isOpen"] and kitchen.obj(MICROWAVE)["openness"] == 1.0
    assert kitchen.do("ToggleObjectOn", MICROWAVE)["errorMessage"] == "Target must be closed to Toggle On!"
    kitchen.do("CloseObject", MICROWAVE)
    assert kitchen.do("ToggleObjectOn", MICROWAVE)["lastActionSuccess"]
    assert kitchen.do("OpenObject", MICROWAVE)["errorMessage"] == "Target must be OFF to open!"
    assert kitchen.do("ToggleObjectOn", MICROWAVE)["errorMessage"] == "can't toggle object on if it's already on!"


def test_knob_switches_burner_and_burner_is_not_directly_toggleable(kitchen):
    assert "controlled by another sim object" in kitchen.do("ToggleObjectOn", BURNER)["errorMessage"]
    kitchen.do("ToggleObjectOn", KNOB)
    assert kitchen.obj(BURNER)["isToggled"] and kitchen.obj(KNOB)["isToggled"]
    kitchen.do("ToggleObjectOff", KNOB)
    assert not kitchen.obj(BURNER)["isToggled"]


def test_slice_spawns_pieces_and_hides_the_original(kitchen):
    assert "CanBeSliced" in kitchen.do("SliceObject", MUG)["errorMessage"]
    kitchen.do("SliceObject", APPLE)
    assert kitchen.obj(APPLE)["isSliced"]
    pieces = [o for o in kitchen.state.objects if o.startswith(APPLE + "|AppleSliced_")]
    assert len(pieces) == 8
    assert kitchen.obj(pieces[0])["parents"] == (COUNTER,)
    kitchen.do("PickupObject", BREAD)
    assert "cannot be sliced if it is in the agent's hand" in kitchen.do("SliceObject", BREAD)["errorMessage"]


def test_state_changes_and_their_errors(kitchen):
    assert "does not have CanBeDirty property" in kitchen.do("DirtyObject", APPLE)["errorMessage"]
    kitchen.do("DirtyObject", BOWL)
    assert kitchen.obj(BOWL)["isDirty"]
    assert kitchen.do("DirtyObject", BOWL)["errorMessage"].endswith("is already dirty!")
    kitchen.do("CleanObject", BOWL)
    assert kitchen.do("CleanObject", BOWL)["errorMessage"].endswith("is already Clean!")
    assert kitchen.do("FillObjectWithLiquid", MUG)["errorMessage"] == "Missing Liquid string for FillObject action"
    assert "is not a valid Liquid Type" in kitchen.do("FillObjectWithLiquid", MUG, fillLiquid="milk")["errorMessage"]
    kitchen.do("FillObjectWithLiquid", MUG, fillLiquid="coffee")
    assert kitchen.obj(MUG)["fillLiquid"] == "coffee" and kitchen.obj(MUG)["temperature"] == "Hot"
    assert kitchen.do("FillObjectWithLiquid", MUG, fillLiquid="water")["errorMessage"].endswith("is already Filled!")
    kitchen.do("EmptyLiquidFromObject", MUG)
    assert kitchen.do("EmptyLiquidFromObject", MUG)["errorMessage"] == "object already empty"
    assert "CanBeUsedUp" in kitchen.do("UseUpObject", "PaperTowelRoll|-02.06|+01.01|-00.81")["errorMessage"]
    assert kitchen.do("CookObject", APPLE)["errorMessage"] == "target object is not cookable"
    potato = "Potato|-01.66|+00.93|-02.15"
    kitchen.do("CookObject", potato)
    assert kitchen.do("CookObject", potato)["errorMessage"].endswith("is already Toasted!")


def test_break_object(kitchen):
    assert "does not have the CanBreak property" in kitchen.do("BreakObject", APPLE)["errorMessage"]
    kitchen.do("BreakObject", "Window|-02.23|+01.43|-01.20")
    assert kitchen.obj("Window|-02.23|+01.43|-01.20")["isBroken"]


def test_broken_laptop_switches_off_and_stays_off(bedroom):
    laptop = "Laptop|-00.50|+00.56|+00.29"
    bedroom.do("ToggleObjectOn", laptop)
    bedroom.do("BreakObject", laptop)
    assert not bedroom.obj(laptop)["isToggled"]
    assert bedroom.do("ToggleObjectOn", laptop)["errorMessage"] == "Target is broken and cannot be Toggled On!"


def test_navigation_teleport_and_reachable_positions(kitchen):
    kitchen.do("GetReachablePositions")
    grid = kitchen.state.last["actionReturn"]
    assert len(grid) > 50 and {"x", "y", "z"} <= set(grid[0])
    p = grid[10]
    ok = kitchen.do("TeleportFull", position=p, rotation={"x": 0, "y": 90, "z": 0}, horizon=30, standing=True)
    assert ok["lastActionSuccess"] and kitchen.state.agent["x"] == p["x"]
    off = kitchen.do("TeleportFull", position={"x": 50, "y": 0.9, "z": 50}, rotation=0, horizon=0, standing=True,
                     force=False)
    assert not off["lastActionSuccess"] and kitchen.state.agent["x"] == p["x"]
    assert kitchen.do("TeleportFull", position=p)["errorCode"] == "MissingArguments"
    kitchen.do("RotateRight", degrees=90)
    assert kitchen.state.agent["rotation"] == 180.0


def test_transition_is_pure():
    s0 = initial_state("FloorPlan1")
    snapshot = s0.to_dict()
    s1, _ = transition(s0, {"action": "PickupObject", "objectId": APPLE, "forceAction": True})
    assert s0.to_dict() == snapshot
    assert s1.held == APPLE and s0.held is None


def test_contents_travel_with_their_receptacle(kitchen):
    kitchen.do("PickupObject", APPLE)
    kitchen.do("PutObject", BOWL)
    kitchen.do("PickupObject", BOWL)
    kitchen.do("OpenObject", FRIDGE)
    kitchen.do("PutObject", FRIDGE)
    assert kitchen.obj(APPLE)["parents"] == (BOWL,)
    assert kitchen.obj(APPLE)["temperature"] == "Cold"  # in the bowl, in the fridge
    assert kitchen.obj(APPLE)["pos"] == kitchen.obj(BOWL)["pos"]
    kitchen.do("CloseObject", FRIDGE)
    from safe_alfred.world.visibility import visible_ids
    assert APPLE not in visible_ids(kitchen.state) and BOWL not in visible_ids(kitchen.state)
