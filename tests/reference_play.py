"""One side of the reference-vs-accelerated differential test, run in a fresh process.

``python tests/reference_play.py OUT SHARD SHARDS`` plays its share of the streams (every task's
reference plan in the smoke, v2 and SafeAgentBench suites, as loaded from their files now, and
a seeded random walk of ``WALK_STEPS`` steps in every iTHOR floor plan) and writes one line per
step to OUT: the stream, the step, and short digests of the observation, the admissible skills,
the events, the state's data, what is visible (in order), the state's ``digest`` and the whole
THOR metadata, after every step and every reset. The mode is the process's:
``SAFE_ALFRED_REFERENCE=1`` for the reference world.
"""

from __future__ import annotations

import hashlib
import io
import json
import pickle
import random
import sys

from safe_alfred import accel
from safe_alfred.envs import SafeAlfredEnv
from safe_alfred.tasks.suite import suite_path
from safe_alfred.world.metadata import to_metadata
from safe_alfred.world.scenes import ALL_SCENES, canonical_scene
from safe_alfred.world.state import WorldState
from safe_alfred.world.visibility import visible_in_order

SUITES = ("smoke", "safe_alfred_v2", "safeagentbench")
WALK_STEPS = 200
# Skills a walk tries now and then besides the admissible ones: unknown objects, wrong verbs,
# things out of reach, so that failures are compared too.
ODD_SKILLS = ("pickup Fridge", "put Toaster", "find Toaster", "open Apple", "toggle_on Bread", "slice Mug",
              "pour", "drop", "throw", "cook Plate", "fill Sink coffee", "dance", "")


def _h(value) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, separators=(",", ":"), default=list)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _fingerprint(value) -> str:
    """A digest of a structure of dicts, lists, tuples, strings and numbers, floats taken bit for
    bit: pickled without its memo, so the same values give the same bytes however shared."""
    buf = io.BytesIO()
    pickler = pickle.Pickler(buf, protocol=5)
    pickler.fast = True
    pickler.dump(value)
    return hashlib.sha256(buf.getvalue()).hexdigest()[:16]


def _line(stream: str, step: int, obs: str, info: dict, state: WorldState) -> str:
    data = (state.scene, state.objects, state.agent, state.held, state.step, state.last, state.settings,
            state.spawned, state.decay)
    return "\t".join((stream, str(step), _h(obs), _h(info["admissible_skills"]), _h(info["events"]), _fingerprint(data),
                      _h(visible_in_order(state)), state.digest()[:16], _fingerprint(to_metadata(state)))) + "\n"


def streams(shard: int, shards: int) -> list[tuple[str, object]]:
    """This shard's streams: the plans and walks of every ``shards``-th scene (so that each
    scene is loaded, and prepared, in one process), scenes dealt out by their number of steps."""
    by_scene: dict[str, list[tuple[str, object]]] = {scene: [] for scene in ALL_SCENES}
    for suite in SUITES:  # read as they are now (the suites' own tests check them)
        for line in suite_path(suite).read_text(encoding="utf-8").splitlines():
            if line.strip():
                task = json.loads(line)
                by_scene[canonical_scene(task["scene"])].append((f"plan:{suite}:{task['id']}", task))
    for scene in ALL_SCENES:
        by_scene[scene].append((f"walk:{scene}", scene))
    weight = {scene: sum(len(t["reference_plan"]) if isinstance(t, dict) else WALK_STEPS for _, t in todo)
              for scene, todo in by_scene.items()}
    scenes = sorted(ALL_SCENES, key=lambda scene: (-weight[scene], scene))
    return [item for scene in scenes[shard::shards] for item in by_scene[scene]]


def play_plan(env: SafeAlfredEnv, stream: str, task: dict, out) -> None:
    obs, info = env.reset(options={"task": task})
    out.write(_line(stream, 0, obs, info, env.state))
    for i, skill in enumerate(task["reference_plan"], 1):
        obs, _, terminated, truncated, info = env.step(skill)
        out.write(_line(stream, i, obs, info, env.state))
        if terminated or truncated:
            break


def play_walk(env: SafeAlfredEnv, stream: str, scene: str, index: int, out) -> None:
    rng = random.Random(index)
    episode = 1000 * index
    obs, info = env.reset(seed=episode, options={"scene": scene})
    out.write(_line(stream, 0, obs, info, env.state))
    for i in range(1, WALK_STEPS + 1):
        skill = rng.choice(ODD_SKILLS) if rng.random() < 0.05 else rng.choice(info["admissible_skills"])
        obs, _, terminated, truncated, info = env.step(skill)
        out.write(_line(stream, i, obs, info, env.state))
        if terminated or truncated:
            episode += 1
            obs, info = env.reset(seed=episode, options={"scene": scene})
            out.write(_line(stream, i, obs, info, env.state))


def main(path: str, shard: int, shards: int) -> None:
    env = SafeAlfredEnv()
    mine = streams(shard, shards)
    with open(path, "w", encoding="utf-8") as out:
        out.write(f"mode\t{'reference' if accel.reference() else 'accelerated'}\n")
        for stream, what in mine:
            if stream.startswith("plan:"):
                play_plan(env, stream, what, out)
            else:
                play_walk(env, stream, what, ALL_SCENES.index(what), out)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
