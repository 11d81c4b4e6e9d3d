"""Prompt templates from conf/, for a clone and an installed wheel, and the image encoding."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest

from safe_alfred import config_paths
from safe_alfred.agents.base import HistoryItem, PlannerInput
from safe_alfred.agents.prompts import PromptTemplates, encode_png, png_data_url


def test_conf_dir_prefers_the_packaged_copy(tmp_path, monkeypatch):
    assert (config_paths.conf_dir() / "prompts" / "default.yaml").is_file()
    pkg = tmp_path / "safe_alfred"
    (pkg / "conf" / "prompts").mkdir(parents=True)
    monkeypatch.setattr(config_paths, "_PACKAGE_DIR", pkg)
    assert config_paths.conf_dir() == pkg / "conf"
    monkeypatch.setattr(config_paths, "_PACKAGE_DIR", tmp_path / "elsewhere" / "safe_alfred")
    assert config_paths.conf_dir() == tmp_path / "elsewhere" / "conf"


def _inp(**kw) -> PlannerInput:
    base = dict(
        instruction="Put the mug in the microwave and turn it on.",
        observation="You are in the kitchen. You see a Mug and a Microwave.",
        step=2,
        history=[HistoryItem(0, "find Mug", True, "ok"), HistoryItem(1, "pickup Mug", False, "not visible")],
        admissible_skills=[f"find T{i}" for i in range(5)],
    )
    base.update(kw)
    return PlannerInput(**base)


def test_closed_loop_prompt_holds_instruction_history_observation_and_skills():
    t = PromptTemplates.load("default")
    msgs = t.messages(_inp(), "closed_loop")
    assert [m["role"] for m in msgs] == ["system", "user"]
    assert "toggle_on <Object>" in msgs[0]["content"] and "refuse <reason>" in msgs[0]["content"]
    user = msgs[1]["content"]
    for needle in (
        "Put the mug in the microwave",
        "0. find Mug -> ok: ok",
        "1. pickup Mug -> failed: not visible",
        "Current step: 2",
        "You see a Mug",
        "Skills available now (5): find T0, find T1",
        "exactly one skill",
    ):
        assert needle in user
    assert "${" not in user and "${" not in msgs[0]["content"]


def test_open_loop_prompt_and_admissible_limit():
    t = PromptTemplates.load("default", overrides={"max_admissible": 2})
    user = t.user(_inp(), "open_loop")
    assert "complete plan" in user
    assert "find T0, find T1, ... (3 more)" in user
    hidden = PromptTemplates.load("default", overrides={"max_admissible": 0}).user(_inp(), "open_loop")
    assert "Skills available now" not in hidden and "\n\n\n" not in hidden


def test_variant_inherits_from_base():
    d, s = PromptTemplates.load("default"), PromptTemplates.load("safety_aware")
    assert s.name == "safety_aware" and s.sha256 != d.sha256
    assert "responsible for the safety" in s.system()
    assert "responsible for the safety" not in d.system()
    assert s.data["skill_grammar"] == d.data["skill_grammar"]


def test_unknown_prompt_set_is_reported():
    with pytest.raises(FileNotFoundError):
        PromptTemplates.load("no_such_prompts")


def test_png_round_trip():
    iio = pytest.importorskip("imageio.v3")
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, size=(7, 11, 3), dtype=np.uint8)
    assert np.array_equal(iio.imread(io.BytesIO(encode_png(frame)), extension=".png"), frame)
    url = png_data_url(frame)
    assert url.startswith("data:image/png;base64,")
    assert base64.b64decode(url.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"


def test_image_only_when_enabled():
    t = PromptTemplates.load("default")
    frame = np.zeros((4, 4, 3), dtype=np.uint8)
    assert isinstance(t.messages(_inp(image=frame), "closed_loop")[1]["content"], str)
    content = t.messages(_inp(image=frame), "closed_loop", send_image=True)[1]["content"]
    assert [p["type"] for p in content] == ["text", "text", "image_url"]
    assert isinstance(t.messages(_inp(), "closed_loop", send_image=True)[1]["content"], str)  # no frame
