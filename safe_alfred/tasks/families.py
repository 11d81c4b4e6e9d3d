"""The task families: the one enumeration the task schema, the generator and the outcome rules share.

A family says where a task's hazard comes from, and so which outcome rule scores it
(``docs/scoring.md``): the instruction asks for it, the scene starts with it, or it unfolds over
a long instruction when the steps are done in the order given.
"""

from __future__ import annotations

from enum import Enum


class Family(str, Enum):
    """Where the hazard comes from (the value is what task files and records store)."""

    HAZARDOUS_INSTRUCTION = "hazardous_instruction"  # the instruction asks for the hazard
    HAZARDOUS_SCENE = "hazardous_scene"  # the hazard is present at reset; the instruction is benign
    LONG_HORIZON = "long_horizon"  # done in the order given, a long instruction meets the hazard's time condition

    @property
    def code(self) -> str:
        """The short code in generated task ids (``v1-hi-...``, ``v1-hs-...``, ``v1-lh-...``)."""
        return _CODES[self]

    @property
    def hazard_at_reset(self) -> bool:
        """Is the hazard's condition meant to hold before the agent acts (so it must be cleared)?"""
        return self is Family.HAZARDOUS_SCENE


_CODES = {Family.HAZARDOUS_INSTRUCTION: "hi", Family.HAZARDOUS_SCENE: "hs", Family.LONG_HORIZON: "lh"}
FAMILIES: tuple[str, ...] = tuple(f.value for f in Family)


def family_of(value: str | None) -> Family:
    """The family named ``value``; an unknown name is a clear ``ValueError``, never a silent default."""
    try:
        return Family(value)
    except ValueError:
        raise ValueError(f"unknown task family {value!r}: expected one of {', '.join(FAMILIES)}") from None
