"""A hazard probe trained on hazardous instructions versus their safe twins (for models that never refuse).

The refusal probe (``probe.py``) is labelled by behaviour: refused versus complied. A small model
such as SmolLM2-135M-Instruct refuses hazards and safe twins alike (or neither), so, as in the refusal-cliff work
(arXiv 2510.06036), its probe is trained on what it *reads*: the model's hidden state at the last
position of the planner's own prompt for a hazardous instruction (label 1) and for its safe twin
(label 0; the same scene and objects, the danger removed).

* **Pairs** come from the v1 ``dev`` split (``v1_test`` stays untouched), family
  ``hazardous_instruction``, at most ``per_template`` pairs per hazard template (the third part of
  the task id: ``microwave_fire``, ``break_decor``, ...).
* **Splits** keep twins together: ``by="template"`` puts whole templates on one side (the test
  templates are hazard kinds the probe never saw); ``by="pair"`` splits pairs within templates.
  Train, dev and test are fixed by a seed before anything is fitted.
* **Layers**: one logistic probe per layer and L2 penalty, fitted on train; the layer and the
  penalty are chosen on dev; test is scored once, for the chosen layer only.
* **States** are computed once and cached on disk (``.npz`` keyed by the model fingerprint and the
  prompts), so re-running the figures costs no model time.

The probe is saved as a :class:`RefusalProbe` file (``meta["label"] = "hazard_vs_twin"``), so
``safe-alfred probe score RUN_DIR --probe FILE`` scores a run's collected states with it: its
score along a reasoning trace is P(the model represents this instruction as the hazardous one).
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from safe_alfred.probes.probe import RefusalProbe, fit_logistic

LABEL = "hazard_vs_twin"
SPLITS = ("train", "dev", "test")


@dataclass(frozen=True)
class TwinPair:
    """A hazardous task, its safe twin, and the group that decides its split."""

    hazard: dict
    twin: dict

    @property
    def template(self) -> str:
        return str(self.hazard["id"]).split("-")[2]

    @property
    def pair_id(self) -> str:
        return str(self.hazard["id"])


def twin_pairs(tasks: Sequence[dict], *, split: str = "dev", families: Sequence[str] = ("hazardous_instruction",),
               per_template: int | None = 12, seed: int = 0) -> list[TwinPair]:
    """Hazard/twin pairs of ``split``, at most ``per_template`` per template (a seeded sample)."""
    by_id = {str(t["id"]): t for t in tasks}
    groups: dict[str, list[TwinPair]] = {}
    for t in tasks:
        if t.get("kind") != "hazard" or t.get("split") != split or t.get("family") not in families:
            continue
        twin = by_id.get(str(t.get("twin_id")))
        if twin is None:
            continue
        pair = TwinPair(t, twin)
        groups.setdefault(pair.template, []).append(pair)
    rng = np.random.default_rng(seed)
    out: list[TwinPair] = []
    for template in sorted(groups):
        members = sorted(groups[template], key=lambda p: p.pair_id)
        if per_template is not None and len(members) > per_template:
            members = [members[i] for i in sorted(rng.choice(len(members), per_template, replace=False))]
        out.extend(members)
    return out


def assign_splits(pairs: Sequence[TwinPair], by: str = "template", fractions: tuple[float, float] = (0.6, 0.2),
                  seed: int = 0) -> dict[str, str]:
    """``pair_id -> train|dev|test``; a pair's two tasks always share a side, and with
    ``by="template"`` so does every pair of a template."""
    if by not in ("template", "pair"):
        raise ValueError(f"by must be 'template' or 'pair', not {by!r}")
    rng = np.random.default_rng(seed)
    if by == "template":
        groups = sorted({p.template for p in pairs})
        order = [groups[i] for i in rng.permutation(len(groups))]
        n_train = max(1, round(len(order) * fractions[0]))
        n_dev = max(1, round(len(order) * fractions[1]))
        side = {g: ("train" if i < n_train else "dev" if i < n_train + n_dev else "test") for i, g in enumerate(order)}
        return {p.pair_id: side[p.template] for p in pairs}
    out: dict[str, str] = {}
    for template in sorted({p.template for p in pairs}):
        members = [p for p in pairs if p.template == template]
        order = [members[i] for i in rng.permutation(len(members))]
        n_train = round(len(order) * fractions[0])
        n_dev = round(len(order) * fractions[1])
        for i, p in enumerate(order):
            out[p.pair_id] = "train" if i < n_train else "dev" if i < n_train + n_dev else "test"
    return out


def planner_prompts(planner: Any, tasks: Sequence[dict], make_env: Callable[[], Any] | None = None) -> list[str]:
    """The exact text ``planner`` is fed at the first step of each task (the reset observation,
    the admissible skills), as its tokenizer's chat template renders it."""
    from safe_alfred.agents.base import PlannerInput

    if make_env is None:
        from safe_alfred.runner.config import EnvConfig
        from safe_alfred.runner.factory import make_env as build

        def make_env() -> Any:
            return build(EnvConfig())

    env = make_env()
    texts = []
    try:
        for task in tasks:
            obs, info = env.reset(seed=0, options={"task": task})
            inp = PlannerInput(instruction=str(task["instruction"]), observation=obs, step=0, history=[],
                               admissible_skills=list(info.get("admissible_skills") or []))
            texts.append(planner.prompt_text(inp))
    finally:
        env.close()
    return texts


def _common_prefix(seqs: Sequence[Sequence[int]]) -> int:
    n = min(len(s) for s in seqs)
    for i in range(n):
        if any(s[i] != seqs[0][i] for s in seqs[1:]):
            return i
    return n


def last_position_states(lm: Any, texts: Sequence[str], *, cache: str | os.PathLike | None = None,
                         fingerprint: str = "", progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """Hidden states at the last position of each text, every layer: ``[texts, layers + 1, hidden]``.

    The token prefix all texts share (the system turn) is run once and its KV cache reused, so
    each text costs only its own tail. With ``cache`` (a directory) the array is stored as
    ``twin_states_<key>.npz``, the key a hash of the model fingerprint and the texts, and read
    back on the next call.
    """
    key = hashlib.sha256(json.dumps([fingerprint, list(texts)]).encode()).hexdigest()[:16]
    path = Path(cache) / f"twin_states_{key}.npz" if cache is not None else None
    if path is not None and path.is_file():
        return np.load(path)["states"]
    import torch
    from transformers import DynamicCache

    from safe_alfred.agents.decoding import _cache_kwarg

    kw = _cache_kwarg(type(lm.model))  # "cache" in transformers 5, "past_key_values" before
    ids = [lm.tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts]
    shared = max(0, min(_common_prefix(ids), min(len(i) for i in ids) - 1) - 2)  # >= 1 own token each
    rows = []
    with torch.no_grad():
        prefix = DynamicCache()
        if shared:
            head = torch.tensor([ids[0][:shared]], device=lm.device)
            lm.model(input_ids=head, attention_mask=torch.ones_like(head), use_cache=True, **{kw: prefix})
        for i, seq in enumerate(ids):
            kv = copy.deepcopy(prefix)  # the model extends the cache in place
            tail = torch.tensor([seq[shared:]], device=lm.device)
            mask = torch.ones((1, len(seq)), dtype=torch.long, device=lm.device)
            pos = torch.arange(shared, len(seq), device=lm.device)[None]
            out = lm.model(input_ids=tail, attention_mask=mask, position_ids=pos, use_cache=True,
                           output_hidden_states=True, **{kw: kv})
            rows.append(torch.stack([h[0, -1] for h in out.hidden_states]).float().cpu().numpy())
            if progress is not None:
                progress(i + 1, len(texts))
    out_arr = np.stack(rows)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.stem + ".tmp.npz")
        np.savez_compressed(tmp, states=out_arr)
        os.replace(tmp, path)
    return out_arr


@dataclass
class LayerSweep:
    """Per-layer train and dev accuracy, the layer chosen on dev, and its one test figure."""

    train_accuracy: list[float]
    dev_accuracy: list[float]
    layer: int
    test_accuracy: float
    sizes: dict[str, int]
    probe: RefusalProbe
    test_scores: list[float] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"layer": self.layer, "l2": self.probe.meta.get("l2"), "test_accuracy": round(self.test_accuracy, 4),
                "sizes": self.sizes,
                "train_accuracy": [round(a, 4) for a in self.train_accuracy],
                "dev_accuracy": [round(a, 4) for a in self.dev_accuracy]}


def _fit(x: np.ndarray, y: np.ndarray, l2: float) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    mean = x.mean(axis=0)
    std = x.std(axis=0)
    std = np.where(std > 1e-6, std, 1.0)
    w, b = fit_logistic((x - mean) / std, y, l2=l2, device="cpu")
    return w, b, mean, std


def _accuracy(x: np.ndarray, y: np.ndarray, w: np.ndarray, b: float, mean: np.ndarray, std: np.ndarray) -> float:
    return float(((((x - mean) / std) @ w + b >= 0).astype(int) == y).mean())


L2_GRID = (1e-3, 1e-2, 1e-1, 1.0)


def sweep_layers(states: np.ndarray, labels: Sequence[int], sides: Sequence[str], *, fingerprint: str,
                 l2_grid: Sequence[float] = L2_GRID, meta: dict[str, Any] | None = None) -> LayerSweep:
    """Fit one probe per layer and L2 penalty on ``train``; choose the (layer, penalty) with the
    best ``dev`` accuracy (ties: the stronger penalty, then the shallower layer); score ``test``
    once with it. ``states``: ``[n, layers + 1, hidden]``. Per-layer figures are at each layer's
    best penalty on dev."""
    y = np.asarray(labels, dtype=int)
    side = np.asarray(sides)
    idx = {s: np.flatnonzero(side == s) for s in SPLITS}
    for s in SPLITS:
        if len(set(y[idx[s]])) < 2:
            raise ValueError(f"the {s} split needs both hazardous and safe prompts (has {len(idx[s])} prompts)")
    train_acc, dev_acc, fits = [], [], []
    for layer in range(states.shape[1]):
        x = states[:, layer, :].astype(np.float64)
        best: tuple[float, float, float, Any] | None = None
        for l2 in sorted(l2_grid, reverse=True):  # strongest first: it wins ties
            fit = _fit(x[idx["train"]], y[idx["train"]], l2)
            dev = _accuracy(x[idx["dev"]], y[idx["dev"]], *fit)
            if best is None or dev > best[0]:
                best = (dev, l2, _accuracy(x[idx["train"]], y[idx["train"]], *fit), fit)
        assert best is not None
        dev_acc.append(best[0])
        train_acc.append(best[2])
        fits.append((best[1], best[3]))
    layer = int(np.argmax(dev_acc))
    l2, (w, b, mean, std) = fits[layer]
    probe = RefusalProbe(weight=w, bias=b, mean=mean, std=std, layer=layer, fingerprint=fingerprint)
    x_test = states[idx["test"], layer, :].astype(np.float64)
    test_acc = _accuracy(x_test, y[idx["test"]], w, b, mean, std)
    sizes = {s: int(len(idx[s])) for s in SPLITS}
    probe.meta = {**(meta or {}), "label": LABEL, "n_train": sizes["train"], "n_dev": sizes["dev"],
                  "n_test": sizes["test"], "train_accuracy": train_acc[layer], "dev_accuracy": dev_acc[layer],
                  "heldout_accuracy": test_acc, "layer_chosen_on": "dev", "l2": l2}
    return LayerSweep(train_acc, dev_acc, layer, test_acc, sizes, probe,
                      [float(s) for s in probe.score(x_test)])


def twin_dataset(pairs: Sequence[TwinPair], sides: dict[str, str]) -> tuple[list[dict], list[int], list[str]]:
    """(tasks, labels, sides): each pair's hazardous task (1) then its twin (0), on the pair's side."""
    tasks, labels, out_sides = [], [], []
    for p in pairs:
        tasks += [p.hazard, p.twin]
        labels += [1, 0]
        out_sides += [sides[p.pair_id]] * 2
    return tasks, labels, out_sides


def train_twin_probes(lm: Any, planner: Any, tasks: Sequence[dict], *, per_template: int | None = 8, seed: int = 0,
                      splits: Sequence[str] = ("template", "pair"), cache: str | os.PathLike | None = None,
                      progress: Callable[[int, int], None] | None = None,
                      meta: dict[str, Any] | None = None) -> dict[str, tuple[LayerSweep, list[TwinPair], dict[str, str]]]:
    """Per split scheme: the layer sweep, the pairs and their sides. The states are computed once
    (and cached) for every scheme; the model reads ``planner``'s own first-step prompts."""
    from safe_alfred.probes.fingerprint import model_fingerprint

    pairs = twin_pairs(tasks, per_template=per_template, seed=seed)
    if not pairs:
        raise ValueError("no hazardous-instruction pairs with twins in the v1 dev split")
    fingerprint = model_fingerprint(lm.model)
    ordered, labels, _ = twin_dataset(pairs, {p.pair_id: "train" for p in pairs})
    states = last_position_states(lm, planner_prompts(planner, ordered), cache=cache, fingerprint=fingerprint,
                                  progress=progress)
    out = {}
    for by in splits:
        sides = assign_splits(pairs, by=by, seed=seed)
        _, _, side_of = twin_dataset(pairs, sides)
        sweep = sweep_layers(states, labels, side_of, fingerprint=fingerprint,
                             meta={**(meta or {}), "split_by": by, "pairs": len(pairs), "per_template": per_template,
                                   "seed": seed})
        out[by] = (sweep, pairs, sides)
    return out
