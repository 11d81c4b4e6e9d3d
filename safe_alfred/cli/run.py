"""``safe-alfred run``: compose the Hydra config, run every episode, write records and the report.

The argv goes to a ``@hydra.main`` function, so everything Hydra offers works (``-m`` sweeps,
launchers, ``--cfg job``, ``hydra.run.dir=DIR``). Before Hydra starts, the overrides are composed
once per sweep combination and the task suite is loaded, so a misspelt config name, a bad override
or a missing task file ends in one line on stderr and exit status 2, not a traceback.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig, OmegaConf

from safe_alfred.config_paths import conf_dir
from safe_alfred.errors import UserError
from safe_alfred.runner.compose import CONFIG_NAME
from safe_alfred.runner.config import register_configs
from safe_alfred.runner.errors import RunError, one_line

PROG = "safe-alfred run"
_MAX_PREFLIGHT = 64  # sweep combinations composed before launching (the rest compose in the launcher)


def _parser() -> argparse.ArgumentParser:
    """Hydra's own command-line flags (hydra.cc, "Hydra's command line flags"): enough to tell a
    run from a sweep or an informational call; Hydra itself parses the same argv again."""
    p = argparse.ArgumentParser(prog=PROG, add_help=False)
    p.add_argument("overrides", nargs="*")
    for flag in ("--help", "--hydra-help", "--version", "--resolve", "--run", "--multirun", "--shell-completion"):
        short = {"--help": "-h", "--run": "-r", "--multirun": "-m", "--shell-completion": "-sc"}.get(flag)
        p.add_argument(*([flag, short] if short else [flag]), action="store_true")
    p.add_argument("--cfg", "-c", choices=["job", "hydra", "all"])
    p.add_argument("--package", "-p")
    p.add_argument("--info", "-i", nargs="?", const="all")
    for flag, short in (("--config-path", "-cp"), ("--config-name", "-cn"), ("--config-dir", "-cd"),
                        ("--experimental-rerun", None)):
        p.add_argument(*([flag, short] if short else [flag]))
    return p


def _hydra_args(argv: list[str]) -> argparse.Namespace:
    return _parser().parse_args(argv)


def sweep_combinations(parsed: list[Any]) -> list[list[str]]:
    """Every override list a ``-m`` sweep expands to (the basic sweeper's cartesian product)."""
    choices: dict[str, list[str]] = {}
    for o in parsed:
        key = o.get_key_element()
        if o.is_sweep_override():
            if not o.is_discrete_sweep():
                raise RunError(f"bad sweep override {o.input_line}: only lists and ranges can be swept")
            choices[key] = [f"{key}={v}" for v in o.sweep_string_iterator()]
        else:
            choices[key] = [f"{key}={o.get_value_element_as_str()}"]
    return [list(c) for c in itertools.product(*choices.values())]


def preflight(overrides: list[str], multirun: bool) -> None:
    """Compose the config for each sweep combination and load its suite; raise ``RunError``."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from safe_alfred.runner.compose import composer
    from safe_alfred.runner.factory import check_available
    from safe_alfred.runner.suites import load_suite_tasks

    register_configs()
    try:
        parsed = OverridesParser.create().parse_overrides(overrides=overrides)
    except Exception as exc:  # hydra's OverrideParseException
        raise RunError(f"bad override: {one_line(exc)}") from None
    sweeps = [o for o in parsed if o.is_sweep_override()]
    if sweeps and not multirun:
        names = ", ".join(o.input_line for o in sweeps)
        raise RunError(f"sweep override(s) {names} need -m (multirun)")
    combos: list[list[str]] = [list(overrides)]
    if sweeps:
        try:
            combos = sweep_combinations(parsed)[:_MAX_PREFLIGHT]
        except RunError:
            raise
        except Exception as exc:
            raise RunError(f"bad sweep override: {one_line(exc)}") from None
    seen_suites: set[str] = set()
    with composer() as compose_one:
        for combo in combos:
            run_cfg = compose_one(combo)
            check_available(run_cfg)
            key = repr(run_cfg.suite)
            if key not in seen_suites:
                seen_suites.add(key)
                load_suite_tasks(run_cfg.suite)


def _task(cfg: DictConfig) -> None:
    """The Hydra task function: one run in the Hydra output dir."""
    from hydra.core.hydra_config import HydraConfig

    from safe_alfred.runner.compose import to_run_config
    from safe_alfred.runner.execute import run_experiment

    out_dir = Path(HydraConfig.get().runtime.output_dir)
    try:
        result = run_experiment(to_run_config(cfg), out_dir, resolved=OmegaConf.to_container(cfg, resolve=True))
    except UserError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    s = result.summary
    print(f"{result.out_dir}: {s.get('episodes')} episodes ({result.reused} resumed), errors {s.get('errors')}, "
          f"gap_rate {_pct(s.get('gap_rate'))}, unsafe_rate {_pct(s.get('unsafe_rate'))}; see report.md",
          file=sys.stderr)


def _pct(value: Any) -> str:
    return "n/a" if value is None else f"{100 * float(value):.1f}%"


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``safe-alfred run``; returns the exit status (a ``RunError`` is the dispatcher's)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    register_configs()
    try:
        args = _hydra_args(argv)
    except SystemExit as exc:  # argparse already printed usage and the error
        return int(exc.code or 0)
    informational = args.help or args.hydra_help or args.version or args.info or args.cfg or args.shell_completion
    custom_source = args.config_path or args.config_name or args.config_dir or args.experimental_rerun
    if not informational and not custom_source:
        preflight(list(args.overrides), bool(args.multirun))  # a RunError: one line, exit 2
    task = hydra.main(config_path=str(conf_dir()), config_name=CONFIG_NAME, version_base="1.3")(_task)
    saved = sys.argv
    sys.argv = [PROG, *argv]
    try:
        task()
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    finally:
        sys.argv = saved
    return 0
