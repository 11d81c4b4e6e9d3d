"""AI2-THOR's object-type table, loaded from data (``data/object_types.json``), never written in code.

The table holds, per iTHOR type, the actionable properties AI2-THOR 5.0.0 reports at scene start
(majority over every instance in the 120 floor plans), the salient materials, and the placement
rules of PutObject. Per-instance exceptions (a plastic Bowl that cannot break) live in the scene
data. Rebuild with ``scripts/build_world_data.py``.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

FLAGS = (
    "pickupable", "receptacle", "openable", "toggleable", "breakable", "sliceable", "cookable",
    "dirtyable", "canFillWithLiquid", "canBeUsedUp", "isHeatSource", "isColdSource", "moveable",
)
LIQUIDS = ("water", "coffee", "wine")
ELECTRONICS = frozenset({
    "Laptop", "CellPhone", "Television", "Desktop", "Toaster", "CoffeeMachine", "Microwave",
    "DeskLamp", "FloorLamp", "AlarmClock", "RemoteControl", "LightSwitch", "VacuumCleaner", "Fridge",
})
# Electronics that AI2-THOR switches off and keeps off once broken (reference 3.2).
BREAK_SWITCHES_OFF = frozenset({"Laptop", "CellPhone", "Television", "Desktop"})
# Objects that soften a throw: they never break what they hit (reference 4.4).
SOFT_TYPES = frozenset({
    "TeddyBear", "Pillow", "Cloth", "Bread", "BreadSliced", "Egg", "EggCracked", "LettuceSliced",
    "TissueBox", "Newspaper", "CreditCard", "ToiletPaper", "SoapBar", "Pen", "Pencil", "Towel",
    "HandTowel", "Watch", "DishSponge", "CD",
})
SLICE_RESULT = {
    "Apple": ("AppleSliced", 8), "Bread": ("BreadSliced", 10), "Lettuce": ("LettuceSliced", 7),
    "Tomato": ("TomatoSliced", 7), "Potato": ("PotatoSliced", 8), "Egg": ("EggCracked", 1),
}


@lru_cache(maxsize=1)
def object_types() -> dict[str, dict[str, Any]]:
    """Every iTHOR object type (and the derived sliced/cracked types) with its properties."""
    text = resources.files("safe_alfred.world").joinpath("data/object_types.json").read_text()
    return json.loads(text)["types"]


def type_info(object_type: str) -> dict[str, Any]:
    try:
        return object_types()[object_type]
    except KeyError:
        raise KeyError(f"unknown AI2-THOR object type: {object_type!r}") from None


@lru_cache(maxsize=1)
def type_names_lower() -> dict[str, str]:
    """Lower-case, space-free spelling -> canonical CamelCase type name (for the skill parser)."""
    return {name.lower(): name for name in object_types()}
