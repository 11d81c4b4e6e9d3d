"""A top-down schematic of a ``WorldState``: episodes can be watched without Unity.

Every object is drawn as its plan footprint (``center_and_size``), coloured by category; the
agent is a circle with a heading tick and the held object's name; objects in a hazardous
condition (``consequences.hazard_conditions``) or named by recent hazard events get a thick red
outline. The same plan projection gives the stand-in simulator its RGB, depth and
instance-segmentation frames, so the thor backend's frame pipeline runs without a GPU.
Images are ``uint8 (height, width, 3)`` RGB with the first row at the top (north = +z up).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from functools import cache, lru_cache

import cv2
import numpy as np

from ..world.consequences import hazard_conditions
from ..world.geometry import center_and_size, is_gone, is_hidden, spec_of
from ..world.object_types import ELECTRONICS
from ..world.scenes import load_scene_spec
from ..world.state import WorldState

BACKGROUND = (24, 24, 28)
FLOOR = (58, 58, 64)
REACHABLE = (78, 78, 86)
AGENT = (80, 160, 255)
HAZARD = (255, 40, 40)
TOUCHED = (255, 255, 255)  # outline and label of the objects a step acted on
CATEGORY_COLOURS: dict[str, tuple[int, int, int]] = {
    "heat": (230, 110, 40),       # stoves, microwaves, toasters, candles
    "electronic": (90, 130, 230),  # laptops, TVs, phones...
    "food": (90, 200, 90),
    "liquid": (60, 200, 220),      # containers that hold liquid
    "pickupable": (230, 210, 90),
    "receptacle": (150, 120, 95),  # furniture and containers
    "other": (125, 125, 135),
}


def category(state: WorldState, oid: str) -> str:
    """Colour class of an object, from THOR-native flags and materials."""
    spec = spec_of(state, oid)
    f = spec.flags
    if f["isHeatSource"] or spec.type in ("StoveBurner", "StoveKnob", "Microwave", "Toaster"):
        return "heat"
    if spec.type in ELECTRONICS:
        return "electronic"
    mats = set(spec.materials or ())
    if "Food" in mats or f["cookable"]:
        return "food"
    if f["canFillWithLiquid"]:
        return "liquid"
    if f["pickupable"]:
        return "pickupable"
    if f["receptacle"]:
        return "receptacle"
    return "other"


@cache
def _bounds(scene: str) -> tuple[float, float, float, float]:
    spec = load_scene_spec(scene)
    xs, zs = [], []
    for o in spec.objects.values():
        if o.type == "Floor":
            continue
        xs += [o.center[0] - o.size[0] / 2, o.center[0] + o.size[0] / 2]
        zs += [o.center[2] - o.size[2] / 2, o.center[2] + o.size[2] / 2]
    if len(spec.reachable):
        xs += list(spec.reachable[:, 0])
        zs += list(spec.reachable[:, 1])
    return min(xs), max(xs), min(zs), max(zs)


class Projection:
    """Plan (x, z) metres to pixel (u, v), fitting the scene's extent into the image."""

    def __init__(self, scene: str, width: int, height: int, margin: int = 6):
        x0, x1, z0, z1 = _bounds(scene)
        self.scale = min((width - 2 * margin) / max(x1 - x0, 1e-3), (height - 2 * margin) / max(z1 - z0, 1e-3))
        self.x0, self.z0 = x0, z0
        self.ox = (width - (x1 - x0) * self.scale) / 2
        self.oy = (height - (z1 - z0) * self.scale) / 2
        self.height = height

    def px(self, x: float, z: float) -> tuple[int, int]:
        return (int(round(self.ox + (x - self.x0) * self.scale)),
                int(round(self.height - (self.oy + (z - self.z0) * self.scale))))

    def rect(self, center, size) -> tuple[tuple[int, int], tuple[int, int]]:
        u0, v0 = self.px(center[0] - size[0] / 2, center[2] + size[2] / 2)
        u1, v1 = self.px(center[0] + size[0] / 2, center[2] - size[2] / 2)
        return (u0, v0), (max(u1, u0 + 1), max(v1, v0 + 1))

    def metres(self, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return (u - self.ox) / self.scale + self.x0, (self.height - v - self.oy) / self.scale + self.z0


@lru_cache(maxsize=64)
def _projection(scene: str, width: int, height: int) -> Projection:
    return Projection(scene, width, height)


@lru_cache(maxsize=64)
def _background(scene: str, width: int, height: int) -> np.ndarray:
    """The static part of a scene's picture (the reachable grid), drawn once per size."""
    img = np.empty((height, width, 3), np.uint8)
    img[:] = BACKGROUND
    proj = _projection(scene, width, height)
    cell = max(1, int(0.1 * proj.scale))  # reachable points lie on a 0.25 m grid
    for x, z in load_scene_spec(scene).reachable:
        u, v = proj.px(float(x), float(z))
        cv2.rectangle(img, (u - cell, v - cell), (u + cell, v + cell), REACHABLE, -1)
    img.flags.writeable = False
    return img


def drawable_ids(state: WorldState) -> list[str]:
    """Objects to draw, largest footprint first so that small things stay on top."""
    ids = [oid for oid in state.objects
           if not is_gone(state, oid) and not is_hidden(state, oid) and spec_of(state, oid).type != "Floor"]
    def area(oid: str) -> float:
        size = spec_of(state, oid).size
        return size[0] * size[2]

    ids.sort(key=lambda oid: (-area(oid), oid))
    return ids


def hazard_ids(state: WorldState, events: Iterable[dict] = ()) -> set[str]:
    """Objects to outline in red: in a hazardous condition, causing one, or named by an event."""
    out = {oid for pairs in hazard_conditions(state).values() for pair in pairs for oid in pair if oid}
    out.update(e["objectId"] for e in events if e.get("objectId"))
    out.update(e["cause"] for e in events if e.get("cause"))
    return out


def render_schematic(state: WorldState, width: int = 320, height: int = 320,
                     events: Iterable[dict] = (), labels: bool = True, touched: Iterable[str] = ()) -> np.ndarray:
    """RGB top-down picture of ``state`` (``events`` adds hazard highlights; ``touched``, the objects
    the last step acted on, get a white outline and their type written beside them)."""
    img = _background(state.scene, width, height).copy()
    proj = _projection(state.scene, width, height)
    danger = hazard_ids(state, events)
    for oid in drawable_ids(state):
        if oid == state.held:
            continue
        c, s = center_and_size(state, oid)
        p0, p1 = proj.rect(c, s)
        colour = CATEGORY_COLOURS[category(state, oid)]
        st = state.objects[oid]
        if st.get("isToggled"):
            colour = tuple(min(255, int(ch * 1.35) + 20) for ch in colour)
        cv2.rectangle(img, p0, p1, colour, -1)
        cv2.rectangle(img, p0, p1, (20, 20, 20), 1)
        if oid in danger:
            cv2.rectangle(img, p0, p1, HAZARD, 3)
    for oid in dict.fromkeys(touched):
        if oid in state.objects and oid != state.held and not is_gone(state, oid):
            c, sz = center_and_size(state, oid)
            p0, p1 = proj.rect(c, sz)
            cv2.rectangle(img, p0, p1, TOUCHED, 1)
            _label(img, spec_of(state, oid).type, (p1[0] + 2, max(p0[1], 8)))
    a = state.agent
    au, av = proj.px(a["x"], a["z"])
    radius = max(3, int(0.2 * proj.scale))
    cv2.circle(img, (au, av), radius, AGENT, -1)
    yaw = np.radians(a["rotation"])
    tip = (int(au + np.sin(yaw) * radius * 2.2), int(av - np.cos(yaw) * radius * 2.2))
    cv2.line(img, (au, av), tip, AGENT, 2)
    if state.held is not None:
        colour = HAZARD if state.held in danger else CATEGORY_COLOURS[category(state, state.held)]
        cv2.circle(img, tip, max(2, radius // 2), colour, -1)
        if labels:
            cv2.putText(img, spec_of(state, state.held).type, (min(au + radius + 2, width - 60), av),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.35, (255, 255, 255), 1, cv2.LINE_AA)
    return img


def _label(img: np.ndarray, text: str, at: tuple[int, int]) -> None:
    """Text on a dark box, kept inside the image."""
    (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.33, 1)
    x = int(min(max(at[0], 0), img.shape[1] - tw - 2))
    y = int(min(max(at[1], th + 2), img.shape[0] - 2))
    cv2.rectangle(img, (x - 1, y - th - 2), (x + tw + 1, y + 2), (10, 10, 12), -1)
    cv2.putText(img, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, 0.33, TOUCHED, 1, cv2.LINE_AA)


LEGEND = (*[(name, colour, "fill") for name, colour in CATEGORY_COLOURS.items()],
          ("agent", AGENT, "dot"), ("hazard", HAZARD, "outline"), ("acted on", TOUCHED, "outline"))


@lru_cache(maxsize=16)
def legend_band(width: int) -> np.ndarray:
    """What the schematic's colours mean, as a band to put under a frame ``width`` pixels wide."""
    font, scale = cv2.FONT_HERSHEY_SIMPLEX, 0.33
    items = []
    for name, colour, style in LEGEND:
        (tw, _), _ = cv2.getTextSize(name, font, scale, 1)
        items.append((name, colour, style, 14 + tw + 10))
    rows: list[list[tuple]] = [[]]
    used = 4
    for item in items:
        if used + item[3] > width and rows[-1]:
            rows.append([])
            used = 4
        rows[-1].append(item)
        used += item[3]
    band = np.empty((14 * len(rows) + 4, width, 3), np.uint8)
    band[:] = BACKGROUND
    for r, row in enumerate(rows):
        x, y = 4, 14 * r + 12
        for name, colour, style, w in row:
            if style == "fill":
                cv2.rectangle(band, (x, y - 8), (x + 9, y + 1), colour, -1)
            elif style == "dot":
                cv2.circle(band, (x + 4, y - 3), 4, colour, -1)
            else:
                cv2.rectangle(band, (x, y - 8), (x + 9, y + 1), colour, 2)
            cv2.putText(band, name, (x + 13, y), font, scale, (220, 220, 220), 1, cv2.LINE_AA)
            x += w
    band.flags.writeable = False
    return band


def instance_colour(object_id: str) -> tuple[int, int, int]:
    """A stable colour per objectId (what AI2-THOR's ``colors`` list maps back to ids)."""
    d = hashlib.md5(object_id.encode()).digest()
    return int(d[0]) | 1, int(d[1]) | 1, int(d[2]) | 1  # never pure black (background)


def render_instances(state: WorldState, width: int, height: int) -> tuple[np.ndarray, list[dict]]:
    """Instance-id image in the schematic's projection and the ``colors`` list for it."""
    img = np.zeros((height, width, 3), np.uint8)
    proj = _projection(state.scene, width, height)
    colours = []
    for oid in drawable_ids(state):
        if oid == state.held:
            continue
        c, s = center_and_size(state, oid)
        p0, p1 = proj.rect(c, s)
        col = instance_colour(oid)
        cv2.rectangle(img, p0, p1, col, -1)
        colours.append({"name": oid, "color": list(col)})
    return img, colours


def render_depth(state: WorldState, width: int, height: int) -> np.ndarray:
    """Plan distance (metres) from the agent to each pixel's floor point: a stand-in depth pass."""
    proj = _projection(state.scene, width, height)
    v, u = np.mgrid[0:height, 0:width].astype(np.float32)
    x, z = proj.metres(u, v)
    return np.hypot(x - state.agent["x"], z - state.agent["z"]).astype(np.float32)
