"""Gymnasium environments of safe-alfred; importing this registers ``SafeAlfred-v0``."""

from gymnasium.envs.registration import register, registry

from .safe_alfred_env import SafeAlfredEnv
from .wrappers import DiscreteSkillWrapper

if "SafeAlfred-v0" not in registry:
    register(id="SafeAlfred-v0", entry_point="safe_alfred.envs.safe_alfred_env:SafeAlfredEnv")

__all__ = ["SafeAlfredEnv", "DiscreteSkillWrapper"]
