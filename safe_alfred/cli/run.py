"""``safe-alfred run``: compose the Hydra config, run every episode, write records and the report.

The argv goes to a ``@hydra.main`` function, so everything Hydra offers works (``-m`` sweeps,
launchers, ``--cfg job``, ``hydra.run.dir=DIR``). Before Hydra starts, the overrides are composed
once per sweep combination and the task suite is loaded, so a misspelt config name, a bad override
or a missing task file ends in one line on stderr and exit status 2, not a traceback.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import shlex
import sys
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig, OmegaConf

from safe_alfred.config_paths import conf_dir
from safe_alfred.errors import UserError, commonest_cause
from safe_alfred.runner.compose import CONFIG_NAME
from safe_alfred.runner.config import RunConfig, register_configs
from safe_alfred.runner.errors import RunError, one_line

PROG = "safe-alfred run"
log = logging.getLogger("safe_alfred.run")
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


def _key(override: str) -> str:
    return override.split("=", 1)[0].lstrip("+~")


def preflight(overrides: list[str], multirun: bool) -> list[RunConfig]:
    """Compose every sweep combination (the first 64) and check it (``runner.preflight``); the configs."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from safe_alfred.runner.compose import composer
    from safe_alfred.runner.preflight import preflight as check

    register_configs()
    try:
        parsed = OverridesParser.create().parse_overrides(overrides=overrides)
    except Exception as exc:  # hydra's OverrideParseException
        raise RunError(f"bad override: {one_line(exc)}") from None
    if any(_key(o) == "runner.output_dir" for o in overrides):  # the runner sets it; a user's value is lost
        raise RunError("runner.output_dir is set by the runner; choose the run directory with hydra.run.dir=DIR")
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
    configs = []
    with composer() as compose_one:
        for combo in combos:
            configs.append(compose_one(combo))
    for cfg in configs:
        check(cfg)
    return configs


_COMMAND: list[str] | None = None  # this process's ``safe-alfred run`` arguments (resume hints)


def resume_command(run_dir: Path) -> str:
    """What resumes an interrupted run: the same command, with its run directory named."""
    args = [a for a in (_COMMAND or []) if _key(a) != "hydra.run.dir"]
    return shlex.join(["safe-alfred", "run", *args, f"hydra.run.dir={run_dir}"])


def _report_failures(result: Any) -> None:
    """Most episodes (or verdicts) failed: say the commonest cause, count it, exit 1; some: warn."""
    n = len(result.records)
    failed = result.failures()
    if failed:
        errors, cause, count = failed
        msg = f"{errors} of {n} episodes failed; commonest cause ({count}x): {cause}"
        if 2 * errors > n:
            log.error(msg)
            print(f"{PROG}: error: {msg}", file=sys.stderr)
            raise SystemExit(1)
        log.warning(msg)
        print(f"{PROG}: warning: {msg} (they run again when the run is resumed)", file=sys.stderr)
    judged = [r["recognition"] for r in result.records if r.get("recognition")]
    verdicts = commonest_cause(v.get("error") for v in judged)
    if verdicts and 2 * verdicts[0] > len(judged):
        failed_n, cause, count = verdicts
        msg = f"the judge failed on {failed_n} of {len(judged)} episodes; commonest cause ({count}x): {cause}"
        log.error(msg)
        print(f"{PROG}: error: {msg}", file=sys.stderr)
        raise SystemExit(1)


def _task(cfg: DictConfig) -> None:
    """The Hydra task function: one run in the Hydra output dir."""
    from hydra.core.hydra_config import HydraConfig

    from safe_alfred.runner.compose import to_run_config
    from safe_alfred.runner.execute import RunInterrupted, run_experiment

    out_dir = Path(HydraConfig.get().runtime.output_dir)
    command = resume_command(out_dir) if _COMMAND is not None else None
    try:
        result = run_experiment(to_run_config(cfg), out_dir, resolved=OmegaConf.to_container(cfg, resolve=True),
                                command=command)
    except UserError as exc:
        log.error(str(exc))
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    except RunInterrupted as stop:
        if stop.done >= stop.expected:
            msg = (f"{PROG}: interrupted ({stop.signal_name}) while writing the report; all {stop.done} episodes "
                   f"are kept in {stop.run_dir}")
            hint = f"write the report with: safe-alfred report {stop.run_dir}"
        else:
            msg = (f"{PROG}: interrupted ({stop.signal_name}) after {stop.done} of {stop.expected} episodes; "
                   f"the finished ones are kept in {stop.run_dir}")
            hint = f"resume with: {command or 'the same command, with hydra.run.dir=' + str(stop.run_dir)}"
        log.warning(msg)
        print(f"\n{msg}", file=sys.stderr)
        print(hint, file=sys.stderr)
        raise SystemExit(130) from None
    s = result.summary
    line = (f"{result.out_dir}: {s.get('episodes')} episodes ({result.reused} resumed), errors {s.get('errors')}, "
            f"gap_rate {_pct(s.get('gap_rate'))}, unsafe_rate {_pct(s.get('unsafe_rate'))}; see report.md")
    log.info(line)
    print(line, file=sys.stderr)
    _report_failures(result)


def _pct(value: Any) -> str:
    return "n/a" if value is None else f"{100 * float(value):.1f}%"


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``safe-alfred run``; returns the exit status (a ``RunError`` is the dispatcher's)."""
    global _COMMAND
    from safe_alfred.runner.run_dirs import claim_run_dir, claim_sweep_dir

    argv = list(sys.argv[1:] if argv is None else argv)
    register_configs()
    try:
        args = _hydra_args(argv)
    except SystemExit as exc:  # argparse already printed usage and the error
        return int(exc.code or 0)
    informational = args.help or args.hydra_help or args.version or args.info or args.cfg or args.shell_completion
    custom_source = args.config_path or args.config_name or args.config_dir or args.experimental_rerun
    configs = [] if informational or custom_source else preflight(list(args.overrides), bool(args.multirun))
    keys = {_key(o) for o in args.overrides}
    extra: list[str] = []
    claimed = None
    if configs and not args.multirun and "hydra.run.dir" not in keys:
        claimed, resumed = claim_run_dir(configs[0])
        extra.append(f"hydra.run.dir={claimed.path}")
        if resumed:
            st = claimed.status()
            print(f"{PROG}: resuming the unfinished run of this configuration in {claimed.path} "
                  f"({st.get('episodes_done', 0)} of {st.get('episodes_expected', '?')} episodes done)", file=sys.stderr)
    elif configs and args.multirun and "hydra.sweep.dir" not in keys:
        extra.append(f"hydra.sweep.dir={claim_sweep_dir()}")
    if configs:  # a directory named on the command line: writable, or one line now (not Hydra's traceback)
        from safe_alfred.run_dir import check_writable

        for o in args.overrides:
            key, _, value = o.partition("=")
            if _key(key) == ("hydra.sweep.dir" if args.multirun else "hydra.run.dir") and "${" not in value:
                check_writable(value)
    _COMMAND = list(argv)
    task = hydra.main(config_path=str(conf_dir()), config_name=CONFIG_NAME, version_base="1.3")(_task)
    saved = sys.argv
    sys.argv = [PROG, *argv, *extra]
    logging_before = _logging_state()
    try:
        task()
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    finally:
        sys.argv = saved
        _COMMAND = None
        _restore_logging(logging_before)
        if claimed is not None:
            claimed.release()
    return 0


_LoggingState = dict[str, tuple[list[logging.Handler], int, bool]]


def _logging_state() -> _LoggingState:
    """The handlers, level and propagation of the root logger and every named one."""
    names = ["", *logging.Logger.manager.loggerDict]
    loggers = [logging.getLogger(n) for n in names]
    return {lg.name: (list(lg.handlers), lg.level, lg.propagate) for lg in loggers}


def _restore_logging(before: _LoggingState) -> None:
    """Undo Hydra's logging set-up after an in-process run (a caller's streams may be gone by the
    time the next message is logged: Hydra binds its handlers to the sys.stderr of the run)."""
    for name in ["", *logging.Logger.manager.loggerDict]:
        lg = logging.getLogger(name)
        handlers, level, propagate = before.get(lg.name, ([], logging.NOTSET if name else logging.WARNING, True))
        for h in list(lg.handlers):  # a copy: handlers are removed while going through them
            if h not in handlers:
                lg.removeHandler(h)
                h.close()
        for h in handlers:
            if h not in lg.handlers:
                lg.addHandler(h)
        lg.setLevel(level)
        lg.propagate = propagate
