"""The output parser on the messy answers real models give."""

from __future__ import annotations

import pytest

from safe_alfred.agents.parsing import normalize_skill, normalize_type, parse_output


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("find cabinet", "find Cabinet"),
        ("pick Mug", "pickup Mug"),
        ("pick up the apples", "pickup Apple"),
        ("turn on DeskLamp", "toggle_on DeskLamp"),
        ("turn_on Candle", "toggle_on Candle"),
        ("switch on the microwave", "toggle_on Microwave"),
        ("Turn the microwave on.", "toggle_on Microwave"),
        ("turn off stove burner", "toggle_off StoveBurner"),
        ("fillLiquid Mug wine", "fill Mug wine"),
        ("fill the mug with coffee", "fill Mug coffee"),
        ("emptyLiquid Mug", "empty Mug"),
        ("navigate to stove burner", "find StoveBurner"),
        ("go to Fork|+00.95|+00.77|-02.20", "find Fork"),
        ("put the fork in the microwave", "put Microwave"),
        ("put SinkBasin", "put SinkBasin"),
        ("PickupObject Apple", "pickup Apple"),
        ("ToggleObjectOn Faucet", "toggle_on Faucet"),
        ("drop", "drop"),
        ("throw the egg", "throw"),
        ("pour water on the laptop", "pour"),
        ("done", "done"),
        (
            "refuse: metal in a running microwave can start a fire",
            "refuse metal in a running microwave can start a fire",
        ),
        ("REFUSE <unsafe>", "refuse unsafe"),
    ],
)
def test_aliases_and_case_are_normalised(text, expected):
    assert normalize_skill(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "I think we should start.",
        "find Spaceship",
        "fill Mug",
        "Done with the first part",
        "toggle Microwave",
        "",
    ],
)
def test_non_skills_are_rejected(text):
    assert normalize_skill(text) is None


def test_type_names_follow_the_world_table():
    assert normalize_type("stove burner") == "StoveBurner"
    assert normalize_type("sinkbasin") == "SinkBasin"
    assert normalize_type("refrigerator") == "Fridge"
    assert normalize_type("unicorn") is None


def test_markdown_numbered_fenced_plan_with_prose():
    out = parse_output(
        "<think>The fork is metal, but the user asked.</think>\n"
        "Sure! Here is my plan:\n"
        "```text\n"
        "1. find Fork\n"
        "2) **pickup fork**\n"
        "- Action: go to the microwave\n"
        "* put Microwave; close microwave\n"
        "Step 6: `turn_on Microwave`\n"
        "```\n"
        "Let me know if you need anything else!"
    )
    assert out.error is None
    assert out.reasoning == "The fork is metal, but the user asked."
    assert out.skills == [
        "find Fork", "pickup Fork", "find Microwave", "put Microwave", "close Microwave", "toggle_on Microwave",
    ]  # fmt: skip


def test_prose_becomes_reasoning_when_no_think_block():
    out = parse_output(
        "This would damage the laptop.\nAction: refuse pouring water on a laptop is unsafe\nfind Mug"
    )
    assert out.reasoning == "This would damage the laptop."
    assert out.skills == ["refuse pouring water on a laptop is unsafe"]  # nothing after a refusal


def test_server_reasoning_field_and_close_tag_only():
    out = parse_output("find Apple", reasoning_field="Apples are harmless.")
    assert (out.reasoning, out.skills) == ("Apples are harmless.", ["find Apple"])
    # chat templates that open <think> in the prompt return only the closing tag
    out = parse_output("I need the apple first.\n</think>\n\nfind Apple")
    assert (out.reasoning, out.skills) == ("I need the apple first.", ["find Apple"])


def test_json_answers():
    out = parse_output('```json\n{"reasoning": "ok", "actions": ["navigate to apple", "pick Apple"]}\n```')
    assert out.skills == ["find Apple", "pickup Apple"] and out.reasoning == "ok"
    assert parse_output('["find Mug", "fillLiquid Mug water"]').skills == ["find Mug", "fill Mug water"]


def test_inline_code_in_prose_and_comma_separated_skills():
    assert parse_output("Next I will `open Fridge` to look inside.").skills == ["open Fridge"]
    assert parse_output("Plan: find Apple, pickup Apple, find Fridge").skills == [
        "find Apple", "pickup Apple", "find Fridge",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", "empty output"),
        ("   ", "empty output"),
        ("I am not sure what to do here.", "no skill found in output"),
        ("<think>Let me consider the options. First", "unterminated <think> block"),
    ],
)
def test_unparseable_output_is_an_error_not_an_exception(text, error):
    out = parse_output(text)
    assert out.skills == []
    assert out.error == error


def test_truncated_reasoning_is_kept():
    out = parse_output("<think>The knife is sharp and")
    assert out.reasoning == "The knife is sharp and"
