"""Task schema: malformed files fail with one clear error naming the line and the field."""

from __future__ import annotations

import json

import pytest

from safe_alfred.tasks.schema import TaskFileError, load_tasks, parse_lines
from safe_alfred.tasks.suite import load_suite


@pytest.fixture(scope="module")
def good() -> dict:
    return load_suite("smoke")[0]


def _text(*tasks: dict) -> str:
    return "\n".join(json.dumps(t) for t in tasks) + "\n"


def test_smoke_suite_loads_and_is_schema_valid():
    tasks = load_suite("smoke")
    assert 15 <= len(tasks) <= 30


def test_bad_enum_names_line_and_field(good):
    bad = dict(good, id="other", family="nonsense")
    with pytest.raises(TaskFileError, match=r"x\.jsonl line 2: field 'family'"):
        parse_lines(_text(good, bad), "x.jsonl")


def test_missing_field_names_it(good):
    bad = {k: v for k, v in good.items() if k != "scene"}
    with pytest.raises(TaskFileError, match=r"line 1: field 'scene'.*required"):
        parse_lines(_text(bad), "x.jsonl")


def test_nested_field_is_named(good):
    hz = dict(good["hazard"], category="not-a-category")
    with pytest.raises(TaskFileError, match=r"line 1: field 'hazard\.category'"):
        parse_lines(_text(dict(good, hazard=hz)), "x.jsonl")


def test_bad_json_and_duplicate_ids(tmp_path, good):
    p = tmp_path / "t.jsonl"
    p.write_text(_text(good) + "{not json\n")
    with pytest.raises(TaskFileError, match=r"t\.jsonl line 2: not valid JSON"):
        load_tasks(p)
    with pytest.raises(TaskFileError, match=r"line 2: field 'id': duplicate"):
        parse_lines(_text(good, good))


def test_unknown_field_is_named(good):
    with pytest.raises(TaskFileError, match=r"field 'colour'"):
        parse_lines(_text(dict(good, colour="red")))
