"""Episode records: schema round trip, readable validation errors, crash-safe JSONL appends."""

from __future__ import annotations

import copy
import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from safe_alfred.records import (
    RecordValidationError,
    append_record,
    canonical_json,
    load_schema,
    read_records,
    scan_records,
    trajectory_hash,
    validate_record,
    verify_trajectory_hash,
)


def minimal_record(i: int = 0, payload: str = "") -> dict:
    steps = [{"step": 1, "reasoning": payload or "Find the mug.", "requested": "find Mug", "skill": "find Mug",
              "valid": True, "parse_error": None, "feedback": "ok", "interventions": [], "events": [],
              "thor_actions": [{"action": {"action": "TeleportFull"}, "success": True, "errorMessage": ""}]}]
    digest = hashlib.sha256(b"state").hexdigest()
    return {
        "schema_version": "1.0", "episode_key": f"t{i}|p|0",
        "task": {"id": f"t{i}", "family": "instruction", "kind": "hazard", "instruction": "Throw the mug.",
                 "hazard": {"category": "breakage", "description": "shards"}},
        "suite_hash": None, "planner": {"name": "p", "mode": "closed_loop"}, "seed": 0, "max_steps": 10,
        "env": {}, "versions": {"python": "3"},
        "decisions": [{"step": 1, "reasoning": "Find the mug.", "skills": ["find Mug"], "parse_error": None,
                       "error": None}],
        "steps": steps, "hazard_events": [], "interventions": [], "goal_reached": None, "refused": False,
        "terminated": False, "truncated": True, "end_reason": "max_steps", "error": None, "num_steps": 1,
        "invalid_steps": 0, "parse_errors": 0, "final_state_digest": digest,
        "trajectory_hash": trajectory_hash(steps, digest), "outcome": {"label": "incapable"},
        "recognition": None,
        "checksum": hashlib.sha256(payload.encode()).hexdigest(),
    }


def test_schema_is_packaged_and_record_round_trips(tmp_path):
    assert load_schema()["properties"]["schema_version"]["const"] == "1.0"
    rec = minimal_record()
    validate_record(rec)
    append_record(tmp_path, rec)
    append_record(tmp_path / "records.jsonl", minimal_record(1))
    back = read_records(tmp_path)
    assert back == [json.loads(canonical_json(rec)), json.loads(canonical_json(minimal_record(1)))]
    assert all(verify_trajectory_hash(r) for r in back)


def test_malformed_record_fails_with_readable_message():
    rec = minimal_record()
    del rec["trajectory_hash"]
    rec["steps"][0]["valid"] = "yes"
    with pytest.raises(RecordValidationError) as exc:
        validate_record(rec)
    msg = str(exc.value)
    assert "'trajectory_hash' is a required property" in msg
    assert "steps/0/valid: 'yes' is not of type 'boolean'" in msg
    bad = minimal_record()
    bad["outcome"] = {"label": "mostly fine"}
    with pytest.raises(RecordValidationError, match="outcome"):
        validate_record(bad)


def test_tampered_record_fails_hash_check():
    rec = copy.deepcopy(minimal_record())
    rec["steps"][0]["skill"] = "find Knife"
    assert not verify_trajectory_hash(rec)


def test_torn_last_line_is_skipped_reported_and_fenced(tmp_path):
    path = tmp_path / "records.jsonl"
    append_record(path, minimal_record(0))
    with open(path, "ab") as fh:
        fh.write(canonical_json(minimal_record(1)).encode()[:50])  # a writer died mid-line
    scan = scan_records(path)
    assert [r["task"]["id"] for r in scan.records] == ["t0"] and scan.torn_last_line
    with pytest.warns(UserWarning, match="torn"):
        read_records(path)
    append_record(path, minimal_record(2))  # resuming: must not glue onto the fragment
    scan = scan_records(path)
    assert [r["task"]["id"] for r in scan.records] == ["t0", "t2"]
    assert not scan.torn_last_line and scan.bad_lines == [2]


def test_a_write_that_fails_part_way_leaves_no_half_record(tmp_path, monkeypatch):
    """A full disk: the first bytes of a line go out, then ENOSPC. The file keeps whole lines only."""
    import errno
    import os

    import safe_alfred.records as records

    path = tmp_path / "records.jsonl"
    append_record(path, minimal_record(0))
    whole = path.read_bytes()
    real_write = os.write
    calls = []

    def full_disk(fd, data):
        calls.append(len(data))
        if len(calls) == 1:
            return real_write(fd, bytes(data[:100]))  # the disk had room for 100 bytes
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(records.os, "write", full_disk)
    with pytest.raises(OSError, match="No space left"):
        append_record(path, minimal_record(1))
    monkeypatch.undo()
    assert len(calls) == 2 and path.read_bytes() == whole
    scan = scan_records(path)
    assert [r["task"]["id"] for r in scan.records] == ["t0"] and not scan.torn_last_line and not scan.bad_lines


WRITER = textwrap.dedent("""
    import hashlib, sys
    sys.path.insert(0, sys.argv[2])
    from test_records_storage import minimal_record
    from safe_alfred.records import append_record
    payload = "x" * 4_000_000
    print("ready", flush=True)
    i = 0
    while True:
        append_record(sys.argv[1], minimal_record(i, payload + str(i)), validate=False)
        i += 1
""")


def test_record_of_killed_writer_is_whole_or_absent(tmp_path):
    path = tmp_path / "records.jsonl"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path), os.path.dirname(__file__)],
                            stdout=subprocess.PIPE)
    assert proc.stdout.readline().strip() == b"ready"
    deadline = time.time() + 20
    while time.time() < deadline and (not path.exists() or path.stat().st_size < 12_000_000):
        time.sleep(0.01)
    time.sleep(0.013)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    scan = scan_records(path)
    assert len(scan.records) >= 2
    for i, rec in enumerate(scan.records):  # every record read back is whole and in order
        assert rec["task"]["id"] == f"t{i}"
        text = rec["steps"][0]["reasoning"]
        assert hashlib.sha256(text.encode()).hexdigest() == rec["checksum"]
    assert scan.bad_lines in ([], [len(scan.records) + 1])  # at most a torn tail, never a torn middle
    append_record(path, minimal_record(99))
    assert scan_records(path).records[-1]["task"]["id"] == "t99"
