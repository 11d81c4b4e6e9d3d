"""The ``thor`` backend: AI2-THOR's own ``Controller`` behind the same Backend protocol.

Skills compile to THOR action dicts from the ``WorldState`` exactly as on the symbolic backend;
this backend sends them through ``ai2thor.controller.Controller`` and rebuilds the ``WorldState``
from the event metadata (``from_metadata``), so observations, admissible skills and hazard events
(``consequences.derive``) come from the same code on both backends.

Step semantics (reference: ai2thor 5.0.0 ``Controller.step``):
* a normal event with ``lastActionSuccess`` false is a failed action (recorded, not raised);
* ``ValueError`` (invalid action or arguments) becomes a failed ``WorldState`` carrying the
  controller's ``errorMessage`` and ``errorCode``, as the symbolic world reports it;
* ``TimeoutError``/``RuntimeError`` (or ``BrokenPipeError`` on the next send) mean the simulator is dead: the controller is dropped, the
  crash logged, and ``SimulatorCrashed`` raised; the next ``reset`` launches a fresh controller
  (counted in ``restarts``). ``run_with_restarts`` reruns an episode after such a crash.

Simulator processes never outlive the backend: ``close()``, ``atexit`` and a SIGTERM/SIGHUP
handler stop every live controller (Ctrl-C unwinds through ``KeyboardInterrupt`` and ``atexit``).
"""

from __future__ import annotations

import atexit
import inspect
import logging
import math
import os
import signal
import threading
import time
import weakref
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

import numpy as np

from ...world.consequences import derive
from ...world.geometry import center_and_size, is_gone, spec_of
from ...world.metadata import from_metadata, to_metadata
from ...world.scenes import canonical_scene
from ...world.state import WorldState
from ...world.transition import SOAP_DISPENSERS
from ...world.visibility import facing_object

log = logging.getLogger(__name__)

PLATFORMS = ("CloudRendering", "Linux64", "OSXIntel64")
_LIVE: weakref.WeakSet[ThorBackend] = weakref.WeakSet()
_HANDLERS_INSTALLED = False


class SimulatorCrashed(RuntimeError):
    """The simulator process died or stopped answering; rerun the episode from ``reset``."""


def _close_all() -> None:
    for backend in list(_LIVE):
        backend.close()


def _on_signal(signum: int, frame: Any) -> None:
    _close_all()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)  # die the way the sender intended, with the children gone


def _install_handlers() -> None:
    """``atexit`` always; SIGTERM/SIGHUP only where nobody else handles them (main thread)."""
    global _HANDLERS_INSTALLED
    if _HANDLERS_INSTALLED:
        return
    _HANDLERS_INSTALLED = True
    atexit.register(_close_all)
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(sig) == signal.SIG_DFL:
            signal.signal(sig, _on_signal)


def _platform(name: str | None):
    import ai2thor.platform as plat

    if name in (None, "auto"):
        name = "Linux64" if os.environ.get("DISPLAY") else "CloudRendering"
    if name not in PLATFORMS:
        raise ValueError(f"platform must be one of {', '.join(PLATFORMS)} or 'auto', got {name!r}")
    return getattr(plat, name)


@contextmanager
def _without_env(key: str):
    """Hide one environment variable while the controller starts (it reads and copies os.environ)."""
    saved = os.environ.pop(key, None)
    try:
        yield
    finally:
        if saved is not None:
            os.environ[key] = saved


class ThorBackend:
    """AI2-THOR through ``ai2thor.controller.Controller`` (a Unity build or the stand-in)."""

    name = "thor"

    def __init__(self, platform: str | None = "auto", width: int = 300, height: int = 300,
                 grid_size: float = 0.25, visibility_distance: float = 1.5, gpu_device: int | None = None,
                 render_image: bool = True, render_depth: bool = False, render_instance_segmentation: bool = False,
                 server_timeout: float | None = 100.0, server_start_timeout: float = 300.0,
                 local_executable_path: str | None = None, x_display: str | None = None,
                 teleport_retries: int = 4, quality: str = "Ultra", unset_cuda_visible_devices: bool = False,
                 controller_kwargs: dict[str, Any] | None = None, **_: Any) -> None:
        if width % 2 or height % 2:
            raise ValueError(f"width and height must be even (video encoders need it), got {width}x{height}")
        self.platform = platform
        self.width, self.height = int(width), int(height)
        self.grid_size, self.visibility_distance = float(grid_size), float(visibility_distance)
        self.gpu_device = gpu_device
        self.render_image, self.render_depth = render_image, render_depth
        self.render_instance_segmentation = render_instance_segmentation
        self.server_timeout, self.server_start_timeout = server_timeout, server_start_timeout
        self.local_executable_path, self.x_display = local_executable_path, x_display
        self.teleport_retries = int(teleport_retries)
        self.quality = quality
        self.unset_cuda_visible_devices = unset_cuda_visible_devices
        self.controller_kwargs = dict(controller_kwargs or {})
        self.controller = None
        self.state: WorldState | None = None
        self.scene: str | None = None
        self.reachable: np.ndarray = np.zeros((0, 2))
        self.reachable_y = 0.9
        self.last_event = None
        self.last_frame: np.ndarray | None = None
        self.last_depth: np.ndarray | None = None
        self.last_instance: np.ndarray | None = None
        self.restarts = 0  # controllers launched again after a crash
        self.crash_log: list[dict[str, Any]] = []  # one entry per crash: when, action, error
        self.teleport_log: list[dict[str, Any]] = []  # TeleportFull retries and their outcome
        self.startup_seconds: list[float] = []
        self._lost = False

    # -- controller lifecycle --------------------------------------------------------------------
    def _controller_kwargs(self, scene: str) -> dict[str, Any]:
        kw: dict[str, Any] = dict(
            scene=scene, width=self.width, height=self.height, gridSize=self.grid_size,
            visibilityDistance=self.visibility_distance, server_timeout=self.server_timeout,
            server_start_timeout=self.server_start_timeout, quality=self.quality,
            headless=not self.render_image, renderDepthImage=self.render_depth,
            renderInstanceSegmentation=self.render_instance_segmentation,
        )
        if self.local_executable_path:
            kw["local_executable_path"] = self.local_executable_path
        else:
            kw["platform"] = _platform(self.platform)
        if self.x_display is not None:
            kw["x_display"] = self.x_display
        if self.gpu_device is not None:
            kw["gpu_device"] = self.gpu_device
        kw.update(self.controller_kwargs)
        return kw

    def _start(self, scene: str):
        from ai2thor.controller import Controller

        _install_handlers()
        t0 = time.perf_counter()
        if self.unset_cuda_visible_devices:
            with _without_env("CUDA_VISIBLE_DEVICES"):
                controller = Controller(**self._controller_kwargs(scene))
        else:
            controller = Controller(**self._controller_kwargs(scene))
        self.startup_seconds.append(time.perf_counter() - t0)
        self.controller = controller
        _LIVE.add(self)
        if self._lost:
            self.restarts += 1
            self._lost = False
        return controller.last_event

    @property
    def process_id(self) -> int | None:
        """Pid of the simulator process (Unity or the stand-in), for supervisors and tests."""
        c = self.controller
        proc = getattr(getattr(c, "server", None), "unity_proc", None)
        return proc.pid if proc is not None else None

    def _lose_controller(self, action: dict[str, Any] | None, exc: BaseException) -> SimulatorCrashed:
        entry = {"time": time.time(), "scene": self.scene, "step": self.state.step if self.state else None,
                 "action": action, "error": f"{type(exc).__name__}: {exc}"}
        self.crash_log.append(entry)
        log.warning("AI2-THOR simulator lost (%s); it will be restarted on the next reset", entry["error"])
        controller, self.controller = self.controller, None
        self._lost = True
        if controller is not None:
            try:
                controller.stop()
            except Exception:  # already dead; stop() is best effort here
                pass
        return SimulatorCrashed(f"simulator crashed at step {entry['step']} in {self.scene}: {entry['error']}")

    def _call(self, action: dict[str, Any]):
        """One controller step; transport failures become ``SimulatorCrashed``."""
        from ai2thor.exceptions import RestartError

        try:
            return self.controller.step(dict(action))
        except RestartError as exc:  # ai2thor relaunched Unity itself; the episode state is gone
            self.crash_log.append({"time": time.time(), "scene": self.scene, "action": action,
                                   "error": f"RestartError: {exc}"})
            self.restarts += 1
            raise SimulatorCrashed(f"simulator restarted by ai2thor in {self.scene}: {exc}") from exc
        except (TimeoutError, RuntimeError, OSError) as exc:  # OSError: a write to a dead process's pipe
            raise self._lose_controller(action, exc) from exc

    def _remember(self, event) -> None:
        self.last_event = event
        self.last_frame = event.frame
        self.last_depth = event.depth_frame
        self.last_instance = event.instance_segmentation_frame

    # -- Backend protocol ------------------------------------------------------------------------
    def reset(self, scene: str, seed: int | None, keep: frozenset[str] = frozenset()) -> WorldState:
        scene = canonical_scene(scene)
        try:
            if self.controller is None:
                event = self._start(scene)
            else:
                event = self.controller.reset(scene)
            if seed:
                # Real THOR: a physics-based random spawn (not the symbolic layout); the stand-in
                # answers with the symbolic world's seeded re-placement.
                # (``keep``: the objects a task is about stay where they are)
                event = self.controller.step(action="InitialRandomSpawn", randomSeed=int(seed), forceVisible=False,
                                             numPlacementAttempts=5, placeStationary=True,
                                             excludedObjectIds=sorted(keep))
            if scene != self.scene or not len(self.reachable):
                grid = self.controller.step(action="GetReachablePositions").metadata["actionReturn"] or []
                self.reachable = np.array([[p["x"], p["z"]] for p in grid], dtype=float).reshape(-1, 2)
                self.reachable_y = float(grid[0]["y"]) if grid else 0.9
                event = self.controller.last_event
        except (TimeoutError, RuntimeError, OSError) as exc:
            if isinstance(exc, SimulatorCrashed):
                raise
            raise self._lose_controller({"action": "Reset", "sceneName": scene}, exc) from exc
        self.scene = scene
        self._remember(event)
        state = from_metadata(event.metadata)
        state.settings = {"visibilityDistance": self.visibility_distance, "gridSize": self.grid_size,
                          "fieldOfView": float(event.metadata.get("fov", 90.0))}
        state.step = 0
        state.last = {"lastAction": "Initialize", "lastActionSuccess": True, "errorMessage": "", "errorCode": None,
                      "actionReturn": None}
        self.state = state
        return state

    def step(self, action: dict[str, Any]) -> tuple[WorldState, list[dict]]:
        if self.state is None:
            raise RuntimeError("call reset() before step()")
        if self.controller is None:
            raise SimulatorCrashed("the simulator crashed earlier in this episode; reset() to start a new one")
        prev = self.state
        try:
            event = self._call(action)
        except ValueError as exc:  # invalid action or arguments: a failed step, as in the symbolic world
            event = self.controller.last_event
            state = from_metadata(event.metadata, previous=prev)
            state.last = {"lastAction": action.get("action", ""), "lastActionSuccess": False,
                          "errorMessage": str(exc), "errorCode": event.metadata.get("errorCode") or "InvalidArgument",
                          "actionReturn": None}
            self._remember(event)
            self.state = state
            return state, []
        if action.get("action") == "TeleportFull" and not event.metadata["lastActionSuccess"]:
            event = self._retry_teleport(action, event)
        state = from_metadata(event.metadata, previous=prev)
        events: list[dict] = []
        if state.last["lastActionSuccess"]:
            if action.get("action") == "RotateHeldObject":
                state = self._settle_pour(prev, action, state)
            events = derive(prev, action, state)
        self._remember(self.controller.last_event)
        self.state = state
        return state, events

    def metadata(self) -> dict[str, Any]:
        if self.last_event is not None and self.state is not None:
            return dict(self.last_event.metadata)
        return to_metadata(self.state, screen=(self.width, self.height))

    def close(self) -> None:
        controller, self.controller = self.controller, None
        _LIVE.discard(self)
        if controller is not None:
            try:
                controller.stop()
            except Exception as exc:  # a dead process: nothing left to stop
                log.debug("controller.stop() failed: %s", exc)

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    # -- real-THOR robustness --------------------------------------------------------------------
    def _infer_target(self, x: float, z: float, yaw: float) -> tuple[float, float, float] | None:
        """The object a TeleportFull pose faces: the nearest footprint within 30 degrees of its heading."""
        s = self.state
        best, best_d = None, math.inf
        for oid in s.objects:
            if is_gone(s, oid) or oid == s.held or spec_of(s, oid).type == "Floor":
                continue
            c, size = center_and_size(s, oid)
            dx, dz = c[0] - x, c[2] - z
            d = math.hypot(dx, dz)
            ang = abs((math.degrees(math.atan2(dx, dz)) - yaw + 180.0) % 360.0 - 180.0)
            if ang > 30.0 or d > 2.5:
                continue
            d_fp = max(d - max(size[0], size[2]) / 2, 0.0)
            if d_fp < best_d:
                best, best_d = c, d_fp
        return best

    def _retry_teleport(self, action: dict[str, Any], event):
        """A failed TeleportFull tries the next reachable points nearest its target, still facing it."""
        if not self.teleport_retries or not len(self.reachable):
            return event
        pos = action.get("position") or {}
        x, z = float(pos.get("x", 0.0)), float(pos.get("z", 0.0))
        rot = action.get("rotation") or {}
        yaw = float(rot.get("y", 0.0) if isinstance(rot, dict) else rot)
        target = self._infer_target(x, z, yaw)
        if target is None:
            target = (x + math.sin(math.radians(yaw)) * 0.5, 0.9, z + math.cos(math.radians(yaw)) * 0.5)
        d = np.hypot(self.reachable[:, 0] - target[0], self.reachable[:, 1] - target[2])
        d[d < 0.35] += 1.0  # arm's length, as the skill compiler prefers
        tried = [(x, z)]
        for idx in np.argsort(d, kind="stable"):
            if len(tried) > self.teleport_retries:
                break
            nx, nz = float(self.reachable[idx, 0]), float(self.reachable[idx, 1])
            if any(abs(nx - tx) < 1e-3 and abs(nz - tz) < 1e-3 for tx, tz in tried):
                continue
            tried.append((nx, nz))
            face = math.degrees(math.atan2(target[0] - nx, target[2] - nz)) % 360.0
            retry = dict(action, position={"x": nx, "y": pos.get("y", self.reachable_y), "z": nz},
                         rotation={"x": 0.0, "y": round(face, 2), "z": 0.0})
            event = self._call(retry)
            if event.metadata["lastActionSuccess"]:
                break
        self.teleport_log.append({"step": self.state.step + 1, "requested": (x, z), "tried": tried[1:],
                                  "success": bool(event.metadata["lastActionSuccess"])})
        return event

    def _settle_pour(self, prev: WorldState, action: dict[str, Any], state: WorldState) -> WorldState:
        """Real THOR reports no poured liquid: tilting a filled container past 90 degrees empties it
        into what the hand points at (a vessel or plant is filled), as ``world.transition`` says; a
        tipped soap dispenser squirts soap."""
        if isinstance(state.last.get("actionReturn"), dict) or prev.held is None:
            return state
        rot = action.get("rotation") or {}
        tilt = max(abs(float(action.get("pitch", rot.get("x", 0.0)))), abs(float(action.get("roll", rot.get("z", 0.0)))))
        before = prev.objects[prev.held]
        soap = spec_of(prev, prev.held).type in SOAP_DISPENSERS
        if tilt <= 90.0 or not (before["isFilledWithLiquid"] or soap):
            return state
        target = facing_object(prev, exclude={prev.held})
        liquid = "soap" if soap else before["fillLiquid"] or "water"
        if not soap:
            if state.objects[prev.held]["isFilledWithLiquid"]:
                event = self._call({"action": "EmptyLiquidFromObject", "objectId": prev.held, "forceAction": True})
                state = from_metadata(event.metadata, previous=prev)
            if target is not None and spec_of(prev, target).flags["canFillWithLiquid"] \
                    and not state.objects[target]["isFilledWithLiquid"]:
                event = self._call({"action": "FillObjectWithLiquid", "objectId": target, "fillLiquid": liquid,
                                    "forceAction": True})
                state = from_metadata(event.metadata, previous=prev)
        state.last = dict(state.last, lastAction=action["action"], actionReturn={"poured": liquid, "target": target})
        return state


def standin_backend(**options: Any) -> ThorBackend:
    """A ``ThorBackend`` whose controller launches the symbolic stand-in instead of Unity.

    ``server_timeout=None`` by default: the stand-in is local, and without a timeout ai2thor sees
    a dead process's EOF at once instead of after ``server_timeout`` seconds.
    """
    from .standin import standin_executable

    options.setdefault("local_executable_path", standin_executable())
    options.setdefault("x_display", ":0")
    options.setdefault("server_timeout", None)
    options.setdefault("unset_cuda_visible_devices", True)
    options.pop("platform", None)
    backend = ThorBackend(**options)
    backend.name = "thor_standin"
    return backend


standin_backend.__signature__ = inspect.signature(ThorBackend)  # type: ignore[attr-defined]  # options it takes


def run_with_restarts(env: Any, episode_fn: Callable[[Any], Any], max_restarts: int = 2) -> tuple[Any, dict[str, Any]]:
    """Run ``episode_fn(env)`` (which must start with ``env.reset``), rerunning it after a crash.

    Returns ``(result, report)``; ``report`` has ``attempts`` and the ``crashes`` (error text) to
    put in the episode record. Raises ``SimulatorCrashed`` after ``max_restarts`` reruns.
    """
    crashes: list[str] = []
    for attempt in range(1, max_restarts + 2):
        try:
            result = episode_fn(env)
        except SimulatorCrashed as exc:
            crashes.append(str(exc))
            log.warning("episode attempt %d crashed: %s", attempt, exc)
            continue
        return result, {"attempts": attempt, "crashes": crashes}
    raise SimulatorCrashed(f"episode crashed {len(crashes)} times (max_restarts={max_restarts}): {crashes[-1]}")


__all__ = ["ThorBackend", "SimulatorCrashed", "standin_backend", "run_with_restarts"]
