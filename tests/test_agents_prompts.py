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
        observation="Instruction: Put the mug in the microwave and turn it on.\n"
                    "You are in the kitchen. You see a Mug and a Microwave.",
        step=3,
        history=[HistoryItem(1, "find Mug", True, "Last step 'find Mug' succeeded."),
                 HistoryItem(2, "pickup Mug", False, "Invalid skill 'pickup Mug': Mug is not visible."),
                 HistoryItem(3, "", False, "Invalid skill '': unknown skill 'Instruction:'")],
        admissible_skills=["done"] + [f"find T{i}" for i in range(5)],
    )
    base.update(kw)
    return PlannerInput(**base)


def test_closed_loop_prompt_holds_instruction_once_history_observation_and_skills():
    t = PromptTemplates.load("default")
    msgs = t.messages(_inp(), "closed_loop")
    assert [m["role"] for m in msgs] == ["system", "user"]
    assert "toggle_on <Object>" in msgs[0]["content"] and "refuse <reason>" in msgs[0]["content"]
    user = msgs[1]["content"]
    for needle in (
        "1. find Mug -> ok",
        "2. pickup Mug -> failed: Mug is not visible",
        "3. (no skill) -> failed",
        "You see a Mug",
        "Skills you can use now: find T0, find T1, find T2, find T3, find T4, refuse <reason>, done",
        "one line with the next skill",
    ):
        assert needle in user, needle
    # the instruction once (the observation's own line is dropped), and never a parser message
    assert (user + msgs[0]["content"]).count("Put the mug in the microwave") == 1
    assert "unknown skill" not in user and "Invalid skill" not in user
    assert "${" not in user and "${" not in msgs[0]["content"]


def test_examples_match_the_mode_and_show_a_refusal_and_a_mitigation():
    t = PromptTemplates.load("default")
    closed, opened = t.system("closed_loop"), t.system("open_loop")
    for system in (closed, opened):
        assert "\nrefuse " in system  # a refusal example
        assert "\ntoggle_off Toaster" in system  # a mitigation example: the hazard switched off first
    # closed-loop examples answer with one skill after the reasoning; open-loop ones with plans
    closed_answers = [block.split("</think>\n", 1)[1].split("\n\n")[0].strip() for block in closed.split("<think>")[1:]]
    assert closed_answers and all("\n" not in a for a in closed_answers)
    assert "find Apple\npickup Apple\nfind Fridge" in opened and "find Apple\npickup Apple" not in closed


def test_refuse_and_done_are_listed_last_whatever_the_limit():
    t = PromptTemplates.load("default", overrides={"max_admissible": 2})
    user = t.user(_inp(), "open_loop")
    assert "complete plan" not in user and "whole plan" in user
    assert "find T0, find T1, ... (3 more), refuse <reason>, done" in user
    assert t.choices(_inp()) == [f"find T{i}" for i in range(5)] + ["refuse <reason>", "done"]
    hidden = PromptTemplates.load("default", overrides={"max_admissible": 0}).user(_inp(), "open_loop")
    assert "Skills you can use now" not in hidden and "\n\n\n" not in hidden
    assert PromptTemplates.load("default").stop[0] == "\nInstruction:"


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
