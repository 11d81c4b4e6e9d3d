"""Scene preparation fills the per-pose view caches when a scene is first loaded: it must change
nothing an env returns, and it must leave the finds of later episodes nothing to build."""

from __future__ import annotations

import json
import subprocess
import sys

from layout_trajectories import CHANGING_LAYOUTS

_PLAY = CHANGING_LAYOUTS + """
from safe_alfred.accel import scenes, visibility

if sys.argv[1] == "unprepared":
    scenes._PREPARED.update({"FloorPlan2": 0, "FloorPlan410": 0})  # as if already done: skipped
built = []  # view tables built since the first reset
in_range = visibility._in_range
def counting(state, arr):
    built.append(state.agent["x"])
    return in_range(state, arr)
visibility._in_range = counting

print(json.dumps([{"digest": run(scene, seed, 300, built.clear), "view_tables_built": len(built)}
                  for scene, seed in (("FloorPlan2", 5), ("FloorPlan410", 9))]))
"""


def _play(mode: str) -> list[dict]:
    out = subprocess.run([sys.executable, "-c", _PLAY, mode], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_preparing_a_scene_changes_no_trajectory_and_leaves_finds_nothing_to_build():
    prepared, unprepared = _play("prepared"), _play("unprepared")
    assert [r["digest"] for r in prepared] == [r["digest"] for r in unprepared]
    for ready, lazy in zip(prepared, unprepared, strict=True):
        # without preparation, each first visit to a pose builds its table during a step
        assert lazy["view_tables_built"] >= 20
        # prepared: only a pose no find of a scene-start or layout place leads to (an object the
        # agent dropped, found again) still builds one
        assert ready["view_tables_built"] <= lazy["view_tables_built"] // 10
