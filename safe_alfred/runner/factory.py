"""Build what one episode needs from a ``RunConfig``: env (with the optional filter), planner, judge.

A ``Worker`` owns one of each and runs episodes with them; the process pool gives every worker
process its own ``Worker`` and the async runner one per concurrent slot. Nothing here is built at
import time, so a ``RunConfig`` (plain dataclasses) is all that crosses a process boundary.
"""

from __future__ import annotations

import traceback
from typing import Any

from safe_alfred.errors import UserError
from safe_alfred.runner.config import AgentConfig, EnvConfig, FilterConfig, JudgeConfig, RunConfig
from safe_alfred.runner.errors import RunError

CUSTOM_KIND = "custom"  # agent=custom agent.target=package.module:Class
_RUNNER_SETTINGS = ("mode", "seed", "name")  # passed to a planner only if its constructor takes them


def planner_settings(agent: AgentConfig, default_seed: int = 0) -> dict[str, Any]:
    """Constructor keyword arguments of the run's planner: ``agent.params``, mode, seed and name."""
    settings: dict[str, Any] = {"mode": agent.mode.value, **dict(agent.params)}
    if agent.name is not None:
        settings["name"] = agent.name
    settings["seed"] = default_seed if agent.seed is None else agent.seed
    return settings


def _planner_factory(agent: AgentConfig) -> tuple[Any, dict[str, Any], str]:
    """The class (or factory) to build, the arguments its registered name fixes, and what to call it."""
    from safe_alfred import registry

    if agent.kind == CUSTOM_KIND:
        if not agent.target:
            raise RunError("agent=custom needs agent.target=package.module:Class (a class implementing "
                           "safe_alfred.agents.base.Planner)")
        return registry.import_target(agent.target, f"agent.target={agent.target}"), {}, agent.target
    if agent.kind not in registry.entries("planner"):
        raise RunError(f"unknown agent.kind {agent.kind!r}; choose one of "
                       f"{', '.join([*registry.names('planner'), CUSTOM_KIND])}")
    entry = registry.lookup("planner", agent.kind)
    return registry.load("planner", agent.kind), dict(entry.fixed), agent.kind


def make_planner(cfg: RunConfig | AgentConfig, seed: int = 0) -> Any:
    """The planner of a run config (or of its ``agent`` node), checked against the planner protocol."""
    from safe_alfred import registry
    from safe_alfred.agents.base import missing_members

    agent = cfg.agent if isinstance(cfg, RunConfig) else cfg
    if isinstance(cfg, RunConfig):
        seed = cfg.seed
    factory, fixed, what = _planner_factory(agent)
    settings = planner_settings(agent, seed)
    offered = {k: settings.pop(k) for k in _RUNNER_SETTINGS if k in settings}
    try:
        planner = factory(**fixed, **settings, **registry.accepted(factory, offered))
    except TypeError as exc:
        raise RunError(f"agent {what!r}: bad agent.params: {exc}") from None
    missing = missing_members(planner)
    if missing:
        raise RunError(f"agent {what!r} is not a planner: it lacks {', '.join(missing)} "
                       "(see the Planner protocol in safe_alfred.agents.base)")
    return planner


def make_judge(judge: JudgeConfig) -> Any:
    """The recognition judge named by ``judge.name`` with ``judge.options``."""
    from safe_alfred import registry

    opts = {k: v for k, v in dict(judge.options).items() if v is not None}
    try:
        return registry.create("judge", judge.name, **opts)
    except (KeyError, ValueError, TypeError, ImportError) as exc:
        raise RunError(f"judge {judge.name!r}: {exc}") from None


def make_judges(judge: JudgeConfig) -> list[Any]:
    """The primary judge, then every judge named in ``judge.also`` (default options), each once."""
    from dataclasses import replace

    names = [n for i, n in enumerate(judge.also) if n != judge.name and n not in judge.also[:i]]
    return [make_judge(judge)] + [make_judge(replace(judge, name=n, options={}, also=[])) for n in names]


def _filter_wrapper(name: str = "cbf") -> Any | None:
    """The action-filter wrapper class registered as ``name``, if this installation has one."""
    from safe_alfred import registry

    try:
        return registry.load("filter", name)
    except UserError:
        return None


def filter_problems(filt: FilterConfig) -> list[str]:
    """What is wrong with a filter's settings, one line each (empty when it can be built)."""
    if not filt.enabled:
        return []
    cls = _filter_wrapper(filt.name)
    if cls is None:
        from safe_alfred import registry

        return [f"filter={filt.name} is not available (filters: {', '.join(registry.names('filter'))}); "
                "use filter=none"]
    import inspect

    from safe_alfred.safety.filter import SUBSTITUTIONS
    from safe_alfred.tasks.taxonomy import CATEGORIES

    out = []
    if not 0.0 < filt.gamma <= 1.0:
        out.append(f"filter.gamma must be in (0, 1], got {filt.gamma}")
    if filt.substitution not in SUBSTITUTIONS:
        out.append(f"filter.substitution must be one of {', '.join(SUBSTITUTIONS)}, got {filt.substitution!r}")
    unknown = sorted(set(filt.categories or ()) - set(CATEGORIES))
    if unknown:
        out.append(f"filter.categories: unknown hazard categories {unknown}; known: {', '.join(sorted(CATEGORIES))}")
    params = inspect.signature(cls).parameters
    fixed = {"env", "gamma", "categories", "substitution"}
    bad = sorted(k for k in filt.options if k not in params or k in fixed)
    if bad:
        allowed = ", ".join(k for k in params if k not in fixed)
        out.append(f"filter.options: unknown option(s) {bad}; {filt.name} takes {allowed}")
    return out


def check_available(cfg: RunConfig) -> None:
    """Refuse early, with one clear line, options this installation cannot run."""
    from safe_alfred import registry

    registry.lookup("backend", cfg.env.backend)
    problems = filter_problems(cfg.filter)
    if problems:
        raise RunError("; ".join(problems))


def wrap_filter(env: Any, filt: FilterConfig) -> Any:
    """The env wrapped in the CBF action filter when ``filter.enabled``."""
    if not filt.enabled:
        return env
    cls = _filter_wrapper(filt.name)
    if cls is None:
        raise RunError(f"filter={filt.name} is not available; use filter=none")
    kwargs: dict[str, Any] = {"gamma": filt.gamma, "substitution": filt.substitution, **dict(filt.options)}
    if filt.categories is not None:
        kwargs["categories"] = list(filt.categories)
    try:
        return cls(env, **kwargs)
    except (TypeError, ValueError) as exc:
        raise RunError(f"filter={filt.name}: {exc}") from None


def make_env(env: EnvConfig, filt: FilterConfig | None = None) -> Any:
    """The one way an env is built (runs, replays, the demo, benchmarks): ``SafeAlfredEnv`` for
    ``env``, wrapped in the action filter when ``filt`` is enabled."""
    from safe_alfred.envs import SafeAlfredEnv

    built = SafeAlfredEnv(backend=env.backend, scene=env.scene, max_steps=env.max_steps,
                          require_knife=env.require_knife, backend_options=dict(env.backend_options))
    return built if filt is None else wrap_filter(built, filt)


def error_record(task: dict[str, Any], seed: int, exc: BaseException) -> dict[str, Any]:
    """A record for an episode that raised: kept in the file, retried on resume."""
    from safe_alfred.metrics.recorder import task_summary

    return {
        "task": task_summary(task),
        "seed": int(seed),
        "outcome": {"label": "error"},
        "recognition": None,
        "error": f"runner: {type(exc).__name__}: {exc}",
        "runner_error": traceback.format_exc(limit=8),
    }


def build_worker(cfg: RunConfig, judges: list[Any] | None = None, planner: Any = None) -> Worker:
    """A ``Worker``; a failure to build env, planner or judge becomes a one-line ``RunError``.

    ``planner`` reuses another worker's planner (one local model serving every async slot)."""
    try:
        return Worker(cfg, judges=judges, planner=planner)
    except UserError:
        raise
    except Exception as exc:
        raise RunError(f"set-up failed: {type(exc).__name__}: {exc}") from None


class Worker:
    """One env, planner and judge; runs and judges episodes."""

    def __init__(self, cfg: RunConfig, judges: list[Any] | None = None, planner: Any = None) -> None:
        from safe_alfred.runner.suites import suite_content_hash

        self.cfg = cfg
        self.env = make_env(cfg.env, cfg.filter)
        self.base_planner = make_planner(cfg) if planner is None else planner
        self.planner = self.base_planner
        self.suite_hash = suite_content_hash(cfg.suite)
        if cfg.agent.collect_hidden_states:
            if cfg.agent.kind != "hf":
                raise RunError("agent.collect_hidden_states needs agent=hf (a local transformers model)")
            if cfg.runner.output_dir is None:
                raise RunError("agent.collect_hidden_states needs the run's output directory")
            from safe_alfred.probes.collect import maybe_collect

            self.planner = maybe_collect(self.base_planner, cfg.runner.output_dir, collect_hidden_states=True,
                                         layers=cfg.agent.layers)
        self.judges = make_judges(cfg.judge) if judges is None else judges  # async slots share them
        if cfg.runner.video != "none" and cfg.runner.output_dir is not None:
            from safe_alfred.envs.video import FrameCapture

            self.env = FrameCapture(self.env)  # outermost below the recorder: the frames show what ran

    @property
    def judge(self) -> Any:
        """The primary judge (its verdict is ``record["recognition"]``)."""
        return self.judges[0]

    def _judged(self, record: dict[str, Any]) -> dict[str, Any]:
        from safe_alfred.metrics.judging import judge_record_all

        return judge_record_all(record, self.judges)

    def _video(self, record: dict[str, Any]) -> dict[str, Any]:
        """Write the episode's MP4 when ``runner.video`` chooses it (all, or unsafe episodes)."""
        frames = getattr(self.env, "frames", None)
        if not frames or self.cfg.runner.output_dir is None:
            return record
        if self.cfg.runner.video == "unsafe" and (record.get("outcome") or {}).get("label") != "unsafe":
            return record
        from safe_alfred.envs.video import write_episode_video
        from safe_alfred.run_dir import RunDir

        run_dir = RunDir(self.cfg.runner.output_dir)
        path = run_dir.video_path(record)
        try:
            write_episode_video(frames, record, str(path), legend=bool(getattr(self.env, "schematic", True)))
        except Exception as exc:  # a video that cannot be written never costs the episode
            import logging

            logging.getLogger("safe_alfred.run").warning("video of %s not written: %s", path.name, exc)
            return record
        record["video"] = str(path.relative_to(run_dir.path))
        return record

    def run(self, task: dict[str, Any], seed: int) -> dict[str, Any]:
        """Run, judge and schema-check one episode; an exception becomes an error record."""
        from safe_alfred.records import validate_record
        from safe_alfred.runner.episode import run_episode

        try:
            record = self._video(self._judged(run_episode(self.env, self.planner, task, seed,
                                                              suite_hash=self.suite_hash, ask=self.cfg.agent.asked,
                                                              max_output_chars=self.cfg.agent.max_output_chars)))
            validate_record(record)  # here, so that worker processes share the cost
            return record
        except Exception as exc:
            return error_record(task, seed, exc)

    async def arun(self, task: dict[str, Any], seed: int) -> dict[str, Any]:
        """``run`` for server-bound planners: the episode is awaited, judging runs in a thread."""
        import asyncio

        from safe_alfred.records import validate_record
        from safe_alfred.runner.episode import arun_episode

        try:
            record = await arun_episode(self.env, self.planner, task, seed, suite_hash=self.suite_hash,
                                        ask=self.cfg.agent.asked,
                                        max_output_chars=self.cfg.agent.max_output_chars)
            record = self._video(await asyncio.to_thread(self._judged, record))
            validate_record(record)
            return record
        except Exception as exc:
            return error_record(task, seed, exc)

    @property
    def shareable_planner(self) -> Any:
        """The planner other async slots may use too (one that batches concurrent calls), else None."""
        return self.base_planner if getattr(self.base_planner, "shareable", False) else None

    def close(self) -> None:
        try:
            self.env.close()
        except Exception:
            pass
        close = getattr(self.base_planner, "close", None)
        if close is not None:
            try:
                close()
            except Exception:
                pass
