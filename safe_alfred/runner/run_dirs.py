"""Where a run goes when the user does not say: a path that names what ran, never shared by accident.

    outputs/SUITE/AGENT/FILTER_ENV_JUDGE_SEEDS/DATE_TIME

AGENT is the planner kind, and for model planners the model too (``openai-Qwen2.5-7B-Instruct``).
``claim_run_dir`` first looks in that folder for an unfinished run of exactly this configuration
(same ``config_hash``, not locked by a live process) and resumes it; otherwise it creates a fresh
directory with an exclusive ``mkdir`` (two runs started in the same second get two directories).
Either way the directory's lock is taken before it is returned, so no other process can claim it.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

from safe_alfred.run_dir import RunDir, RunLockedError, config_hash
from safe_alfred.runner.compose import resolved_config, with_suite_label
from safe_alfred.runner.config import RunConfig

DEFAULT_ROOT = "outputs"
_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]+")


def slug(text: object) -> str:
    """A path component: letters, digits and ``._+-`` only."""
    return _UNSAFE.sub("-", str(text)).strip("-.") or "x"


def agent_label(cfg: RunConfig) -> str:
    """The planner's name in paths and titles: its name or kind, plus the model for model planners."""
    agent = cfg.agent
    if agent.name:
        return slug(agent.name)
    base = agent.target.rsplit(":", 1)[-1] if agent.kind == "custom" and agent.target else agent.kind
    params = dict(agent.params)
    model = params.get("model") or params.get("model_path")
    if model:
        return slug(f"{base}-{Path(str(model).rstrip('/')).name}")
    return slug(base)


def seeds_label(cfg: RunConfig) -> str:
    seeds = cfg.seeds()
    if len(seeds) == 1:
        return f"seed{seeds[0]}"
    return f"seeds{seeds[0]}-{seeds[-1]}"


def config_folder(cfg: RunConfig, root: str | os.PathLike = DEFAULT_ROOT) -> Path:
    """``outputs/SUITE/AGENT/FILTER_ENV_JUDGE_SEEDS``: runs of one configuration, one per start."""
    from safe_alfred.runner.suites import suite_label

    filt = cfg.filter.name if cfg.filter.enabled else "nofilter"
    leaf = "_".join(slug(p) for p in (filt, cfg.env.backend, cfg.judge.name)) + "_" + seeds_label(cfg)
    return Path(root) / slug(suite_label(cfg.suite)) / agent_label(cfg) / leaf


def find_unfinished(folder: Path, identity: str) -> RunDir | None:
    """The newest run in ``folder`` of configuration ``identity`` that did not finish and is not running."""
    if not folder.is_dir():
        return None
    for path in sorted((p for p in folder.iterdir() if p.is_dir()), reverse=True):
        rd = RunDir(path)
        status = rd.status()
        if status.get("config_hash") != identity or status.get("complete"):
            continue
        if rd.locked_by() is None:
            return rd
    return None


def claim_run_dir(cfg: RunConfig, root: str | os.PathLike = DEFAULT_ROOT) -> tuple[RunDir, bool]:
    """The directory this run should use, locked by this process, and whether it resumes a run."""
    cfg = with_suite_label(cfg)
    folder = config_folder(cfg, root)
    identity = config_hash(resolved_config(cfg))
    while (found := find_unfinished(folder, identity)) is not None:
        try:
            found.acquire()
        except RunLockedError:  # another process claimed it a moment ago
            continue
        return found, True
    rd = RunDir(_fresh_stamped_dir(folder, "run"))
    rd.acquire()
    return rd, False


def _fresh_stamped_dir(base: Path, what: str) -> Path:
    """``base/DATE_TIME[-N]``, created here: no other process starting in the same second gets it."""
    base.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    for n in range(1, 1000):
        path = base / (stamp if n == 1 else f"{stamp}-{n}")
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
    raise RuntimeError(f"could not create a {what} directory under {base}")


def claim_sweep_dir(root: str | os.PathLike = "multirun") -> Path:
    """A fresh sweep directory ``multirun/DATE_TIME[-N]`` that no other sweep started in the same second shares."""
    return _fresh_stamped_dir(Path(root), "sweep")
