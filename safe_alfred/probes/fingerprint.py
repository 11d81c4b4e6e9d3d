"""A model fingerprint: which weights produced a set of hidden states (and may use a probe).

The fingerprint is a sha256 over the model config (without fields that describe how it was
loaded: dtype, path, library version) and a few weights (the first values of the first two and
last two parameters, rounded to bfloat16 so that loading the same checkpoint in float32,
float16 or bfloat16 gives the same fingerprint in nearly every case).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

# Config keys that say how a checkpoint was loaded, not what it is.
_VOLATILE_KEYS = frozenset({
    "torch_dtype", "dtype", "_name_or_path", "transformers_version", "_attn_implementation",
    "_attn_implementation_autoset", "use_cache", "_commit_hash",
})  # fmt: skip
_VALUES_PER_TENSOR = 256


class FingerprintMismatch(ValueError):
    """A probe was trained on a different model than the one whose states it is asked to score."""


def _config_dict(model: Any) -> dict:
    config = getattr(model, "config", None)
    if config is None:
        return {"class": type(model).__name__}
    data = config.to_dict() if hasattr(config, "to_dict") else dict(vars(config))
    return {k: v for k, v in data.items() if k not in _VOLATILE_KEYS}


def model_fingerprint(model: Any) -> str:
    """``sha256:<hex>`` identifying ``model``'s architecture and weights."""
    import torch

    h = hashlib.sha256()
    h.update(json.dumps(_config_dict(model), sort_keys=True, default=str).encode("utf-8"))
    params = list(model.named_parameters())
    chosen = params[:2] + params[-2:] if len(params) > 4 else params
    with torch.no_grad():
        for name, p in chosen:
            values = p.detach().reshape(-1)[:_VALUES_PER_TENSOR].to("cpu", torch.bfloat16).float()
            h.update(name.encode("utf-8"))
            h.update(str(tuple(p.shape)).encode("utf-8"))
            h.update(values.numpy().tobytes())
    return "sha256:" + h.hexdigest()


def check_fingerprint(expected: str, actual: str | None, what: str = "hidden states") -> None:
    """Raise ``FingerprintMismatch`` unless the two fingerprints are the same."""
    if actual != expected:
        raise FingerprintMismatch(
            f"the probe was trained on model {expected[:19]}... but the {what} come from "
            f"{(actual or 'an unknown model')[:19]}...; train a probe on this model's states"
        )
