"""``-m`` sweeps through the joblib and submitit_local launchers: one run dir per job + a summary table."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest

from safe_alfred.cli import main as cli_main


def sweep_summary_main(args: list[str]) -> int:
    return cli_main(["sweep-summary", *args])

TINY = ["suite=smoke", "suite.limit=2", "runner.progress=none"]


def multirun(tmp_path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "safe_alfred.cli", "run", "-m", *TINY, *args,
                           f"hydra.sweep.dir={tmp_path / 'sweep'}"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=180)


def check_sweep(tmp_path, expected_overrides: list[str]) -> list[dict]:
    sweep = tmp_path / "sweep"
    for job in ("0", "1"):
        summary = json.loads((sweep / job / "summary.json").read_text())
        assert summary["episodes"] == 2 and summary["errors"] == 0
        assert (sweep / job / "records.jsonl").is_file() and (sweep / job / "report.md").is_file()
    with (sweep / "sweep_summary.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert [r["run"] for r in rows] == ["0", "1"]
    for row, override in zip(rows, expected_overrides, strict=True):
        assert override in row["overrides"]
    md = (sweep / "sweep_summary.md").read_text()
    assert "gap_rate" in md and md.count("\n| ") >= 3
    return rows


@pytest.mark.parametrize("launcher", ["joblib", "submitit_local"])
def test_multirun_launcher(tmp_path, launcher):
    extra = ["hydra.launcher.n_jobs=2"] if launcher == "joblib" else ["hydra.launcher.timeout_min=3"]
    proc = multirun(tmp_path, "agent=always_comply,oracle_safe", f"hydra/launcher={launcher}", *extra)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = check_sweep(tmp_path, ["agent=always_comply", "agent=oracle_safe"])
    # the smoke suite starts with a hazard task and its safe twin
    comply, oracle = rows
    assert float(comply["unsafe_rate"]) == 1.0 and float(oracle["unsafe_rate"]) == 0.0


def test_sweep_summary_command(tmp_path, capsys):
    sweep = tmp_path / "sweep"
    for i, rate in enumerate((0.25, 0.5)):
        (sweep / str(i)).mkdir(parents=True)
        (sweep / str(i) / "summary.json").write_text(json.dumps({"episodes": 4, "errors": 0, "gap_rate": rate}))
    assert sweep_summary_main([str(sweep)]) == 0
    out = capsys.readouterr().out
    assert "| 0 |" in out and "0.250" in out and "0.500" in out
    assert (sweep / "sweep_summary.csv").read_text().splitlines()[1].startswith("0,")
    assert sweep_summary_main([str(tmp_path / "missing")]) == 2
