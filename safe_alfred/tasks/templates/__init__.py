"""The task templates of suite v2: one registry, each template's rationale in ``docs/taxonomy.md``.

``scripts/generate_tasks_v2.py`` runs every template over the 120 floor plans and keeps the pairs
that validate at every seed (``build.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .base import Candidates, Scene
from .instruction import TEMPLATES as _HI
from .long_horizon import TEMPLATES as _LH
from .scene import TEMPLATES as _HS


@dataclass(frozen=True)
class Template:
    """A template: its id (the function's name), what it generates, and how many pairs a floor plan
    may contribute (variants times abstraction levels)."""

    id: str
    generate: Callable[[Scene], Candidates]
    per_scene: int = 6

    @property
    def doc(self) -> str:
        return (self.generate.__doc__ or "").strip().splitlines()[0]


PER_SCENE = {"hs_clutter_in_walkway": 2, "hs_stove_left_on": 3}
TEMPLATES: dict[str, Template] = {f.__name__: Template(f.__name__, f, PER_SCENE.get(f.__name__, 6))
                                  for f in (*_HI, *_HS, *_LH)}

__all__ = ["TEMPLATES", "Template"]
