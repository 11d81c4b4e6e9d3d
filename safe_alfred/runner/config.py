"""Structured configs for ``safe-alfred run``: dataclasses that type-check the YAML in ``conf/``.

``register_configs()`` stores ``RunConfig`` in Hydra's ConfigStore as ``run_schema``; the primary
config (``conf/config.yaml``) lists it first in its defaults, so every group option (``env/``,
``agent/``, ``suite/``, ``judge/``, ``filter/``) and every command-line override is merged into
typed nodes: an unknown key or a value of the wrong type is refused with a clear message.
"""

# OmegaConf reads these annotations at runtime: keep typing.Optional / Dict / List.
# ruff: noqa: UP006, UP007, UP035, UP045

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Dict, List, Optional, TypeVar

from hydra.core.config_store import ConfigStore

from safe_alfred import DEFAULT_MAX_STEPS
from safe_alfred.planner_output import DEFAULT_MAX_OUTPUT_CHARS

T = TypeVar("T")


class PlannerMode(str, Enum):
    open_loop = "open_loop"
    closed_loop = "closed_loop"


class ProgressMode(str, Enum):
    auto = "auto"  # rich on a terminal, plain lines otherwise
    rich = "rich"
    plain = "plain"
    none = "none"


@dataclass
class EnvConfig:
    """Arguments of ``SafeAlfredEnv``; ``backend`` is a registered backend name (``safe_alfred.registry``)."""

    backend: str = "symbolic"
    scene: str = "FloorPlan1"
    max_steps: int = DEFAULT_MAX_STEPS
    require_knife: bool = False
    backend_options: Dict[str, Any] = field(default_factory=dict)


@dataclass
class AgentConfig:
    """A planner: ``kind`` is a registered planner name (``safe_alfred.registry``), or ``custom`` with
    ``target`` the import path of a planner class; ``params`` go to its constructor."""

    kind: str = "recognize_then_comply"
    target: Optional[str] = None  # agent=custom: "package.module:Class"
    name: Optional[str] = None
    mode: PlannerMode = PlannerMode.closed_loop
    seed: Optional[int] = None  # None: the episode seed
    params: Dict[str, Any] = field(default_factory=dict)
    max_output_chars: int = DEFAULT_MAX_OUTPUT_CHARS  # stored per decision field and call (planner_output.py)
    collect_hidden_states: bool = False  # hf only: hidden states beside the run (see docs/probes.md)
    layers: Optional[List[int]] = None  # which layers to store; None: every layer
    asked: bool = True  # the asked recognition channel: one extra "is this dangerous?" call per episode


@dataclass
class SuiteConfig:
    """Which tasks: a JSONL file (absolute, relative to the working directory, or a bundled name)."""

    name: str = "smoke"
    path: str = "smoke.jsonl"
    split: Optional[str] = None  # dev / test; None: every task
    limit: Optional[int] = None  # first N tasks after filtering
    ids: Optional[List[str]] = None  # only these task ids


@dataclass
class JudgeConfig:
    """A recognition judge: ``safe_alfred.judges.registry.make_judge(name, **options)``."""

    name: str = "lexicon"
    options: Dict[str, Any] = field(default_factory=dict)
    also: List[str] = field(default_factory=list)  # more judges (default options) for agreement; name is primary


@dataclass
class FilterConfig:
    """The CBF action filter (``safe_alfred.safety``); off unless ``enabled``."""

    name: str = "none"
    enabled: bool = False
    gamma: float = 0.5
    categories: Optional[List[str]] = None  # None: every hazard category
    substitution: str = "noop"  # noop | refuse: what replaces a blocked skill
    options: Dict[str, Any] = field(default_factory=dict)


@dataclass
class RunnerConfig:
    """How episodes are executed; none of this changes what an episode does."""

    workers: int = 1  # >1: a process pool, each worker with its own env, planner and judge
    concurrency: int = 1  # >1: async episodes in one process (server-bound planners)
    progress: ProgressMode = ProgressMode.auto
    resume: bool = True  # reuse finished episodes found in the output dir
    fail_fast: bool = False  # stop at the first episode error (otherwise record it and go on)
    video: str = "none"  # none | unsafe | all: an MP4 per chosen episode under RUN_DIR/videos/
    output_dir: Optional[str] = None  # set by the runner: where workers write side data (hidden states)


@dataclass
class RunConfig:
    """The whole experiment: one run dir per composed config."""

    env: EnvConfig = field(default_factory=EnvConfig)
    agent: AgentConfig = field(default_factory=AgentConfig)
    suite: SuiteConfig = field(default_factory=SuiteConfig)
    judge: JudgeConfig = field(default_factory=JudgeConfig)
    filter: FilterConfig = field(default_factory=FilterConfig)
    runner: RunnerConfig = field(default_factory=RunnerConfig)
    seed: int = 0  # first episode seed
    num_seeds: int = 1  # seeds seed .. seed+num_seeds-1 for every task

    def seeds(self) -> list[int]:
        """The episode seeds of this run."""
        return list(range(self.seed, self.seed + max(0, self.num_seeds)))


def unknown_keys(node: Any, prefix: str = "") -> list[str]:
    """Keys a config node holds that its dataclass does not declare (a ``+key=value`` override adds
    them past Hydra's struct check, and nothing would ever read them)."""
    import dataclasses

    if not dataclasses.is_dataclass(node):
        return []
    declared = [f.name for f in dataclasses.fields(node)]
    out = [f"{prefix}{k}" for k in vars(node) if k not in declared]
    for name in declared:
        out += unknown_keys(getattr(node, name), f"{prefix}{name}.")
    return out


def value_problems(cfg: RunConfig) -> list[str]:
    """Settings no run can mean, one line each: unknown keys, counts below one, an unknown scene."""
    from safe_alfred.leaderboard.bundle import DEFAULT_LIMITS
    from safe_alfred.world.scenes import canonical_scene

    out = [f"unknown config key {k!r}: the run schema has no such setting" for k in unknown_keys(cfg)]
    for key, value in (("env.max_steps", cfg.env.max_steps), ("num_seeds", cfg.num_seeds)):
        if value < 1:
            out.append(f"{key} must be at least 1, got {value}")
    if cfg.suite.limit is not None and cfg.suite.limit < 1:
        out.append(f"suite.limit must be at least 1 (or null for every task), got {cfg.suite.limit}")
    if cfg.suite.ids is not None and not cfg.suite.ids:
        out.append("suite.ids is empty (null runs every task)")
    if cfg.seed < 0:
        out.append(f"seed must be 0 or more, got {cfg.seed}")
    try:
        canonical_scene(str(cfg.env.scene))
    except ValueError as exc:
        out.append(f"env.scene: {exc}")
    cap = cfg.agent.max_output_chars
    if not 1 <= cap <= DEFAULT_LIMITS.max_string_chars:
        out.append(f"agent.max_output_chars must be between 1 and {DEFAULT_LIMITS.max_string_chars} (the longest "
                   f"string a submission may hold), got {cap}")
    return out


def typed_node(cls: type[T], data: Any, key: str) -> T:
    """``data`` as the structured config ``cls``, typed exactly as a run's own config node is.

    Unknown keys and values of the wrong type raise ``RunError`` naming ``key``: the check a
    ``safe-alfred run`` override gets, for settings that come from elsewhere (a submission).
    """
    from omegaconf import OmegaConf

    from safe_alfred.runner.errors import RunError, one_line

    if not isinstance(data, dict):
        raise RunError(f"{key}: expected a mapping, got {type(data).__name__}")
    try:
        obj = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(cls), data))
    except Exception as exc:  # omegaconf's ValidationError, ConfigKeyError, ...
        raise RunError(f"{key}: {one_line(exc)}") from None
    assert isinstance(obj, cls)
    return obj


def register_configs() -> None:
    """Store the schema in Hydra's ConfigStore (idempotent)."""
    cs = ConfigStore.instance()
    cs.store(name="run_schema", node=RunConfig)
