"""The motion CBF-QP: keeps the constraint, is minimal, equals the command when that is safe."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize

from safe_alfred.safety import predict
from safe_alfred.safety.motion import HazardZone, MotionShield, hazard_zones, safe_displacement, solve_qp
from safe_alfred.world.scenes import initial_state

coord = st.floats(-3, 3, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(px=coord, pz=coord, ux=coord, uz=coord,
       zones=st.lists(st.tuples(coord, coord, st.floats(0.2, 1.0)), min_size=1, max_size=3),
       gamma=st.floats(0.05, 1.0))
def test_qp_keeps_the_cbf_condition_and_is_minimal(px, pz, ux, uz, zones, gamma):
    p = np.array([px, pz])
    zs = [HazardZone((cx, cz), r, "z") for cx, cz, r in zones]
    if any(z.h(p) <= 0.01 for z in zs):
        return  # start outside every zone
    u_cmd = np.array([ux, uz])
    u = safe_displacement(p, u_cmd, zs, gamma)
    for z in zs:  # the exact discrete condition (implied by the linearised one, h convex)
        assert z.h(p + u) >= (1 - gamma) * z.h(p) - 1e-7
    a = np.array([z.grad(p) for z in zs])
    b = np.array([-gamma * z.h(p) for z in zs])
    if np.all(a @ u_cmd >= b):
        assert np.allclose(u, u_cmd)
    ref = minimize(lambda v: ((v - u_cmd) ** 2).sum(), np.zeros(2), method="SLSQP",
                   constraints=[{"type": "ineq", "fun": lambda v, i=i: a[i] @ v - b[i]} for i in range(len(zs))])
    if ref.success:
        assert ((u - u_cmd) ** 2).sum() <= ((ref.x - u_cmd) ** 2).sum() + 1e-6


def test_qp_single_constraint_is_the_half_space_projection():
    u = solve_qp(np.array([1.0, 0.0]), np.array([[-1.0, 0.0]]), np.array([-0.25]))
    assert np.allclose(u, [0.25, 0.0])


def _carry_filled_mug(scene="FloorPlan1"):
    s = initial_state(scene, 0)
    for skill in ("find Mug", "pickup Mug", "fill Mug water"):
        p = predict(s, skill)
        assert p.valid and p.state.last["lastActionSuccess"], skill
        s = p.state
    return s


def test_shield_shortens_a_teleport_towards_electronics_and_admits_safe_ones():
    s = _carry_filled_mug()
    zones = hazard_zones(s)
    assert zones and all("filled Mug" in z.label for z in zones)

    class Owner:
        gamma = 0.5

    p = np.array([s.agent["x"], s.agent["z"]])
    radius = 0.5 * min(float(np.hypot(*(np.array(z.center) - p))) for z in zones)  # start outside all
    shield = MotionShield(Owner(), electronics_radius=radius)
    zones = hazard_zones(s, electronics_radius=radius)
    target = np.array(zones[0].center)  # straight at a device
    action = {"action": "TeleportFull", "position": {"x": float(target[0]), "y": s.agent["y"], "z": float(target[1])},
              "rotation": {"x": 0, "y": 0, "z": 0}, "horizon": 0, "standing": True}
    new, record = shield.adjust(s, action)
    assert record is not None and record["substitution"] == "motion_qp"
    q = np.array([new["position"]["x"], new["position"]["z"]])
    for z in zones:
        assert z.h(q) >= 0.5 * z.h(p) - 1e-9
    # a move that keeps away from every zone is left exactly as commanded
    away = {"action": "TeleportFull", "position": {"x": float(p[0]), "y": s.agent["y"], "z": float(p[1])},
            "rotation": {"x": 0, "y": 0, "z": 0}, "horizon": 0, "standing": True}
    same, rec2 = shield.adjust(s, away)
    assert rec2 is None and same == away


def test_no_zones_with_an_empty_hand():
    assert hazard_zones(initial_state("FloorPlan1", 0)) == []


def test_filter_motion_mode_records_and_executes_the_qp_displacement():
    from safe_alfred.envs import SafeAlfredEnv
    from safe_alfred.safety import CBFFilter

    env = CBFFilter(SafeAlfredEnv(scene="FloorPlan1"), gamma=0.5, motion=True,
                    motion_options={"electronics_radius": 0.8})
    env.reset(seed=0)
    for skill in ("find Mug", "pickup Mug", "fill Mug water"):
        _, _, _, _, info = env.step(skill)
        assert info["interventions"] == []
    before = env.unwrapped.state
    p = np.array([before.agent["x"], before.agent["z"]])
    zones = hazard_zones(before, electronics_radius=0.8)
    _, _, _, _, info = env.step("find Toaster")
    (iv,) = [i for i in info["interventions"] if i["substitution"] == "motion_qp"]
    after = env.unwrapped.state
    q = np.array([after.agent["x"], after.agent["z"]])
    assert np.allclose(q, iv["executed"])
    for z in zones:
        assert z.h(q) >= 0.5 * z.h(p) - 1e-9
