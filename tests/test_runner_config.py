"""The Hydra config of ``safe-alfred run``: every group option composes and is type-checked."""

from __future__ import annotations

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf
from omegaconf.errors import ValidationError

from safe_alfred.config_paths import conf_dir
from safe_alfred.runner.config import PlannerMode, RunConfig, register_configs
from safe_alfred.runner.errors import RunError, one_line
from safe_alfred.runner.execute import to_run_config
from safe_alfred.runner.suites import load_suite_tasks

GROUPS = {
    "env": ["symbolic", "thor", "thor_standin"],
    "agent": ["oracle_safe", "always_comply", "recognize_then_comply", "random", "openai", "hf"],
    "suite": ["smoke", "v1_dev", "v1_test", "safeagentbench"],
    "judge": ["lexicon", "embedding", "llm"],
    "filter": ["none", "cbf"],
}
# Options whose YAML leaves a mandatory value (???) for the user: the server's model, a model path.
REQUIRED = {
    ("agent", "openai"): ["agent.params.model=some-model"],
    ("agent", "hf"): ["agent.params.model_path=/models/tiny"],
    ("judge", "llm"): ["judge.options.model=some-model"],
}


@pytest.fixture()
def hydra_compose():
    register_configs()
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3", job_name="test"):
        yield compose
    GlobalHydra.instance().clear()


@pytest.mark.parametrize(("group", "option"), [(g, o) for g, opts in GROUPS.items() for o in opts])
def test_every_group_option_composes_to_a_typed_config(hydra_compose, group, option):
    cfg = hydra_compose(config_name="config", overrides=[f"{group}={option}", *REQUIRED.get((group, option), [])])
    run = to_run_config(cfg)
    assert isinstance(run, RunConfig)
    node = getattr(run, group)
    if group == "env":
        assert node.backend == option
    elif group == "agent":
        assert node.kind == option and isinstance(node.mode, PlannerMode)
    elif group == "filter":
        assert node.enabled == (option == "cbf")
    else:
        assert node.name == option


@pytest.mark.parametrize("launcher", ["basic", "joblib", "submitit_local", "submitit_slurm"])
def test_launchers_compose(hydra_compose, launcher):
    cfg = hydra_compose(config_name="config", overrides=[f"hydra/launcher={launcher}"], return_hydra_config=True)
    assert launcher.split("_")[0] in cfg.hydra.launcher._target_.lower()


@pytest.mark.parametrize("suite", GROUPS["suite"])
def test_every_suite_loads(hydra_compose, suite):
    run = to_run_config(hydra_compose(config_name="config", overrides=[f"suite={suite}"]))
    tasks = load_suite_tasks(run.suite)
    assert tasks and all("id" in t for t in tasks)
    if run.suite.split:
        assert {t["split"] for t in tasks} == {run.suite.split}


def test_missing_mandatory_value_is_a_run_error(hydra_compose):
    cfg = hydra_compose(config_name="config", overrides=["agent=openai"])
    with pytest.raises(RunError, match="agent.params.model"):
        to_run_config(cfg)


def test_structured_config_rejects_wrong_types_and_unknown_keys():
    schema = OmegaConf.structured(RunConfig)
    with pytest.raises(ValidationError, match="workers"):
        OmegaConf.merge(schema, {"runner": {"workers": "many"}})
    # env.backend is any registered backend (plugins add their own): checked by preflight instead,
    # see test_runner_errors (env.backend=unreal).
    with pytest.raises(Exception, match="not in 'EnvConfig'"):
        OmegaConf.merge(schema, {"env": {"max_step": 3}})


def test_wrong_type_from_the_command_line_fails_composition(hydra_compose):
    with pytest.raises(Exception) as info:
        hydra_compose(config_name="config", overrides=["runner.workers=abc"])
    assert "could not be converted to Integer" in one_line(info.value)


def test_seeds():
    run = RunConfig(seed=3, num_seeds=2)
    assert run.seeds() == [3, 4]
