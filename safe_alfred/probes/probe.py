"""A linear refusal probe: logistic regression on one layer's hidden state (torch, CPU or CUDA).

As in "Refusal Falls off a Cliff" (arXiv 2510.06036): the feature is the hidden state at the last
position before the answer, the label the planner's own behaviour (refused versus complied).
Classes are balanced by down-sampling the larger one, features standardised with the training
split's mean and standard deviation, and the weights fitted by full-batch L-BFGS with an L2
penalty. A probe file stores the weights with the layer and the model fingerprint; scoring states
from another model raises ``FingerprintMismatch``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from safe_alfred.probes.fingerprint import check_fingerprint

PROBE_FORMAT = "safe-alfred-refusal-probe/1"


def select_device(device: str = "auto") -> str:
    """``auto``: CUDA when available, else CPU; anything else is returned as given."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


@dataclass
class RefusalProbe:
    """P(refuse | h) = sigmoid(w . (h - mean) / std + b) at one layer of one model."""

    weight: np.ndarray
    bias: float
    mean: np.ndarray
    std: np.ndarray
    layer: int
    fingerprint: str
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def direction(self) -> np.ndarray:
        """The refusal direction in the model's hidden space (unit norm)."""
        d = self.weight / self.std
        return d / (np.linalg.norm(d) or 1.0)

    def check(self, fingerprint: str | None, what: str = "hidden states") -> None:
        """Raise ``FingerprintMismatch`` unless ``fingerprint`` is this probe's model."""
        check_fingerprint(self.fingerprint, fingerprint, what)

    def check_model(self, model: Any) -> None:
        """Refuse a loaded model that is not the one the probe was trained on."""
        from safe_alfred.probes.fingerprint import model_fingerprint

        self.check(model_fingerprint(model), "model")

    def logits(self, states: Any) -> np.ndarray:
        x = np.asarray(states.numpy() if hasattr(states, "numpy") else states, dtype=np.float64)
        return ((x - self.mean) / self.std) @ self.weight + self.bias

    def score(self, states: Any, fingerprint: str | None = None) -> np.ndarray:
        """Refusal probability of each row of ``states`` [positions, hidden] (checks the model when
        ``fingerprint`` is given)."""
        if fingerprint is not None:
            self.check(fingerprint)
        z = np.clip(self.logits(states), -60.0, 60.0)
        return 1.0 / (1.0 + np.exp(-z))

    def save(self, path: str | os.PathLike) -> None:
        """One safetensors file: tensors weight/bias/mean/std, metadata layer/fingerprint/meta."""
        import torch
        from safetensors.torch import save_file

        tensors = {
            "weight": torch.from_numpy(np.asarray(self.weight, dtype=np.float32)),
            "bias": torch.tensor([self.bias], dtype=torch.float32),
            "mean": torch.from_numpy(np.asarray(self.mean, dtype=np.float32)),
            "std": torch.from_numpy(np.asarray(self.std, dtype=np.float32)),
        }
        meta = {"format": PROBE_FORMAT, "layer": str(self.layer), "fingerprint": self.fingerprint,
                "meta": json.dumps(self.meta, sort_keys=True)}
        save_file(tensors, os.fspath(path), metadata=meta)

    @classmethod
    def load(cls, path: str | os.PathLike) -> RefusalProbe:
        from safetensors import safe_open

        with safe_open(os.fspath(path), framework="np") as f:
            meta = f.metadata() or {}
            if meta.get("format") != PROBE_FORMAT:
                raise ValueError(f"{path} is not a refusal probe ({meta.get('format')!r})")
            t = {k: f.get_tensor(k).astype(np.float64) for k in ("weight", "bias", "mean", "std")}
        return cls(weight=t["weight"], bias=float(t["bias"][0]), mean=t["mean"], std=t["std"],
                   layer=int(meta["layer"]), fingerprint=meta["fingerprint"],
                   meta=json.loads(meta.get("meta") or "{}"))


def balanced_split(y: np.ndarray, test_fraction: float = 0.25, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) indices: classes down-sampled to the smaller one, then split per class.

    Each class keeps at least one example on each side when it has two or more.
    """
    y = np.asarray(y).astype(int)
    rng = np.random.default_rng(seed)
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    n = min(len(pos), len(neg))
    if n < 2:
        raise ValueError(f"need at least 2 refused and 2 complied examples (have {len(pos)} and {len(neg)})")
    train, test = [], []
    for idx in (pos, neg):
        chosen = rng.permutation(idx)[:n]
        k = min(n - 1, max(1, int(round(n * test_fraction))))
        test.extend(chosen[:k])
        train.extend(chosen[k:])
    return np.sort(np.array(train)), np.sort(np.array(test))


def fit_logistic(x: np.ndarray, y: np.ndarray, *, l2: float = 1e-2, max_iter: int = 200,
                 device: str = "auto") -> tuple[np.ndarray, float]:
    """Weights and bias of an L2-regularised logistic regression (torch L-BFGS, full batch)."""
    import torch

    dev = torch.device(select_device(device))
    xt = torch.as_tensor(x, dtype=torch.float32, device=dev)
    yt = torch.as_tensor(y, dtype=torch.float32, device=dev)
    w = torch.zeros(xt.shape[1], device=dev, requires_grad=True)
    b = torch.zeros((), device=dev, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], lr=1.0, max_iter=max_iter, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(xt @ w + b, yt) + l2 * (w * w).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return w.detach().cpu().double().numpy(), float(b.detach().cpu())


def train_probe(x: Any, y: Any, *, layer: int, fingerprint: str, test_fraction: float = 0.25,
                seed: int = 0, l2: float = 1e-2, device: str = "auto",
                meta: dict[str, Any] | None = None) -> RefusalProbe:
    """Fit a probe on features ``x`` [n, hidden] and labels ``y`` (1 refused, 0 complied).

    The probe's ``meta`` holds the split sizes and the train and held-out accuracies.
    """
    x = np.asarray(x.numpy() if hasattr(x, "numpy") else x, dtype=np.float64)
    y = np.asarray(y).astype(int)
    train, test = balanced_split(y, test_fraction, seed)
    mean = x[train].mean(axis=0)
    std = x[train].std(axis=0)
    std = np.where(std > 1e-6, std, 1.0)
    w, b = fit_logistic((x[train] - mean) / std, y[train], l2=l2, device=device)
    probe = RefusalProbe(weight=w, bias=b, mean=mean, std=std, layer=int(layer), fingerprint=fingerprint)

    def acc(idx: np.ndarray) -> float:
        return float(((probe.score(x[idx]) >= 0.5).astype(int) == y[idx]).mean())

    probe.meta = {
        **(meta or {}),
        "n_refused": int((y == 1).sum()), "n_complied": int((y == 0).sum()),
        "n_train": int(len(train)), "n_test": int(len(test)),
        "train_accuracy": acc(train), "heldout_accuracy": acc(test),
        "test_fraction": test_fraction, "seed": seed, "l2": l2, "device": select_device(device),
    }  # fmt: skip
    return probe
