"""Refusal probe pieces with known answers: a synthetic set with a planted refusal direction,
cliff magnitudes of constructed curves, balanced splits, probe files, fingerprints, ranking."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")

from safe_alfred.probes.fingerprint import FingerprintMismatch, model_fingerprint  # noqa: E402
from safe_alfred.probes.plots import reasoning_curve  # noqa: E402
from safe_alfred.probes.probe import RefusalProbe, balanced_split, select_device, train_probe  # noqa: E402
from safe_alfred.probes.scoring import cliff_stats, decisive_call, recognition_table  # noqa: E402
from safe_alfred.probes.select import kept_reasoning, rank_by_cliff  # noqa: E402


def synthetic(n_refused: int = 150, n_complied: int = 450, dim: int = 64, sample_seed: int = 0):
    """Hidden states with large, anisotropic noise; refusals are shifted along one direction
    (the same direction and noise scales for every ``sample_seed``)."""
    fixed = np.random.default_rng(1234)
    direction = fixed.normal(size=dim)
    direction /= np.linalg.norm(direction)
    scales = fixed.uniform(0.5, 3.0, size=dim)
    rng = np.random.default_rng(sample_seed)
    y = np.array([1] * n_refused + [0] * n_complied)
    x = rng.normal(size=(len(y), dim)) * scales + 5.0  # offset: the probe must standardise
    x += np.outer(y * 2.0 - 1.0, direction) * 2.5
    # the Bayes-optimal linear discriminant for this noise is the whitened direction
    return x.astype(np.float32), y, direction / scales**2


def test_probe_learns_a_planted_direction_with_high_heldout_accuracy():
    x, y, optimal = synthetic()
    probe = train_probe(x, y, layer=7, fingerprint="sha256:abc", device="auto", seed=0)
    m = probe.meta
    assert m["heldout_accuracy"] > 0.9, m
    assert m["n_train"] + m["n_test"] == 300  # balanced: 150 + 150 of 450
    assert m["device"] == select_device("auto")
    cosine = float(probe.direction @ optimal) / np.linalg.norm(optimal)
    assert cosine > 0.8  # it found the planted (whitened) direction, with the refusal sign
    # a fresh sample from the same distribution
    x2, y2, _ = synthetic(200, 200, sample_seed=1)
    acc = float(((probe.score(x2) >= 0.5).astype(int) == y2).mean())
    assert acc > 0.85


def test_probe_without_signal_is_near_chance():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(400, 64)).astype(np.float32)
    y = rng.integers(0, 2, size=400)
    probe = train_probe(x, y, layer=0, fingerprint="f", device="cpu", l2=1e-2)
    assert probe.meta["heldout_accuracy"] < 0.7


def test_balanced_split_is_balanced_disjoint_and_seeded():
    y = np.array([1] * 10 + [0] * 30)
    tr, te = balanced_split(y, 0.2, seed=5)
    assert not set(tr) & set(te)
    assert (y[tr] == 1).sum() == (y[tr] == 0).sum() == 8 and (y[te] == 1).sum() == (y[te] == 0).sum() == 2
    assert [a.tolist() for a in balanced_split(y, 0.2, seed=5)] == [tr.tolist(), te.tolist()]
    with pytest.raises(ValueError, match="at least 2"):
        balanced_split(np.array([1, 0, 0, 0]))


def test_probe_file_round_trip_and_fingerprint_check(tmp_path):
    x, y, _ = synthetic(40, 40, dim=16)
    probe = train_probe(x, y, layer=3, fingerprint="sha256:model-a", device="cpu", meta={"note": "t"})
    path = tmp_path / "p.safetensors"
    probe.save(path)
    back = RefusalProbe.load(path)
    assert back.layer == 3 and back.fingerprint == "sha256:model-a" and back.meta["note"] == "t"
    np.testing.assert_allclose(back.score(x), probe.score(x), atol=1e-5)
    np.testing.assert_allclose(back.score(x, fingerprint="sha256:model-a"), probe.score(x), atol=1e-5)
    with pytest.raises(FingerprintMismatch, match="trained on model"):
        back.score(x, fingerprint="sha256:model-b")
    (tmp_path / "bad.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}      ")
    with pytest.raises((ValueError, OSError, KeyError)):
        RefusalProbe.load(tmp_path / "bad.safetensors")


def test_cliff_on_a_constructed_curve():
    #          prompt     reasoning [2, 8)                      answer
    scores = np.array([0.1, 0.1, 0.2, 0.9, 0.8, 0.5, 0.3, 0.1, 0.0, 0.0])
    s = cliff_stats(scores, 2, 8)
    assert s["peak"] == pytest.approx(0.9) and s["peak_position"] == 3
    assert s["final"] == pytest.approx(0.1) and s["cliff"] == pytest.approx(0.8)
    s2 = cliff_stats(scores, 2, 8, tail=2)
    assert s2["final"] == pytest.approx(0.2) and s2["cliff"] == pytest.approx(0.7)
    # unterminated reasoning runs to the last position; no reasoning gives no cliff
    assert cliff_stats(scores, 2, None)["final"] == pytest.approx(0.0)
    assert cliff_stats(scores, 5, 5) == {"peak": None, "peak_position": None, "final": None, "cliff": None}
    # a rising curve has no cliff
    assert cliff_stats(np.linspace(0, 1, 10), 0, 10)["cliff"] == pytest.approx(0.0)


def test_tail_aligned_interpolation():
    row = {"curve": [0.5, 0.0, 1.0, 0.2], "reasoning_offset": 1, "answer_offset": 3}
    c = reasoning_curve(row, 5)
    np.testing.assert_allclose(c, [0.0, 0.25, 0.5, 0.75, 1.0])
    assert reasoning_curve({"curve": [0.3], "reasoning_offset": 0, "answer_offset": 0}) is None


def test_decisive_call_is_the_last_one_before_the_hazard():
    index = {"calls": [{"call": i, "step": s, "file": f"c{i}"} for i, s in enumerate([1, 2, 3, 4])]}
    assert decisive_call(index, {"hazard_events": [{"step": 3}]})["call"] == 2
    assert decisive_call(index, {"hazard_events": []})["call"] == 3
    index["calls"][3]["file"] = None  # the last call failed: no states
    assert decisive_call(index, {})["call"] == 2


def test_recognition_table_has_eight_cells_of_hazard_episodes():
    rows = [
        {"kind": "hazard", "latent_recognized": True, "text_recognized": False, "action_unsafe": True},
        {"kind": "hazard", "latent_recognized": True, "text_recognized": False, "action_unsafe": True},
        {"kind": "hazard", "latent_recognized": False, "text_recognized": False, "action_unsafe": False},
        {"kind": "safe", "latent_recognized": True, "text_recognized": True, "action_unsafe": False},
    ]
    table = {(a, b, c): n for a, b, c, n in recognition_table(rows)}
    assert len(table) == 8 and sum(table.values()) == 3
    assert table[("yes", "no", "unsafe")] == 2 and table[("no", "no", "not unsafe")] == 1


def test_rank_by_cliff_and_kept_reasoning():
    rows = [{"episode_key": k, "kind": "hazard", "cliff": c, "refused": r, "latent_recognized": lat}
            for k, c, r, lat in [("a", 0.2, False, True), ("b", 0.9, False, True), ("c", 0.95, True, True),
                                 ("d", 0.99, False, False), ("e", 0.5, False, True)]]
    rows.append({"episode_key": "f", "kind": "safe", "cliff": 1.0, "refused": False, "latent_recognized": True})
    assert [r["episode_key"] for r in rank_by_cliff(rows, 2)] == ["b", "e"]
    assert [r["episode_key"] for r in rank_by_cliff(rows, 2, include_refused=True)] == ["c", "b"]
    assert [r["episode_key"] for r in rank_by_cliff(rows, 5, min_cliff=0.4)] == ["b", "e"]
    full = "<think>Heat it. Wait, foil in a microwave sparks! But the user asked, so go on.</think>"
    assert kept_reasoning(full, "Heat it. Wait, foil in a micro") == "Heat it. Wait, foil in a microwave sparks!"
    assert kept_reasoning("no stop here", "no") == "no stop here"


def test_model_fingerprint_tracks_weights_not_dtype():
    transformers = pytest.importorskip("transformers")
    config = transformers.LlamaConfig(vocab_size=50, hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                                      num_attention_heads=2, num_key_value_heads=1)
    torch.manual_seed(0)
    a = transformers.LlamaForCausalLM(config)
    b = transformers.LlamaForCausalLM(config)
    b.load_state_dict(a.state_dict())
    fa = model_fingerprint(a)
    assert fa.startswith("sha256:") and model_fingerprint(b) == fa
    assert model_fingerprint(b.to(torch.bfloat16)) == fa
    with torch.no_grad():
        next(b.parameters()).view(-1)[0] += 1.0
    assert model_fingerprint(b) != fa
