"""Action selection on a tiny random model: the skill grammar, choice scoring, batching, prefix reuse."""

from __future__ import annotations

import asyncio

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("tokenizers")

from tiny_lm import tiny_model  # noqa: E402

from safe_alfred.agents import decoding  # noqa: E402
from safe_alfred.agents.base import HistoryItem, PlannerInput  # noqa: E402
from safe_alfred.agents.hf_planner import HFPlanner  # noqa: E402
from safe_alfred.agents.local_model import LocalModel  # noqa: E402
from safe_alfred.agents.skill_choice import SkillGrammar, boundaries, choice_tokens, step_choices  # noqa: E402

SKILLS = ["done", "find Apple", "find AppleSliced", "find Fridge", "pickup Apple", "open Fridge"]


@pytest.fixture(scope="module")
def tiny():
    return tiny_model()


def _planner(tiny, **kw) -> HFPlanner:
    model, tok = tiny
    kw.setdefault("max_reasoning_tokens", 6)
    return HFPlanner(model=model, tokenizer=tok, name="hf:tiny", device="cpu", **kw)


def _inp(i: int = 0) -> PlannerInput:
    instr = ["Put the apple in the fridge.", "Break the mirror.", "Cool the apple down in the fridge, please."][i % 3]
    history = [HistoryItem(1, "find Apple", True, "ok")] if i % 2 else []
    return PlannerInput(instr, f"Instruction: {instr}\nYou see: Apple, Fridge.", step=len(history),
                        history=history, admissible_skills=SKILLS[: 3 + i % 4])


def test_step_choices_end_with_refuse_and_done():
    assert step_choices(["done", "find Apple", "refuse x"]) == ["find Apple", "refuse", "done"]


def test_grammar_allows_only_choices_and_handles_shared_prefixes(tiny):
    _, tok = tiny
    end = tok.eos_token_id
    ends = boundaries(tok, end)
    g = SkillGrammar(tok, step_choices(SKILLS), ends)
    # a scorer that always prefers the first vocabulary tokens: masking alone must keep the answer valid
    rng = torch.Generator().manual_seed(0)
    for _ in range(20):
        bias = torch.randn(len(tok), generator=rng)
        generated: list[int] = []
        while not g.finished(generated) and len(generated) < 40:
            generated.append(int(g(generated, bias.clone()).argmax()))
        chosen = g.chosen(generated)
        assert chosen in g.choices or chosen.startswith("refuse"), chosen
    apple = choice_tokens(tok, "find Apple")
    allowed = set(g.allowed(apple))
    assert set(ends.line) <= allowed  # "find Apple" is complete here ...
    assert choice_tokens(tok, "find AppleSliced")[len(apple)] in allowed  # ... or goes on to AppleSliced
    refuse = choice_tokens(tok, "refuse")
    assert g.allowed(refuse) is None  # a refusal's reason is free text
    reason = refuse + tok(" it can burn\nfind Apple", add_special_tokens=False)["input_ids"]
    cut = next(i for i in range(len(refuse) + 1, len(reason) + 1) if g.finished(reason[:i]))
    assert g.chosen(reason[:cut]) == "refuse it can burn"


def test_constrained_answers_are_always_admissible(tiny):
    planner = _planner(tiny, action="constrained")
    for i in range(4):
        d = planner.act(_inp(i))
        assert d.parse_error is None and d.error is None
        skill = d.skills[0]
        assert skill in step_choices(_inp(i).admissible_skills) or skill.startswith("refuse")
        assert d.selection["mode"] == "constrained" and d.raw_output.endswith(skill)
        assert d.raw_output.startswith("<think>") and "</think>\n" in d.raw_output
        assert len(d.prompt_sha256) == 64 and d.finish_reason in ("stop", "length")


def test_scores_equal_separate_forward_passes(tiny):
    model, tok = tiny
    lm = LocalModel(model=model, tokenizer=tok)
    prompts = [tok("<|user|>\nPut the apple in the fridge.", add_special_tokens=False)["input_ids"],
               tok("<|user|>\nBreak it", add_special_tokens=False)["input_ids"]]
    options = [[choice_tokens(tok, c) for c in ["find Apple", "refuse", "done"]],
               [choice_tokens(tok, c) for c in ["open Fridge", "find AppleSliced"]]]
    ends = boundaries(tok, tok.eos_token_id).line_tensor()
    rows = decoding.start_rows(lm, prompts)
    got = decoding.score_continuations(rows, options, [[ends] * len(o) for o in options])
    for r, prompt in enumerate(prompts):
        for j, opt in enumerate(options[r]):
            with torch.no_grad():
                logits = model(input_ids=torch.tensor([prompt + opt])).logits[0]
            logp = torch.log_softmax(logits.float(), -1)
            want = sum(float(logp[len(prompt) - 1 + k, t]) for k, t in enumerate(opt))
            want += float(torch.logsumexp(logp[len(prompt) + len(opt) - 1][ends], 0))
            assert got[r][j] == pytest.approx(want, abs=1e-4)


def test_score_keeps_the_distribution_and_ranks_by_calibrated_score(tiny):
    planner = _planner(tiny, action="score")
    d = planner.act(_inp(0))
    sel = d.selection
    assert sel["choices"] == step_choices(_inp(0).admissible_skills)
    assert len(sel["logprobs"]) == len(sel["prior_logprobs"]) == len(sel["choices"])
    assert all(lp < 0 for lp in sel["logprobs"]) and "probs" not in sel  # probabilities derive from them
    calibrated = [a - b for a, b in zip(sel["logprobs"], sel["prior_logprobs"], strict=True)]
    best = sel["choices"][max(range(len(calibrated)), key=lambda i: (calibrated[i], -i))]
    assert d.skills[0] == best or (best == "refuse" and d.skills[0].startswith("refuse"))
    plain = _planner(tiny, action="score", calibration="none").act(_inp(0))
    lp = plain.selection["logprobs"]
    best_plain = plain.selection["choices"][max(range(len(lp)), key=lambda i: (lp[i], -i))]
    assert plain.skills[0].split(" ")[0] == best_plain.split(" ")[0] and "prior_logprobs" not in plain.selection


def _reasoning_block(planner: HFPlanner, capture) -> list[int]:
    """The tokens a call added after its prompt up to and including the ``</think>`` line it closed."""
    ids, start, close = capture.token_ids, capture.generation_start, planner._close_ids()
    at = next(i for i in range(start, len(ids)) if ids[i: i + len(close)] == close)
    return ids[start: at + len(close)]


@pytest.mark.parametrize("calibration", ["no_instruction", "no_instruction_no_reasoning"])
def test_calibration_prior_is_the_prompt_without_the_instruction_scored_alone(tiny, calibration):
    """The prior shares the prompt's cache up to the instruction line (a forked cache): it must equal
    the prompt without the instruction, followed by the call's own reasoning (or, for the older prior,
    by an empty one), scored from scratch, and leave the call's own scores as they were."""
    from dataclasses import replace

    _, tok = tiny
    planner = _planner(tiny, action="score", calibration=calibration, capture_hidden=True,
                       max_reasoning_tokens=12)
    plain_planner = _planner(tiny, action="score", calibration="none", max_reasoning_tokens=12)
    lengths = set()
    for i in range(3):
        inp = _inp(i)
        decision, capture = planner.act_with_states(inp)
        sel = decision.selection
        block = _reasoning_block(planner, capture)
        lengths.add(len(block))
        reasoning = block if calibration == "no_instruction" else planner._close_ids()
        neutral = tok(planner.prompt_text(replace(inp, instruction="")), add_special_tokens=False)["input_ids"]
        assert inp.instruction not in tok.decode(neutral)
        ends = planner._boundaries()
        options = [choice_tokens(tok, c) for c in sel["choices"]]
        stops = [ends.word_tensor() if c == "refuse" else ends.line_tensor() for c in sel["choices"]]
        alone = decoding.score_continuations(decoding.start_rows(planner.lm, [neutral + reasoning]),
                                             [options], [stops])[0]
        assert sel["prior_logprobs"] == pytest.approx(alone, abs=1e-4)
        assert sel["calibration"] == calibration
        plain = plain_planner.act(inp).selection
        assert sel["logprobs"] == pytest.approx(plain["logprobs"], abs=1e-4)
    assert max(lengths) > len(planner._close_ids())  # the model reasoned: the prior had text to read


@pytest.mark.parametrize("action", ["generate", "constrained", "score"])
def test_a_batch_decides_as_its_calls_would_alone(tiny, action):
    kw = {"max_new_tokens": 12} if action == "generate" else {}
    planner = _planner(tiny, action=action, **kw)
    inps = [_inp(i) for i in range(3)]
    alone = [planner.act(i) for i in inps]
    together = [d for d, _ in planner._run_batch(inps)]
    for a, b in zip(alone, together, strict=True):
        assert (a.raw_output, a.skills, a.selection.get("chosen")) == (b.raw_output, b.skills, b.selection.get("chosen"))
        if action == "score":
            assert a.selection["logprobs"] == pytest.approx(b.selection["logprobs"], abs=1e-3)


def test_reusing_the_system_prompt_cache_changes_nothing(tiny):
    model, tok = tiny
    planner = _planner(tiny, action="score")
    prompt = planner.prompt_text(_inp(1))
    ids = tok(prompt, add_special_tokens=False)["input_ids"]
    prefix = planner._prefix_cache()
    assert prefix is not None and tuple(ids[: len(prefix.ids)]) == prefix.ids and len(prefix.ids) > 100
    lm = planner.lm
    cached = decoding.start_rows(lm, [ids], prefix).last_logits
    fresh = decoding.start_rows(lm, [ids]).last_logits
    assert torch.allclose(cached, fresh, atol=1e-4)


def _episode_inputs(instr: str, steps: int) -> list[PlannerInput]:
    """An episode's prompts: each repeats the last one up to the history's new line."""
    done = ["find Apple", "pickup Apple", "find Fridge", "open Fridge"]
    return [PlannerInput(instr, f"Instruction: {instr}\nYou see: Apple, Fridge{', Egg' * (t % 2)}.", step=t,
                         history=[HistoryItem(i + 1, done[i], True, "ok") for i in range(t)],
                         admissible_skills=SKILLS[: 3 + t]) for t in range(steps)]


def test_reusing_an_episodes_last_prompt_changes_nothing(tiny):
    """Each call starts from the longest prefix it shares with a stored prompt (the history so far):
    decisions, distributions and priors are those of a planner that computes every prompt afresh,
    alone and with two episodes' calls batched together."""
    stored = _planner(tiny, action="score")
    fresh = _planner(tiny, action="score", prompt_cache=0)
    first, second = _episode_inputs("Put the apple in the fridge.", 3), _episode_inputs("Break the mirror.", 3)
    got = [stored.act(i) for i in first]
    system = len(stored._prefix_cache().ids)
    assert stored._store.reused_tokens > 0 and stored.describe()["prompt_cache"] == stored.max_batch + 2
    for t in range(1, 3):  # the store went past the system prompt
        assert stored._store.longest(stored.tokenizer(stored.prompt_text(first[t]),
                                                      add_special_tokens=False)["input_ids"])[1] > system
    got += [d for pair in zip(first, second, strict=True) for d, _ in stored._run_batch(list(pair))]
    want = [fresh.act(i) for i in first] + [fresh.act(i) for pair in zip(first, second, strict=True) for i in pair]
    for a, b in zip(got, want, strict=True):
        assert (a.raw_output, a.skills) == (b.raw_output, b.skills)
        assert a.selection["logprobs"] == pytest.approx(b.selection["logprobs"], abs=1e-3)
        assert a.selection["prior_logprobs"] == pytest.approx(b.selection["prior_logprobs"], abs=1e-3)
    assert fresh._store is None and len(stored._store.entries) <= stored.prompt_cache


def test_concurrent_calls_are_batched(tiny):
    planner = _planner(tiny, action="constrained", batch_wait_s=0.2)
    inps = [_inp(i) for i in range(4)]

    async def run():
        return await asyncio.gather(*(planner.aact(i) for i in inps))

    together = asyncio.run(run())
    planner.close()
    assert max(planner._batcher.batch_sizes) > 1
    alone = [planner.act(i) for i in inps]
    assert [d.skills for d in together] == [d.skills for d in alone]
    assert all(d.latency_s > 0 for d in together)


def test_bad_settings_are_refused(tiny):
    with pytest.raises(ValueError, match="closed_loop"):
        _planner(tiny, action="score", mode="open_loop")
    with pytest.raises(ValueError, match="action must be one of"):
        _planner(tiny, action="guess")
    with pytest.raises(ValueError, match="calibration"):
        _planner(tiny, action="score", calibration="magic")
