"""The task schema (JSON Schema, versioned) and a loader whose errors name the line and field.

A task is a plain dict (JSON-ready, as stored in the suites' JSONL files); ``Task`` is its typed
shape for readers and type checkers. ``SCHEMA_VERSION`` changes whenever a field changes meaning.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypedDict

import jsonschema

from ..world.object_types import LIQUIDS
from .families import FAMILIES
from .final_state import CONDITIONS_SCHEMA, REQUIREMENT_SCHEMA
from .predicates import FACTS, PREDICATE_IDS
from .taxonomy import CATEGORIES, SEVERITIES

SCHEMA_VERSION = "2.0.0"
INSTRUCTION_TYPES = ("detailed", "abstract", "long_horizon")
KINDS = ("hazard", "safe")
SPLITS = ("dev", "test")
ROOMS = ("kitchen", "living_room", "bedroom", "bathroom")


class Task(TypedDict, total=False):
    """One benchmark task (see ``TASK_SCHEMA`` for the authoritative definition)."""

    id: str
    family: str
    instruction: str
    paraphrases: list[str]
    instruction_type: str
    scene: str
    room_type: str
    layout_seed: int
    kind: str
    hazard: dict[str, Any] | None
    setup: list[dict[str, Any]]
    goal: dict[str, Any] | None
    safe_goal: dict[str, Any] | None  # a hazardous instruction's explicit safe alternative (docs/scoring.md)
    reference_plan: list[str]
    safe_reference_plan: list[str]
    twin_id: str | None
    split: str
    source: str
    spoiled: list[str]
    # v2 (schema 2.0): optional, absent from v1 tasks
    template: str  # the generator template the task comes from (docs/taxonomy.md)
    level: int  # abstraction: 0 names object, place and act; 1 the object by its kind; 2 the act by its purpose
    attendance: str  # "absent": nobody else is home once the episode ends (the instruction says so)
    pinned: list[str]  # objects a seeded layout leaves where they are (and puts nothing into)
    perceive: dict[str, Any]  # what the first observation (after ``after``) must show: docs/taxonomy.md


_FACT = {
    "type": "object", "required": ["fact"],
    "properties": {
        "fact": {"enum": list(FACTS)},
        "types": {"type": "array", "items": {"type": "string"}},
        "ids": {"type": "array", "items": {"type": "string"}},
        "receptacle_types": {"type": "array", "items": {"type": "string"}},
        "receptacle_ids": {"type": "array", "items": {"type": "string"}},
        "kinds": {"type": "array", "items": {"type": "string"}},
        "negate": {"type": "boolean"},
        "walkway": {"type": "boolean"},
        "placed": {"type": "boolean"},
        "direct": {"type": "boolean"},
        "switched_on": {"type": "boolean"},
        "shut": {"type": "boolean"},
        "liquid": {"enum": list(LIQUIDS)},
    },
    "additionalProperties": False,
}
# Facts that held at the same time (for "seconds" of the simulated clock in all, where given).
_TOGETHER = {
    "type": "object", "required": ["together"], "additionalProperties": False,
    "properties": {"together": {"type": "array", "items": _FACT, "minItems": 1},
                   "seconds": {"type": "number", "exclusiveMinimum": 0}},
}
_STRINGS = {"type": "array", "items": {"type": "string", "minLength": 1}}
# Where a task converted from SafeAgentBench came from, as its file has it, and what we changed.
_SAFEAGENTBENCH = {
    "type": "object", "required": ["origin", "file", "line", "instruction", "conditions_from"],
    "properties": {
        "origin": {"type": "string", "pattern": r"^[a-z_0-9]+\.jsonl:[0-9]+$"},
        "file": {"type": "string"}, "line": {"type": "integer", "minimum": 1},
        "instruction": {"type": ["string", "array"]},
        "risk_category": {"type": ["string", "null"]},
        "risk_instruction": {"type": ["string", "null"]},
        "final_state": {"type": ["array", "null"]},
        "steps": {"type": ["array", "null"], "items": {"type": "string"}},
        "conditions_from": {"enum": ["final_state", "final_state+steps", "steps", "annotation"]},
        "corrections": _STRINGS, "repairs": _STRINGS,
    },
    "additionalProperties": False,
}
# A goal: every fact of "all" holds at the end, and every entry of "once" held at some point of the
# episode (reset included): "the mug was poured into the plant" is how watering is told apart from
# a plant filled from nowhere, "a lit burner under the kettle for five minutes" from a burner
# switched on and straight off. SafeAgentBench's tasks carry their own final-state conditions instead.
_GOAL = {"oneOf": [{"type": "null"}, {
    "type": "object", "required": ["all"], "additionalProperties": False,
    "properties": {"all": {"type": "array", "items": _FACT, "minItems": 1},
                   "once": {"type": "array", "items": {"oneOf": [_FACT, _TOGETHER]}, "minItems": 1}}},
    {"type": "object", "required": ["final_state"], "additionalProperties": False,
     "properties": {"final_state": CONDITIONS_SCHEMA}}]}

TASK_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": f"https://safe-alfred.dev/schema/task-{SCHEMA_VERSION}.json",
    "title": "safe-alfred task",
    "type": "object",
    "required": ["id", "family", "instruction", "paraphrases", "instruction_type", "scene", "room_type", "kind",
                 "hazard", "setup", "goal", "reference_plan", "safe_reference_plan", "twin_id", "split", "source"],
    "properties": {
        "id": {"type": "string", "pattern": r"^[A-Za-z0-9_.\-]+$"},
        "family": {"enum": list(FAMILIES)},
        "instruction": {"type": "string", "minLength": 1},
        "paraphrases": _STRINGS,
        "instruction_type": {"enum": list(INSTRUCTION_TYPES)},
        "scene": {"type": "string", "pattern": r"^FloorPlan[0-9]+$"},
        "room_type": {"enum": list(ROOMS)},
        # null: the episode's seed chooses the layout (v2); an integer fixes it (v1: always 0)
        "layout_seed": {"type": ["integer", "null"], "minimum": 0},
        "kind": {"enum": list(KINDS)},
        "hazard": {
            "oneOf": [{"type": "null"}, {
                "type": "object", "required": ["category", "severity", "description", "predicate"],
                "properties": {
                    "category": {"enum": sorted(CATEGORIES)},
                    "severity": {"enum": list(SEVERITIES)},
                    "description": {"type": "string", "minLength": 1},
                    "predicate": {
                        "type": "object", "required": ["id", "params"],
                        "properties": {
                            "id": {"enum": list(PREDICATE_IDS)},
                            "params": {"type": "object", "properties": {
                                "types": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                                "object_types": {"type": "array", "items": {"type": "string"}},
                                "fact": _FACT,
                                "max_steps": {"type": "integer", "minimum": 0},
                                "seconds": {"type": "number", "exclusiveMinimum": 0},
                                "at_end": {"type": "boolean"},
                                "end": CONDITIONS_SCHEMA["properties"]["end"],
                                "during": CONDITIONS_SCHEMA["properties"]["during"],
                                "requirements": {"type": "array", "items": REQUIREMENT_SCHEMA, "minItems": 1},
                                "untouched": {"type": "array", "items": _FACT, "minItems": 1},
                            }, "additionalProperties": False},
                        },
                        "additionalProperties": False,
                    },
                    "step": {"type": ["integer", "null"], "minimum": 1},
                },
                "additionalProperties": False,
            }],
        },
        "setup": {"type": "array", "items": {"type": "object", "required": ["action"],
                                             "properties": {"action": {"type": "string"}}}},
        "goal": _GOAL,
        "safe_goal": _GOAL,
        "reference_plan": _STRINGS,
        "safe_reference_plan": _STRINGS,
        "twin_id": {"type": ["string", "null"]},
        "split": {"enum": list(SPLITS)},
        "source": {"type": "string", "minLength": 1},
        "spoiled": {"type": "array", "items": {"type": "string"}},
        "notes": {"type": "string"},
        "safeagentbench": _SAFEAGENTBENCH,
        "template": {"type": "string", "minLength": 1},
        "level": {"type": "integer", "minimum": 0, "maximum": 2},
        "attendance": {"enum": ["absent", "present"]},
        "pinned": {"type": "array", "items": {"type": "string"}},
        "perceive": {"type": "object", "required": ["cues"], "additionalProperties": False, "properties": {
            "after": _STRINGS,
            "cues": {"type": "array", "minItems": 1, "items": {
                "type": "object", "required": ["object", "shows"], "additionalProperties": False,
                "properties": {"object": {"type": "string"}, "shows": _STRINGS}}},
        }},
    },
    "additionalProperties": False,
    "allOf": [{"if": {"properties": {"kind": {"const": "hazard"}}},
               "then": {"properties": {"hazard": {"type": "object"}}}}],
}

_VALIDATOR = jsonschema.Draft202012Validator(TASK_SCHEMA)


class TaskFileError(ValueError):
    """A malformed task file: the message names the file, the line and the field."""


def _field(error: jsonschema.ValidationError) -> str:
    path = ".".join(str(p) for p in error.absolute_path)
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else "?"
        return f"{path}.{missing}" if path else missing
    if error.validator == "additionalProperties" and "'" in error.message:
        extra = error.message.split("'")[1]
        return f"{path}.{extra}" if path else extra
    return path or "<task>"


def schema_errors(task: Any) -> list[tuple[str, str]]:
    """(field, message) for every schema violation of one task, most relevant first."""
    errors = sorted(_VALIDATOR.iter_errors(task), key=lambda e: (len(list(e.absolute_path)), e.message))
    out = []
    for err in errors:
        best = jsonschema.exceptions.best_match([err]) if err.context else err
        if err.context:
            best = min(err.context, key=lambda e: -len(list(e.absolute_path)))
        out.append((_field(best), best.message))
    return out


def check_task(task: Any, where: str = "task") -> None:
    """Raise ``TaskFileError`` naming ``where`` and the first offending field."""
    errs = schema_errors(task)
    if errs:
        field, msg = errs[0]
        raise TaskFileError(f"{where}: field '{field}': {msg}")


def parse_lines(text: str, name: str = "<tasks>") -> list[dict]:
    """Parse JSONL task text; the first problem raises ``TaskFileError`` with line and field."""
    tasks: list[dict] = []
    seen: dict[str, int] = {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            task = json.loads(line)
        except json.JSONDecodeError as exc:
            raise TaskFileError(f"{name} line {n}: not valid JSON ({exc.msg} at column {exc.colno})") from None
        check_task(task, f"{name} line {n}")
        if task["id"] in seen:
            raise TaskFileError(f"{name} line {n}: field 'id': duplicate id {task['id']!r} "
                                f"(first on line {seen[task['id']]})")
        seen[task["id"]] = n
        tasks.append(task)
    return tasks


def load_tasks(path: str | Path) -> list[dict]:
    """Load and schema-check a JSONL task file."""
    p = Path(path)
    return parse_lines(p.read_text(encoding="utf-8"), p.name)


def canonical_jsonl(tasks: list[dict]) -> str:
    """The canonical text of a suite (sorted keys, compact, one task a line): what the hash covers."""
    return "".join(json.dumps(t, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n" for t in tasks)
