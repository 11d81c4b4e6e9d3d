"""A control barrier function on the agent's base motion near hazard zones.

While the agent carries a filled container, powered electronics are hazard zones; while it carries
something flammable, lit burners and candles (and running toasters) are. Each zone is a disc
``h_i(p) = |p - c_i|^2 - r_i^2`` in the floor plane (x, z). A commanded displacement ``u_cmd``
(from ``MoveAhead/Back/Left/Right`` or a ``Teleport``/``TeleportFull``) is replaced by the
solution of the CBF quadratic program

    min |u - u_cmd|^2   s.t.   h_i(p) + grad h_i(p) . u >= (1 - gamma) h_i(p)   for every zone,

which, as ``h_i`` is convex, implies ``h_i(p + u) >= (1 - gamma) h_i(p)``. The QP is two-dimensional:
``solve_qp`` solves it exactly in closed form by enumerating active sets of at most two
constraints (the same minimal correction a QP layer such as AEGIS's computes), so it equals the
command whenever the command is safe. Grid moves keep their direction (a 1-D version of the
same program) and are rounded down to whole grid steps; teleports go to the reachable grid point
nearest the QP solution that satisfies the exact discrete condition.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..world.consequences import FLAMMABLE, POWERED
from ..world.geometry import spec_of
from ..world.scenes import load_scene_spec
from ..world.state import WorldState

MOVES = {"MoveAhead": 0.0, "MoveRight": 90.0, "MoveBack": 180.0, "MoveLeft": 270.0}
EPS = 1e-9


@dataclass(frozen=True)
class HazardZone:
    """A disc in the floor plane the agent's base must keep out of (with what it carries)."""

    center: tuple[float, float]
    radius: float
    label: str

    def h(self, p: np.ndarray) -> float:
        d = p - np.asarray(self.center)
        return float(d @ d - self.radius**2)

    def grad(self, p: np.ndarray) -> np.ndarray:
        return 2.0 * (p - np.asarray(self.center))


def hazard_zones(state: WorldState, electronics_radius: float = 1.0, heat_radius: float = 1.0) -> list[HazardZone]:
    """Zones that matter for what the agent holds now (none when its hand is empty)."""
    held = state.held
    if held is None:
        return []
    st = state.objects[held]
    mats = set(spec_of(state, held).materials or ())
    zones: list[HazardZone] = []
    if st["isFilledWithLiquid"]:
        for oid, ost in state.objects.items():
            if oid != held and spec_of(state, oid).type in POWERED:
                zones.append(HazardZone((ost["pos"][0], ost["pos"][2]), electronics_radius,
                                        f"filled {spec_of(state, held).type} near {spec_of(state, oid).type}"))
    if mats & FLAMMABLE and "Food" not in mats:
        for oid, ost in state.objects.items():
            sp = spec_of(state, oid)
            if sp.flags["isHeatSource"] and ost["isToggled"] and sp.type in ("StoveBurner", "Candle", "Toaster"):
                zones.append(HazardZone((ost["pos"][0], ost["pos"][2]), heat_radius,
                                        f"flammable {spec_of(state, held).type} near lit {sp.type}"))
    return zones


def solve_qp(u_cmd: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray | None:
    """Exact ``argmin |u - u_cmd|^2 s.t. a @ u >= b`` in 2-D (None when infeasible).

    The optimum has at most two active constraints: try the command, its projection onto each
    constraint's boundary, and each pair of boundaries' intersection; keep the nearest feasible.
    """
    u_cmd = np.asarray(u_cmd, dtype=float)
    a = np.asarray(a, dtype=float).reshape(-1, 2)
    b = np.asarray(b, dtype=float).reshape(-1)

    def feasible(u: np.ndarray) -> bool:
        return bool(np.all(a @ u >= b - 1e-9))

    if feasible(u_cmd):
        return u_cmd
    best, best_d = None, math.inf
    for i in range(len(b)):
        n2 = a[i] @ a[i]
        if n2 < EPS:
            continue
        u = u_cmd + max(0.0, (b[i] - a[i] @ u_cmd) / n2) * a[i]
        d = float((u - u_cmd) @ (u - u_cmd))
        if d < best_d and feasible(u):
            best, best_d = u, d
    for i, j in itertools.combinations(range(len(b)), 2):
        m = np.stack([a[i], a[j]])
        if abs(np.linalg.det(m)) < EPS:
            continue
        u = np.linalg.solve(m, np.array([b[i], b[j]]))
        d = float((u - u_cmd) @ (u - u_cmd))
        if d < best_d and feasible(u):
            best, best_d = u, d
    return best


def safe_displacement(p: np.ndarray, u_cmd: np.ndarray, zones: list[HazardZone], gamma: float) -> np.ndarray:
    """The minimally modified displacement (zero when no displacement is feasible)."""
    if not zones:
        return np.asarray(u_cmd, dtype=float)
    a = np.array([z.grad(p) for z in zones])
    b = np.array([-gamma * z.h(p) for z in zones])
    u = solve_qp(u_cmd, a, b)
    return np.zeros(2) if u is None else u


def _exact_ok(p: np.ndarray, q: np.ndarray, zones: list[HazardZone], gamma: float) -> bool:
    return all(z.h(q) >= (1.0 - gamma) * z.h(p) - 1e-9 for z in zones)


class MotionShield:
    """Filters the THOR motion actions an env sends to its backend (installed by ``CBFFilter``)."""

    def __init__(self, owner: Any, gamma: float | None = None, electronics_radius: float = 1.0,
                 heat_radius: float = 1.0):
        self.owner = owner
        self.gamma = gamma
        self.electronics_radius = float(electronics_radius)
        self.heat_radius = float(heat_radius)
        self._pending: list[dict] = []
        self._installed = False

    @property
    def _gamma(self) -> float:
        return float(self.gamma if self.gamma is not None else self.owner.gamma)

    def adjust(self, state: WorldState, action: dict) -> tuple[dict, dict | None]:
        """The action with its displacement minimally modified, and a record when it changed."""
        name = action.get("action")
        if name not in MOVES and name not in ("Teleport", "TeleportFull"):
            return action, None
        zones = hazard_zones(state, self.electronics_radius, self.heat_radius)
        if not zones:
            return action, None
        agent = state.agent
        p = np.array([agent["x"], agent["z"]], dtype=float)
        g = self._gamma
        if name in MOVES:
            mag = float(action.get("moveMagnitude", state.settings.get("gridSize", 0.25)))
            r = math.radians(agent["rotation"] + MOVES[name])
            d = np.array([math.sin(r), math.cos(r)])
            # the same program restricted to the commanded direction: u = alpha d, 0 <= alpha <= mag
            alpha = mag
            for z in zones:
                coef, rhs = float(z.grad(p) @ d), -g * z.h(p)
                if coef < -EPS:
                    alpha = min(alpha, rhs / coef)
                elif rhs > EPS:
                    alpha = 0.0
            grid = float(state.settings.get("gridSize", 0.25))
            alpha = max(0.0, math.floor(alpha / grid + 1e-9) * grid)
            if alpha >= mag - 1e-9:
                return action, None
            new = dict(action, moveMagnitude=alpha) if alpha > 0 else {"action": "Pass"}
            return new, self._record(name, zones, p, p + mag * d, p + alpha * d)
        pos = action.get("position") or {"x": action.get("x"), "z": action.get("z")}
        target = np.array([float(pos["x"]), float(pos["z"])])
        u = safe_displacement(p, target - p, zones, g)
        if np.allclose(u, target - p, atol=1e-6):
            return action, None
        grid = load_scene_spec(state.scene).reachable
        q = p
        if len(grid):
            goal = p + u
            order = np.argsort(((grid - goal) ** 2).sum(axis=1))
            for idx in order[:400]:
                cand = grid[idx].astype(float)
                if _exact_ok(p, cand, zones, g):
                    q = cand
                    break
        new = dict(action)
        if "position" in action:
            new["position"] = dict(action["position"], x=round(float(q[0]), 4), z=round(float(q[1]), 4))
        else:
            new["x"], new["z"] = round(float(q[0]), 4), round(float(q[1]), 4)
        return new, self._record(name, zones, p, target, q)

    def _record(self, name: str, zones: list[HazardZone], p, commanded, executed) -> dict:
        hb = min(z.h(p) for z in zones)
        worst = min(zones, key=lambda z: z.h(np.asarray(commanded)))
        return {
            "proposed": name, "action": "substituted", "substitution": "motion_qp", "category": "motion",
            "barrier": f"motion:{worst.label}",
            "h_before": round(hb, 4),
            "h_after": round(min(z.h(np.asarray(commanded)) for z in zones), 4),
            "h_after_substitute": round(min(z.h(np.asarray(executed)) for z in zones), 4),
            "commanded": [round(float(v), 4) for v in commanded],
            "executed": [round(float(v), 4) for v in executed],
            "gamma": self._gamma,
            "reason": f"motion kept a {worst.label} outside {worst.radius:.2f} m",
        }

    def hook(self, state: WorldState, action: dict) -> dict:
        """For predictions: the action as the shield would send it."""
        return self.adjust(state, action)[0]

    def attach(self) -> None:
        """Put the shield between the env and its backend (once)."""
        if self._installed:
            return
        base = self.owner.env.unwrapped
        base.backend = _ShieldedBackend(base.backend, self)
        self._installed = True

    def drain(self, step: int) -> list[dict]:
        out = [dict(r, step=step) for r in self._pending]
        self._pending.clear()
        return out


class _ShieldedBackend:
    """A backend proxy: every THOR action passes through ``MotionShield.adjust`` first."""

    def __init__(self, inner: Any, shield: MotionShield):
        self._inner, self._shield = inner, shield
        self.active = True

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    @property
    def state(self) -> WorldState:
        return self._inner.state

    def step(self, action: dict) -> tuple[WorldState, list[dict]]:
        if self.active and self._inner.state is not None:
            action, record = self._shield.adjust(self._inner.state, action)
            if record is not None:
                self._shield._pending.append(record)
        return self._inner.step(action)
