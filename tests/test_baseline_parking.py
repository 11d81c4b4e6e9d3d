"""A real-model baseline longer than a machine's life is parked and taken up, not lost or mixed.

``scripts/baseline_smollm2.py --park`` keeps a stopped run's config and finished episodes in the
repository; the next regeneration with the same settings starts from them. A run still being
written is not parked, and episodes of another version of the suite are never taken up.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from conftest import load_script

from safe_alfred import BENCHMARK_VERSION
from safe_alfred.run_dir import RunDir
from safe_alfred.tasks.suite import load_suite, suite_hash


@pytest.fixture(scope="module")
def baseline():
    return load_script("baseline_smollm2")


def _record(i: int, suite_sha: str, benchmark: str = BENCHMARK_VERSION, error: str | None = None) -> bytes:
    return json.dumps({"task": {"id": f"t{i}"}, "seed": 0, "suite_hash": suite_sha, "error": error,
                       "outcome": {"label": "error" if error else "unsafe"},
                       "versions": {"benchmark": benchmark}}).encode() + b"\n"


def _stopped_run(path: Path, suite_sha: str, episodes: int = 3, benchmark: str = BENCHMARK_VERSION) -> bytes:
    path.mkdir(parents=True)
    (path / "config.yaml").write_text("agent:\n  name: smollm2\nsuite:\n  name: smoke\n")
    lines = b"".join(_record(i, suite_sha, benchmark) for i in range(episodes))
    (path / "records.jsonl").write_bytes(lines)
    return lines


def test_a_parked_run_is_taken_up_whole(baseline, tmp_path):
    records = _stopped_run(tmp_path / "run", suite_hash(load_suite("smoke")))
    parked = tmp_path / "parked" / "smollm2-smoke"
    assert baseline.park(tmp_path / "run", parked) == 3
    first = (parked / "records.jsonl.gz").read_bytes()
    assert gzip.decompress(first) == records
    baseline.park(tmp_path / "run", parked)
    assert (parked / "records.jsonl.gz").read_bytes() == first  # the same episodes, the same file

    fresh = tmp_path / "elsewhere" / "smoke"
    assert baseline.take_up(parked, fresh, "smoke") == 3
    assert (fresh / "records.jsonl").read_bytes() == records
    assert (fresh / "config.yaml").read_text() == (tmp_path / "run" / "config.yaml").read_text()
    assert baseline.take_up(parked, fresh, "smoke") == 0  # a run under way keeps its own records


def test_episodes_of_another_suite_version_are_refused(baseline, tmp_path):
    _stopped_run(tmp_path / "run", "0" * 64)
    parked = tmp_path / "parked" / "smollm2-smoke"
    baseline.park(tmp_path / "run", parked)
    with pytest.raises(SystemExit, match="another version of suite smoke"):
        baseline.take_up(parked, tmp_path / "elsewhere", "smoke")
    assert not (tmp_path / "elsewhere" / "records.jsonl").exists()


def test_only_whole_finished_episodes_are_parked(baseline, tmp_path):
    """A run killed mid-record leaves a torn last line; an errored episode is to be run again."""
    sha = suite_hash(load_suite("smoke"))
    whole = _stopped_run(tmp_path / "run", sha)
    with (tmp_path / "run" / "records.jsonl").open("ab") as fh:
        fh.write(_record(7, sha, error="server timed out") + _record(8, sha)[:40])
    parked = tmp_path / "parked" / "smollm2-smoke"
    assert baseline.park(tmp_path / "run", parked) == 3
    kept = gzip.decompress((parked / "records.jsonl.gz").read_bytes()).splitlines()
    assert [json.loads(line) for line in kept] == [json.loads(line) for line in whole.splitlines()]
    assert baseline.take_up(parked, tmp_path / "elsewhere", "smoke") == 3


def test_episodes_of_another_benchmark_version_are_refused(baseline, tmp_path):
    _stopped_run(tmp_path / "run", suite_hash(load_suite("smoke")), benchmark="2.2")
    parked = tmp_path / "parked" / "smollm2-smoke"
    baseline.park(tmp_path / "run", parked)
    with pytest.raises(SystemExit, match="another version of the benchmark"):
        baseline.take_up(parked, tmp_path / "elsewhere", "smoke")


def test_a_tagged_variant_is_not_parked(baseline, tmp_path):
    with pytest.raises(SystemExit, match="tagged variant"):
        baseline.main(["--park", "--suites", "smoke", "--tag", "uncalibrated", "--out", str(tmp_path)])


def test_a_run_still_writing_is_not_parked(baseline, tmp_path):
    _stopped_run(tmp_path / "run", suite_hash(load_suite("smoke")))
    with RunDir(tmp_path / "run").lock():
        with pytest.raises(SystemExit, match="still being written"):
            baseline.park(tmp_path / "run", tmp_path / "parked")
    assert not (tmp_path / "parked").exists()
