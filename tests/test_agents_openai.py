"""The OpenAI-compatible planner over real HTTP against the scripted server (a subprocess)."""

from __future__ import annotations

import asyncio
import base64
import socket
import struct
import time

import numpy as np
import pytest

from safe_alfred.agents.base import HistoryItem, PlannerInput
from safe_alfred.agents.openai_planner import OpenAIPlanner
from safe_alfred.agents.scripted_server import ServerProcess

PLAN = "<think>The mug is ceramic, so heating it is fine.</think>\nHere is the plan:\n1. Action: find Mug\n2. pick Mug\n3. put the mug in the microwave\n4. turn_on Microwave\n5. done"


def _inp(**kw) -> PlannerInput:
    base = dict(
        instruction="Put the mug in the microwave and turn it on.",
        observation="You see a Mug and a Microwave.",
        step=1,
        history=[HistoryItem(0, "find Mug", True, "ok")],
        admissible_skills=["find Mug", "pickup Mug"],
    )
    base.update(kw)
    return PlannerInput(**base)


def _planner(srv: ServerProcess, **kw) -> OpenAIPlanner:
    kw.setdefault("backoff_base", 0.01)
    kw.setdefault("timeout", 10)
    return OpenAIPlanner(srv.base_url, "scripted-model", **kw)


@pytest.fixture(scope="module")
def plan_server():
    with ServerProcess(["--answer", PLAN]) as srv:
        yield srv


@pytest.mark.parametrize("transport", ["h11", "httpx"])
def test_closed_loop_request_and_decision(plan_server, monkeypatch, transport):
    monkeypatch.setenv("SA_TEST_KEY", "sekrit")
    planner = _planner(
        plan_server, mode="closed_loop", transport=transport, api_key_env="SA_TEST_KEY", temperature=0.3, max_tokens=77, seed=5,
        extra_body={"top_k": 3},
    )  # fmt: skip
    d = planner.act(_inp())
    assert d.error is None and d.parse_error is None
    assert d.skills == ["find Mug"]  # closed-loop: only the next skill
    assert d.reasoning == "The mug is ceramic, so heating it is fine."
    assert d.raw_output.endswith("5. done")
    assert d.usage["completion_tokens"] > 0 and d.usage["requests"] == 1
    assert d.latency_s > 0
    req = plan_server.stats()["requests"][-1]
    body = req["body"]
    assert req["headers"]["authorization"] == "Bearer sekrit"
    assert (body["model"], body["temperature"], body["max_tokens"], body["seed"], body["top_k"]) == (
        "scripted-model", 0.3, 77, 5, 3,
    )  # fmt: skip
    user = body["messages"][1]["content"]
    assert "Put the mug in the microwave" in user and "0. find Mug -> ok" in user
    assert planner.describe()["model"] == "scripted-model" and "sekrit" not in str(planner.describe())
    assert planner.describe()["transport"] == transport


def test_open_loop_gets_the_whole_plan(plan_server):
    d = _planner(plan_server, mode="open_loop").act(_inp())
    assert d.skills == ["find Mug", "pickup Mug", "put Microwave", "toggle_on Microwave", "done"]


def test_unparseable_answer_is_recorded_not_raised():
    with ServerProcess(["--answer", "I would rather chat about the weather."]) as srv:
        d = _planner(srv).act(_inp())
    assert d.error is None and d.skills == []
    assert d.parse_error == "no skill line in the action section"
    assert d.raw_output == "I would rather chat about the weather."


@pytest.mark.parametrize(("status", "transport"), [(429, "h11"), (500, "h11"), (503, "httpx")])
def test_retries_transient_failures_then_succeeds(status, transport):
    with ServerProcess(["--answer", PLAN, "--fail-first", "2", "--fail-status", str(status)]) as srv:
        d = _planner(srv, max_retries=3, transport=transport).act(_inp())
        stats = srv.stats()
    assert d.error is None and d.skills == ["find Mug"]
    assert d.usage["requests"] == 3
    assert (stats["chat_requests"], stats["failed"], stats["served"]) == (3, 2, 1)


def test_retry_after_header_is_honoured():
    with ServerProcess(["--answer", PLAN, "--fail-first", "1", "--retry-after", "0.6"]) as srv:
        planner = _planner(srv, backoff_base=0.0)
        t0 = time.perf_counter()
        d = planner.act(_inp())
    assert d.error is None and time.perf_counter() - t0 >= 0.6


@pytest.mark.parametrize("transport", ["h11", "httpx"])
def test_persistent_failure_becomes_an_error_decision(transport):
    with ServerProcess(["--fail-always", "--fail-status", "500"]) as srv:
        d = _planner(srv, max_retries=2, transport=transport).act(_inp())
        assert srv.stats()["chat_requests"] == 3
    assert d.skills == [] and d.error is not None
    assert "3 attempt(s)" in d.error and "HTTP 500" in d.error


def test_client_errors_are_not_retried():
    with ServerProcess(["--fail-always", "--fail-status", "400"]) as srv:
        d = _planner(srv, max_retries=3).act(_inp())
        assert srv.stats()["chat_requests"] == 1
    assert "HTTP 400" in d.error


@pytest.mark.parametrize("transport", ["h11", "httpx"])
def test_connection_refused_is_an_error_after_retries(transport):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    planner = OpenAIPlanner(
        f"http://127.0.0.1:{port}/v1", "m", max_retries=1, backoff_base=0.01, timeout=2, transport=transport
    )
    d = planner.act(_inp())
    assert d.error is not None and "connection error" in d.error and d.usage["requests"] == 2


@pytest.mark.parametrize("transport", ["h11", "httpx"])
def test_per_request_timeout(transport):
    with ServerProcess(["--answer", PLAN, "--delay", "3"]) as srv:
        planner = _planner(srv, timeout=0.3, max_retries=1, transport=transport)
        t0 = time.perf_counter()
        d = planner.act(_inp())
        elapsed = time.perf_counter() - t0
    assert d.error is not None and "timeout" in d.error
    assert elapsed < 2.5


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
def test_reasoning_field_is_captured(field):
    with ServerProcess(["--answer", PLAN, "--reasoning-field", field]) as srv:
        d = _planner(srv, mode="open_loop").act(_inp())
        served = srv.stats()
    assert served["served"] == 1
    assert d.reasoning == "The mug is ceramic, so heating it is fine."
    assert d.skills[0] == "find Mug"
    assert "The mug is ceramic" in d.raw_output


def _png_size(data_url: str) -> tuple[int, int]:
    png = base64.b64decode(data_url.split(",", 1)[1])
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", png[16:24])


def test_image_input_is_sent_as_png_data_url(plan_server):
    frame = np.zeros((12, 20, 3), dtype=np.uint8)
    frame[..., 0] = 255
    _planner(plan_server, send_image=True).act(_inp(image=frame))
    content = plan_server.stats()["requests"][-1]["body"]["messages"][1]["content"]
    assert isinstance(content, list)
    images = [p for p in content if p["type"] == "image_url"]
    assert len(images) == 1 and images[0]["image_url"]["url"].startswith("data:image/png;base64,")
    assert _png_size(images[0]["image_url"]["url"]) == (20, 12)
    # without the flag the same input is sent as text only
    _planner(plan_server, send_image=False).act(_inp(image=frame))
    assert isinstance(plan_server.stats()["requests"][-1]["body"]["messages"][1]["content"], str)


@pytest.mark.parametrize("transport", ["h11", "httpx"])
def test_many_requests_in_flight_at_once(transport):
    with ServerProcess(["--answer", PLAN, "--delay", "0.4"]) as srv:
        planner = _planner(srv, transport=transport)

        async def many() -> list:
            return await asyncio.gather(*(planner.aact(_inp(step=i)) for i in range(12)))

        t0 = time.perf_counter()
        decisions = asyncio.run(many())
        elapsed = time.perf_counter() - t0
    assert all(d.skills == ["find Mug"] for d in decisions)
    assert elapsed < 0.4 * 12 / 3  # serial would take 4.8 s


@pytest.mark.parametrize("mode", ["--chunked", "--close"])
def test_chunked_and_connection_close_responses(mode):
    with ServerProcess(["--answer", PLAN, mode]) as srv:
        planner = _planner(srv, transport="h11")
        decisions = [planner.act(_inp()) for _ in range(3)]  # connections are reused or reopened
        assert srv.stats()["chat_requests"] == 3
    assert all(d.error is None and d.skills == ["find Mug"] for d in decisions)


def test_https_urls_go_through_httpx():
    assert OpenAIPlanner("https://api.example.com/v1", "m").client.transport == "httpx"
    assert OpenAIPlanner("http://127.0.0.1:8000/v1", "m").client.transport == "h11"


def test_scripted_server_turn_selection_and_rules():
    import json
    import os
    import tempfile

    import httpx

    spec = {"answers": ["first", "second"], "rules": [{"pattern": "Current step: 9", "answer": "rule"}]}
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(spec, f)
    try:
        with ServerProcess(["--script", f.name]) as srv:

            def ask(messages):
                r = httpx.post(f"{srv.base_url}/chat/completions", json={"model": "m", "messages": messages})
                return r.json()["choices"][0]["message"]["content"]

            assert ask([{"role": "user", "content": "hi"}]) == "first"
            assert (
                ask(
                    [
                        {"role": "user", "content": "a"},
                        {"role": "assistant", "content": "b"},
                        {"role": "user", "content": "c"},
                    ]
                )
                == "second"
            )
            assert ask([{"role": "user", "content": "Current step: 9"}]) == "rule"
            assert httpx.get(f"{srv.base_url}/models").json()["data"][0]["id"] == "scripted"
    finally:
        os.unlink(f.name)


def test_idle_connection_closed_by_a_restarted_server_is_replaced():
    with ServerProcess(["--answer", PLAN]) as first:
        port = first.port
        planner = _planner(first, transport="h11", max_retries=0)
        assert planner.act(_inp()).error is None  # leaves a keep-alive connection in the pool
    with ServerProcess(["--answer", PLAN, "--port", str(port)]) as second:
        d = planner.act(_inp())  # the pooled connection is dead; no retry budget is spent on it
        assert second.stats()["chat_requests"] == 1
    assert d.error is None and d.usage["requests"] == 1


# -- replies that cannot be used -----------------------------------------------------------------------

UNUSABLE = ("not_json", "truncated", "deep", "empty_choices", "choices_object", "content_null")


@pytest.mark.parametrize("fault", UNUSABLE)
def test_unusable_replies_are_retried_like_5xx(fault):
    transport = "httpx" if fault == "truncated" else "h11"  # both transports read a close-delimited body
    with ServerProcess(["--answer", PLAN, "--fail-first", "2", "--fault", fault]) as srv:
        d = _planner(srv, max_retries=3, transport=transport).act(_inp())
        stats = srv.stats()
    assert d.error is None and d.skills == ["find Mug"], d.error
    assert d.usage["requests"] == 3 and (stats["failed"], stats["served"]) == (2, 1)


@pytest.mark.parametrize(("fault", "cause"), [("content_null", "the message has no text (content is NoneType)"),
                                              ("deep", "the body is not JSON"),
                                              ("truncated", "the body is not JSON")])
def test_a_reply_unusable_after_the_retries_is_an_error_episode_with_the_cause(fault, cause):
    from safe_alfred.runner.config import EnvConfig
    from safe_alfred.runner.episode import run_episode
    from safe_alfred.runner.factory import make_env
    from safe_alfred.tasks.suite import load_suite

    task = load_suite("smoke")[0]
    with ServerProcess(["--answer", PLAN, "--fail-always", "--fault", fault]) as srv:
        env = make_env(EnvConfig())
        record = run_episode(env, _planner(srv, max_retries=1), task, 0)
        env.close()
    assert record["outcome"]["label"] == "error" and record["end_reason"] == "error"
    assert "request failed after 2 attempt(s): HTTP 200 but " + cause in record["error"]


@pytest.mark.parametrize("transport", ["h11", "httpx"])
def test_a_non_ascii_header_byte_does_not_spoil_a_good_reply(transport):
    with ServerProcess(["--answer", PLAN, "--fail-always", "--fault", "bad_header"]) as srv:
        d = _planner(srv, max_retries=0, transport=transport).act(_inp())
    assert d.error is None and d.skills == ["find Mug"]


def test_reply_text_is_sanitised_before_it_is_recorded(tmp_path):
    from safe_alfred.records import append_record, read_records
    from safe_alfred.runner.config import EnvConfig
    from safe_alfred.runner.episode import run_episode
    from safe_alfred.runner.factory import make_env
    from safe_alfred.tasks.suite import load_suite

    with ServerProcess(["--answer", PLAN, "--fail-always", "--fault", "dirty_text"]) as srv:
        d = _planner(srv).act(_inp())
        env = make_env(EnvConfig(max_steps=2))
        record = run_episode(env, _planner(srv), load_suite("smoke")[0], 0)
        env.close()
    assert d.skills == ["find Mug"] and d.raw_output.endswith("5. done\ufffd")
    assert not any(ch in d.raw_output for ch in "\x1b\x00\x07\ud800")
    append_record(tmp_path, record)  # a lone surrogate would make this line unwritable
    assert read_records(tmp_path)[0]["decisions"][0]["raw_output"] == record["decisions"][0]["raw_output"]


def test_stop_sequences_prompt_hash_and_finish_reason(plan_server):
    d = _planner(plan_server).act(_inp())
    body = plan_server.stats()["requests"][-1]["body"]
    assert body["stop"] == ["\nInstruction:", "\nExecuted so far:", "\nSituation "]  # no chat-template tokens
    assert len(d.prompt_sha256) == 64 and d.finish_reason == "stop" and d.selection["mode"] == "generate"


@pytest.mark.parametrize(("guided", "field"), [("llama.cpp", "grammar"), ("vllm", "structured_outputs"),
                                               ("vllm_legacy", "guided_grammar")])
def test_constrained_asks_the_server_for_the_skill_grammar(guided, field):
    with ServerProcess(["--answer", "<think>The mug is fine.</think>\npickup Mug"]) as srv:
        d = _planner(srv, action="constrained", guided=guided).act(_inp())
        body = srv.stats()["requests"][-1]["body"]
    grammar = body[field]["grammar"] if field == "structured_outputs" else body[field]
    assert grammar.startswith('root ::= "<think>" reasoning "</think>\\n" skill')
    assert '"find Mug" | "pickup Mug" | "refuse" [^\\n]* | "done"' in grammar
    assert d.skills == ["pickup Mug"] and d.selection == {"mode": "constrained", "guided": guided}


def test_score_needs_a_local_model():
    with pytest.raises(ValueError, match="agent=hf"):
        OpenAIPlanner("http://localhost:1/v1", "m", action="score")
    with pytest.raises(ValueError, match="closed_loop"):
        OpenAIPlanner("http://localhost:1/v1", "m", action="constrained", mode="open_loop")
