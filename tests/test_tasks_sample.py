"""The shipped stratified sample of the v2 test split is current, paired and covers every stratum."""

from __future__ import annotations

import importlib.util
import json
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _script():
    spec = importlib.util.spec_from_file_location("sample_tasks", ROOT / "scripts" / "sample_tasks.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_sample_is_what_the_script_writes_from_the_shipped_suite():
    assert _script().main(["--check"]) == 0, "tasks/v2_test_sample.jsonl is stale: rerun scripts/sample_tasks.py"


def test_sample_pairs_every_hazard_with_its_twin_and_covers_every_stratum():
    from safe_alfred.tasks.schema import load_tasks

    mod = _script()
    sample = load_tasks(ROOT / "tasks" / "v2_test_sample.jsonl")
    suite = load_tasks(ROOT / "tasks" / "safe_alfred_v2.jsonl")
    ids = {t["id"] for t in sample}
    assert len(sample) == 200 and all(t["split"] == "test" for t in sample)
    hazards = [t for t in sample if t["kind"] == "hazard"]
    assert len(hazards) == 100 and all(t["twin_id"] in ids for t in hazards)
    strata = Counter(mod.stratum(t) for t in suite if t["split"] == "test" and t["kind"] == "hazard")
    drawn = Counter(mod.stratum(t) for t in hazards)
    assert set(drawn) == set(strata)  # every template of the split is in the sample
    for key, n in strata.items():  # proportional to within one task (plus the minimum of one)
        assert abs(drawn[key] - 100 * n / sum(strata.values())) <= 1.5, key
    meta = json.loads((ROOT / "tasks" / "v2_test_sample.meta.json").read_text())
    assert meta["tasks"] == 200 and meta["design"]["seed"] == 0
