"""Batched decoding over one shared KV cache: prefill, greedy or sampled steps, and choice scoring.

Why not ``model.generate``: the planner needs three things it does not give together. (1) The
system prompt is the same for every call, so its KV cache is computed once and reused
(``PrefixCache``): on a CPU that is most of the prompt. (2) One call is several phases on the
same cache (free reasoning, then a forced ``</think>``, then a grammar-constrained skill or the
scoring of every choice), for a batch of episodes whose prompts differ in length. (3) Scoring
all choices of every row in one forward pass, each choice attending to its own row's prefix and
to itself only (a 4-D attention mask), without copying the prefix once per choice.

Rows are ragged: a row's tokens are wherever its attention-mask entries are 1 (padding may sit
between its tokens), and its position ids count only its own tokens, so a row decodes exactly
as it would alone, up to floating-point rounding of the batched matrix products.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

# A row's next-token rule: (row, its tokens generated in this phase, its logits) -> token id, or
# None to stop that row without adding a token.
Chooser = Callable[[int, list[int], Any], "int | None"]
# Whether a row is finished after the token just added: (row, its tokens generated in this phase).
Stopper = Callable[[int, list[int]], bool]


@dataclass
class PrefixCache:
    """The KV cache of a token prefix shared by every prompt (the chat-templated system turn)."""

    ids: tuple[int, ...]
    cache: Any  # a transformers Cache of batch size 1
    last_logits: Any  # [vocab]


@dataclass
class RowCache:
    """One row's KV cache for a token prefix, compact (no padding): per layer (keys, values) [1, heads, len, dim]."""

    ids: tuple[int, ...]
    layers: list[tuple[Any, Any]]


class PromptStore:
    """The caches of recent prompts, to start a new prompt from the longest prefix it shares with one.

    An episode's next prompt repeats its last one up to the history's new line (system turn, the
    steps executed so far), so its call recomputes only what changed. Entries are kept
    most-recent-first, at most ``capacity`` of them (each holds ~46 KB per token for SmolLM2-135M).
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = max(1, int(capacity))
        self.entries: list[RowCache] = []
        self.reused_tokens = 0  # tokens taken from stored prompts beyond the system prefix (profile, tests)

    def longest(self, ids: Sequence[int]) -> tuple[RowCache | None, int]:
        """The entry sharing the longest token prefix with ``ids`` (at most all but its last token)."""
        best, best_k = None, 0
        limit = len(ids) - 1
        for e in self.entries:
            k = _shared(e.ids, ids, limit)
            if k > best_k:
                best, best_k = e, k
        return best, best_k

    def add(self, entry: RowCache) -> None:
        self.entries = [entry] + [e for e in self.entries if e.ids != entry.ids][: self.capacity - 1]


def _shared(a: Sequence[int], b: Sequence[int], limit: int) -> int:
    n = min(len(a), len(b), limit)
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n


@dataclass
class Rows:
    """A batch of sequences sharing one KV cache."""

    lm: Any  # safe_alfred.agents.local_model.LocalModel
    cache: Any
    mask: Any  # [batch, cache length] long: 1 where the entry is one of the row's tokens
    next_pos: list[int]  # each row's next position id (its own token count)
    last_logits: Any  # [batch, vocab]: the logits after each row's last token
    tokens: list[list[int]] = field(default_factory=list)  # each row's tokens, in order

    @property
    def size(self) -> int:
        return len(self.tokens)


@functools.cache
def _cache_kwarg(model_class: type) -> str:
    """``cache`` in transformers 5.x, ``past_key_values`` before."""
    import inspect

    return "cache" if "cache" in inspect.signature(model_class.forward).parameters else "past_key_values"


def _forward(lm: Any, input_ids: Any, attention_mask: Any, position_ids: Any, cache: Any,
             logits_to_keep: Any = 0) -> Any:
    """One forward pass appending to ``cache`` (which the model updates in place)."""
    import torch

    kwargs = {"input_ids": input_ids, "attention_mask": attention_mask, "position_ids": position_ids,
              _cache_kwarg(type(lm.model)): cache, "use_cache": True}
    with torch.no_grad():
        try:
            return lm.model(**kwargs, logits_to_keep=logits_to_keep)
        except TypeError:  # a model without logits_to_keep: full logits
            return lm.model(**kwargs)


def _new_cache(lm: Any) -> Any:
    from transformers import DynamicCache

    try:
        return DynamicCache(config=lm.model.config)
    except TypeError:
        return DynamicCache()


def _pad_id(lm: Any) -> int:
    tok = lm.tokenizer
    return int(tok.pad_token_id if tok.pad_token_id is not None else (tok.eos_token_id or 0))


def prefill_prefix(lm: Any, ids: Sequence[int]) -> PrefixCache:
    """Compute the cache of a shared prefix once (batch size 1)."""
    rows = start_rows(lm, [list(ids)])
    return PrefixCache(ids=tuple(int(i) for i in ids), cache=rows.cache, last_logits=rows.last_logits[0])


def start_rows(lm: Any, prompts: Sequence[Sequence[int]], prefix: PrefixCache | None = None) -> Rows:
    """Rows holding ``prompts``; with ``prefix`` (when every prompt starts with it) its cache is reused."""
    import torch

    n = len(prompts)
    device = lm.device
    if prefix is not None and prefix.ids and all(tuple(p[: len(prefix.ids)]) == prefix.ids for p in prompts):
        cache = copy.deepcopy(prefix.cache)
        if n > 1:
            cache.batch_repeat_interleave(n)
        k = len(prefix.ids)
        rows = Rows(lm=lm, cache=cache, mask=torch.ones((n, k), dtype=torch.long, device=device),
                    next_pos=[k] * n, last_logits=prefix.last_logits.unsqueeze(0).repeat(n, 1),
                    tokens=[list(prefix.ids) for _ in range(n)])
        extend(rows, [list(p[k:]) for p in prompts])
        return rows
    rows = Rows(lm=lm, cache=_new_cache(lm), mask=torch.zeros((n, 0), dtype=torch.long, device=device),
                next_pos=[0] * n, last_logits=None, tokens=[[] for _ in range(n)])
    extend(rows, [list(p) for p in prompts])
    return rows


def row_cache(rows: Rows, r: int) -> RowCache:
    """A compact copy of row ``r``'s cache (its tokens only, padding dropped)."""
    keep = rows.mask[r].nonzero().flatten()
    layers = [(layer.keys[r: r + 1].index_select(2, keep).clone(), layer.values[r: r + 1].index_select(2, keep).clone())
              for layer in rows.cache.layers]
    return RowCache(ids=tuple(rows.tokens[r]), layers=layers)


def start_rows_stored(lm: Any, prompts: Sequence[Sequence[int]], store: PromptStore,
                      prefix: PrefixCache | None = None) -> Rows:
    """Like ``start_rows``, each row starting from the longest prefix it shares with a stored prompt.

    Rows with no stored prefix start from ``prefix`` (when they begin with it). The reused caches are
    laid side by side, each row's tokens first and padding after them (masked), then every row is
    extended by the rest of its prompt: the same tokens at the same positions as computed afresh.
    """
    import torch

    system = None
    if prefix is not None and prefix.ids:
        system = RowCache(prefix.ids, [(layer.keys, layer.values) for layer in prefix.cache.layers])
    starts: list[tuple[RowCache | None, int]] = []
    head = len(system.ids) if system is not None else 0
    stored = 0
    for p in prompts:
        entry, k = store.longest(p)
        if system is not None and k <= head and tuple(p[:head]) == system.ids:
            entry, k = system, head  # nothing stored goes further than the system prefix
        elif k:
            stored += k - (head if tuple(p[:head]) == getattr(system, "ids", None) else 0)
        starts.append((entry, k))
    if not any(e is not system and k for e, k in starts):
        return start_rows(lm, prompts, prefix)
    n, width = len(prompts), max(k for _, k in starts)
    device = lm.device
    template = next(e for e, k in starts if k)
    cache = _new_cache(lm)
    for li, (k0, _) in enumerate(template.layers):
        keys = torch.zeros((n, k0.shape[1], width, k0.shape[3]), dtype=k0.dtype, device=k0.device)
        values = torch.zeros_like(keys)
        for r, (e, k) in enumerate(starts):
            if k:
                keys[r, :, :k] = e.layers[li][0][0, :, :k]
                values[r, :, :k] = e.layers[li][1][0, :, :k]
        cache.update(keys, values, li)
    mask = torch.zeros((n, width), dtype=torch.long, device=device)
    for r, (_, k) in enumerate(starts):
        mask[r, :k] = 1
    rows = Rows(lm=lm, cache=cache, mask=mask, next_pos=[k for _, k in starts], last_logits=None,
                tokens=[list(p[:k]) for p, (_, k) in zip(prompts, starts, strict=True)])
    # every row keeps at least its last prompt token to compute, so each gets fresh last logits
    extend(rows, [list(p[k:]) for p, (_, k) in zip(prompts, starts, strict=True)])
    store.reused_tokens += stored
    return rows


def extend(rows: Rows, suffixes: Sequence[Sequence[int]]) -> None:
    """Append each row's tokens (ragged; an empty suffix leaves the row as it is) in one forward pass."""
    import torch

    width = max((len(s) for s in suffixes), default=0)
    if width == 0:
        return
    n = rows.size
    device = rows.mask.device
    pad = _pad_id(rows.lm)
    ids = torch.full((n, width), pad, dtype=torch.long, device=device)
    new_mask = torch.zeros((n, width), dtype=torch.long, device=device)
    pos = torch.zeros((n, width), dtype=torch.long, device=device)
    last = torch.zeros((n, 1), dtype=torch.long, device=device)
    for r, s in enumerate(suffixes):
        if s:
            ids[r, : len(s)] = torch.tensor(list(s), dtype=torch.long, device=device)
            new_mask[r, : len(s)] = 1
            last[r, 0] = len(s) - 1
        pos[r] = torch.arange(rows.next_pos[r], rows.next_pos[r] + width, device=device)
    mask = torch.cat([rows.mask, new_mask], dim=1)
    out = _forward(rows.lm, ids, mask, pos, rows.cache, logits_to_keep=last)
    logits = out.logits
    if logits.shape[1] != 1:  # the model ignored logits_to_keep
        logits = logits.gather(1, last.unsqueeze(-1).expand(-1, 1, logits.shape[-1]))
    logits = logits[:, 0, :].float()
    rows.mask = mask
    if rows.last_logits is None:
        rows.last_logits = logits
    else:
        has = torch.tensor([bool(s) for s in suffixes], device=device).unsqueeze(1)
        rows.last_logits = torch.where(has, logits, rows.last_logits)
    for r, s in enumerate(suffixes):
        rows.tokens[r].extend(int(t) for t in s)
        rows.next_pos[r] += len(s)


def fork(rows: Rows) -> Rows:
    """An independent copy of the rows (cache included), to extend in another direction."""
    return Rows(lm=rows.lm, cache=copy.deepcopy(rows.cache), mask=rows.mask.clone(), next_pos=list(rows.next_pos),
                last_logits=None if rows.last_logits is None else rows.last_logits.clone(),
                tokens=[list(t) for t in rows.tokens])


def retract(rows: Rows, row: int, count: int) -> None:
    """Drop a row's last ``count`` tokens (masked out of the cache; ``last_logits`` is then stale
    until the row is extended again)."""
    if count <= 0:
        return
    live = rows.mask[row].nonzero().flatten()
    rows.mask[row, live[-count:]] = 0
    del rows.tokens[row][-count:]
    rows.next_pos[row] -= count


def decode(rows: Rows, max_new: int, choose: Chooser, stop: Stopper,
           active: Sequence[bool] | None = None) -> tuple[list[list[int]], list[bool]]:
    """Add tokens to the active rows until each stops or has ``max_new``; (tokens, hit the limit) per row."""
    n = rows.size
    live = [True] * n if active is None else [bool(a) for a in active]
    out: list[list[int]] = [[] for _ in range(n)]
    for _ in range(max_new):
        step: list[list[int]] = [[] for _ in range(n)]
        for r in range(n):
            if not live[r]:
                continue
            token = choose(r, out[r], rows.last_logits[r])
            if token is None:
                live[r] = False
                continue
            out[r].append(int(token))
            step[r] = [int(token)]
            if stop(r, out[r]):
                live[r] = False
        if not any(step):
            break
        # a row that stopped on this token still has it in the cache (its tokens must match)
        extend(rows, step)
        if not any(live):
            break
    limited = [live[r] and len(out[r]) >= max_new for r in range(n)]
    return out, limited


def greedy(logits: Any) -> int:
    return int(logits.argmax())


def sampler(temperature: float, top_p: float, generator: Any) -> Callable[[Any], int]:
    """A token rule drawing from softmax(logits / temperature) within the top-p mass."""
    import torch

    def draw(logits: Any) -> int:
        probs = torch.softmax(logits.float() / max(temperature, 1e-5), dim=-1)
        if top_p < 1.0:
            sorted_p, idx = probs.sort(descending=True)
            keep = sorted_p.cumsum(0) - sorted_p < top_p
            probs = torch.zeros_like(probs).scatter(0, idx[keep], sorted_p[keep])
        return int(torch.multinomial(probs, 1, generator=generator))

    return draw


def score_continuations(rows: Rows, options: Sequence[Sequence[Sequence[int]]],
                        ends: Sequence[Sequence[Any]] | None = None) -> list[list[float]]:
    """log P(option | row) for every option of every row, in one forward pass over all options.

    The options of a row are packed one after another; a 4-D mask lets each option token attend to
    the row's tokens and to the earlier tokens of its own option only, with position ids counting
    on from the row's end. The first token of each option is scored by ``last_logits``. With
    ``ends``, ``ends[r][j]`` (a tensor of token ids, or None) is what may follow option j: the
    log-probability that the next token is one of them is added (an option must end where the
    answer's line or word ends, so ``find Apple`` does not take the mass of ``find AppleSliced``).
    The cache is left as it was.
    """
    import torch

    n = rows.size
    device = rows.mask.device
    spans: list[list[tuple[int, int]]] = []
    widths = []
    for opts in options:
        at, row_spans = 0, []
        for o in opts:
            row_spans.append((at, len(o)))
            at += len(o)
        spans.append(row_spans)
        widths.append(at)
    width = max(widths, default=0)
    first = torch.log_softmax(rows.last_logits.float(), dim=-1)
    result: list[list[float]] = [[float(first[r, o[0]]) if o else 0.0 for o in options[r]] for r in range(n)]
    if width == 0:
        return result
    cache_len = rows.mask.shape[1]
    ids = torch.full((n, width), _pad_id(rows.lm), dtype=torch.long, device=device)
    pos = torch.zeros((n, width), dtype=torch.long, device=device)
    allowed = torch.zeros((n, width, cache_len + width), dtype=torch.bool, device=device)
    for r, opts in enumerate(options):
        allowed[r, :, :cache_len] = rows.mask[r].bool().unsqueeze(0)
        for (at, length), o in zip(spans[r], opts, strict=True):
            if not length:
                continue
            ids[r, at: at + length] = torch.tensor(list(o), dtype=torch.long, device=device)
            pos[r, at: at + length] = torch.arange(rows.next_pos[r], rows.next_pos[r] + length, device=device)
            block = torch.ones((length, length), dtype=torch.bool, device=device).tril()
            allowed[r, at: at + length, cache_len + at: cache_len + at + length] = block
        for t in range(widths[r], width):  # padding queries: attend to themselves only
            allowed[r, t, cache_len + t] = True
    dtype = next(rows.lm.model.parameters()).dtype
    mask4d = torch.zeros(allowed.shape, dtype=dtype, device=device).masked_fill(~allowed, torch.finfo(dtype).min)
    out = _forward(rows.lm, ids, mask4d.unsqueeze(1), pos, rows.cache)
    rows.cache.crop(-width)
    for r, opts in enumerate(options):
        logp = torch.log_softmax(out.logits[r].float(), dim=-1)  # one row at a time: [width, vocab]
        for j, ((at, length), o) in enumerate(zip(spans[r], opts, strict=True)):
            if length > 1:
                targets = torch.tensor(list(o[1:]), dtype=torch.long, device=device)
                picked = logp[at: at + length - 1].gather(1, targets.unsqueeze(1))
                result[r][j] += float(picked.sum())
            end = ends[r][j] if ends is not None else None
            if end is not None and length:
                result[r][j] += float(torch.logsumexp(logp[at + length - 1][end], dim=0))
    return result
