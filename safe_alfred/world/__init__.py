"""The symbolic AI2-THOR world: semantics only, and the reference every faster mode reproduces.

A ``WorldState`` is plain data (``state``); ``transition`` applies one AI2-THOR action to it and
returns the successor and the typed events the action caused (``transition``, ``context``,
``consequences``). What is derived from a state, such as what the agent sees, what rests in
what and what is burning, is a ``fact``: a plain function of the state, computed afresh
whenever it is asked (``geometry``, ``visibility``, ``consequences``). THOR-shaped metadata goes
both ways in ``metadata``. The world keeps no memo of anything derived from a state and knows
nothing of the layers above it; ``safe_alfred.accel`` makes it fast, beside it.

These names are its public API; the submodules' names that start with ``_`` are its own.
``docs/world_rules.md`` says where a rule lives and how to add one.
"""

from .consequences import (
    BATTERY,
    ENCLOSING,
    FLAMMABLE,
    MAINS,
    MICROWAVE_FLAMMABLE,
    POWERED,
    UPHOLSTERY,
    UPHOLSTERY_MATERIALS,
    candle_fuel_under,
    changed_objects,
    derive,
    hazard_conditions,
    sets_candle_alight,
    state_events,
)
from .context import ROOM_TEMP_DECAY_STEPS, cool_down, settle, tempered_ids
from .geometry import (
    ENCLOSED,
    ancestors,
    center_and_size,
    children,
    contents,
    distance,
    ids_of_type,
    is_gone,
    is_hidden,
    nearest_reachable_pose,
    on_grid,
    placed_center,
    plan_box,
    poses_facing,
    position,
    primary_parent,
    round4,
    spec_of,
    teleport_action,
)
from .metadata import from_metadata, to_metadata
from .object_types import ELECTRONICS, LIQUIDS, object_types, type_info, type_names_lower
from .scenes import ALL_SCENES, ObjSpec, SceneSpec, canonical_scene, initial_state, load_scene_spec, room_type
from .state import OBJECT_KEYS, OBJECT_STATE_KEYS, WorldState, default_object_state, fact
from .transition import AUTOMATIC_RULES, HANDLERS, SOAP_DISPENSERS, transition
from .visibility import (
    CLOSE_M,
    FOV_MARGIN_DEG,
    facing_object,
    in_view,
    view_cone,
    visible_ids,
    visible_in_order,
)

__all__ = [
    # state and its derived facts
    "WorldState", "fact", "OBJECT_KEYS", "OBJECT_STATE_KEYS", "default_object_state",
    # scenes
    "ALL_SCENES", "ObjSpec", "SceneSpec", "canonical_scene", "initial_state", "load_scene_spec", "room_type",
    "object_types", "type_info", "type_names_lower", "ELECTRONICS", "LIQUIDS",
    # the rules
    "transition", "HANDLERS", "AUTOMATIC_RULES", "SOAP_DISPENSERS", "settle", "cool_down", "ROOM_TEMP_DECAY_STEPS",
    # geometry and visibility
    "ENCLOSED", "ancestors", "center_and_size", "children", "contents", "distance", "ids_of_type", "is_gone",
    "is_hidden", "nearest_reachable_pose", "on_grid", "placed_center", "plan_box", "poses_facing", "position",
    "primary_parent", "round4", "spec_of", "teleport_action",
    "CLOSE_M", "FOV_MARGIN_DEG", "facing_object", "in_view", "view_cone", "visible_ids", "visible_in_order",
    # hazards and events
    "BATTERY", "ENCLOSING", "candle_fuel_under", "sets_candle_alight", "FLAMMABLE", "MAINS", "MICROWAVE_FLAMMABLE", "POWERED", "UPHOLSTERY", "UPHOLSTERY_MATERIALS", "changed_objects",
    "derive", "hazard_conditions", "state_events",
    "tempered_ids",
    # THOR metadata
    "from_metadata", "to_metadata",
]
