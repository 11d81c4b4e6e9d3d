"""A run's config from command-line overrides, composed exactly as ``safe-alfred run`` composes it.

``safe-alfred run`` composes every sweep combination before Hydra starts (so a bad override ends
in one line), and benchmarks and tests compose their configs the same way instead of building
``RunConfig`` objects by hand that could drift from ``conf/``. Hydra's public compose API only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from omegaconf import DictConfig, OmegaConf

from safe_alfred.config_paths import conf_dir
from safe_alfred.runner.config import RunConfig, register_configs
from safe_alfred.runner.errors import RunError, one_line

CONFIG_NAME = "config"


def to_run_config(cfg: DictConfig | RunConfig) -> RunConfig:
    """A composed config as a typed ``RunConfig``; a missing mandatory value becomes ``RunError``."""
    if isinstance(cfg, RunConfig):
        return cfg
    try:
        obj = OmegaConf.to_object(cfg)
    except Exception as exc:  # MissingMandatoryValue, ValidationError
        raise RunError(one_line(exc)) from None
    if not isinstance(obj, RunConfig):
        raise RunError("the config is not a safe-alfred run config (its defaults must start with run_schema)")
    return obj


def with_suite_label(cfg: RunConfig) -> RunConfig:
    """``cfg`` with its suite named for what runs: ``suite=smoke suite.path=mine.jsonl`` runs ``mine``."""
    import dataclasses

    from safe_alfred.runner.suites import suite_label

    label = suite_label(cfg.suite)
    if label == cfg.suite.name:
        return cfg
    return dataclasses.replace(cfg, suite=dataclasses.replace(cfg.suite, name=label))


def resolved_config(cfg: RunConfig) -> dict[str, Any]:
    """The plain, resolved form of a ``RunConfig`` (what ``config.yaml`` holds)."""
    out = OmegaConf.to_container(OmegaConf.structured(cfg), resolve=True, enum_to_str=True)
    assert isinstance(out, dict)
    return out


@contextmanager
def composer() -> Iterator[Callable[[list[str]], RunConfig]]:
    """A function composing ``RunConfig`` objects from override lists, valid inside the block."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    register_configs()
    GlobalHydra.instance().clear()

    def compose_one(overrides: list[str]) -> RunConfig:
        try:
            cfg = compose(config_name=CONFIG_NAME, overrides=list(overrides))
        except Exception as exc:
            raise RunError(one_line(exc)) from None
        return to_run_config(cfg)

    try:
        with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3", job_name="run"):
            yield compose_one
    finally:
        GlobalHydra.instance().clear()


def compose_run_config(overrides: list[str]) -> RunConfig:
    """The ``RunConfig`` that ``safe-alfred run OVERRIDES...`` would run."""
    with composer() as compose_one:
        return compose_one(overrides)
