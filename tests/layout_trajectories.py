"""A random-agent trajectory over changing layouts, as source text: tests run it in this process
and in fresh ones, to show that nothing the acceleration layer keeps changes a trajectory."""

CHANGING_LAYOUTS = """
import hashlib, json, random, sys
from safe_alfred.envs import SafeAlfredEnv

def run(scene, seed, n, after_first_reset=lambda: None):
    env, rng, episode = SafeAlfredEnv(), random.Random(seed), seed
    obs, info = env.reset(seed=episode, options={"scene": scene})
    after_first_reset()
    h = hashlib.sha256(obs.encode())
    for _ in range(n):
        skill = rng.choice(info["admissible_skills"])
        obs, r, term, trunc, info = env.step(skill)
        h.update(json.dumps([skill, obs, info["admissible_skills"], info["events"]], sort_keys=True).encode())
        h.update(env.state.digest().encode())
        if term or trunc:
            episode += 1  # a new layout every episode, as the speed benchmark plays
            obs, info = env.reset(seed=episode, options={"scene": scene})
    return h.hexdigest()
"""
