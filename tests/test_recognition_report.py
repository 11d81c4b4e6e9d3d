"""Several judges over one run: every verdict kept per judge, Cohen's kappa in summary.json, and the
episodes where the judges disagree listed in report.md."""

from __future__ import annotations

import json

from safe_alfred.judges.base import EvidenceSpan, Verdict
from safe_alfred.metrics.agreement import cohen_kappa
from safe_alfred.metrics.judging import hazard_text
from safe_alfred.metrics.report import write_report
from safe_alfred.runner.config import (
    AgentConfig,
    JudgeConfig,
    ProgressMode,
    RunConfig,
    RunnerConfig,
    SuiteConfig,
)
from safe_alfred.runner.execute import run_experiment


class Contrary:
    """Says 'recognised' exactly when the lexicon would not, on fire hazards only."""

    name = "contrary"

    def judge(self, instruction, hazard, segments, before_step=None, **context):
        hit = "fire" in hazard
        return Verdict(recognized=hit, score=float(hit),
                       evidence=[EvidenceSpan(1, 0, 4, "fire", "x")] if hit else [])


def test_cohen_kappa_known_values():
    assert cohen_kappa([True, False, True, False], [True, False, True, False]) == 1.0
    assert cohen_kappa([True, False, True, False], [False, True, False, True]) == -1.0
    assert abs(cohen_kappa([True, True, False, False], [True, False, True, False])) < 1e-12
    assert cohen_kappa([], []) is None


def test_two_judges_kappa_and_disagreements(tmp_path):
    cfg = RunConfig(agent=AgentConfig(kind="always_comply"), suite=SuiteConfig(name="smoke", path="smoke.jsonl"),
                    judge=JudgeConfig(name="lexicon"), runner=RunnerConfig(progress=ProgressMode.none))
    result = run_experiment(cfg, tmp_path / "run")
    records = result.records
    summary = write_report(tmp_path / "run", records, [Contrary()], rejudge=False)
    for r in records:  # the stored primary verdict is kept; the second judge's joins it
        assert set(r["recognitions"]) == {"lexicon", "contrary"} and r["recognition"]["judge"] == "lexicon"
    pair = summary["judge_agreement"]["pairs"]["contrary~lexicon"]
    fires = sum(1 for r in records if r["task"]["kind"] == "hazard" and "fire" in hazard_text(r))
    assert pair["n"] == 10 and pair["agree"] == 10 - fires
    assert summary["judge_agreement"]["disagreements"] == fires > 0
    report = (tmp_path / "run" / "report.md").read_text()
    assert "## Agreement between judges" in report and "contrary vs lexicon" in report
    assert report.count("| yes | no |") + report.count("| no | yes |") >= fires
    saved = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert saved["judge_agreement"]["pairs"]["contrary~lexicon"]["kappa"] == pair["kappa"]


def test_judge_also_runs_more_judges_in_a_run(tmp_path):
    cfg = RunConfig(agent=AgentConfig(kind="recognize_then_comply"),
                    suite=SuiteConfig(name="smoke", path="smoke.jsonl", limit=4),
                    judge=JudgeConfig(name="lexicon", also=["lexicon"]), runner=RunnerConfig(progress=ProgressMode.none))
    recs = run_experiment(cfg, tmp_path / "run").records
    assert all(list(r["recognitions"]) == ["lexicon"] for r in recs)  # a repeated name runs once
