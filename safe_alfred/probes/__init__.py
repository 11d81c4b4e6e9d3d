"""Hidden-state refusal probes: collect a local planner's hidden states, train a linear refusal
probe, score every position of a trace and find where latent recognition of a hazard was lost
(the refusal cliff). Needs the ``hf`` extra (torch, transformers); see ``docs/probes.md``.

Submodules import torch lazily where they can, so ``import safe_alfred.probes`` stays cheap.
"""

from __future__ import annotations

from safe_alfred.probes.collect import (
    HIDDEN_STATES_DIR,
    HiddenStateCollector,
    episode_dir_name,
    maybe_collect,
)
from safe_alfred.probes.fingerprint import FingerprintMismatch, model_fingerprint

__all__ = [
    "HIDDEN_STATES_DIR",
    "FingerprintMismatch",
    "HiddenStateCollector",
    "episode_dir_name",
    "maybe_collect",
    "model_fingerprint",
]
