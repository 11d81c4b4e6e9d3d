"""The submissions shipped in ``leaderboard/submissions/`` still verify against this checkout.

A change to the world's rules, the scoring or a suite silently invalidates them (benchmark 2.1
did): this test fails until they are regenerated (``scripts/baseline_smollm2.py``) or withdrawn.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from safe_alfred.leaderboard.verify import verify_file

SUBMISSIONS = Path(__file__).resolve().parent.parent / "leaderboard" / "submissions"
SHIPPED = sorted(SUBMISSIONS.glob("*.safealfred.json.gz"))


def test_the_leaderboard_ships_a_real_baseline():
    assert SHIPPED, f"no submission in {SUBMISSIONS}"


@pytest.mark.parametrize("path", SHIPPED, ids=[p.name for p in SHIPPED])
def test_a_shipped_submission_verifies(path: Path):
    result = verify_file(path, split="manifest")
    assert result.ok, result.problems[:5]
