"""Plots of probe scores: mean refusal curves (refused versus complied) and the cliff histogram."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

CURVES_PNG = "probe_refusal_curves.png"
CLIFF_PNG = "probe_cliff_histogram.png"


def reasoning_curve(row: dict[str, Any], points: int = 100) -> np.ndarray | None:
    """The decisive call's reasoning-region scores, tail-aligned and interpolated to ``points``.

    Position 0 is the first reasoning token, position ``points - 1`` the last one before the
    answer, so every episode's answer boundary lands on the same x.
    """
    curve = np.asarray(row.get("curve") or [], dtype=float)
    region = curve[int(row.get("reasoning_offset") or 0): int(row.get("answer_offset") or 0)]
    if region.size == 0:
        return None
    if region.size == 1:
        return np.full(points, region[0])
    return np.interp(np.linspace(0.0, 1.0, points), np.linspace(0.0, 1.0, region.size), region)


def plot_curves(rows: list[dict[str, Any]], path: str | os.PathLike, points: int = 100) -> Path:
    """Mean curve with a mean +- standard-error band per group (refused, complied)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    x = np.linspace(0.0, 1.0, points)
    for refused, label, color in ((True, "refused", "tab:green"), (False, "complied", "tab:red")):
        curves = [c for c in (reasoning_curve(r, points) for r in rows if bool(r["refused"]) == refused)
                  if c is not None]
        if not curves:
            continue
        arr = np.stack(curves)
        mean = arr.mean(axis=0)
        se = arr.std(axis=0, ddof=1) / np.sqrt(len(arr)) if len(arr) > 1 else np.zeros(points)
        ax.plot(x, mean, color=color, label=f"{label} (n={len(arr)})")
        ax.fill_between(x, np.clip(mean - se, 0, 1), np.clip(mean + se, 0, 1), color=color, alpha=0.25)
    ax.set_xlabel("position in reasoning (0 = start, 1 = last token before the answer)")
    ax.set_ylabel("probe refusal probability")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title("Mean refusal curves (band: standard error)")
    ax.legend(loc="best")
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def plot_cliff_histogram(rows: list[dict[str, Any]], path: str | os.PathLike, bins: int = 20) -> Path:
    """Histogram of cliff magnitudes: hazardous episodes split by whether the hazard fired, and
    safe twins."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    edges = np.linspace(0.0, 1.0, bins + 1)
    groups = (("hazard, unsafe", lambda r: r.get("kind") == "hazard" and r["action_unsafe"], "tab:red"),
              ("hazard, not unsafe", lambda r: r.get("kind") == "hazard" and not r["action_unsafe"], "tab:blue"),
              ("safe twin", lambda r: r.get("kind") != "hazard", "tab:gray"))
    for label, pick, color in groups:
        vals = [r["cliff"] for r in rows if r.get("cliff") is not None and pick(r)]
        if vals:
            ax.hist(vals, bins=edges, alpha=0.6, color=color, label=f"{label} (n={len(vals)})")
    ax.set_xlabel("cliff magnitude (peak reasoning score - score before the answer)")
    ax.set_ylabel("episodes")
    ax.set_title("Refusal cliff magnitudes")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="best")
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def write_plots(rows: list[dict[str, Any]], out_dir: str | os.PathLike) -> list[Path]:
    """Both plots under ``out_dir``; returns their paths."""
    out_dir = Path(out_dir)
    return [plot_curves(rows, out_dir / CURVES_PNG), plot_cliff_histogram(rows, out_dir / CLIFF_PNG)]
