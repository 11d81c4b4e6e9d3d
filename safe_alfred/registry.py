"""One registry for the parts a run is made of: planners, judges, simulator backends, action filters.

Each group maps a name to an import path (``module:attribute``), imported only when the part is
built, so naming ``judge=embedding`` costs nothing to a user of the lexicon. Other packages add
parts without editing this one, through entry points in their ``pyproject.toml``:

    [project.entry-points."safe_alfred.planners"]
    my_planner = "my_pkg.planner:MyPlanner"      # then: safe-alfred run agent.kind=my_planner

(commands likewise, under ``safe_alfred.commands``: see ``safe_alfred.cli``), and any planner class
runs by its import path: ``safe-alfred run agent=custom
agent.target=my_pkg.planner:MyPlanner``. What a planner, judge or backend must provide is declared
by the protocols ``agents.base.Planner``, ``judges.base.Judge`` and ``envs.backends.Backend``.
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from safe_alfred.errors import UserError


class RegistryError(UserError, ValueError):
    """No part of that name, or an import path that names nothing."""


@dataclass(frozen=True)
class Entry:
    """A registered part: where it lives, and keyword arguments fixed by its name."""

    target: str  # "module:attribute"
    fixed: dict[str, Any] = field(default_factory=dict)
    origin: str = "safe-alfred"  # the distribution that registered it


# group -> entry-point group
ENTRY_POINT_GROUPS = {
    "planner": "safe_alfred.planners",
    "judge": "safe_alfred.judges",
    "backend": "safe_alfred.backends",
    "filter": "safe_alfred.filters",
}


def _scripted() -> dict[str, Entry]:
    from safe_alfred.agents.scripted import POLICIES

    return {p: Entry("safe_alfred.agents.scripted:ScriptedPlanner", {"policy": p}) for p in POLICIES}


def _builtins(group: str) -> dict[str, Entry]:
    if group == "planner":
        return {**_scripted(),
                "openai": Entry("safe_alfred.agents.openai_planner:OpenAIPlanner"),
                "hf": Entry("safe_alfred.agents.hf_planner:HFPlanner")}
    if group == "judge":
        return {"lexicon": Entry("safe_alfred.judges.lexicon:LexiconJudge"),
                "embedding": Entry("safe_alfred.judges.embedding:EmbeddingJudge"),
                "learned": Entry("safe_alfred.judges.learned:LearnedJudge"),
                "llm": Entry("safe_alfred.judges.llm:LLMJudge")}
    if group == "backend":
        return {"symbolic": Entry("safe_alfred.envs.backends:SymbolicBackend"),
                "thor": Entry("safe_alfred.envs.thor.backend:ThorBackend"),
                "thor_standin": Entry("safe_alfred.envs.thor.backend:standin_backend")}
    if group == "filter":
        return {"cbf": Entry("safe_alfred.safety.filter:CBFFilter")}
    raise KeyError(f"unknown registry group {group!r}; one of {', '.join(ENTRY_POINT_GROUPS)}")


@cache
def _plugins(group: str) -> dict[str, Entry]:
    """Entries other installed distributions declare under ``ENTRY_POINT_GROUPS[group]``."""
    from importlib.metadata import entry_points

    out: dict[str, Entry] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUPS[group]):
        dist = getattr(getattr(ep, "dist", None), "name", None) or "a plugin"
        out[ep.name] = Entry(ep.value, origin=dist)
    return out


def entries(group: str) -> dict[str, Entry]:
    """Every registered part of ``group`` by name; built-ins win over a plugin of the same name."""
    return {**_plugins(group), **_builtins(group)}


def names(group: str) -> list[str]:
    return sorted(entries(group))


def import_target(target: str, what: str = "import path") -> Any:
    """The object an import path ``package.module:Attribute`` names; ``UserError`` if it does not exist."""
    module_name, sep, attr = str(target).partition(":")
    if not sep or not module_name or not attr:
        raise RegistryError(f"{what} {target!r} is not an import path of the form package.module:Name")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or module_name
        if missing == module_name or module_name.startswith(missing + "."):
            raise RegistryError(f"{what}: no module {module_name} (is its package installed?)") from None
        raise RegistryError(f"{what} needs the package {missing}, which is not installed") from None
    obj = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise RegistryError(f"{what}: module {module_name} has no {attr}")
        obj = getattr(obj, part)
    return obj


def lookup(group: str, name: str) -> Entry:
    """The entry called ``name``; ``RegistryError`` naming the choices if there is none."""
    found = entries(group).get(name)
    if found is None:
        raise RegistryError(f"unknown {group} {name!r}; choose one of {', '.join(names(group))}")
    return found


def load(group: str, name: str) -> Any:
    """The class (or factory) registered as ``name``, imported now."""
    entry = lookup(group, name)
    return import_target(entry.target, f"{group} {name!r}")


def accepted(factory: Any, options: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments of ``options`` that ``factory`` accepts (all of them if it takes ``**kwargs``)."""
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return dict(options)
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return dict(options)
    return {k: v for k, v in options.items() if k in params}


def create(group: str, name: str, **options: Any) -> Any:
    """Build the part ``name`` with keyword ``options`` (and the arguments its name fixes)."""
    entry = lookup(group, name)
    factory = import_target(entry.target, f"{group} {name!r}")
    return factory(**{**entry.fixed, **options})
