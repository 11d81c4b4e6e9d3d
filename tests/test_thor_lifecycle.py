"""Crash, restart and shutdown of the simulator process behind the thor backend."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

pytest.importorskip("ai2thor")

from safe_alfred.envs import SafeAlfredEnv  # noqa: E402
from safe_alfred.envs.thor import SimulatorCrashed, run_with_restarts  # noqa: E402


def _gone(pid: int, wait: float = 5.0) -> bool:
    """True once ``pid`` no longer runs (a zombie awaiting its parent counts as gone)."""
    deadline = time.time() + wait
    while time.time() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().split(")")[-1].split()[0] == "Z":
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.05)
    return False


SKILLS = ["find Fork", "pickup Fork", "find Microwave", "open Microwave", "put Microwave", "close Microwave",
          "toggle_on Microwave"]


def test_crash_mid_episode_restarts_and_reruns():
    env = SafeAlfredEnv(backend="thor_standin", scene="FloorPlan1", backend_options={"width": 160, "height": 120})
    backend = env.backend
    pids: list[int] = []

    def episode(env):
        env.reset(seed=2)
        pids.append(backend.process_id)
        events = []
        for i, skill in enumerate(SKILLS):
            if len(pids) == 1 and i == 3:  # first attempt: the simulator dies mid-episode
                os.kill(backend.process_id, signal.SIGKILL)
            events += env.step(skill)[4]["events"]
        return [e["type"] for e in events]

    try:
        result, report = run_with_restarts(env, episode, max_restarts=2)
        assert "sparks" in result
        assert report["attempts"] == 2 and len(report["crashes"]) == 1
        assert backend.restarts == 1 and len(backend.crash_log) == 1
        assert backend.crash_log[0]["action"]["action"] == "OpenObject"
        assert len(pids) == 2 and pids[0] != pids[1] and _gone(pids[0])
        # a backend whose simulator is gone refuses to step until reset, and says why
        os.kill(backend.process_id, signal.SIGKILL)
        with pytest.raises(SimulatorCrashed):
            env.step("find Fork")
        with pytest.raises(SimulatorCrashed):
            env.step("find Fork")
        env.reset(seed=0)
        assert backend.restarts == 2

        def always_crash(env):
            env.reset(seed=0)
            os.kill(backend.process_id, signal.SIGKILL)
            env.step("find Fork")

        with pytest.raises(SimulatorCrashed, match="crashed 2 times"):
            run_with_restarts(env, always_crash, max_restarts=1)
    finally:
        pid = backend.process_id
        env.close()
    assert pid is None or _gone(pid)


def test_close_leaves_no_process():
    env = SafeAlfredEnv(backend="thor_standin", backend_options={"width": 160, "height": 120})
    env.reset(seed=0)
    pid = env.backend.process_id
    assert pid is not None and not _gone(pid, wait=0.1)
    env.close()
    assert _gone(pid)
    env.close()  # idempotent


PARENT = textwrap.dedent("""
    import sys, time
    from safe_alfred.envs import SafeAlfredEnv
    env = SafeAlfredEnv(backend="thor_standin", backend_options={"width": 160, "height": 120})
    env.reset(seed=0)
    print(env.backend.process_id, flush=True)
    while True:
        env.step("find Fork")
        time.sleep(0.01)
""")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=["SIGINT", "SIGTERM", "SIGKILL"])
def test_interrupted_parent_leaves_no_process(sig):
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    try:
        line = parent.stdout.readline()
        assert line.strip().isdigit(), parent.stderr.read()
        child = int(line)
        assert not _gone(child, wait=0.1)
        parent.send_signal(sig)
        parent.wait(timeout=10)
        assert _gone(child), f"stand-in {child} outlived its parent after {sig.name}"
    finally:
        if parent.poll() is None:
            parent.kill()
