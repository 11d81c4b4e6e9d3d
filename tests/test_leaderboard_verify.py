"""Leaderboard submissions: packaging a real smoke run, verifying it, and rejecting tampered copies."""

from __future__ import annotations

import copy
import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from safe_alfred.cli.submit import main as submit_main
from safe_alfred.cli.verify import main as verify_main
from safe_alfred.leaderboard.bundle import Limits, write_submission
from safe_alfred.leaderboard.submit import build_submission
from safe_alfred.leaderboard.verify import verify_file
from safe_alfred.records import trajectory_hash

INJECTED = '</script><script>window.__pwned=1;alert(1)</script><img src=x onerror="window.__pwned=2"> <b>bold</b>'


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real smoke run of a scripted planner (recognises hazards, then complies)."""
    out = tmp_path_factory.mktemp("run") / "rtc"
    proc = subprocess.run([sys.executable, "-m", "safe_alfred.cli", "run", "agent=recognize_then_comply",
                           "suite=smoke", f"hydra.run.dir={out}", "runner.progress=none"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out


@pytest.fixture(scope="module")
def base_doc(run_dir: Path) -> dict:
    doc, notes = build_submission(run_dir, name="Recognise then comply")
    assert notes == []
    return doc


@pytest.fixture
def doc(base_doc: dict) -> dict:
    return copy.deepcopy(base_doc)


def check(doc: dict, tmp_path: Path, **kw) -> list[str]:
    path = write_submission(tmp_path / "s.safealfred.json.gz", doc)
    res = verify_file(path, split=kw.pop("split", "manifest"), **kw)
    assert res.ok == (not res.problems)
    return res.problems


def first_unsafe(doc: dict) -> dict:
    return next(r for r in doc["records"] if r["outcome"]["label"] == "unsafe")


def test_valid_submission_verifies_and_prints_scores(run_dir: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "rtc.safealfred.json.gz"
    assert submit_main([str(run_dir), "-o", str(out), "--name", "RTC"]) == 0
    capsys.readouterr()
    assert verify_main([str(out), "--split", "manifest"]) == 0
    text = capsys.readouterr().out
    summary = json.loads((run_dir / "summary.json").read_text())
    assert text.startswith(f"VERIFIED {out}: RTC")
    assert "20 episodes replayed" in text
    line = next(ln for ln in text.splitlines() if ln.strip().startswith("unsafe_rate"))
    assert f"{summary['unsafe_rate']:.3f}" in line
    gap = next(ln for ln in text.splitlines() if ln.strip().startswith("gap_rate"))
    assert f"{summary['gap_rate']:.3f}" in gap and summary["gap_rate_n"] > 0
    res = verify_file(out, split="manifest")
    assert res.ok and res.replayed == 20
    for key in ("gap_rate", "unsafe_rate", "recognition_rate", "twin_success_rate", "refusal_rate"):
        assert res.summary[key] == summary[key]


def test_manifest_names_what_was_evaluated(base_doc: dict) -> None:
    m = base_doc["manifest"]
    meta = json.loads((Path(__file__).resolve().parents[1] / "tasks" / "smoke.meta.json").read_text())
    assert m["suite"]["file"] == "smoke.jsonl" and m["suite"]["sha256"] == meta["sha256"]
    assert m["planner"]["name"] == "recognize_then_comply" and m["judge"]["name"] == "lexicon"
    assert m["config"]["agent"]["kind"] == "recognize_then_comply" and m["seeds"] == [0]
    assert m["episodes"] == len(base_doc["records"]) == 20
    assert "safe-alfred" in m["versions"] and m["created"].endswith("+00:00")


def test_test_split_is_the_default_requirement(doc: dict, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = write_submission(tmp_path / "s.safealfred.json.gz", doc)
    assert verify_main([str(path)]) == 1
    err = capsys.readouterr().err
    assert "REJECTED" in err and "wrong split" in err and "unexpected episode" in err
    dev = verify_file(path, split="dev")
    assert any(p.startswith("wrong split") for p in dev.problems)


def test_altered_outcome_is_rejected(doc: dict, tmp_path: Path) -> None:
    rec = first_unsafe(doc)
    rec["outcome"]["label"] = "safe"
    rec["outcome"]["safety_mode"] = "refusal"
    problems = check(doc, tmp_path)
    tid = rec["task"]["id"]
    assert any(p.startswith(f"episode {tid} seed 0: outcome differs: label recorded 'safe', replay 'unsafe'")
               for p in problems), problems


def test_edited_action_is_rejected_even_with_a_recomputed_hash(doc: dict, tmp_path: Path) -> None:
    rec = first_unsafe(doc)
    step = next(s for s in rec["steps"] if s["thor_actions"] and "objectId" in s["thor_actions"][0]["action"])
    step["thor_actions"][0]["action"]["objectId"] = "Apple|+00.00|+00.00|+00.00"
    problems = check(doc, tmp_path)
    assert any("trajectory_hash does not match" in p for p in problems), problems
    rec["trajectory_hash"] = trajectory_hash(rec["steps"], rec["final_state_digest"])
    problems = check(doc, tmp_path)
    assert any(f"step {step['step']}: THOR action 1 action differs" in p and "Apple|" in p for p in problems), problems


def test_edited_skill_and_success_are_rejected(doc: dict, tmp_path: Path) -> None:
    rec = first_unsafe(doc)
    rec["steps"][0]["thor_actions"][0]["success"] = False
    rec["decisions"][-1]["skills"] = ["refuse it is dangerous"]
    rec["trajectory_hash"] = trajectory_hash(rec["steps"], rec["final_state_digest"])
    problems = check(doc, tmp_path)
    assert any("step 1: THOR action 1 success differs" in p for p in problems), problems
    assert any("requested differs" in p for p in problems), problems


def test_missing_episode_is_rejected(doc: dict, tmp_path: Path) -> None:
    gone = doc["records"].pop(3)
    doc["manifest"]["episodes"] -= 1
    problems = check(doc, tmp_path)
    assert problems == [f"missing episode: task {gone['task']['id']} seed 0"]


def test_duplicated_episode_is_rejected(doc: dict, tmp_path: Path) -> None:
    doc["records"].append(copy.deepcopy(doc["records"][0]))
    doc["manifest"]["episodes"] += 1
    problems = check(doc, tmp_path)
    assert f"duplicated episode: task {doc['records'][0]['task']['id']} seed 0 appears 2 times" in problems


def test_wrong_suite_hash_is_rejected(doc: dict, tmp_path: Path) -> None:
    doc["manifest"]["suite"]["sha256"] = "0" * 64
    problems = check(doc, tmp_path)
    assert len(problems) == 1 and problems[0].startswith("wrong suite hash: the manifest names smoke.jsonl")


def test_task_from_another_suite_is_rejected(doc: dict, tmp_path: Path) -> None:
    doc["records"][0]["task"]["instruction"] = "Do something else"
    problems = check(doc, tmp_path)
    assert any("task fields differ from the suite's task" in p for p in problems), problems


def test_trace_edited_after_the_run_is_rejected(doc: dict, tmp_path: Path) -> None:
    rec = first_unsafe(doc)
    rec["decisions"][0]["reasoning"] = INJECTED
    problems = check(doc, tmp_path)
    assert any("step 1: reasoning differs" in p for p in problems), problems
    rec["steps"][0]["reasoning"] = INJECTED
    problems = check(doc, tmp_path)
    assert any("trajectory_hash does not match the record's own steps" in p for p in problems), problems


def test_recognition_not_matching_the_reference_judge_is_rejected(doc: dict, tmp_path: Path) -> None:
    rec = next(r for r in doc["records"] if r["recognition"]["recognized"] and r["task"]["kind"] == "hazard")
    rec["recognition"]["recognized"] = False
    rec["recognition"]["first_step"] = None
    problems = check(doc, tmp_path)
    assert any("recognition differs from the reference judge's" in p for p in problems), problems


def test_inflated_claimed_score_is_rejected(doc: dict, tmp_path: Path) -> None:
    doc["manifest"]["claimed"]["unsafe_rate"] = 0.0
    problems = check(doc, tmp_path)
    assert any(p.startswith("claimed unsafe_rate 0.0 differs from the verified") for p in problems), problems


def test_consistent_markup_in_a_trace_is_data(doc: dict, tmp_path: Path) -> None:
    """A trace is the planner's output: markup written by the planner verifies (the site escapes it)."""
    from safe_alfred.judges.registry import make_judge
    from safe_alfred.metrics.judging import judge_record

    rec = first_unsafe(doc)
    rec["decisions"][0]["reasoning"] = INJECTED
    rec["steps"][0]["reasoning"] = INJECTED
    rec["trajectory_hash"] = trajectory_hash(rec["steps"], rec["final_state_digest"])
    judge_record(rec, make_judge("lexicon"))
    doc["manifest"]["claimed"] = None
    assert check(doc, tmp_path) == []


def test_errored_episodes_are_rejected_unless_allowed(doc: dict, tmp_path: Path) -> None:
    rec = first_unsafe(doc)
    # A planner failure after step 2: the replay reproduces it, but an errored episode is not a result.
    rec["decisions"] = rec["decisions"][:2] + [dict(rec["decisions"][2], skills=[], error="server down")]
    assert check(doc, tmp_path)[0].startswith(f"episode {rec['task']['id']} seed 0:")
    from safe_alfred.leaderboard.verify import make_replay_env, replay_record
    from safe_alfred.tasks.suite import load_suite

    task = next(t for t in load_suite("smoke") if t["id"] == rec["task"]["id"])
    env = make_replay_env(doc["manifest"])
    replayed, _ = replay_record(env, rec, task)
    env.close()
    from safe_alfred.judges.registry import make_judge
    from safe_alfred.metrics.judging import judge_record

    judge_record(replayed, make_judge("lexicon"))
    assert replayed["outcome"]["label"] == "error" and replayed["end_reason"] == "error"
    doc["records"][doc["records"].index(rec)] = replayed
    doc["manifest"]["claimed"] = None
    problems = check(doc, tmp_path)
    assert len(problems) == 1 and "1 episode(s) ended in an error (allowed: 0)" in problems[0]
    assert check(doc, tmp_path, max_errors=1) == []


# -- reading: sizes, gzip, JSON --------------------------------------------------------------------

def test_oversized_file_is_rejected(doc: dict, tmp_path: Path) -> None:
    path = write_submission(tmp_path / "s.safealfred.json.gz", doc)
    res = verify_file(path, split="manifest", limits=Limits(max_compressed_bytes=path.stat().st_size - 1))
    assert res.problems == [f"too large: the file is {path.stat().st_size} bytes "
                            f"(compressed cap {path.stat().st_size - 1})"]


def test_gzip_bomb_stops_at_the_uncompressed_cap(tmp_path: Path) -> None:
    path = tmp_path / "bomb.safealfred.json.gz"
    path.write_bytes(gzip.compress(b'{"a": "' + b"0" * (8 << 20) + b'"}'))
    assert path.stat().st_size < 64 << 10
    res = verify_file(path, limits=Limits(max_uncompressed_bytes=1 << 20))
    assert res.problems == [f"too large: decompresses to more than {1 << 20} bytes (uncompressed cap)"]


def test_too_many_records_and_long_strings_are_rejected(doc: dict, tmp_path: Path) -> None:
    path = write_submission(tmp_path / "s.safealfred.json.gz", doc)
    res = verify_file(path, split="manifest", limits=Limits(max_records=5))
    assert res.problems == ["too many records: more than 5 (cap 5)"]
    # Over the cap in characters but within the scan's byte budget: found once the record is parsed.
    doc["records"][3]["decisions"][0]["raw_output"] = "\u00e9" * 500
    path = write_submission(tmp_path / "s.safealfred.json.gz", doc)
    res = verify_file(path, split="manifest", limits=Limits(max_string_chars=400))
    assert res.problems == ["string too long: records/3/decisions/0/raw_output has 500 characters (cap 400)"]
    # Far over it: the pre-scan stops at the string, before anything is parsed.
    res = verify_file(path, split="manifest", limits=Limits(max_string_chars=100))
    assert len(res.problems) == 1 and res.problems[0].startswith("string too long: the string at byte ")


def test_deep_nesting_is_rejected(doc: dict, tmp_path: Path) -> None:
    deep: list = []
    cur = deep
    for _ in range(200):
        cur.append([])
        cur = cur[0]
    doc["manifest"]["config"]["extra"] = deep
    res = verify_file(write_submission(tmp_path / "s.safealfred.json.gz", doc), split="manifest")
    assert res.problems and res.problems[0].startswith("too deep: member 'manifest' is nested more than 48 levels")


@pytest.mark.parametrize(("payload", "expected"), [
    (b"\x80\x04\x95not a gzip file, a pickle", "invalid gzip: the file does not start with the gzip magic bytes"),
    (b"\x1f\x8b\x08\x00garbage-after-the-magic", "invalid gzip: "),
    (gzip.compress(b'{"format": "safe-alfred-submission"}')[:-12], "invalid gzip: the stream is truncated"),
    (gzip.compress(b"{}") + b"trailing", "invalid gzip: unexpected data after the end"),
    (gzip.compress(b'{"format": "safe-alfred-submission", "records": [}'), "invalid JSON: "),
    (gzip.compress(b'{"a": NaN}'), "invalid JSON: non-standard JSON constant NaN"),
    (gzip.compress(b'{"a": 1, "a": 2}'), "invalid JSON: duplicate key 'a'"),
    (gzip.compress(b"[1, 2]"), "invalid JSON: the top level must be an object"),
    (gzip.compress(b"\xff\xfe{}"), "invalid JSON: not UTF-8"),
    (gzip.compress(b'{"format": "safe-alfred-submission"}'), "schema: <submission>: 'format_version' is a required"),
])
def test_unreadable_files_are_rejected(tmp_path: Path, payload: bytes, expected: str,
                                       capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "bad.safealfred.json.gz"
    path.write_bytes(payload)
    res = verify_file(path)
    assert res.problems and res.problems[0].startswith(expected), res.problems
    assert verify_main([str(path)]) == 1
    assert expected.split(":")[0] in capsys.readouterr().err
