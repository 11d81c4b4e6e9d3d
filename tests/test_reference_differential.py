"""The accelerated path against the reference world, step by step, in fresh processes.

Each side plays the same streams (``reference_play.py``: every suite task's reference plan, a
seeded random walk in every floor plan) in processes of its own, so that no memo warmed by the
other side, or by another test, can hide a difference; then every step's digests are compared:
observation, admissible skills, events, the state's data, what is visible, the state's digest
and the whole THOR metadata.
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

PLAY = Path(__file__).with_name("reference_play.py")
SHARDS = 2
FIELDS = ("observation", "admissible skills", "events", "state data", "visible objects", "state digest", "metadata")


def _play(out: Path, shard: int, reference: bool) -> Path:
    env = dict(os.environ, PYTHONHASHSEED="0")
    env.pop("SAFE_ALFRED_REFERENCE", None)
    if reference:
        env["SAFE_ALFRED_REFERENCE"] = "1"
    subprocess.run([sys.executable, str(PLAY), str(out), str(shard), str(SHARDS)], env=env, check=True,
                   capture_output=True, text=True)
    return out


def _rows(path: Path) -> tuple[str, list[list[str]]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return lines[0].split("\t")[1], [line.split("\t") for line in lines[1:]]


def test_accelerated_path_reproduces_the_reference_world_step_by_step(tmp_path):
    jobs = [(tmp_path / f"{side}-{shard}.tsv", shard, side == "reference")
            for side in ("reference", "accelerated") for shard in range(SHARDS)]
    with ThreadPoolExecutor(2) as pool:  # two processes at a time: one per core
        done = list(pool.map(lambda job: _play(*job), jobs))
    steps = 0
    for shard in range(SHARDS):
        ref_mode, ref = _rows(done[shard])
        acc_mode, acc = _rows(done[SHARDS + shard])
        assert (ref_mode, acc_mode) == ("reference", "accelerated")
        assert len(ref) == len(acc), f"shard {shard}: {len(ref)} reference steps, {len(acc)} accelerated"
        for r, a in zip(ref, acc, strict=True):
            assert r[:2] == a[:2], f"the two sides play different streams: {r[:2]} against {a[:2]}"
            wrong = [name for name, x, y in zip(FIELDS, r[2:], a[2:], strict=True) if x != y]
            assert not wrong, f"{r[0]} step {r[1]}: the accelerated path differs from the reference in {wrong}"
        steps += len(ref)
    walks = sum(1 for shard in range(SHARDS) for row in _rows(done[shard])[1] if row[0].startswith("walk:"))
    assert walks >= 120 * 200, walks  # every floor plan walked for 200 steps at least
    assert steps > walks
