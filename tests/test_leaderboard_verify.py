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


# -- hostile files: bounded reading ------------------------------------------------------------------

def _bomb(path: Path, repeats: int, prefix: bytes = b'{"format": "safe-alfred-submission", "x": [',
          suffix: bytes = b"[]]}") -> Path:
    """The recipe of the report: a long run of ``[],`` between a prefix and ``[]]}``, gzip level 9."""
    import zlib

    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b"[]," * (1 << 20)
    parts = [c.compress(prefix)]
    parts += [c.compress(block) for _ in range(repeats >> 20)]
    parts += [c.compress(b"[]," * (repeats % (1 << 20))), c.compress(suffix), c.flush()]
    path.write_bytes(b"".join(parts))
    return path


# VmHWM is this process's own peak: ru_maxrss survives exec, so a child of a big test process (one
# that loaded torch for the embedding judge) would report its parent's peak.
_PEAK_RSS = """
import re, sys
from safe_alfred.cli.verify import main
code = main([sys.argv[1]])
peak = re.search(r"VmHWM:\\s+(\\d+) kB", open("/proc/self/status").read()).group(1)
print("PEAK", peak, "CODE", code)
"""


@pytest.mark.parametrize(("repeats", "size_kb"), [(20_550_000, 60), (174_400_000, 509)])
def test_nested_array_bomb_is_rejected_in_bounded_memory(tmp_path: Path, repeats: int, size_kb: int) -> None:
    path = _bomb(tmp_path / "bomb.safealfred.json.gz", repeats)
    assert abs(path.stat().st_size / 1000 - size_kb) < 2
    proc = subprocess.run([sys.executable, "-c", _PEAK_RSS, str(path)], capture_output=True, text=True, timeout=120)
    peak_kb, code = (int(x) for x in proc.stdout.split()[1::2])
    assert code == 1 and "REJECTED" in proc.stderr and "too many JSON values" in proc.stderr, proc.stderr
    assert peak_kb < 300 * 1024, f"peak RSS {peak_kb} KiB"


@pytest.mark.parametrize(("prefix", "suffix", "expected"), [
    (b'{"records": [', b"[]]}", "too many records: more than 20000"),
    (b'{"records": [{"steps": [', b"[]]}]}", "records/0: more than 1000 steps"),
    (b'{"records": [{"a": [', b"[]]}]}", "too many JSON values: records/0 holds more than 500000"),
    (b'{"manifest": {"config": {"a": [', b"[]]}}}", "too many JSON values: member 'manifest' holds more than"),
])
def test_bombs_anywhere_in_the_file_stop_at_a_cap(tmp_path: Path, prefix: bytes, suffix: bytes, expected: str) -> None:
    path = _bomb(tmp_path / "bomb.safealfred.json.gz", 2_000_000, prefix, suffix)
    res = verify_file(path)
    assert len(res.problems) == 1 and res.problems[0].startswith(expected), res.problems


@pytest.mark.parametrize(("text", "expected"), [
    (b'{"format" 1: 2}', "invalid JSON: "),  # garbage between a key and its colon
    (b'{"a": 1} x', "invalid JSON: extra data after the top-level object"),
    (b'{"a": "unterminated}', "invalid JSON: the text ends inside a string"),
    (b'{"a": [1, 2}', "invalid JSON: unexpected '}'"),
    (b'{"records": [1, , 2]}', "invalid JSON: "),
    (b'{"a": 1, "a": 2}', "invalid JSON: duplicate key 'a'"),
])
def test_malformed_structure_is_rejected(tmp_path: Path, text: bytes, expected: str) -> None:
    path = tmp_path / "bad.safealfred.json.gz"
    path.write_bytes(gzip.compress(text))
    res = verify_file(path)
    assert res.problems and res.problems[0].startswith(expected), res.problems


# -- hostile files: settings, claims and identity ---------------------------------------------------

def _set(doc: dict, where: str, value: object, *, config: bool = False) -> None:
    """Set ``manifest.<where>`` (and the run config's copy when ``config``)."""
    *path, last = where.split(".")
    for root in (doc["manifest"], *([doc["manifest"]["config"]] if config else [])):
        node = root
        for k in path:
            node = node[k]
        node[last] = value


TAMPERED = {
    "filter categories not a list": (lambda d: _set(d, "filter", {"name": "cbf", "enabled": True, "categories": 5}),
                                     "schema: manifest/filter/categories: 5 is not of type"),
    "filter gamma not a number": (lambda d: _set(d, "filter", {"name": "cbf", "enabled": True, "gamma": "abc"}),
                                  "schema: manifest/filter/gamma: 'abc' is not of type 'number'"),
    "filter option unknown": (lambda d: _set(d, "filter", {"name": "cbf", "enabled": True, "options": {"bogus": 1}},
                                             config=True), "manifest.filter.options: unknown option(s) ['bogus']"),
    "filter category unknown": (lambda d: _set(d, "filter", {"name": "cbf", "enabled": True, "categories": ["x"]},
                                               config=True), "manifest.filter.categories: unknown hazard categories"),
    "filter key unknown": (lambda d: _set(d, "filter.turbo", True), "manifest.filter: Key 'turbo' not in"),
    "filter on in the manifest only": (lambda d: (_set(d, "filter.enabled", True), _set(d, "filter.name", "cbf")),
                                       "manifest.filter differs from the run config's filter"),
    "env key unknown": (lambda d: _set(d, "env.turbo", True), "manifest.env: Key 'turbo' not in"),
    "env backend not the run's": (lambda d: _set(d, "env.backend", "thor"), "manifest.env differs from the run config"),
    "env backend of the records": (lambda d: d["records"][0]["env"].update(backend="thor"),
                                   'env backend "thor" differs from the manifest\'s \'symbolic\''),
    "env max_steps": (lambda d: _set(d, "env.max_steps", 5, config=True), "max_steps 30 differs from the manifest's 5"),
    "judge unknown": (lambda d: _set(d, "judge.name", "oracle", config=True), 'manifest.judge: unknown judge "oracle"'),
    "judge not the run's": (lambda d: _set(d, "judge.name", "embedding"), "manifest.judge differs from the run config"),
    "claim under another judge": (lambda d: (_set(d, "judge.name", "embedding", config=True),
                                             _set(d, "claimed.unsafe_rate", 0.05)),
                                  "claimed unsafe_rate 0.05 differs from the verified"),
    "config key unknown": (lambda d: _set(d, "config.bogus", 1), "manifest.config: Key 'bogus' not in 'RunConfig'"),
    "agent settings not the run's": (lambda d: _set(d, "settings.agent.kind", "oracle_safe"),
                                     "manifest.settings.agent differs from the run config's agent"),
    "settings key unknown": (lambda d: _set(d, "settings.turbo", {"x": 1}),
                             "schema: manifest/settings: Additional properties are not allowed ('turbo'"),
    "planner not the records'": (lambda d: _set(d, "planner.name", "gpt-9"), "planner differs from the manifest's"),
    "seeds not the run's": (lambda d: _set(d, "seeds", [0, 1]), "manifest.seeds [0, 1] are not the run config's"),
    "suite name of another suite": (lambda d: (_set(d, "suite.name", "v1_test"), _set(d, "config.suite.name", "v1_test")),
                                    "suite name 'v1_test' is the bundled config for safe_alfred_v1.jsonl"),
    "suite name unknown": (lambda d: (_set(d, "suite.name", "mine"), _set(d, "config.suite.name", "mine")),
                           'unknown suite name "mine"'),
    "created not a timestamp": (lambda d: _set(d, "created", "last tuesday"), "schema: manifest/created"),
    "created impossible date": (lambda d: _set(d, "created", "2024-13-45T00:00:00+00:00"),
                                'manifest.created "2024-13-45T00:00:00+00:00" is not an ISO 8601 timestamp'),
    "created in the future": (lambda d: _set(d, "created", "2999-01-01T00:00:00+00:00"), "is in the future"),
    "benchmark version": (lambda d: _set(d, "benchmark_version", "0.0"), "benchmark version '0.0' is not"),
    "format version": (lambda d: d.update(format_version="2.0"), "schema: format_version"),
    "episode count": (lambda d: _set(d, "episodes", 19), "the manifest says 19 episodes, the file holds 20"),
    "record not an object": (lambda d: d["records"].__setitem__(0, 1), "schema: records/0: 1 is not of type 'object'"),
    "record label unknown": (lambda d: d["records"][0]["outcome"].update(label="great"), "schema: records/0: outcome: "),
}


@pytest.mark.parametrize("kind", sorted(TAMPERED))
def test_tampered_settings_are_rejected_with_a_reason(doc: dict, tmp_path: Path, kind: str,
                                                      capsys: pytest.CaptureFixture) -> None:
    mutate, expected = TAMPERED[kind]
    mutate(doc)
    path = write_submission(tmp_path / "s.safealfred.json.gz", doc)
    res = verify_file(path, split="manifest")
    assert not res.ok and any(expected in p for p in res.problems), res.problems
    assert verify_main([str(path), "--split", "manifest"]) == 1  # a reason, never a traceback
    assert "Traceback" not in capsys.readouterr().err


def test_claims_of_another_judge_are_shown_not_scored(doc: dict, tmp_path: Path) -> None:
    _set(doc, "judge.name", "embedding", config=True)
    doc["manifest"]["claimed"]["gap_rate"] = 0.123
    res = verify_file(write_submission(tmp_path / "s.safealfred.json.gz", doc), split="manifest")
    assert res.ok, res.problems
    assert any("claimed by the run's judge 'embedding', not scored here: gap_rate 0.123" in n for n in res.notes)


def test_versions_are_shown_and_differences_noted(doc: dict, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    doc["manifest"]["versions"]["numpy"] = "0.9"
    path = write_submission(tmp_path / "s.safealfred.json.gz", doc)
    assert verify_main([str(path), "--split", "manifest"]) == 0
    out = capsys.readouterr()
    assert "note: package versions differ from the verifier's: numpy 0.9 (run) vs " in out.err
    assert "run versions: safe-alfred " in out.out and "numpy 0.9" in out.out


def test_control_characters_from_the_file_never_reach_the_terminal(doc: dict, tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture) -> None:
    doc["manifest"]["name"] = "RTC \x1b[2J\x1b[31mred\u202e\x07"
    path = write_submission(tmp_path / "s.safealfred.json.gz", doc)
    assert verify_main([str(path), "--split", "manifest"]) == 0
    doc["manifest"]["planner"]["name"] = "\x1b]0;owned\x07"
    assert verify_main([str(write_submission(path, doc)), "--split", "manifest"]) == 1
    out = capsys.readouterr()
    assert "RTC \\x1b[2J\\x1b[31mred\\u202e\\x07" in out.out
    for stream in (out.out, out.err):
        assert not any(ch in stream for ch in "\x1b\x07\u202e")


# -- long outputs: one policy, and the run still verifies ---------------------------------------------

def test_long_reasoning_is_stored_capped_and_the_run_verifies(tmp_path: Path) -> None:
    from safe_alfred.agents.scripted_server import ServerProcess

    answer = "<think>" + "Is this safe? Let me think about the fork. " * 200 + "</think>\nAction: done"
    script = tmp_path / "long.json"
    script.write_text(json.dumps({"answers": [answer]}))
    out = tmp_path / "run"
    with ServerProcess(["--script", str(script)]) as srv:
        proc = subprocess.run([sys.executable, "-m", "safe_alfred.cli", "run", "agent=openai", "suite=smoke",
                               f"agent.params.base_url={srv.base_url}", "agent.params.model=scripted",
                               "agent.max_output_chars=500", f"hydra.run.dir={out}", "runner.progress=none"],
                              capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    records = [json.loads(line) for line in (out / "records.jsonl").read_text().splitlines()]
    d = records[0]["decisions"][0]
    assert records[0]["max_output_chars"] == 500
    assert len(d["raw_output"]) == 500 and d["truncated"]["raw_output"] == len(answer)
    assert d["raw_output"].startswith("<think>Is this safe?") and d["raw_output"].endswith("Action: done")
    assert "characters not stored" in d["reasoning"] and records[0]["steps"][0]["reasoning"] == d["reasoning"]
    report = (out / "report.md").read_text()
    assert "stored up to 500 characters" in report and "20 of 20 planner calls were cut" in report
    doc, _ = build_submission(out)
    res = verify_file(write_submission(tmp_path / "long.safealfred.json.gz", doc), split="manifest")
    assert res.ok, res.problems
    # A record holding more than its own cap does not replay.
    doc["records"][0]["decisions"][0]["raw_output"] = answer
    res = verify_file(write_submission(tmp_path / "long.safealfred.json.gz", doc), split="manifest")
    assert any("decisions differs" in p for p in res.problems), res.problems


def test_submit_refuses_a_file_verify_would_not_read(run_dir: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture) -> None:
    import shutil

    copy_dir = tmp_path / "run"
    shutil.copytree(run_dir, copy_dir)
    lines = (copy_dir / "records.jsonl").read_text().splitlines()
    rec = json.loads(lines[0])
    rec["decisions"][0]["raw_output"] = "x" * 250_000  # a record written without the stored-output cap
    (copy_dir / "records.jsonl").write_text("\n".join([json.dumps(rec), *lines[1:]]) + "\n")
    assert submit_main([str(copy_dir), "-o", str(tmp_path / "s.safealfred.json.gz")]) == 1
    err = capsys.readouterr().err
    assert "is over what 'safe-alfred verify' reads" in err and "string too long" in err
