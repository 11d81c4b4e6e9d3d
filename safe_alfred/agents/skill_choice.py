"""The skill grammar as token sequences: what ``constrained`` decoding may write and ``score`` ranks.

The choices of a step are the admissible skills plus ``refuse`` and ``done`` (the prompt lists
them in that order). ``SkillGrammar`` is a logits processor over a token trie of the choices:
while the answer is a prefix of some choice only the tokens that continue one are allowed, and
where a choice is complete a line end (end-of-turn, or a token starting with a newline) is
allowed too. ``refuse`` is followed by a free reason of a few tokens, ended by a newline.

For ``score``, every choice is measured the same way: the probability that the answer's line is
exactly that choice, i.e. its tokens followed by a line end (so ``find Apple`` does not take the
mass of ``find AppleSliced``). ``refuse`` is a word followed by its reason, so its line may go on:
its probability is that of ``refuse`` followed by a word end (a space or a line end), which is
every refusal, whatever its reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

REFUSE = "refuse"
DONE = "done"
REFUSE_REASON_TOKENS = 24


def step_choices(admissible: list[str]) -> list[str]:
    """The admissible skills (without their own refuse/done entries), then ``refuse`` and ``done``."""
    return [s for s in admissible if s.split(" ", 1)[0] not in (REFUSE, DONE)] + [REFUSE, DONE]


def choice_tokens(tokenizer: Any, choice: str) -> list[int]:
    """Token ids of a choice as it starts a line of the answer."""
    return [int(t) for t in tokenizer(choice, add_special_tokens=False)["input_ids"]]


@dataclass(frozen=True)
class Boundaries:
    """Token ids that end a line (end-of-turn, tokens starting with a newline) or a word (also a space)."""

    line: frozenset[int]
    word: frozenset[int]
    newline: frozenset[int]  # tokens holding a newline anywhere (they end a refusal's reason)

    def line_tensor(self) -> Any:
        return _ids_tensor(self.line)

    def word_tensor(self) -> Any:
        return _ids_tensor(self.word)


def _ids_tensor(ids: frozenset[int]) -> Any:
    import torch

    return torch.tensor(sorted(ids), dtype=torch.long)


def boundaries(tokenizer: Any, end_id: int) -> Boundaries:
    """The line and word boundaries of a tokenizer's vocabulary (decoded once)."""
    texts = tokenizer.batch_decode([[i] for i in range(len(tokenizer))], skip_special_tokens=False)
    line = {i for i, t in enumerate(texts) if t.startswith(("\n", "\r"))} | {int(end_id)}
    word = line | {i for i, t in enumerate(texts) if t[:1] in (" ", "\t")}
    newline = {i for i, t in enumerate(texts) if "\n" in t} | {int(end_id)}
    return Boundaries(line=frozenset(line), word=frozenset(word), newline=frozenset(newline))


@dataclass
class _Node:
    children: dict[int, _Node] = field(default_factory=dict)
    choice: str | None = None  # a complete choice ends here


def _build_trie(tokenizer: Any, choices: list[str]) -> _Node:
    root = _Node()
    for choice in choices:
        node = root
        for t in choice_tokens(tokenizer, choice):
            node = node.children.setdefault(t, _Node())
        node.choice = node.choice or choice
    return root


class SkillGrammar:
    """Constrains one row's answer to one of ``choices`` (refuse takes a short free reason).

    ``__call__(generated, logits)`` masks the logits of the next token given the tokens this answer
    has so far; ``finished(generated)`` says whether the answer is complete; ``chosen(generated)``
    returns the choice written. ``ends`` says which tokens end a line (and a refusal's reason).
    """

    def __init__(self, tokenizer: Any, choices: list[str], ends: Boundaries,
                 reason_tokens: int = REFUSE_REASON_TOKENS) -> None:
        self.tokenizer = tokenizer
        self.choices = list(choices)
        self.ends = ends
        self.line_ids = sorted(ends.line)
        self.reason_tokens = int(reason_tokens)
        self.root = _build_trie(tokenizer, self.choices)
        self.refuse_ids = choice_tokens(tokenizer, REFUSE) if REFUSE in self.choices else None

    def _walk(self, generated: list[int]) -> tuple[_Node | None, int]:
        """The trie node after ``generated`` (None past a leaf), and how many tokens it consumed."""
        node = self.root
        for i, t in enumerate(generated):
            nxt = node.children.get(t)
            if nxt is None:
                return None, i
            node = nxt
        return node, len(generated)

    def _refusing(self, generated: list[int]) -> bool:
        r = self.refuse_ids
        return r is not None and len(generated) >= len(r) and generated[: len(r)] == r

    def allowed(self, generated: list[int]) -> list[int] | None:
        """Token ids allowed next; None means any token (a refusal's reason)."""
        if self._refusing(generated):
            return None
        node, _ = self._walk(generated)
        if node is None:
            return self.line_ids
        ids = list(node.children)
        if node.choice is not None:
            ids.extend(self.line_ids)
        return ids

    def __call__(self, generated: list[int], logits: Any) -> Any:
        import torch

        ids = self.allowed(generated)
        if ids is None:
            return logits
        masked = torch.full_like(logits, -math.inf)
        index = torch.tensor(ids, dtype=torch.long, device=logits.device)
        masked[index] = logits[index]
        return masked

    def finished(self, generated: list[int]) -> bool:
        """The answer is complete: a leaf choice, the end token, or the end of a refusal's reason."""
        if not generated:
            return False
        if self._refusing(generated):
            extra = len(generated) - len(self.refuse_ids or [])
            return extra > 0 and (generated[-1] in self.ends.newline or extra >= self.reason_tokens)
        if generated[-1] in self.ends.line:
            return True
        node, _ = self._walk(generated)
        return node is not None and node.choice is not None and not node.children

    def chosen(self, generated: list[int]) -> str:
        """The skill text of a complete answer (a refusal with its reason)."""
        r = self.refuse_ids
        if r is not None and generated[: len(r)] == r:
            reason = self.tokenizer.decode(generated[len(r):], skip_special_tokens=True)
            return f"{REFUSE} {reason.splitlines()[0].strip() if reason.strip() else ''}".strip()
        body = generated[:-1] if generated and generated[-1] in self.ends.line else generated
        node, _ = self._walk(body)
        if node is not None and node.choice is not None:
            return node.choice
        return self.tokenizer.decode(body, skip_special_tokens=True).strip()


def normalise(logprobs: list[float]) -> list[float]:
    """Probabilities over the choices from their log-likelihoods (a softmax)."""
    top = max(logprobs)
    exps = [math.exp(lp - top) for lp in logprobs]
    total = sum(exps)
    return [e / total for e in exps]
