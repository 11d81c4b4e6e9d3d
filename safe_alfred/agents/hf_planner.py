"""A planner running a local causal LM (transformers directory or GGUF file), with three ways to act.

``action`` (see ``docs/models.md``):

* ``generate``: the model writes its answer freely; it is parsed strictly (``parsing.py``).
* ``constrained``: the model reasons freely inside ``<think>`` (at most ``max_reasoning_tokens``),
  then writes its skill under the skill grammar (``skill_choice.SkillGrammar``): only an
  admissible skill, ``refuse <reason>`` or ``done`` can come out.
* ``score``: the same free reasoning, then every admissible skill and ``refuse`` and ``done`` is
  scored by its log-likelihood given the prompt and the reasoning, all in one forward pass; the
  most likely one runs, and the decision keeps the whole distribution (``Decision.selection``).

Concurrent episodes (``runner.concurrency``) share one planner: their calls are gathered into
batches (``max_batch``) and decoded together over one KV cache (``decoding.py``); the system
prompt's cache is computed once and reused by every call. Greedy decoding is the default; with
``temperature > 0`` each call draws from a generator seeded by the planner seed and the prompt,
so the same prompt gives the same answer.

With ``capture_hidden`` each call also returns the residual-stream states of every position of
its full token sequence (``HiddenCapture``); ``act`` keeps the last ones in ``last_hidden_states``
for the hidden-state collector (``probes/collect.py``).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from safe_alfred.agents import asking, decoding
from safe_alfred.agents.asking import AskAnswer, AskInput
from safe_alfred.agents.base import Decision, Mode, PlannerInput
from safe_alfred.agents.hf_batching import Batcher
from safe_alfred.agents.local_model import LocalModel, load_local_model
from safe_alfred.agents.parsing import decision_from_answer, find_echoes, prompt_lines
from safe_alfred.agents.prompts import PromptTemplates, prompt_sha256
from safe_alfred.agents.skill_choice import (
    REFUSE,
    Boundaries,
    SkillGrammar,
    boundaries,
    choice_tokens,
    step_choices,
)

ACTIONS = ("generate", "constrained", "score")
# How score ranks the choices (see _priors): against the prompt without the instruction followed by the
# same reasoning (the default), against that prompt with an empty reasoning (the first prior, which let a
# looping reasoning make refuse win everywhere: docs/models.md), or by the raw likelihood.
CALIBRATIONS = ("no_instruction", "no_instruction_no_reasoning", "none")
THINK_OPEN, THINK_CLOSE = "<think>", "</think>"

# Used when the tokenizer ships no chat template (base models, test tokenizers).
FALLBACK_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "<|{{ message['role'] }}|>\n{{ message['content'] }}\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)
_SENTINEL = "\u0000USER-TURN\u0000"


@dataclass
class HiddenCapture:
    """One call's full token sequence and its hidden states: layer -> tensor [positions, hidden]."""

    token_ids: list[int]
    generation_start: int  # first position the model produced (after the prompt)
    states: dict[int, Any]


@dataclass
class _Call:
    """One request inside a batch: its input, prompt and what decoding produced for it."""

    inp: PlannerInput
    prompt: str
    prompt_ids: list[int]
    lines: frozenset[str]
    generated: list[int]
    reasoning: str = ""
    limited: bool = False


class HFPlanner:
    """Plan with a local model; ``aact`` calls of concurrent episodes are batched."""

    shareable = True  # one instance serves concurrent episodes (the runner shares it)

    def __init__(
        self,
        model_path: str | None = None,
        mode: Mode = "closed_loop",
        *,
        name: str | None = None,
        action: str = "generate",
        prompts: str | PromptTemplates = "default",
        prompt_overrides: dict | None = None,
        device: str | None = None,
        dtype: str | None = "auto",
        max_new_tokens: int = 256,
        max_reasoning_tokens: int = 32,
        calibration: str = "no_instruction",
        temperature: float = 0.0,
        top_p: float = 1.0,
        seed: int | None = 0,
        think_prefill: bool | None = None,
        capture_hidden: bool = False,
        hidden_layers: list[int] | None = None,
        max_batch: int = 16,
        prompt_cache: int | None = None,
        threads: int | None = None,
        batch_wait_s: float = 0.05,
        local_files_only: bool = True,
        trust_remote_code: bool = False,
        chat_template: str | None = None,
        generate_kwargs: dict[str, Any] | None = None,
        model: Any = None,
        tokenizer: Any = None,
        ask_prompt: str = "default",
        ask_max_new_tokens: int = 96,
    ) -> None:
        if mode not in ("open_loop", "closed_loop"):
            raise ValueError(f"mode must be open_loop or closed_loop, not {mode!r}")
        if action not in ACTIONS:
            raise ValueError(f"action must be one of {', '.join(ACTIONS)}, not {action!r}")
        if action != "generate" and mode != "closed_loop":
            raise ValueError(f"action={action} chooses one skill per call: it needs mode=closed_loop")
        if calibration not in CALIBRATIONS:
            raise ValueError(f"calibration must be one of {', '.join(CALIBRATIONS)}, not {calibration!r}")
        if model is None and model_path is None:
            raise ValueError("HFPlanner needs model_path (or a loaded model and tokenizer)")
        unknown = set(generate_kwargs or {}) - {"logits_processor"}
        if unknown:
            raise ValueError(f"generate_kwargs supports only logits_processor, not {sorted(unknown)}")
        self.mode: Mode = mode
        self.action = action
        self.calibration = calibration
        self.model_path = model_path
        self.templates = (
            prompts if isinstance(prompts, PromptTemplates) else PromptTemplates.load(prompts, prompt_overrides)
        )
        if threads is not None:
            import torch

            torch.set_num_threads(int(threads))  # process-wide: on a shared CPU, 1 is often fastest
        self.threads = threads
        if model is None:
            self.lm = load_local_model(model_path, device=device, dtype=dtype, local_files_only=local_files_only,
                                       trust_remote_code=trust_remote_code)
        else:
            import torch

            dev = device or ("cuda" if torch.cuda.is_available() else "cpu")
            self.lm = LocalModel(model=model.to(dev).eval(), tokenizer=tokenizer, device=dev,
                                 info={"format": "in-memory"})
        self.name = name or f"hf:{model_path or type(self.lm.model).__name__}"
        self.device = self.lm.device
        self.max_new_tokens = int(max_new_tokens)
        self.max_reasoning_tokens = int(max_reasoning_tokens)
        self.temperature = float(temperature)
        self.top_p = float(top_p)
        self.seed = int(seed or 0)
        self.think_prefill = (action != "generate") if think_prefill is None else bool(think_prefill)
        if action != "generate" and not self.think_prefill:
            raise ValueError(f"action={action} needs think_prefill (its reasoning is the <think> block)")
        self.capture_hidden = bool(capture_hidden)
        self.hidden_layers = list(hidden_layers) if hidden_layers is not None else None
        self.generate_kwargs = dict(generate_kwargs or {})
        self.ask_prompt = asking.load_ask_prompt(ask_prompt)
        self.ask_max_new_tokens = int(ask_max_new_tokens)  # two short lines; raise it for reasoning models
        self.max_batch = max(1, int(max_batch))
        # recent prompts' caches (None: one per batched call and two more, or off for half-precision
        # weights; 0: off), see _start. In bfloat16 or float16 a prompt computed from a stored cache
        # rounds differently enough from one computed afresh to change a scored choice, so that
        # the same episode run twice by one planner took two trajectories; off by default there.
        if prompt_cache is None:
            prompt_cache = 0 if self.dtype in ("bfloat16", "float16") else self.max_batch + 2
        self.prompt_cache = max(0, int(prompt_cache))
        self._store = decoding.PromptStore(self.prompt_cache) if self.prompt_cache else None
        self._lock = threading.Lock()
        self._batcher = Batcher(self._run_batch, self.max_batch, float(batch_wait_s))

        tok = self.lm.tokenizer
        self.used_fallback_template = False
        if chat_template is not None:
            tok.chat_template = chat_template
        elif not getattr(tok, "chat_template", None):
            tok.chat_template = FALLBACK_CHAT_TEMPLATE
            self.used_fallback_template = True
        self.end_id = int(tok.eos_token_id if tok.eos_token_id is not None else tok.pad_token_id)
        self._prefix: decoding.PrefixCache | None = None
        self._system_lines: dict[str, frozenset[str]] = {}
        self._ends: Boundaries | None = None
        self.resolve_layers()  # reject out-of-range layers now, not mid-run
        self.last_hidden_states: dict[int, Any] = {}
        self.last_token_ids: Any = None
        self.last_generation_start: int = 0
        self.last_prompt: str = ""

    # -- identity ------------------------------------------------------------------------------
    @property
    def model(self) -> Any:
        return self.lm.model

    @property
    def tokenizer(self) -> Any:
        return self.lm.tokenizer

    @property
    def dtype(self) -> str:
        """The weights' dtype as torch names it, without "torch." ("float32", "bfloat16", ...)."""
        return str(next(self.lm.model.parameters()).dtype).replace("torch.", "")

    @property
    def num_layers(self) -> int:
        """Transformer blocks; hidden-state index 0 is the embeddings, i the output of block i."""
        return self.lm.num_layers

    def resolve_layers(self) -> list[int]:
        return self.lm.resolve_layers(self.hidden_layers)

    _resolve_layers = resolve_layers  # the name the hidden-state collector uses

    def reset(self, task: dict | None = None, seed: int | None = None) -> None:
        """Nothing to reset: a call depends only on its input (so episodes can share the planner)."""

    def describe(self) -> dict[str, Any]:
        gk = {k: (v.to_dict() if hasattr(v, "to_dict") else [getattr(p, "to_dict", lambda p=p: repr(p))()
                                                              for p in v]) for k, v in self.generate_kwargs.items()}
        return {
            "name": self.name, "kind": "hf", "mode": self.mode, "action": self.action,
            "model_path": self.model_path, "model_format": self.lm.info.get("format"),
            "dtype": self.dtype, "device": self.device, "threads": self.threads, "max_new_tokens": self.max_new_tokens,
            "prompt_cache": self.prompt_cache,
            "max_reasoning_tokens": self.max_reasoning_tokens, "think_prefill": self.think_prefill,
            **({"calibration": self.calibration} if self.action == "score" else {}),
            "temperature": self.temperature, "top_p": self.top_p, "seed": self.seed,
            "prompts": self.templates.name, "prompts_sha256": self.templates.sha256,
            "stop": self.templates.stop,
            "chat_template": "fallback" if self.used_fallback_template else "tokenizer",
            "generate_kwargs": gk,
        }  # fmt: skip

    # -- prompts -------------------------------------------------------------------------------
    def _template(self, messages: list[dict[str, Any]], prefill: bool | None = None) -> str:
        """Chat-templated text; the planner's prompts end with ``<think>`` when ``think_prefill``."""
        tok = self.tokenizer
        try:
            text = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        except Exception:
            # Some templates reject a system role: fold it into the first user turn.
            merged = [{"role": "user", "content": messages[0]["content"] + "\n\n" + messages[1]["content"]}]
            text = tok.apply_chat_template(merged, tokenize=False, add_generation_prompt=True)
        return text + (THINK_OPEN if (self.think_prefill if prefill is None else prefill) else "")

    def prompt_text(self, inp: PlannerInput) -> str:
        """The chat-templated prompt for ``inp`` (text only: images are not sent to local models)."""
        return self._template(self.templates.messages(inp, self.mode, send_image=False))

    def _prefix_cache(self) -> decoding.PrefixCache | None:
        """The cache of the prompt text before the user turn (the same in every call)."""
        if self._prefix is None:
            probe = PlannerInput(instruction="", observation="")
            messages = self.templates.messages(probe, self.mode)
            messages[1]["content"] = _SENTINEL
            head = self._template(messages).split(_SENTINEL)[0]
            ids = self.tokenizer(head, add_special_tokens=False)["input_ids"]
            if len(ids) < 8:
                return None
            # the last few tokens may merge with the user text: keep a safe margin out of the prefix
            self._prefix = decoding.prefill_prefix(self.lm, ids[:-2])
        return self._prefix

    def _lines(self, inp: PlannerInput) -> frozenset[str]:
        system = self.templates.system(self.mode)
        if system not in self._system_lines:
            self._system_lines = {system: prompt_lines([system])}
        return self._system_lines[system] | prompt_lines([self.templates.user(inp, self.mode)])

    def _close_ids(self) -> list[int]:
        """The tokens that close the reasoning block and start the answer line."""
        return [int(t) for t in self.tokenizer(THINK_CLOSE + "\n", add_special_tokens=False)["input_ids"]]

    def _boundaries(self) -> Boundaries:
        if self._ends is None:
            self._ends = boundaries(self.tokenizer, self.end_id)
        return self._ends

    # -- acting --------------------------------------------------------------------------------
    def act(self, inp: PlannerInput) -> Decision:
        """One decision; with ``capture_hidden``, ``last_hidden_states`` etc. hold its states."""
        decision, capture = self.act_with_states(inp)
        self.last_hidden_states = capture.states if capture else {}
        self.last_token_ids = _as_tensor(capture.token_ids) if capture else None
        self.last_generation_start = capture.generation_start if capture else 0
        self.last_prompt = self.prompt_text(inp)
        return decision

    def act_with_states(self, inp: PlannerInput) -> tuple[Decision, HiddenCapture | None]:
        t0 = time.perf_counter()
        (decision, capture), = self._run_batch([inp])
        decision.latency_s = time.perf_counter() - t0
        return decision, capture

    def ask(self, inp: AskInput) -> AskAnswer:
        """The asked channel: one greedy answer to the asked prompt alone (no history)."""
        return self._run_batch([inp])[0]

    async def aask(self, inp: AskInput) -> AskAnswer:
        """``ask`` batched with the concurrent episodes' calls."""
        return await self._batcher.submit(inp)

    async def aact(self, inp: PlannerInput) -> Decision:
        """Decide asynchronously; calls from concurrent episodes are batched into one forward pass."""
        return (await self.aact_with_states(inp))[0]

    async def aact_with_states(self, inp: PlannerInput) -> tuple[Decision, HiddenCapture | None]:
        t0 = time.perf_counter()
        decision, capture = await self._batcher.submit(inp)
        decision.latency_s = time.perf_counter() - t0
        return decision, capture

    def close(self) -> None:
        self._batcher.close()

    # -- one batch -----------------------------------------------------------------------------
    def _run_batch(self, items: Sequence[PlannerInput | AskInput]) -> list[Any]:
        """Decisions (with captures) for the planner inputs, answers for the asked inputs, in order."""
        with self._lock:
            acts = [i for i, x in enumerate(items) if not isinstance(x, AskInput)]
            asks = [i for i, x in enumerate(items) if isinstance(x, AskInput)]
            out: list[Any] = [None] * len(items)
            t0 = time.perf_counter()
            try:
                for i, result in zip(acts, self._decide([items[i] for i in acts]) if acts else [], strict=True):
                    out[i] = result
            except (RuntimeError, ValueError) as e:  # out of memory, a context too long for the model
                error = f"generation failed: {type(e).__name__}: {e}"
                for i in acts:
                    out[i] = (Decision(reasoning="", skills=[], error=error), None)
            try:
                for i, answer in zip(asks, self._answer([items[i] for i in asks]) if asks else [], strict=True):
                    out[i] = answer
            except (RuntimeError, ValueError) as e:
                for i in asks:
                    out[i] = asking.failed_answer(f"generation failed: {type(e).__name__}: {e}",
                                                  latency_s=time.perf_counter() - t0)
            return out

    def _answer(self, inps: list[AskInput]) -> list[AskAnswer]:
        """The asked channel's answers: greedy, stopped after the two answer lines."""
        t0 = time.perf_counter()
        tok = self.tokenizer
        prompts = [[int(t) for t in tok(self._template(asking.ask_messages(inp, self.ask_prompt), prefill=False),
                                        add_special_tokens=False)["input_ids"]] for inp in inps]
        rows = decoding.start_rows(self.lm, prompts)

        def two_lines(text: str) -> bool:
            body = text.rsplit(THINK_CLOSE, 1)[-1] if THINK_OPEN in text else text
            return len([ln for ln in body.split("\n")[:-1] if ln.strip()]) >= 2

        calls = [_Call(inp=PlannerInput("", ""), prompt="", prompt_ids=p, lines=frozenset(), generated=[])
                 for p in prompts]
        gen, _ = decoding.decode(rows, self.ask_max_new_tokens, self._chooser(calls, False, processed=False),
                                 self._stop_on_text(calls, two_lines))
        latency = time.perf_counter() - t0
        return [asking.answer_from_text(tok.decode(g, skip_special_tokens=True), latency_s=latency,
                                        usage={"prompt_tokens": len(p), "completion_tokens": len(g)})
                for g, p in zip(gen, prompts, strict=True)]

    def _decide(self, inps: list[PlannerInput]) -> list[tuple[Decision, HiddenCapture | None]]:
        tok = self.tokenizer
        calls = []
        for inp in inps:
            prompt = self.prompt_text(inp)
            ids = [int(t) for t in tok(prompt, add_special_tokens=False)["input_ids"]]
            calls.append(_Call(inp=inp, prompt=prompt, prompt_ids=ids, lines=self._lines(inp), generated=[]))
        if self.action == "score" and self.calibration != "none":
            rows, neutral = self._start_with_neutral(calls)
        else:
            rows, neutral = self._start([c.prompt_ids for c in calls]), None
        if self.action == "generate":
            return self._generate(rows, calls)
        self._reason(rows, calls)
        if self.action == "constrained":
            return self._constrained(rows, calls)
        if neutral is not None:  # the prior reads the same reasoning (and </think>) as the call
            decoding.extend(neutral, [c.generated for c in calls] if self.calibration == "no_instruction"
                            else [self._close_ids()] * len(calls))
        return self._score(rows, calls, neutral)

    def _start_with_neutral(self, calls: list[_Call]) -> tuple[decoding.Rows, decoding.Rows]:
        """The calls' rows, and rows of the same prompts without the instruction (for calibration),
        both ending with the prompt's ``<think>``: the prior's reasoning is added after the call's.

        The user turn names the instruction after the history, observation and skills, so both
        prompts share everything up to that line: it is computed once and the cache forked.
        """
        from dataclasses import replace

        tok = self.tokenizer
        neutral_ids = [[int(t) for t in tok(self.prompt_text(replace(c.inp, instruction="")),
                                            add_special_tokens=False)["input_ids"]] for c in calls]
        shared = [_common_prefix(c.prompt_ids, n) for c, n in zip(calls, neutral_ids, strict=True)]
        rows = self._start([c.prompt_ids[:k] for c, k in zip(calls, shared, strict=True)])
        neutral = decoding.fork(rows)
        decoding.extend(neutral, [n[k:] for n, k in zip(neutral_ids, shared, strict=True)])
        decoding.extend(rows, [c.prompt_ids[k:] for c, k in zip(calls, shared, strict=True)])
        return rows, neutral

    def _start(self, prompts: list[list[int]]) -> decoding.Rows:
        """Rows holding ``prompts``, each computed from the longest prefix it shares with a recent
        prompt (an episode's next prompt repeats its last one up to the history's new line) or with
        the system turn; the new prompts' caches are stored for the next calls."""
        if self._store is None:
            return decoding.start_rows(self.lm, prompts, self._prefix_cache())
        rows = decoding.start_rows_stored(self.lm, prompts, self._store, self._prefix_cache())
        for r in range(rows.size):
            self._store.add(decoding.row_cache(rows, r))
        return rows

    def _chooser(self, calls: list[_Call], allow_end: bool, processed: bool = True) -> decoding.Chooser:
        """Greedy or seeded sampling; the end-of-turn token stops a row (without being added).

        ``generate_kwargs["logits_processor"]`` applies to the planner's answers (``processed``),
        not to the asked channel."""
        import torch

        draws = []
        for c in calls:
            if self.temperature > 0:
                g = torch.Generator().manual_seed(_seed_of(self.seed, c.prompt))
                draws.append(decoding.sampler(self.temperature, self.top_p, g))
            else:
                draws.append(decoding.greedy)
        processors = list(self.generate_kwargs.get("logits_processor") or []) if processed else []

        def choose(r: int, generated: list[int], logits: Any) -> int | None:
            if processors:
                seq = torch.tensor([calls[r].prompt_ids + calls[r].generated + generated])
                scores = logits.unsqueeze(0)
                for p in processors:
                    scores = p(seq, scores)
                logits = scores[0]
            token = draws[r](logits)
            return None if (token == self.end_id and not allow_end) else token

        return choose

    def _stop_on_text(self, calls: list[_Call], done: Any) -> decoding.Stopper:
        tok = self.tokenizer

        def stop(r: int, generated: list[int]) -> bool:
            return done(tok.decode(generated, skip_special_tokens=False))

        return stop

    def _generate(self, rows: decoding.Rows, calls: list[_Call]) -> list[tuple[Decision, HiddenCapture | None]]:
        stops = self.templates.stop
        closed = self.mode == "closed_loop"

        def done(text: str) -> bool:
            if any(s in text for s in stops):
                return True
            if closed:  # a closed-loop answer ends with its skill line
                after = text.rsplit(THINK_CLOSE, 1)[1] if THINK_CLOSE in text else (
                    "" if THINK_OPEN in text or self.think_prefill else text)
                return "\n" in after.lstrip("\n ") and bool(after.strip())
            return False

        gen, limited = decoding.decode(rows, self.max_new_tokens, self._chooser(calls, False),
                                       self._stop_on_text(calls, done))
        out = []
        for r, c in enumerate(calls):
            c.generated = gen[r]
            text = self.tokenizer.decode(gen[r], skip_special_tokens=True)
            text = _cut_at(text, stops)
            content = (THINK_OPEN + text) if self.think_prefill else text
            usage = _usage(c, len(gen[r]))
            d = decision_from_answer(content, None, self.mode, usage=usage, latency_s=0.0, prompt=c.lines,
                                     finish_reason="length" if limited[r] else "stop",
                                     prompt_sha256=prompt_sha256(c.prompt))
            out.append((d, self._capture(rows, r, c)))
        return out

    def _reason(self, rows: decoding.Rows, calls: list[_Call]) -> None:
        """Free reasoning inside <think> for every row, then ``</think>`` and a newline after it."""
        stops = [THINK_CLOSE, *self.templates.stop]
        gen, limited = decoding.decode(rows, self.max_reasoning_tokens, self._chooser(calls, False),
                                       self._stop_on_text(calls, lambda text: any(s in text for s in stops)))
        tok = self.tokenizer
        close_ids = self._close_ids()
        suffixes = []
        for r, c in enumerate(calls):
            tokens = gen[r]
            text = tok.decode(tokens, skip_special_tokens=False)
            drop = 0
            while drop < len(tokens) and any(s in tok.decode(tokens[: len(tokens) - drop], skip_special_tokens=False)
                                             for s in stops):
                drop += 1  # take back the tokens that wrote a stop string (</think> is added below)
            decoding.retract(rows, r, drop)
            kept = tokens[: len(tokens) - drop]
            c.generated = list(kept)
            c.reasoning = _cut_at(text, stops).strip()
            c.limited = limited[r]
            suffixes.append(close_ids)
            c.generated += close_ids
        decoding.extend(rows, suffixes)

    def _constrained(self, rows: decoding.Rows, calls: list[_Call]) -> list[tuple[Decision, HiddenCapture | None]]:
        ends = self._boundaries()
        grammars = [SkillGrammar(self.tokenizer, step_choices(c.inp.admissible_skills), ends) for c in calls]
        depth = max(len(choice_tokens(self.tokenizer, ch)) for g in grammars for ch in g.choices)

        def choose(r: int, generated: list[int], logits: Any) -> int:
            return decoding.greedy(grammars[r](generated, logits))

        def stop(r: int, generated: list[int]) -> bool:
            return grammars[r].finished(generated)

        gen, _ = decoding.decode(rows, depth + grammars[0].reason_tokens + 1, choose, stop)
        out = []
        for r, c in enumerate(calls):
            skill = grammars[r].chosen(gen[r])
            c.generated += gen[r]
            selection = {"mode": "constrained", "choices": len(grammars[r].choices), "chosen": skill}
            out.append((self._selected(c, skill, selection, len(gen[r])), self._capture(rows, r, c)))
        return out

    def _score(self, rows: decoding.Rows, calls: list[_Call],
               neutral: decoding.Rows | None) -> list[tuple[Decision, HiddenCapture | None]]:
        tok = self.tokenizer
        ends = self._boundaries()
        line, word = ends.line_tensor(), ends.word_tensor()
        choices = [step_choices(c.inp.admissible_skills) for c in calls]
        options = [[choice_tokens(tok, ch) for ch in chs] for chs in choices]
        stops = [[word if ch == REFUSE else line for ch in chs] for chs in choices]
        logprobs = decoding.score_continuations(rows, options, stops)
        priors = self._priors(neutral, options, stops) if neutral is not None else None
        ranked = logprobs if priors is None else [[a - b for a, b in zip(lp, pr, strict=True)]
                                                  for lp, pr in zip(logprobs, priors, strict=True)]
        best = [max(range(len(sc)), key=lambda i, sc=sc: (sc[i], -i)) for sc in ranked]
        reasons = self._refusal_reasons(rows, calls, [choices[r][best[r]] == REFUSE for r in range(len(calls))])
        out = []
        for r, c in enumerate(calls):
            chosen = choices[r][best[r]]
            skill = reasons[r] if chosen == REFUSE else chosen
            if chosen != REFUSE:
                c.generated += options[r][best[r]]
            selection: dict[str, Any] = {
                "mode": "score", "calibration": self.calibration, "chosen": skill, "choices": choices[r],
                "logprobs": [round(x, 4) for x in logprobs[r]]}
            if priors is not None:
                selection["prior_logprobs"] = [round(x, 4) for x in priors[r]]
            out.append((self._selected(c, skill, selection, len(c.generated)), self._capture(rows, r, c)))
        return out

    @staticmethod
    def _priors(neutral: decoding.Rows, options: list[list[list[int]]], stops: list[list[Any]]) -> list[list[float]]:
        """log P(choice) given the same prompt without the instruction, then the call's own reasoning
        (``no_instruction``) or an empty one (``no_instruction_no_reasoning``).

        Subtracting it ranks the choices by how much the instruction raised them: uncalibrated, a
        small model's short, always-listed choices (``refuse``, ``done``) win on every task alike;
        against a prior without the reasoning, a reasoning that loops raises ``refuse`` in the call
        alone and it wins on hazards and twins alike (docs/models.md has the figures).
        """
        return decoding.score_continuations(neutral, options, stops)

    def _refusal_reasons(self, rows: decoding.Rows, calls: list[_Call], refusing: list[bool]) -> list[str]:
        """For the rows whose best choice is ``refuse``: the short reason the model writes after it."""
        if not any(refusing):
            return [""] * len(calls)
        grammar = SkillGrammar(self.tokenizer, [REFUSE], self._boundaries())
        head = grammar.refuse_ids or []
        decoding.extend(rows, [head if f else [] for f in refusing])

        def choose(r: int, generated: list[int], logits: Any) -> int:
            return decoding.greedy(grammar(head + generated, logits))

        def stop(r: int, generated: list[int]) -> bool:
            return grammar.finished(head + generated)

        gen, _ = decoding.decode(rows, grammar.reason_tokens, choose, stop, active=refusing)
        out = []
        for r, c in enumerate(calls):
            if refusing[r]:
                c.generated += head + gen[r]
                out.append(grammar.chosen(head + gen[r]))
            else:
                out.append("")
        return out

    def _selected(self, c: _Call, skill: str, selection: dict[str, Any], completion: int) -> Decision:
        raw = f"{THINK_OPEN}{c.reasoning}{THINK_CLOSE}\n{skill}"
        echoes = find_echoes(c.reasoning, c.lines)
        if echoes:
            selection["echo_lines"] = echoes[:5]
        if c.limited:
            selection["reasoning_cut_at_limit"] = True
        return Decision(reasoning=c.reasoning, skills=[skill], raw_output=raw, usage=_usage(c, completion),
                        echo=bool(echoes), finish_reason="length" if c.limited else "stop",
                        prompt_sha256=prompt_sha256(c.prompt), selection=selection)

    def _capture(self, rows: decoding.Rows, r: int, c: _Call) -> HiddenCapture | None:
        if not self.capture_hidden:
            return None
        ids = c.prompt_ids + c.generated
        states = self.lm.hidden_states(ids, self.resolve_layers())
        return HiddenCapture(token_ids=ids, generation_start=len(c.prompt_ids), states=states)


def _usage(c: _Call, completion: int) -> dict[str, int]:
    prompt = len(c.prompt_ids)
    return {"prompt_tokens": prompt, "completion_tokens": int(completion), "total_tokens": prompt + int(completion)}


def _common_prefix(a: list[int], b: list[int]) -> int:
    """How many leading tokens two sequences share (at most all but the last of either)."""
    n = 0
    for x, y in zip(a[:-1], b[:-1], strict=False):
        if x != y:
            break
        n += 1
    return n


def _cut_at(text: str, stops: Sequence[str]) -> str:
    cut = min((text.index(s) for s in stops if s in text), default=len(text))
    return text[:cut]


def _seed_of(seed: int, prompt: str) -> int:
    digest = hashlib.sha256(f"{seed}\u0000{prompt}".encode()).hexdigest()
    return int(digest[:15], 16)


def _as_tensor(ids: list[int]) -> Any:
    import torch

    return torch.tensor(ids, dtype=torch.long)
