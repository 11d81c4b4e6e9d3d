#!/usr/bin/env python
"""Environment-speed benchmark: SafeAlfred-v0 against a TextWorld baseline, in one run.

Both environments are driven the same way: a seeded random agent picks one of the
currently admissible actions (TextWorld: ``admissible_commands``; SafeAlfred:
``info["admissible_skills"]``) each step, text observations are produced each step, and
the episode is reset when it ends. Steps per second are wall-clock figures on one pinned
core and include the resets that happen inside the timed loop. The first reset is not timed
in either: it loads the game or scene (SafeAlfred also prepares the view tables of the scene's
poses then, see ``safe_alfred/accel/scenes.py``), and is printed per scene beside the rate.

Figures printed:

* TextWorld steps/s on a ``tw-make custom`` game of a size comparable to an iTHOR kitchen
  (default: 5 rooms, >= 50 objects, quest length 5, seed 1);
* SafeAlfred steps/s through ``gymnasium.make("SafeAlfred-v0")`` and through the raw
  ``.unwrapped`` env, over several scenes, each in a fresh interpreter (the world's caches are
  process-wide: a second run over the same seeds would replay warm);
* SafeAlfred steps/s on the reference world (``SAFE_ALFRED_REFERENCE=1``: every derived value
  computed afresh, the acceleration layer off; ``--ref-steps``, once, after the rounds), beside
  the accelerated figure: what the acceleration layer buys;
* the ratio SafeAlfred / TextWorld. The measurements run in rounds (``--rounds``, default 3):
  TextWorld, then SafeAlfred through ``gymnasium.make``, then unwrapped, then again. Each side's
  figure is its fastest round, as ``timeit`` keeps its fastest repeat: load from other processes
  on a shared machine only ever slows a run. The median of the rounds' own ratios is printed
  beside it;
* the memory of one env: tracemalloc peak while creating it, resetting it and stepping it
  (``--mem-steps``), and the RSS growth over the same work, each measured in a fresh
  interpreter per scene;
* PASS/FAIL against the targets (>= 10,000 steps/s, >= 140x TextWorld, <= 50 MB per env).

Usage::

    python benchmarks/bench_env_steps.py
    python benchmarks/bench_env_steps.py --steps 20000 --tw-steps 2000 \
        --scenes FloorPlan1,FloorPlan201,FloorPlan301,FloorPlan401 --json bench.json
    python benchmarks/bench_env_steps.py --profile 5000   # also print cProfile hot spots
    python benchmarks/bench_env_steps.py --baseline 0fd2aee   # and a git ref's package, same loop, every round
    python benchmarks/bench_env_steps.py --baseline 0fd2aee --same-episode-length   # ... walking as many resets

``--baseline REF`` times the package of ``REF`` (checked out beside this tree, imported through
``PYTHONPATH``) with this script's loop in every round, after this tree's own rounds, and prints
this tree's speed as a multiple of it: a figure that other load on the machine, and the machine
itself, move much less than steps/s or the ratio to TextWorld. A reset costs several steps, so a
ref whose env ends its episodes later (a larger default ``max_steps``) walks fewer resets per step;
``--same-episode-length`` makes the ref's envs end theirs after as many steps as this tree's, and
the summary prints both trees' resets. The figures against TextWorld and the targets are always
this tree's env as ``gymnasium.make`` gives it.

TextWorld is the optional ``bench`` extra (``pip install -e ".[bench]"``); without it the
baseline and the ratio are reported as unavailable.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

ENV_ID = "SafeAlfred-v0"
REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from git_tree import checked_out, short_commit  # noqa: E402

TARGET_STEPS_PER_S = 10_000.0
TARGET_RATIO = 140.0
TARGET_MB_PER_ENV = 50.0

DEFAULT_SCENES = "FloorPlan1,FloorPlan201,FloorPlan301,FloorPlan401"

MB = 1024.0 * 1024.0


# --------------------------------------------------------------------------- helpers


def _ensure_importable() -> None:
    """Make the repository importable when the package is not installed."""
    try:
        import safe_alfred  # noqa: F401
    except ImportError:
        sys.path.insert(0, str(REPO_ROOT))


def _normalise_scene(name: str) -> str:
    name = name.strip()
    return f"FloorPlan{name}" if name.isdigit() else name


def _pin_to_one_core(cpu: int | None) -> tuple[int | None, str]:
    """Pin this process (and the children it starts later) to one CPU."""
    if not hasattr(os, "sched_setaffinity"):
        return None, "not pinned: os.sched_setaffinity is not available on this platform"
    try:
        allowed = sorted(os.sched_getaffinity(0))
        target = cpu if cpu is not None and cpu in allowed else allowed[0]
        os.sched_setaffinity(0, {target})
    except OSError as exc:
        return None, f"not pinned: {exc}"
    return target, f"pinned to CPU {target} (of {len(allowed)} allowed)"


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = out.stdout.strip() or None
    try:
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", "safe_alfred"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        dirty = ""
    if commit and dirty:
        commit += " (+ uncommitted changes under safe_alfred/)"
    return commit


def _version(module_name: str) -> str | None:
    try:
        from importlib.metadata import version

        return version(module_name)
    except Exception:
        return None


def _current_rss_bytes() -> int | None:
    """Current resident set size (psutil if installed, else /proc/self/statm)."""
    try:
        import psutil

        return int(psutil.Process().memory_info().rss)
    except ImportError:
        pass
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            resident_pages = int(fh.read().split()[1])
        return resident_pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def _max_rss_bytes() -> int | None:
    try:
        import resource
    except ImportError:
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak) if sys.platform == "darwin" else int(peak) * 1024


def _best_run(runs: list[dict]) -> dict | None:
    """The fastest of the runs, or None. Load from other processes only ever slows a run, so the
    fastest is the best estimate of the code's own speed (``timeit`` reports its minimum time for
    the same reason)."""
    return dict(max(runs, key=lambda r: r["steps_per_s"])) if runs else None


def _fmt_rate(x: float | None) -> str:
    return "n/a" if x is None else f"{x:,.0f}"


def _fmt_mb(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.1f} MB"


# --------------------------------------------------------------------------- TextWorld


def make_textworld_game(out_dir: str, world_size: int, nb_objects: int, quest_length: int, seed: int):
    """Equivalent of ``tw-make custom --world-size W --nb-objects N --quest-length L --seed S``."""
    import textworld

    options = textworld.GameOptions()
    options.seeds = seed
    options.path = os.path.join(out_dir, f"tw_custom_seed{seed}.z8")
    options.file_ext = ".z8"
    options.force_recompile = True
    options.nb_rooms = world_size
    options.nb_objects = nb_objects
    options.chaining.min_length = quest_length
    options.chaining.max_length = quest_length
    options.chaining.max_depth = quest_length
    game_file, game = textworld.make(options)
    nb_rooms = sum(1 for e in game.infos.values() if e.type == "r")
    nb_objs = sum(1 for e in game.infos.values() if e.type not in {"r", "d", "P", "I"})
    return game_file, nb_rooms, nb_objs


def _loop_stats(t0: float, c0: float, steps: int, episodes: int, n_admissible: int, obs_chars: int) -> dict:
    """Figures of one stepping loop started at wall time ``t0`` and CPU time ``c0``."""
    wall = time.perf_counter() - t0
    return {
        "steps": steps,
        "seconds": wall,
        "cpu_seconds": time.process_time() - c0,
        "steps_per_s": steps / wall,
        "episodes": episodes,
        "mean_admissible": n_admissible / max(steps, 1),  # a 0-step loop: the instruction count's base
        "mean_obs_chars": obs_chars / max(steps, 1),
    }


def bench_textworld(game_file: str, steps: int, seed: int) -> dict:
    import textworld

    infos = textworld.EnvInfos(admissible_commands=True, description=True, inventory=True)
    env = textworld.start(game_file, request_infos=infos)
    rng = random.Random(seed)
    gs = env.reset()  # untimed first reset
    episodes = 1
    n_admissible = 0
    obs_chars = 0
    t0 = time.perf_counter()
    c0 = time.process_time()
    for _ in range(steps):
        commands = gs.admissible_commands
        n_admissible += len(commands)
        gs, _score, done = env.step(rng.choice(commands))
        obs_chars += len(gs.feedback) + len(gs.description) + len(gs.inventory)
        if done or not gs.admissible_commands:
            gs = env.reset()
            episodes += 1
    stats = _loop_stats(t0, c0, steps, episodes, n_admissible, obs_chars)
    env.close()
    return stats


# --------------------------------------------------------------------------- SafeAlfred


def _import_safealfred_env():
    _ensure_importable()
    import gymnasium

    import safe_alfred.envs  # noqa: F401  (registers SafeAlfred-v0)

    return gymnasium


def _make_env(unwrapped: bool, episode_steps: int | None = None):
    """The env as ``gymnasium.make`` gives it, or (``episode_steps``) one whose episodes end after
    that many steps (its ``max_steps``) instead of the package's default."""
    gymnasium = _import_safealfred_env()
    env = gymnasium.make(ENV_ID, **({} if episode_steps is None else {"max_steps": episode_steps}))
    max_steps = env.spec.max_episode_steps if env.spec is not None else None
    return (env.unwrapped if unwrapped else env), max_steps


def _run_scene(
    env, scene: str, steps: int, seed: int, max_steps: int | None, emulate_time_limit: bool
) -> dict:
    """Random admissible skills on one scene; resets on terminated/truncated."""
    rng = random.Random(seed)
    episode_seed = seed
    t_load = time.perf_counter()
    obs, info = env.reset(seed=episode_seed, options={"scene": scene})  # untimed first reset
    load_s = time.perf_counter() - t_load  # the scene's load and per-pose preparation, reported
    if not isinstance(obs, str):
        raise TypeError(f"{ENV_ID} observation is {type(obs).__name__}, expected str")
    episodes = 1
    ep_len = 0
    n_admissible = 0
    obs_chars = 0
    limit = max_steps if (emulate_time_limit and max_steps) else None
    step = env.step
    reset = env.reset
    choice = rng.choice
    t0 = time.perf_counter()
    c0 = time.process_time()
    for _ in range(steps):
        skills = info["admissible_skills"]
        n_admissible += len(skills)
        obs, _reward, terminated, truncated, info = step(choice(skills))
        obs_chars += len(obs)
        ep_len += 1
        if limit is not None and ep_len >= limit:
            truncated = True
        if terminated or truncated or not info["admissible_skills"]:
            episode_seed += 1
            obs, info = reset(seed=episode_seed, options={"scene": scene})
            episodes += 1
            ep_len = 0
    return {"scene": scene, "first_reset_s": load_s, **_loop_stats(t0, c0, steps, episodes, n_admissible, obs_chars)}


def episode_steps_here() -> int:
    """How many steps an episode of this tree's env lasts at most (its default ``max_steps``)."""
    env, _ = _make_env(unwrapped=False)
    try:
        return int(env.unwrapped.max_steps)
    finally:
        env.close()


def bench_safealfred(scenes: list[str], steps: int, seed: int, unwrapped: bool,
                     episode_steps: int | None = None) -> dict:
    per_scene_steps = [steps // len(scenes)] * len(scenes)
    per_scene_steps[0] += steps - sum(per_scene_steps)
    results = []
    max_steps = None
    for scene, n in zip(scenes, per_scene_steps, strict=True):
        env, max_steps = _make_env(unwrapped, episode_steps)
        results.append(_run_scene(env, scene, n, seed, max_steps, emulate_time_limit=unwrapped))
        env.close()
    total_steps = sum(r["steps"] for r in results)
    total_wall = sum(r["seconds"] for r in results)
    import safe_alfred

    return {
        "mode": "unwrapped" if unwrapped else "gymnasium.make",
        "package": str(Path(safe_alfred.__file__).resolve().parent),
        "max_episode_steps": max_steps,
        "episode_steps": episode_steps,  # None: the package's default max_steps
        "steps": total_steps,
        "seconds": total_wall,
        "cpu_seconds": sum(r["cpu_seconds"] for r in results),
        "steps_per_s": total_steps / total_wall,
        "episodes": sum(r["episodes"] for r in results),
        "mean_admissible": sum(r["mean_admissible"] * r["steps"] for r in results) / total_steps,
        "mean_obs_chars": sum(r["mean_obs_chars"] * r["steps"] for r in results) / total_steps,
        "per_scene": results,
    }


def _bench_safealfred_fresh(scenes: list[str], steps: int, seed: int, unwrapped: bool,
                            reference: bool = False, tree: Path | None = None,
                            episode_steps: int | None = None) -> dict:
    """``bench_safealfred`` in a fresh interpreter: the acceleration layer keeps process-wide
    tables (view candidates, poses, per-object descriptions), so a second run over the same seeds
    in the same process would replay warm and look faster than a first one. ``reference``: on
    the reference world (``SAFE_ALFRED_REFERENCE=1``). ``tree``: the package of another checkout
    (``--baseline``), driven by this script's loop. ``episode_steps``: its envs' ``max_steps``."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--_speed-child", ",".join(scenes),
           "--steps", str(steps), "--seed", str(seed)] + (["--_unwrapped"] if unwrapped else [])
    if episode_steps is not None:
        cmd += ["--_episode-steps", str(episode_steps)]
    env = dict(os.environ)
    env.pop("SAFE_ALFRED_REFERENCE", None)
    if reference:
        env["SAFE_ALFRED_REFERENCE"] = "1"
    if tree is not None:
        env["PYTHONPATH"] = str(tree)
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env, cwd=tree)
    if proc.returncode != 0:
        raise RuntimeError((proc.stderr.strip().splitlines() or ["speed child failed"])[-1])
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    expected = (tree or REPO_ROOT).resolve() / "safe_alfred"
    if Path(res["package"]) != expected:
        raise RuntimeError(f"the speed child ran the package at {res['package']}, not {expected}")
    return res


def _scene_object_count(env) -> int | None:
    """Best-effort object count of the current scene (for the size comparison)."""
    base = env.unwrapped
    for holder in (base, getattr(base, "world", None), getattr(base, "state", None)):
        if holder is None:
            continue
        objs = getattr(holder, "objects", None)
        if objs is not None:
            try:
                return len(objs)
            except TypeError:
                continue
    return None


# --------------------------------------------------------------------------- memory


def _mem_child(scene: str, steps: int, seed: int, mode: str) -> dict:
    """Runs in a fresh interpreter: memory of creating, resetting and stepping one env."""
    _ensure_importable()
    import gymnasium

    rng = random.Random(seed)
    out: dict = {"scene": scene, "mode": mode, "steps": steps}

    def drive(env) -> None:
        obs, info = env.reset(seed=seed, options={"scene": scene})
        ep_seed = seed
        for i in range(steps):
            obs, _r, terminated, truncated, info = env.step(rng.choice(info["admissible_skills"]))
            if terminated or truncated or not info["admissible_skills"]:
                ep_seed += 1
                obs, info = env.reset(seed=ep_seed, options={"scene": scene})
            if sample is not None and i % 50 == 0:
                sample()

    if mode == "tracemalloc":
        import tracemalloc

        sample = None
        gc.collect()
        tracemalloc.start()
        import safe_alfred.envs  # noqa: F401  (module-level data, shared by all envs)

        base, _ = tracemalloc.get_traced_memory()
        out["import_retained_mb"] = base / MB
        tracemalloc.reset_peak()
        env = gymnasium.make(ENV_ID)
        drive(env)
        current, peak = tracemalloc.get_traced_memory()
        out["first_env_peak_mb"] = (peak - base) / MB
        out["first_env_retained_mb"] = (current - base) / MB
        out["scene_objects"] = _scene_object_count(env)
        # A second env in the same process: its marginal cost, shared caches excluded.
        tracemalloc.reset_peak()
        base2, _ = tracemalloc.get_traced_memory()
        env2 = gymnasium.make(ENV_ID)
        drive(env2)
        current2, peak2 = tracemalloc.get_traced_memory()
        out["second_env_peak_mb"] = (peak2 - base2) / MB
        out["second_env_retained_mb"] = (current2 - base2) / MB
        tracemalloc.stop()
        env.close()
        env2.close()
    else:
        samples: list[int] = []

        def sample() -> None:
            rss = _current_rss_bytes()
            if rss is not None:
                samples.append(rss)

        import safe_alfred.envs  # noqa: F401

        gc.collect()
        before = _current_rss_bytes()
        maxrss_before = _max_rss_bytes()
        env = gymnasium.make(ENV_ID)
        drive(env)
        sample()
        after = _current_rss_bytes()
        maxrss_after = _max_rss_bytes()
        if before is not None and after is not None:
            out["rss_growth_mb"] = (after - before) / MB
            out["rss_peak_growth_mb"] = (max(samples) - before) / MB
        if maxrss_before is not None and maxrss_after is not None:
            out["maxrss_growth_mb"] = (maxrss_after - maxrss_before) / MB
        env.close()
    return out


def measure_memory(scenes: list[str], steps: int, seed: int) -> dict:
    per_scene = []
    for scene in scenes:
        row: dict = {"scene": scene}
        for mode in ("tracemalloc", "rss"):
            cmd = [
                sys.executable,
                str(Path(__file__).resolve()),
                "--_mem-child",
                scene,
                "--_mem-mode",
                mode,
                "--mem-steps",
                str(steps),
                "--seed",
                str(seed),
            ]
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                row[f"{mode}_error"] = (proc.stderr.strip().splitlines() or ["failed"])[-1]
                continue
            row.update(
                {k: v for k, v in json.loads(proc.stdout.strip().splitlines()[-1]).items() if k != "mode"}
            )
        per_scene.append(row)

    def worst(key: str) -> float | None:
        vals = [r[key] for r in per_scene if r.get(key) is not None]
        return max(vals) if vals else None

    return {
        "steps": steps,
        "per_scene": per_scene,
        "tracemalloc_peak_mb": worst("first_env_peak_mb"),
        "tracemalloc_second_env_peak_mb": worst("second_env_peak_mb"),
        "rss_peak_growth_mb": worst("rss_peak_growth_mb"),
    }


# --------------------------------------------------------------------------- profile


def profile_safealfred(scenes: list[str], steps: int, seed: int, top: int = 15) -> str:
    import cProfile
    import io
    import pstats

    env, max_steps = _make_env(unwrapped=False)
    per_scene = max(1, steps // len(scenes))
    prof = cProfile.Profile()
    for scene in scenes:
        prof.enable()
        _run_scene(env, scene, per_scene, seed, max_steps, emulate_time_limit=False)
        prof.disable()
    env.close()
    buf = io.StringIO()
    stats = pstats.Stats(prof, stream=buf)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    text = buf.getvalue()
    # Shorten paths: repository files relative to the repository, installed ones to the package.
    prefixes = sorted(
        {str(REPO_ROOT) + os.sep, *(p + os.sep for p in sys.path if p.endswith("-packages"))},
        key=len,
        reverse=True,
    )
    for prefix in prefixes:
        text = text.replace(prefix, "")
    return text


# --------------------------------------------------------------------------- main


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=20_000, help="SafeAlfred steps per mode, split across scenes")
    p.add_argument("--tw-steps", type=int, default=2_000, help="TextWorld steps per round")
    p.add_argument("--ref-steps", type=int, default=2_000,
                   help="steps on the reference world (SAFE_ALFRED_REFERENCE=1), split across scenes; 0 to skip")
    p.add_argument("--rounds", type=int, default=3,
                   help="rounds of TextWorld then SafeAlfred, alternating; each side's fastest is reported")
    p.add_argument("--scenes", default=DEFAULT_SCENES, help="comma-separated scenes (FloorPlan1 or 1)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random agents and of the env resets")
    p.add_argument("--mem-steps", type=int, default=1_000, help="steps in the per-env memory measurement")
    p.add_argument("--cpu", type=int, default=0, help="CPU to pin to (first allowed CPU if not allowed)")
    p.add_argument("--no-pin", action="store_true", help="do not pin to one core")
    p.add_argument("--tw-game", help="existing TextWorld game (.z8 with its .json) instead of generating one")
    p.add_argument("--tw-world-size", type=int, default=5)
    p.add_argument("--tw-nb-objects", type=int, default=50)
    p.add_argument("--tw-quest-length", type=int, default=5)
    p.add_argument("--tw-seed", type=int, default=1)
    p.add_argument("--skip-textworld", action="store_true")
    p.add_argument("--skip-memory", action="store_true")
    p.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="also profile N SafeAlfred steps with cProfile and print the top 15",
    )
    p.add_argument("--baseline", metavar="REF",
                   help="also time a git ref's package (checked out beside this one) through gymnasium.make in "
                        "every round, with this script's loop, and print this tree's speed against it")
    p.add_argument("--same-episode-length", action="store_true",
                   help="make the baseline's envs end their episodes after as many steps as this tree's "
                        "(its max_steps), so that both walks reset as often: a like-for-like comparison when "
                        "the default episode length changed between the two")
    p.add_argument("--json", metavar="OUT", help="write the figures as JSON to OUT")
    p.add_argument("--strict", action="store_true", help="exit with status 1 if a target fails")
    p.add_argument("--_mem-child", dest="mem_child", help=argparse.SUPPRESS)
    p.add_argument("--_speed-child", dest="speed_child", help=argparse.SUPPRESS)
    p.add_argument("--_unwrapped", dest="speed_unwrapped", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--_episode-steps", dest="episode_steps", type=int, help=argparse.SUPPRESS)
    p.add_argument("--_mem-mode", dest="mem_mode", default="tracemalloc", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    warnings.filterwarnings("ignore", module="gymnasium")

    if args.mem_child:
        print(json.dumps(_mem_child(args.mem_child, args.mem_steps, args.seed, args.mem_mode)))
        return 0
    if args.speed_child:
        child_scenes = args.speed_child.split(",")
        print(json.dumps(bench_safealfred(child_scenes, args.steps, args.seed, args.speed_unwrapped,
                                          args.episode_steps)))
        return 0

    if args.rounds < 1:
        print("--rounds must be at least 1", file=sys.stderr)
        return 2
    scenes = [_normalise_scene(s) for s in args.scenes.split(",") if s.strip()]
    if not scenes:
        print("no scenes given", file=sys.stderr)
        return 2

    if args.no_pin:
        pinned, pin_msg = None, "not pinned (--no-pin)"
    else:
        pinned, pin_msg = _pin_to_one_core(args.cpu)

    report: dict = {
        "config": {
            "steps": args.steps,
            "tw_steps": args.tw_steps,
            "scenes": scenes,
            "seed": args.seed,
            "mem_steps": args.mem_steps,
        },
        "machine": {
            "python": platform.python_version(),
            "implementation": platform.python_implementation(),
            "platform": platform.platform(),
            "cpu": _cpu_model(),
            "pinned_cpu": pinned,
            "pinning": pin_msg,
            "commit": _git_commit(),
            "gymnasium": _version("gymnasium"),
            "textworld": _version("textworld"),
        },
    }

    print("== Environment-speed benchmark: SafeAlfred-v0 vs TextWorld ==")
    print(f"Python {report['machine']['python']} on {report['machine']['cpu']}; {pin_msg}")
    print(
        f"commit {report['machine']['commit']}, gymnasium {report['machine']['gymnasium']}, "
        f"textworld {report['machine']['textworld']}"
    )
    print("Random agent over admissible actions, text observations every step, reset on episode end;")
    print("wall-clock steps/s, resets inside the loop included.")
    print()

    # ---- TextWorld game (made once), then rounds of TextWorld and SafeAlfred, alternating
    game_file = None
    game: dict = {}
    scratch = tempfile.TemporaryDirectory(prefix="tw_bench_")
    if args.skip_textworld:
        report["textworld"] = {"error": "skipped (--skip-textworld)"}
    else:
        try:
            import textworld  # noqa: F401
        except ImportError as exc:
            report["textworld"] = {"error": f"textworld not installed ({exc}); pip install -e '.[bench]'"}
        else:
            if args.tw_game:
                game_file = args.tw_game
                game["source"] = "given"
            else:
                print(
                    f"TextWorld: generating tw-make custom --world-size {args.tw_world_size} "
                    f"--nb-objects {args.tw_nb_objects} --quest-length {args.tw_quest_length} "
                    f"--seed {args.tw_seed} ...",
                    flush=True,
                )
                t0 = time.perf_counter()
                game_file, nb_rooms, nb_objs = make_textworld_game(
                    scratch.name, args.tw_world_size, args.tw_nb_objects, args.tw_quest_length, args.tw_seed
                )
                game = {
                    "source": "tw-make custom",
                    "world_size": args.tw_world_size,
                    "nb_objects_requested": args.tw_nb_objects,
                    "quest_length": args.tw_quest_length,
                    "seed": args.tw_seed,
                    "rooms": nb_rooms,
                    "objects": nb_objs,
                    "generation_seconds": time.perf_counter() - t0,
                }
                print(
                    f"TextWorld: game has {nb_rooms} rooms, {nb_objs} objects "
                    f"(generated in {game['generation_seconds']:.1f} s)"
                )
    sa_error = None
    try:
        _make_env(unwrapped=False)[0].close()
    except Exception as exc:  # env not registered / not importable yet
        sa_error = f"{type(exc).__name__}: {exc}"
        report["safealfred"] = {"error": sa_error}
        print(f"SafeAlfred: unavailable: {sa_error}")
    modes = () if sa_error else (("make", False), ("unwrapped", True))
    trees = contextlib.ExitStack()
    base_tree = None
    if args.baseline and not sa_error:
        report["baseline"] = {"ref": args.baseline, "commit": short_commit(args.baseline),
                              "episode_steps": episode_steps_here() if args.same_episode_length else None}
        base_tree = trees.enter_context(checked_out(args.baseline))
        if args.same_episode_length:
            print(f"baseline {args.baseline}: episodes end after {report['baseline']['episode_steps']} steps, "
                  f"as this tree's (--same-episode-length)")
    rounds: list[dict] = []
    for n in range(1, args.rounds + 1):
        row: dict = {}
        if game_file is not None:
            print(f"[round {n}/{args.rounds}] TextWorld: stepping {args.tw_steps:,} steps ...", flush=True)
            row["textworld"] = tw_res = bench_textworld(game_file, args.tw_steps, args.seed)
            print(
                f"  TextWorld: {_fmt_rate(tw_res['steps_per_s'])} steps/s "
                f"({tw_res['steps']:,} steps in {tw_res['seconds']:.2f} s, {tw_res['episodes']} episodes, "
                f"{tw_res['mean_admissible']:.1f} admissible commands/step)"
            )
        for key, unwrapped in modes:
            label = "unwrapped env" if unwrapped else 'gymnasium.make("SafeAlfred-v0")'
            print(
                f"[round {n}/{args.rounds}] SafeAlfred: stepping {args.steps:,} steps through {label} "
                f"on {', '.join(scenes)} ...",
                flush=True,
            )
            row[key] = res = _bench_safealfred_fresh(scenes, args.steps, args.seed, unwrapped)
            if n == 1:
                for r in res["per_scene"]:
                    print(
                        f"  {r['scene']:<13} {_fmt_rate(r['steps_per_s']):>9} steps/s  "
                        f"({r['steps']:,} steps, {r['episodes']} episodes, "
                        f"{r['mean_admissible']:.1f} admissible skills/step, {r['mean_obs_chars']:.0f} obs chars; "
                        f"untimed first reset {r['first_reset_s'] * 1000:.0f} ms)"
                    )
            paired = (f", {res['steps_per_s'] / row['textworld']['steps_per_s']:,.1f}x this round's TextWorld"
                      if "textworld" in row else "")
            print(
                f"  SafeAlfred ({res['mode']}): {_fmt_rate(res['steps_per_s'])} steps/s overall "
                f"({res['steps']:,} steps in {res['seconds']:.2f} s, {res['episodes']} episodes{paired})"
            )
        if base_tree is not None:
            print(f"[round {n}/{args.rounds}] baseline {args.baseline} ({report['baseline']['commit']}): stepping "
                  f"{args.steps:,} steps through gymnasium.make ...", flush=True)
            row["baseline"] = res = _bench_safealfred_fresh(scenes, args.steps, args.seed, False, tree=base_tree,
                                                            episode_steps=report["baseline"]["episode_steps"])
            against = f", this tree {row['make']['steps_per_s'] / res['steps_per_s']:.3f}x of it" if "make" in row else ""
            print(f"  baseline: {_fmt_rate(res['steps_per_s'])} steps/s overall{against}")
        rounds.append(row)
    trees.close()
    scratch.cleanup()
    report["rounds"] = rounds
    # each side's figure is its fastest round; the median of the rounds' own ratios is reported too
    tw = _best_run([r["textworld"] for r in rounds if "textworld" in r])
    if tw is not None:
        tw["game"] = game
        report["textworld"] = tw
    else:
        print(f"TextWorld: unavailable: {report['textworld']['error']}")
    sa: dict[str, dict | None] = {"make": None, "unwrapped": None}
    if not sa_error:
        report["safealfred"] = {}
        for key, _ in modes:
            sa[key] = report["safealfred"][key] = _best_run([r[key] for r in rounds])
    base = None
    if base_tree is not None:
        base = report["baseline"]["speed"] = _best_run([r["baseline"] for r in rounds])
        report["baseline"]["this_tree_vs_baseline"] = sa["make"]["steps_per_s"] / base["steps_per_s"]
        report["baseline"]["median_of_rounds"] = statistics.median(r["make"]["steps_per_s"] / r["baseline"]["steps_per_s"]
                                                                   for r in rounds)
    reference = None
    if not sa_error and args.ref_steps > 0:
        print(f"SafeAlfred on the reference world (SAFE_ALFRED_REFERENCE=1): stepping {args.ref_steps:,} steps "
              f"through gymnasium.make ...", flush=True)
        reference = report["safealfred_reference"] = _bench_safealfred_fresh(scenes, args.ref_steps, args.seed, False,
                                                                              reference=True)
    print()

    # ---- memory
    mem = None
    if sa["make"] is not None and not args.skip_memory:
        print(
            f"Memory: one env per fresh interpreter, create + reset + {args.mem_steps:,} steps ...",
            flush=True,
        )
        mem = measure_memory(scenes, args.mem_steps, args.seed)
        report["memory"] = mem
        for r in mem["per_scene"]:
            errs = [v for k, v in r.items() if k.endswith("_error")]
            objs = r.get("scene_objects")
            print(
                f"  {r['scene']:<13} tracemalloc peak {_fmt_mb(r.get('first_env_peak_mb'))} "
                f"(retained {_fmt_mb(r.get('first_env_retained_mb'))}; "
                f"2nd env in same process: peak {_fmt_mb(r.get('second_env_peak_mb'))}; "
                f"importing safe_alfred.envs: {_fmt_mb(r.get('import_retained_mb'))}), "
                f"RSS peak growth {_fmt_mb(r.get('rss_peak_growth_mb'))}"
                + (f", {objs} objects" if objs is not None else "")
                + (f"  [error: {'; '.join(errs)}]" if errs else "")
            )
    print()

    # ---- ratio and targets
    def cpu_rate(res: dict | None) -> float | None:
        return res["steps"] / res["cpu_seconds"] if res and res["cpu_seconds"] > 0 else None

    ratios, cpu_ratios, paired_ratios = {}, {}, {}
    if tw is not None:
        tw_cpu = max(cpu_rate(r["textworld"]) or 0.0 for r in rounds if "textworld" in r)
        for key in ("make", "unwrapped"):
            if sa[key] is not None:
                ratios[key] = sa[key]["steps_per_s"] / tw["steps_per_s"]
                if tw_cpu > 0:
                    cpu_ratios[key] = max(cpu_rate(r[key]) or 0.0 for r in rounds) / tw_cpu
                paired_ratios[key] = statistics.median(r[key]["steps_per_s"] / r["textworld"]["steps_per_s"]
                                                       for r in rounds if "textworld" in r)
    report["ratio_vs_textworld"] = ratios
    report["ratio_vs_textworld_cpu_time"] = cpu_ratios
    report["ratio_vs_textworld_median_of_rounds"] = paired_ratios

    def target(name: str, value: float | None, threshold: float, higher_is_better: bool, unit: str) -> dict:
        if value is None:
            ok = None
        else:
            ok = value >= threshold if higher_is_better else value <= threshold
        return {
            "name": name,
            "value": value,
            "threshold": threshold,
            "op": ">=" if higher_is_better else "<=",
            "unit": unit,
            "pass": ok,
        }

    mem_value = None
    if mem is not None:
        vals = [v for v in (mem["tracemalloc_peak_mb"], mem["rss_peak_growth_mb"]) if v is not None]
        mem_value = max(vals) if vals else None
    targets = [
        target(
            "steps/s, gymnasium.make",
            sa["make"] and sa["make"]["steps_per_s"],
            TARGET_STEPS_PER_S,
            True,
            "steps/s",
        ),
        target(
            "steps/s, unwrapped",
            sa["unwrapped"] and sa["unwrapped"]["steps_per_s"],
            TARGET_STEPS_PER_S,
            True,
            "steps/s",
        ),
        target("ratio vs TextWorld, gymnasium.make", ratios.get("make"), TARGET_RATIO, True, "x"),
        target("ratio vs TextWorld, unwrapped", ratios.get("unwrapped"), TARGET_RATIO, True, "x"),
        target(
            "memory per env (max of tracemalloc peak, RSS peak growth; worst scene)",
            mem_value,
            TARGET_MB_PER_ENV,
            False,
            "MB",
        ),
    ]
    report["targets"] = targets

    print(f"== Summary: each side's fastest of {args.rounds} round(s) (other load only slows a run) ==")
    print(pin_msg)

    print(
        f"{'':<34}{'wall steps/s':>12}{'CPU steps/s':>13}   (CPU: process time, less sensitive to other load)"
    )
    print(f"{'TextWorld':<34}{_fmt_rate(tw and tw['steps_per_s']):>12}{_fmt_rate(cpu_rate(tw)):>13}")
    for key, label in (("make", "SafeAlfred gymnasium.make"), ("unwrapped", "SafeAlfred unwrapped")):
        rate = sa[key] and sa[key]["steps_per_s"]
        ratio = ratios.get(key)
        cpu_ratio = cpu_ratios.get(key)
        print(
            f"{label:<34}{_fmt_rate(rate):>12}{_fmt_rate(cpu_rate(sa[key])):>13}"
            + (f"   {ratio:,.1f}x TextWorld (CPU time: {cpu_ratio:,.1f}x; median of the rounds' own ratios: "
               f"{paired_ratios[key]:,.1f}x)" if ratio is not None else "")
        )
    if base is not None:
        b = report["baseline"]
        tw_part = f"{base['steps_per_s'] / tw['steps_per_s']:,.1f}x TextWorld; " if tw is not None else ""
        print(f"{'baseline ' + b['commit'] + ' gymnasium.make':<34}{_fmt_rate(base['steps_per_s']):>12}"
              f"{_fmt_rate(cpu_rate(base)):>13}   ({tw_part}this tree: {b['this_tree_vs_baseline']:.3f}x of it, "
              f"median of the rounds' own ratios {b['median_of_rounds']:.3f}x)")
        resets = (f"episodes walked: this tree {sa['make']['episodes']:,}, baseline {base['episodes']:,}"
                  if sa["make"] is not None else "")
        length = (f"episodes of at most {b['episode_steps']} steps in both (--same-episode-length)"
                  if b["episode_steps"] is not None else "each tree's own default episode length")
        print(f"{'':<34}({length}; {resets})")
    if reference is not None:
        slower = f"   ({sa['make']['steps_per_s'] / reference['steps_per_s']:,.1f}x slower than accelerated)" \
            if sa["make"] is not None else ""
        print(f"{'SafeAlfred reference world':<34}{_fmt_rate(reference['steps_per_s']):>12}"
              f"{_fmt_rate(cpu_rate(reference)):>13}{slower}")
    if mem is not None:
        print(
            f"{'Memory of one env':<34}tracemalloc peak {_fmt_mb(mem['tracemalloc_peak_mb'])}, "
            f"RSS peak growth {_fmt_mb(mem['rss_peak_growth_mb'])} (worst scene)"
        )
    print()
    print("== Targets ==")
    for t in targets:
        verdict = {True: "PASS", False: "FAIL", None: "N/A "}[t["pass"]]
        if t["value"] is None:
            shown = "n/a"
        elif t["unit"] == "x":
            shown = f"{t['value']:,.1f}x"
        elif t["unit"] == "MB":
            shown = f"{t['value']:.1f} MB"
        else:
            shown = f"{t['value']:,.0f} steps/s"
        limit = f"{t['threshold']:,.0f}{'x' if t['unit'] == 'x' else ' ' + t['unit']}"
        print(f"  {verdict}  {t['name']}: {shown} (target {t['op']} {limit})")

    if args.profile > 0 and sa["make"] is not None:
        print()
        print(f"== cProfile: {args.profile:,} steps through gymnasium.make, top 15 ==")
        print(profile_safealfred(scenes, args.profile, args.seed))

    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"\nFigures written to {args.json}")

    if args.strict and any(t["pass"] is False for t in targets):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
