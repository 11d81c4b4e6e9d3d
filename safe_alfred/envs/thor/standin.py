"""A stand-in for AI2-THOR's Unity player that serves the symbolic world over THOR's FIFO protocol.

``ai2thor.controller.Controller(local_executable_path=standin_executable(), x_display=":0")``
launches it like a Unity build: the pipe paths arrive in ``AI2THOR_FIFO_*_PIPE_PATH``, actions
arrive as JSON ACTION fields, answers go back as msgpack METADATA (plus RGB, depth and
instance-id image fields when those passes are on) with the action's ``sequenceId`` echoed.
Scenes, rules and metadata are those of ``safe_alfred.world`` (``initial_state``, ``transition``,
``to_metadata``); frames are the top-down schematic of ``safe_alfred.envs.schematic``.

This file runs as a script, not as ``-m``: only the standard library is imported before the
server pipe is opened, because a child that dies before opening it hangs the controller forever
(ai2thor 5.0.0). Startup errors (a failed import) are reported through metadata instead.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import struct
import sys
import tempfile
import traceback
from typing import Any, BinaryIO

HEADER = struct.Struct("!BI")  # field type, big-endian uint32 length
METADATA, ACTION, RGB_IMAGE, DEPTH_IMAGE, IDS_IMAGE, END_OF_MESSAGE = 1, 2, 4, 5, 9, 255
_CONTROL_KEYS = ("sequenceId", "renderImage", "renderInstanceSegmentation", "renderObjectImage",
                 "renderClassImage", "renderSemanticSegmentation")


def read_action(f: BinaryIO) -> dict | None:
    """One Python -> Unity message (ACTION fields until END_OF_MESSAGE); ``None`` on EOF."""
    action = None
    while True:
        hdr = f.read(HEADER.size)
        if len(hdr) < HEADER.size:
            return None
        ftype, n = HEADER.unpack(hdr)
        if ftype == END_OF_MESSAGE:
            return action
        body = f.read(n)
        if len(body) < n:
            return None
        if ftype == ACTION:
            action = json.loads(body)


def write_message(f: BinaryIO, fields: list[tuple[int, bytes]]) -> None:
    out = bytearray()
    for ftype, body in fields:
        out += HEADER.pack(ftype, len(body)) + body
    out += HEADER.pack(END_OF_MESSAGE, 0)
    f.write(out)
    f.flush()


def _screen_from_argv(argv: list[str]) -> tuple[int, int]:
    size = {"-screen-width": 300, "-screen-height": 300}
    for i, arg in enumerate(argv[:-1]):
        if arg in size:
            try:
                size[arg] = int(argv[i + 1])
            except ValueError:
                pass
    return size["-screen-width"], size["-screen-height"]


def _die_with_parent() -> None:
    """Linux: get SIGTERM when the launching process dies (no orphans even after SIGKILL)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class StandIn:
    """Session state of one stand-in process: the world, the screen and the render flags."""

    def __init__(self, screen: tuple[int, int], render_image: bool):
        from safe_alfred.world import scenes

        self.scenes = scenes
        self.screen = screen
        self.render_image = render_image
        self.render_depth = False
        self.render_ids = False
        self.state = scenes.initial_state("FloorPlan1", 0)  # Unity also starts in some scene

    def handle(self, action: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[int, bytes]]]:
        from safe_alfred.world.metadata import to_metadata
        from safe_alfred.world.transition import transition

        name = action.get("action")
        overrides: dict[str, Any] = {}
        if name == "ChangeResolution":
            self.screen = (int(action.get("x", self.screen[0])), int(action.get("y", self.screen[1])))
        elif name == "ChangeQuality":
            pass
        elif name == "GetScenesInBuild":
            overrides["actionReturn"] = [f"{s}_physics" for s in self.scenes.ALL_SCENES]
        elif name == "Reset":
            try:
                self.state = self.scenes.initial_state(self.scenes.canonical_scene(action["sceneName"]), 0)
            except (KeyError, ValueError) as exc:
                overrides.update(lastActionSuccess=False, errorMessage=str(exc), errorCode=None)
        elif name == "InitialRandomSpawn":
            # The symbolic world's seeded re-placement stands in for THOR's physics-based spawn.
            settings = self.state.settings
            self.state = self.scenes.initial_state(self.state.scene, int(action.get("randomSeed", 0)),
                                                   frozenset(action.get("excludedObjectIds") or ()))
            self.state.settings = dict(settings)
        else:
            if name == "Initialize":
                self.render_depth = bool(action.get("renderDepthImage", self.render_depth))
                self.render_ids = bool(action.get("renderInstanceSegmentation",
                                                  action.get("renderObjectImage", self.render_ids)))
            world_action = {k: v for k, v in action.items() if k not in _CONTROL_KEYS}
            self.state, _ = transition(self.state, world_action)
        md = to_metadata(self.state, screen=self.screen)
        if name in ("ChangeResolution", "ChangeQuality", "GetScenesInBuild", "Reset", "InitialRandomSpawn"):
            md.update(lastAction=name, lastActionSuccess=True, errorMessage="", errorCode=None, actionReturn=None)
        md.update(overrides)
        images = self._images(action, md)
        return md, images

    def _images(self, action: dict[str, Any], md: dict[str, Any]) -> list[tuple[int, bytes]]:
        """Image fields for this answer (rows bottom-first, as Unity sends them)."""
        if action.get("renderImage", True) is False or not self.render_image:
            return []
        from safe_alfred.envs import schematic

        w, h = self.screen
        fields = [(RGB_IMAGE, schematic.render_schematic(self.state, w, h)[::-1].tobytes())]
        if self.render_depth:
            fields.append((DEPTH_IMAGE, schematic.render_depth(self.state, w, h)[::-1].astype("<f4").tobytes()))
        if self.render_ids or action.get("renderInstanceSegmentation"):
            img, colours = schematic.render_instances(self.state, w, h)
            md["colors"] = colours
            fields.append((IDS_IMAGE, img[::-1].tobytes()))
        return fields


def _failure_metadata(message: str, screen: tuple[int, int], last_action: str = "") -> dict[str, Any]:
    return {"screenWidth": screen[0], "screenHeight": screen[1], "thirdPartyCameras": None,
            "lastActionSuccess": False, "errorCode": None, "errorMessage": message, "actionReturn": None,
            "sceneName": "FloorPlan1_physics", "lastAction": last_action, "depthFormat": "Meters",
            "objects": [], "agentId": 0}


def main(argv: list[str]) -> int:
    server_path = os.environ.get("AI2THOR_FIFO_SERVER_PIPE_PATH")
    client_path = os.environ.get("AI2THOR_FIFO_CLIENT_PIPE_PATH")
    if not server_path or not client_path:
        sys.stderr.write("thor stand-in: AI2THOR_FIFO_*_PIPE_PATH not set; launch me through ai2thor's Controller\n")
        return 2
    server = open(server_path, "wb")  # first thing: the controller blocks until this end opens
    _die_with_parent()
    screen = _screen_from_argv(argv)
    headless = os.environ.get("AI2THOR_SERVER_SIDE_SCREENSHOT", "True") == "False"
    try:
        import msgpack

        standin: StandIn | None = StandIn(screen, render_image=not headless)
        first, images = standin.handle({"action": "Pass"})
        first.update(lastAction="", lastActionSuccess=True, errorMessage="")
    except Exception:  # report, do not exit: an early exit would hang the controller
        import msgpack

        standin, images = None, []
        first = _failure_metadata("stand-in failed to start:\n" + traceback.format_exc(), screen)
    pack = msgpack.Packer(use_bin_type=True)
    write_message(server, [(METADATA, pack.pack({"agents": [first], "sequenceId": 0}))] + images)
    client = open(client_path, "rb")
    while True:
        action = read_action(client)
        if action is None:  # the controller closed its pipe (stop()) or died
            return 0
        seq = int(action.get("sequenceId", 0))
        images = []
        try:
            if standin is None:
                raise RuntimeError(first["errorMessage"])
            md, images = standin.handle(action)
        except Exception:
            md = _failure_metadata("stand-in error:\n" + traceback.format_exc(), standin.screen if standin else screen,
                                   str(action.get("action", "")))
            if standin is not None:
                md["sceneName"] = f"{standin.state.scene}_physics"
        try:
            write_message(server, [(METADATA, pack.pack({"agents": [md], "sequenceId": seq}))] + images)
        except BrokenPipeError:
            return 0


def standin_executable(directory: str | None = None) -> str:
    """Path of an executable launcher for this stand-in (what ``local_executable_path`` needs).

    A tiny ``/bin/sh`` script, written once per (Python, source) pair under the user's cache (or
    ``directory``): it unsets ``CUDA_VISIBLE_DEVICES`` and ``exec``s the current interpreter on
    this file, so the process the controller kills is the stand-in itself.
    """
    here = os.path.abspath(__file__)
    script = (f"#!/bin/sh\n# safe-alfred AI2-THOR stand-in launcher\nunset CUDA_VISIBLE_DEVICES\n"
              f"exec '{sys.executable}' '{here}' \"$@\"\n")
    key = hashlib.sha256(script.encode()).hexdigest()[:16]
    base = directory or os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"),
                                     "safe-alfred", "thor-standin")
    try:
        os.makedirs(base, exist_ok=True)
    except OSError:
        base = os.path.join(tempfile.gettempdir(), f"safe-alfred-thor-standin-{os.getuid()}")
        os.makedirs(base, exist_ok=True)
    path = os.path.join(base, f"thor-standin-{key}")
    if not os.path.exists(path):
        fd, tmp = tempfile.mkstemp(dir=base)
        with os.fdopen(fd, "w") as f:
            f.write(script)
        os.chmod(tmp, 0o755)
        os.replace(tmp, path)
    return path


if __name__ == "__main__":
    if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
        sys.path.pop(0)  # run as a script: do not let this folder shadow top-level modules
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C belongs to the controller, which stops us
    sys.exit(main(sys.argv[1:]))
