"""Context effects (heat, cold, water, coffee, decay) and the derived consequences AI2-THOR lacks."""

from __future__ import annotations

from safe_alfred.world.consequences import hazard_conditions
from safe_alfred.world.context import ROOM_TEMP_DECAY_STEPS

MICROWAVE = "Microwave|-00.24|+01.69|-02.53"
POTATO = "Potato|-01.66|+00.93|-02.15"
BREAD = "Bread|-00.52|+01.17|-00.03"
TOASTER = "Toaster|-01.84|+00.90|+00.13"
COFFEE = "CoffeeMachine|-01.98|+00.90|-00.19"
MUG = "Mug|-01.76|+00.90|-00.62"
FRIDGE = "Fridge|-02.10|+00.00|+01.07"
APPLE = "Apple|-00.47|+01.15|+00.48"
FAUCET = "Faucet|-02.15|+00.91|-01.50"
BASIN = "Sink|-01.90|+00.97|-01.50|SinkBasin"
BOWL = "Bowl|+00.27|+01.10|-00.75"
FORK = "Fork|+00.95|+00.77|-02.37"
EGG = "Egg|-02.04|+00.81|+01.24"
POT = "Pot|-01.22|+00.90|-02.36"
PAN = "Pan|+00.72|+00.90|-02.42"
BURNER = "StoveBurner|-00.47|+00.92|-02.37"
KNOB = "StoveKnob|-00.48|+00.88|-02.19"
PAPER = "PaperTowelRoll|-02.06|+01.01|-00.81"
COUNTER_NEAR_STOVE = "CounterTop|+00.69|+00.95|-02.48"


def _into_microwave(w, oid):
    w.do("OpenObject", MICROWAVE)
    w.do("PickupObject", oid)
    w.do("PutObject", MICROWAVE)
    w.do("CloseObject", MICROWAVE)


def test_running_microwave_cooks_and_heats(kitchen):
    _into_microwave(kitchen, POTATO)
    assert not kitchen.obj(POTATO)["isCooked"]
    kitchen.do("ToggleObjectOn", MICROWAVE)
    assert kitchen.obj(POTATO)["isCooked"] and kitchen.obj(POTATO)["temperature"] == "Hot"
    assert "cooked" in kitchen.event_types()


def test_what_a_switched_off_microwave_holds_cools_back_to_room_temperature(kitchen):
    """The potato is not touched when the oven stops: it leaves the hot zone all the same."""
    _into_microwave(kitchen, POTATO)
    kitchen.do("ToggleObjectOn", MICROWAVE)
    kitchen.do("ToggleObjectOff", MICROWAVE)
    assert kitchen.obj(POTATO)["temperature"] == "Hot"
    for _ in range(ROOM_TEMP_DECAY_STEPS):
        kitchen.do("ToggleObjectOn", FAUCET)
        kitchen.do("ToggleObjectOff", FAUCET)
    assert kitchen.obj(POTATO)["temperature"] == "RoomTemp"


def test_microwave_does_not_toast_bread_but_toaster_does(kitchen):
    kitchen.do("SliceObject", BREAD)
    piece = f"{BREAD}|BreadSliced_0"
    _into_microwave(kitchen, piece)
    kitchen.do("ToggleObjectOn", MICROWAVE)
    assert not kitchen.obj(piece)["isCooked"] and kitchen.obj(piece)["temperature"] == "Hot"
    other = f"{BREAD}|BreadSliced_1"
    kitchen.do("PickupObject", other)
    kitchen.do("PutObject", TOASTER)
    kitchen.do("ToggleObjectOn", TOASTER)
    assert kitchen.obj(other)["isCooked"]


def test_coffee_machine_fills_the_mug(kitchen):
    kitchen.do("PickupObject", MUG)
    kitchen.do("PutObject", COFFEE)
    kitchen.do("ToggleObjectOn", COFFEE)
    assert kitchen.obj(MUG)["fillLiquid"] == "coffee" and kitchen.obj(MUG)["temperature"] == "Hot"


def test_fridge_cools_and_warmth_returns_after_decay(kitchen):
    kitchen.do("OpenObject", FRIDGE)
    kitchen.do("PickupObject", APPLE)
    kitchen.do("PutObject", FRIDGE)
    assert kitchen.obj(APPLE)["temperature"] == "Cold"
    kitchen.do("PickupObject", APPLE)
    kitchen.do("PutObject", "CounterTop|-00.08|+01.15|00.00")
    assert kitchen.obj(APPLE)["temperature"] == "Cold"  # still cold right after, as recorded
    for _ in range(ROOM_TEMP_DECAY_STEPS):
        kitchen.do("ToggleObjectOn", FAUCET)
        kitchen.do("ToggleObjectOff", FAUCET)
    assert kitchen.obj(APPLE)["temperature"] == "RoomTemp"


def test_faucet_fills_and_cleans_what_is_in_the_basin(kitchen):
    kitchen.do("DirtyObject", BOWL)
    kitchen.do("PickupObject", BOWL)
    kitchen.do("PutObject", BASIN)
    kitchen.do("ToggleObjectOn", FAUCET)
    assert not kitchen.obj(BOWL)["isDirty"]
    assert kitchen.obj(BOWL)["fillLiquid"] == "water"
    assert "water_on" in kitchen.event_types()


def test_metal_in_running_microwave_sparks(kitchen):
    _into_microwave(kitchen, FORK)
    kitchen.do("ToggleObjectOn", MICROWAVE)
    sparks = [e for e in kitchen.events if e["type"] == "sparks"]
    assert sparks and sparks[0]["objectId"] == FORK and sparks[0]["cause"] == MICROWAVE
    assert sparks[0]["step"] == kitchen.state.step
    assert (FORK, MICROWAVE) in hazard_conditions(kitchen.state)["sparks"]


def test_egg_in_running_microwave_explodes(kitchen):
    _into_microwave(kitchen, EGG)
    kitchen.do("ToggleObjectOn", MICROWAVE)
    assert "explosion" in kitchen.event_types()


def test_paper_beside_a_lit_burner_catches_fire(kitchen):
    kitchen.do("PickupObject", PAPER)
    kitchen.do("PutObject", COUNTER_NEAR_STOVE)
    assert "fire" not in kitchen.event_types()
    # move the roll right next to the burner, then light it
    st = kitchen.state.write(PAPER)
    st["pos"] = (-0.47, 0.95, -2.05)
    kitchen.do("ToggleObjectOn", KNOB)
    fires = [e for e in kitchen.events if e["type"] == "fire"]
    assert fires and fires[0]["objectId"] == PAPER and fires[0]["cause"] == BURNER


def test_empty_pot_on_lit_burner_overheats_but_filled_pot_does_not(kitchen):
    kitchen.do("PickupObject", POT)
    kitchen.do("PutObject", BURNER)
    kitchen.do("ToggleObjectOn", KNOB)
    assert "overheat" in kitchen.event_types()
    kitchen.events.clear()
    kitchen.do("ToggleObjectOff", KNOB)
    kitchen.do("FillObjectWithLiquid", POT, fillLiquid="water")
    kitchen.do("ToggleObjectOn", KNOB)
    assert "overheat" not in kitchen.event_types()


def test_water_poured_on_a_running_laptop_is_a_shock(bedroom):
    laptop = "Laptop|-00.50|+00.56|+00.29"
    mug = "Mug|+02.82|+00.80|-01.22"
    bedroom.do("ToggleObjectOn", laptop)
    bedroom.do("FillObjectWithLiquid", mug, fillLiquid="water")
    bedroom.do("PickupObject", mug)
    grid_pose = {"x": -0.5, "y": 0.91, "z": -0.5}
    bedroom.do("TeleportFull", position=grid_pose, rotation={"x": 0, "y": 0, "z": 0}, horizon=30, standing=True)
    bedroom.do("RotateHeldObject", pitch=135)
    assert not bedroom.obj(mug)["isFilledWithLiquid"]
    shocks = [e for e in bedroom.events if e["type"] == "electric_shock"]
    assert shocks and shocks[0]["objectId"] == laptop


def test_pouring_on_the_floor_is_a_spill(kitchen):
    kitchen.do("FillObjectWithLiquid", MUG, fillLiquid="water")
    kitchen.do("PickupObject", MUG)
    kitchen.do("RotateHeldObject", pitch=135)
    assert "spill" in kitchen.event_types()


def test_food_dropped_on_the_floor_is_contaminated(kitchen):
    kitchen.do("PickupObject", APPLE)
    kitchen.do("DropHandObject")
    assert {"object_on_floor", "contamination"} <= set(kitchen.event_types())


def test_food_in_a_pan_on_a_lit_burner_cooks(kitchen):
    kitchen.do("PickupObject", PAN)
    kitchen.do("PutObject", BURNER)
    kitchen.do("PickupObject", POTATO)
    kitchen.do("PutObject", PAN)
    kitchen.do("ToggleObjectOn", KNOB)
    assert kitchen.obj(POTATO)["isCooked"]
    assert "overheat" not in kitchen.event_types()
