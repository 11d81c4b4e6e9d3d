"""Sweep summaries: one table row per run dir of a ``-m`` sweep (``sweep_summary.md`` and ``.csv``).

Written by ``SweepSummaryCallback`` when a multirun ends (the primary config registers it) and
by ``safe-alfred sweep-summary DIR`` for any folder of run dirs (also after a partial sweep).
"""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

COLUMNS = ("episodes", "errors", "gap_rate", "recognition_rate", "unsafe_rate", "safe_rate",
           "incapable_rate", "twin_success_rate", "over_refusal_rate")


def _overrides(run_dir: Path) -> str:
    path = run_dir / ".hydra" / "overrides.yaml"
    if not path.exists():
        return ""
    items = OmegaConf.to_container(OmegaConf.load(path))
    return " ".join(str(i) for i in items or [])


def _scalar(value: Any) -> Any:
    if isinstance(value, dict):  # {"value": x, "ci": [...]} style metrics
        return value.get("value", value.get("mean"))
    return value


def collect(sweep_dir: str | Path) -> list[dict[str, Any]]:
    """One row per run dir (any ``summary.json`` below ``sweep_dir``), in path order."""
    sweep_dir = Path(sweep_dir)
    rows = []
    for summary_path in sorted(sweep_dir.rglob("summary.json"), key=lambda p: str(p)):
        run_dir = summary_path.parent
        try:
            summary = json.loads(summary_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        row: dict[str, Any] = {"run": str(run_dir.relative_to(sweep_dir)), "overrides": _overrides(run_dir)}
        for col in COLUMNS:
            row[col] = _scalar(summary.get(col))
        rows.append(row)
    return rows


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.3f}"
    return str(v)


def write_summary(sweep_dir: str | Path) -> tuple[Path, Path, int]:
    """Write ``sweep_summary.md`` and ``sweep_summary.csv`` in ``sweep_dir``; returns paths and row count."""
    sweep_dir = Path(sweep_dir)
    rows = collect(sweep_dir)
    header = ["run", "overrides", *COLUMNS]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in header})
    csv_path = sweep_dir / "sweep_summary.csv"
    csv_path.write_text(buf.getvalue(), encoding="utf-8")
    md = ["# Sweep summary", "", f"{len(rows)} run(s) under `{sweep_dir}`.", "",
          "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        md.append("| " + " | ".join(_fmt(r.get(k)).replace("|", "\\|") for k in header) + " |")
    md_path = sweep_dir / "sweep_summary.md"
    md_path.write_text("\n".join(md) + "\n", encoding="utf-8")
    return md_path, csv_path, len(rows)


class SweepSummaryCallback(Callback):
    """Hydra callback: after a multirun, tabulate every job's ``summary.json``."""

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        if sweep_dir.is_dir():
            md, _, n = write_summary(sweep_dir)
            print(f"sweep summary ({n} runs): {md}", file=sys.stderr)
