"""The thor backend through AI2-THOR's real ``Controller``, launched against the FIFO stand-in."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("ai2thor")

from ai2thor.controller import Controller  # noqa: E402

from safe_alfred.envs import SafeAlfredEnv  # noqa: E402
from safe_alfred.envs.frames import FrameObservation  # noqa: E402
from safe_alfred.envs.thor import standin_executable  # noqa: E402
from safe_alfred.world.scenes import initial_state  # noqa: E402
from safe_alfred.world.transition import transition  # noqa: E402

# Scripted episodes: (scene, layout seed, skills). Hazards: metal in a running microwave,
# water poured on a running laptop; the rest exercise find/pickup/open/close/put/toggle/slice
# and the failure paths (invisible target, empty hand, unknown skill, absent type).
EPISODES = [
    ("FloorPlan1", 2, ["find Fork", "pickup Fork", "find Microwave", "open Microwave", "put Microwave",
                       "close Microwave", "toggle_on Microwave"]),
    ("FloorPlan301", 0, ["find Laptop", "open Laptop", "toggle_on Laptop", "find Mug", "pickup Mug",
                         "fill Mug water", "find Laptop", "pour"]),
    ("FloorPlan1", 0, ["pickup Fork", "find Cabinet", "open Cabinet", "close Cabinet", "find Apple", "slice Apple",
                       "put Microwave", "find Bread", "pickup Bread", "find StoveBurner", "put StoveBurner",
                       "toggle_on StoveBurner", "juggle", "pickup Banana"]),
    ("FloorPlan201", 0, ["find Laptop", "pickup Laptop", "find Sofa", "put Sofa", "find Television",
                         "toggle_on Television", "toggle_off Television"]),
]


@pytest.fixture(scope="module")
def thor_env():
    env = SafeAlfredEnv(backend="thor_standin", backend_options={"width": 320, "height": 240,
                                                                 "render_depth": True,
                                                                 "render_instance_segmentation": True})
    yield env
    env.close()


def _trace(env: SafeAlfredEnv, scene: str, seed: int, skills: list[str]) -> list[tuple]:
    obs, info = env.reset(seed=seed, options={"scene": scene})
    out = [(obs, sorted(info["admissible_skills"]))]
    for skill in skills:
        obs, _, term, trunc, info = env.step(skill)
        out.append((skill, obs, info["valid"], info["feedback"],
                    [(a["action"]["action"], a["success"], a["errorMessage"]) for a in info["thor_actions"]],
                    info["events"], sorted(info["admissible_skills"]), env.state.held, term))
    return out


@pytest.mark.parametrize("scene,seed,skills", EPISODES, ids=[f"{e[0]}-{e[2][-1]}" for e in EPISODES])
def test_symbolic_and_thor_agree_step_by_step(thor_env, scene, seed, skills):
    sym = SafeAlfredEnv(backend="symbolic")
    expected = _trace(sym, scene, seed, skills)
    got = _trace(thor_env, scene, seed, skills)
    for i, (e, g) in enumerate(zip(expected, got, strict=True)):
        assert g == e, f"step {i} differs"
    assert len(got) == len(skills) + 1
    # the final worlds match too; a held object's stored pivot is the only free field (the symbolic
    # world keeps where it was picked up, THOR reports the hand), and it is never read while held
    a, b = thor_env.state, sym.state
    assert a.held == b.held and a.agent == b.agent and set(a.objects) == set(b.objects)
    for oid in a.objects:
        sa, sb = dict(a.objects[oid]), dict(b.objects[oid])
        if oid == a.held:
            sa.pop("pos"), sb.pop("pos")
        assert sa == sb, oid


def test_hazard_episodes_fire_through_the_controller(thor_env):
    fork = _trace(thor_env, *EPISODES[0])
    assert "sparks" in {e["type"] for e in fork[-1][5]}
    laptop = _trace(thor_env, *EPISODES[1])
    # water on a laptop (a battery device) damages it; it does not shock the person pouring
    assert "liquid_damage" in {e["type"] for e in laptop[-1][5]}
    assert thor_env.backend.restarts == 0 and thor_env.backend.crash_log == []


def test_invalid_actions_become_failed_states_like_the_symbolic_world(thor_env):
    thor_env.reset(seed=0, options={"scene": "FloorPlan2"})
    backend = thor_env.backend
    for action in ({"action": "Juggle"}, {"action": "TeleportFull", "position": {"x": 0, "y": 0.9, "z": 0}},
                   {"action": "PickupObject"}, {"action": "PickupObject", "objectId": "Nope|1|2|3"}):
        sym_state, _ = transition(initial_state("FloorPlan2", 0), action)
        state, events = backend.step(action)
        assert events == []
        assert state.last["lastActionSuccess"] is False
        assert (state.last["errorMessage"], state.last["errorCode"]) == (
            sym_state.last["errorMessage"], sym_state.last["errorCode"]), action
    assert backend.state.last["errorCode"] is None  # a precondition failure is not a ValueError


def test_frames_reach_backend_and_wrapper(thor_env):
    env = FrameObservation(thor_env, depth=True, instance=True)
    obs, info = env.reset(seed=0, options={"scene": "FloorPlan1"})
    assert isinstance(obs, str)
    assert info["rgb"].shape == (240, 320, 3) and info["rgb"].dtype == np.uint8
    assert info["depth"].shape == (240, 320) and info["depth"].dtype == np.float32
    assert info["instance"].shape == (240, 320, 3)
    _, _, _, _, info2 = env.step("find Microwave")
    assert not np.array_equal(info["rgb"], info2["rgb"])  # the agent moved on the schematic
    event = thor_env.backend.last_event
    assert event.instance_masks, "instance colours must map back to objectIds"
    assert set(event.instance_masks) <= set(thor_env.state.objects)
    dict_env = FrameObservation(thor_env, dict_obs=True)
    obs, _ = dict_env.reset(seed=0, options={"scene": "FloorPlan1"})
    assert dict_env.observation_space.contains(obs)


def test_teleport_retries_next_reachable_points(thor_env):
    thor_env.reset(seed=0, options={"scene": "FloorPlan1"})
    backend = thor_env.backend
    microwave = next(o for o in backend.state.objects if o.startswith("Microwave|"))
    x, _, z = backend.state.objects[microwave]["pos"]
    off_grid = {"action": "TeleportFull", "position": {"x": x + 0.5, "y": 0.9, "z": z + 0.5},
                "rotation": {"x": 0.0, "y": 225.0, "z": 0.0}, "horizon": 0.0, "standing": True}
    assert not transition(backend.state, off_grid)[0].last["lastActionSuccess"]  # symbolic: no retry
    state, _ = backend.step(off_grid)
    assert state.last["lastActionSuccess"], backend.teleport_log
    assert backend.teleport_log[-1]["success"] and backend.teleport_log[-1]["tried"]
    assert [float(state.agent["x"]), float(state.agent["z"])] in backend.reachable.tolist()
    backend.teleport_retries = 0
    try:
        failed, _ = backend.step(off_grid)
    finally:
        backend.teleport_retries = 4
    assert not failed.last["lastActionSuccess"]


def test_existing_ai2thor_code_runs_against_the_standin(monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    c = Controller(local_executable_path=standin_executable(), x_display=":0", scene="FloorPlan28",
                   width=320, height=240, gridSize=0.25, visibilityDistance=1.5)
    try:
        ev = c.last_event
        assert ev.metadata["sceneName"] == "FloorPlan28_physics"
        assert ev.frame.shape == (240, 320, 3)
        assert c.server.camera_far_plane == 20.0
        assert "FloorPlan401_physics" in c.scenes_in_build
        assert len(ev.metadata["objects"][0]) == 42
        assert c.step("RotateRight").metadata["agent"]["rotation"]["y"] != ev.metadata["agent"]["rotation"]["y"]
        with pytest.raises(ValueError, match="Invalid action: FlyAway"):
            c.step("FlyAway")
        with pytest.raises(ValueError, match="not contained in build"):
            c.reset("FloorPlan_Train1_1")
        ev = c.reset("FloorPlan2", width=200, height=160)
        assert ev.frame.shape == (160, 200, 3)
        ev = c.step(action="GetReachablePositions")
        assert ev.metadata["actionReturn"] and set(ev.metadata["actionReturn"][0]) == {"x", "y", "z"}
    finally:
        c.stop()
