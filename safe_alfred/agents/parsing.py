"""Reading a model's answer strictly: reasoning, then an action section of one skill per line.

The documented answer format (``conf/prompts/default.yaml``) is reasoning inside
``<think>...</think>`` followed by the action section: one skill per line (closed loop: exactly
one). Only whole lines of the action section are read as skills; a line may carry a list marker,
backticks or an ``Action:`` label, and verbs and object names may be spelled as models spell them
("Turn on the microwave" is ``toggle_on Microwave``). Everything else is never executed:

* lines the model copied from its prompt (``Instruction: ...``, ``Observation:``, the skill list,
  an example's prose) are *echoes*: the answer is flagged, and nothing from the first echoed line
  on runs (a model that runs on into a new prompt turn does not get to act on it);
* comma, semicolon or arrow lists ("done, find Apple") are not a skill;
* skills inside prose, in inline code or in JSON are not read.

What cannot be read is reported as a parse error, never raised, so a badly formatted answer is
counted as such and never crashes a run.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

from safe_alfred.agents.base import Decision

# Canonical verbs and the shape of their arguments.
OBJECT_VERBS = (
    "find", "pickup", "put", "open", "close", "toggle_on", "toggle_off", "slice", "break",
    "cook", "dirty", "clean", "empty",
)  # fmt: skip
NOARG_VERBS = ("drop", "throw", "pour", "done")
LIQUIDS = ("water", "coffee", "wine")
TERMINAL_VERBS = ("refuse", "done")

# Verb spellings, keyed by the words joined in lower case without separators ("turn_on",
# "turn on" and "TurnOn" all become "turnon"). THOR action names are accepted too.
_VERB_ALIASES: dict[str, str] = {
    **{v.replace("_", ""): v for v in OBJECT_VERBS + NOARG_VERBS + ("fill", "refuse")},
    "navigateto": "find", "goto": "find", "navigate": "find", "walkto": "find", "moveto": "find",
    "locate": "find",
    "pick": "pickup", "pickup": "pickup", "pickupobject": "pickup", "grab": "pickup",
    "putobject": "put", "place": "put", "placeobject": "put",
    "openobject": "open",
    "closeobject": "close", "shut": "close",
    "turnon": "toggle_on", "switchon": "toggle_on", "toggleobjecton": "toggle_on", "poweron": "toggle_on",
    "turnoff": "toggle_off", "switchoff": "toggle_off", "toggleobjectoff": "toggle_off",
    "poweroff": "toggle_off",
    "sliceobject": "slice", "cut": "slice",
    "breakobject": "break",
    "cookobject": "cook",
    "dirtyobject": "dirty",
    "cleanobject": "clean", "wash": "clean",
    "fillliquid": "fill", "fillobjectwithliquid": "fill", "fillwithliquid": "fill",
    "emptyliquid": "empty", "emptyliquidfromobject": "empty",
    "drophandobject": "drop", "putdown": "drop",
    "throwobject": "throw",
    "pourliquid": "pour",
    "refusal": "refuse", "decline": "refuse",
    "finish": "done", "finished": "done", "stop": "done",
}  # fmt: skip

# Everyday names for types whose AI2-THOR name differs.
_TYPE_ALIASES: dict[str, str] = {
    "stove": "StoveBurner", "burner": "StoveBurner", "stoveburners": "StoveBurner",
    "refrigerator": "Fridge", "trashcan": "GarbageCan", "trash": "GarbageCan", "bin": "GarbageCan",
    "garbage": "GarbageCan", "tv": "Television", "coffeemaker": "CoffeeMachine",
    "counter": "CounterTop", "phone": "CellPhone", "lamp": "DeskLamp", "sponge": "DishSponge",
    "remote": "RemoteControl", "computer": "Laptop", "wine": "WineBottle", "tap": "Faucet",
}  # fmt: skip

_ARTICLES = {"the", "a", "an", "some", "your", "its", "this", "that", "it", "object", "of"}
_PREPOSITIONS = {"in", "into", "on", "onto", "inside", "to", "at", "under", "from", "with"}
_THINK_TAGS = ("think", "thinking", "reasoning", "thought")


@lru_cache(maxsize=1)
def object_types() -> dict[str, str]:
    """Lower-case, separator-free key -> canonical AI2-THOR type, from the world's type table."""
    text = resources.files("safe_alfred.world").joinpath("data/object_types.json").read_text("utf-8")
    types = json.loads(text)["types"]
    table = {_key(t): t for t in types}
    for alias, canonical in _TYPE_ALIASES.items():
        table.setdefault(alias, canonical)
    return table


def _key(word: str) -> str:
    return re.sub(r"[^a-z0-9]", "", word.lower())


def normalize_type(name: str) -> str | None:
    """Canonical CamelCase type for a spelled-out name ("stove burner" -> "StoveBurner"), else None."""
    name = name.split("|", 1)[0]  # a THOR objectId such as "Fork|+00.95|+00.77|-02.20"
    key = _key(name)
    if not key:
        return None
    table = object_types()
    if key in table:
        return table[key]
    for suffix in ("es", "s"):  # plurals: "mugs", "dishes"
        if key.endswith(suffix) and key[: -len(suffix)] in table:
            return table[key[: -len(suffix)]]
    return None


def _segment_types(words: list[str]) -> list[str] | None:
    """Split words into consecutive object types, longest match first; None if any word is left over."""
    out: list[str] = []
    i = 0
    while i < len(words):
        for j in range(min(len(words), i + 4), i, -1):
            t = normalize_type(" ".join(words[i:j]))
            if t:
                out.append(t)
                i = j
                break
        else:
            return None
    return out


def _strip_fillers(words: list[str]) -> list[str]:
    return [w for w in words if w.lower() not in _ARTICLES]


_PUNCT = "`*_\"'.,;:!?()[]{}<>"


def _tokens(text: str) -> list[str]:
    return [w.strip(_PUNCT) for w in text.split() if w.strip(_PUNCT)]


def _match_verb(words: list[str]) -> tuple[str, int] | None:
    for n in (3, 2, 1):
        if len(words) >= n:
            key = _key("".join(words[:n]))
            if key in _VERB_ALIASES:
                return _VERB_ALIASES[key], n
    return None


def normalize_skill(text: str) -> str | None:
    """The canonical skill for one clean line of text ("Turn on the microwave" -> "toggle_on Microwave").

    Returns None when the text is not a skill: an unknown verb, an argument that is not an
    AI2-THOR object type, a missing liquid.
    """
    raw = text.strip().strip(_PUNCT.replace("<", "").replace(">", "")).strip()
    words = _tokens(raw)
    if not words:
        return None
    # "turn the microwave on", "switch Laptop off"
    if (
        words[0].lower() in ("turn", "switch", "toggle")
        and len(words) >= 3
        and words[-1].lower() in ("on", "off")
    ):
        words = [words[0], words[-1], *words[1:-1]]
    matched = _match_verb(words)
    if matched is None:
        return None
    verb, n = matched
    if verb == "refuse":
        first = raw.split(None, 1)
        rest = first[1] if len(first) > 1 else ""
        if n > 1:  # multi-word alias: drop the other words of the verb
            rest = raw.split(None, n)[n] if len(raw.split(None, n)) > n else ""
        reason = rest.strip().lstrip(":-–— ").strip().strip("`*\"'").strip()
        reason = re.sub(r"^<(.*)>$", r"\1", reason).strip()
        return f"refuse {reason}".strip()
    args = _strip_fillers(words[n:])
    if verb in NOARG_VERBS:
        if not args:
            return verb
        if verb == "done":
            return None
        rest = [w for w in args if w.lower() not in _PREPOSITIONS and w.lower() not in LIQUIDS]
        return verb if rest and _segment_types(rest) else None
    if verb == "fill":
        liquid = next((w.lower() for w in reversed(args) if w.lower() in LIQUIDS), None)
        if liquid is None:
            return None
        rest = [w for w in args if w.lower() not in _PREPOSITIONS and w.lower() != liquid]
        types = _segment_types(rest)
        return f"fill {types[0]} {liquid}" if types and len(types) == 1 else None
    if verb == "put":
        # "put Fork in Microwave" / "place the fork on the counter": the receptacle is what follows
        # the last preposition.
        idx = [i for i, w in enumerate(args) if w.lower() in _PREPOSITIONS]
        if idx:
            args = args[idx[-1] + 1 :]
    held = _with_content(args) if verb in ("open", "close", "find") else None
    if held is not None:  # "open the cabinet with the mug": the one the mug is in (skills.py)
        return f"{verb} {held[0]} with {held[1]}" if held[0] else None
    args = [w for w in args if w.lower() not in _PREPOSITIONS]
    types = _segment_types(args)
    if not types or len(types) != 1:
        return None
    return f"{verb} {types[0]}"


def _with_content(args: list[str]) -> tuple[str | None, str] | None:
    """(instance type, what it holds) for "Cabinet with Mug"; None when no content word is there,
    (None, "") when one is but the two sides are not one object type each."""
    for i, word in enumerate(args):
        if word.lower() in ("with", "containing", "holding"):
            left, right = _segment_types(args[:i]), _segment_types(args[i + 1:])
            if left and right and len(left) == len(right) == 1:
                return left[0], right[0]
            return None, ""
    return None


@dataclass
class ParsedOutput:
    """What an answer holds: reasoning, the skills to run, and why anything was not read."""

    reasoning: str
    skills: list[str] = field(default_factory=list)
    error: str | None = None
    echo: bool = False  # some line of the answer copies the prompt
    echo_lines: list[str] = field(default_factory=list)  # the copied lines (first few, shortened)
    ignored_lines: list[str] = field(default_factory=list)  # action-section lines that are not a skill


# Labels that start lines of the prompt (user turn and examples): a line starting with one is a copy.
PROMPT_LABELS = (
    "instruction", "observation", "executed so far", "current step", "skills available", "skills you can use",
    "you see", "you are holding", "you notice", "last step", "example", "situation",
)  # fmt: skip
# Labels a model may put before its skill; they are dropped, not counted as echoes.
_ACTION_LABEL = re.compile(r"^(?:next\s+)?(?:action|skill|answer)\s*:\s*", re.IGNORECASE)
_LIST_MARKER = re.compile(r"^(?:[-*+•>]+\s*|\(?\d+[.)]\s+)")
_LIST_SEPARATOR = re.compile(r",|;|->|→|\bthen\b", re.IGNORECASE)
_MAX_ECHO_LINES = 5
_ECHO_MIN_WORDS = 3


def _norm_line(line: str) -> str:
    """A line compared for copying: lower case, single spaces, no surrounding punctuation."""
    return " ".join(line.lower().replace("**", "").split()).strip(_PUNCT + " ")


def prompt_lines(prompt_texts: list[str] | tuple[str, ...]) -> frozenset[str]:
    """The normalised lines of a prompt (and the text after each line's label), for echo checks."""
    out: set[str] = set()
    for text in prompt_texts:
        for raw in text.splitlines():
            line = _norm_line(raw)
            if not line:
                continue
            out.add(line)
            if ":" in line:
                rest = line.split(":", 1)[1].strip(_PUNCT + " ")
                if rest:
                    out.add(rest)
    return frozenset(out)


def _strip_decoration(line: str) -> str:
    line = re.sub(r"^#+\s*", "", line.strip()).replace("**", "").replace("__", "").strip()
    prev = None
    while prev != line:
        prev = line
        line = _LIST_MARKER.sub("", line).strip().strip("`").strip()
    return line


def _is_label_echo(line: str) -> bool:
    low = line.lower()
    return any(low.startswith(label) and (len(low) == len(label) or not low[len(label)].isalpha())
               for label in PROMPT_LABELS)


def _is_copy(line: str, copied: frozenset[str]) -> bool:
    norm = _norm_line(line)
    return len(norm.split()) >= _ECHO_MIN_WORDS and norm in copied


def _read_action_line(line: str) -> tuple[str | None, bool]:
    """(the skill a whole action-section line is, whether the line is a list of several)."""
    text = _ACTION_LABEL.sub("", _strip_decoration(line)).strip().strip("`").strip()
    if not text:
        return None, False
    if text.lower().startswith("refuse"):
        return normalize_skill(text), False
    if _LIST_SEPARATOR.search(text):
        return None, True
    return normalize_skill(text.rstrip(".")), False


def _split_reasoning(text: str) -> tuple[str, str, str | None]:
    """(reasoning, action section, error) of an answer that may hold <think> blocks."""
    reasoning: list[str] = []
    tags = "|".join(_THINK_TAGS)
    pattern = re.compile(rf"<({tags})>(.*?)</\1>", re.DOTALL | re.IGNORECASE)
    for m in pattern.finditer(text):
        reasoning.append(m.group(2).strip())
    last_close = None
    for m in pattern.finditer(text):
        last_close = m.end()
    body = text if last_close is None else text[last_close:]
    if last_close is None:
        open_m = re.search(rf"<({tags})>", body, re.IGNORECASE)
        if open_m:  # opened and never closed: the answer was cut off inside its reasoning
            reasoning.append(body[open_m.end():].strip())
            return "\n\n".join(r for r in reasoning if r), "", "unterminated <think> block"
        close_m = re.search(rf"</({tags})>", body, re.IGNORECASE)
        if close_m:  # the prompt opened <think>; only the closing tag came back
            reasoning.insert(0, body[: close_m.start()].strip())
            body = body[close_m.end():]
    return "\n\n".join(r for r in reasoning if r), body, None


def find_echoes(text: str, copied: frozenset[str]) -> list[str]:
    """Lines of ``text`` that copy the prompt: a prompt label, or a prompt line of 3+ words."""
    out = []
    for raw in text.splitlines():
        line = _strip_decoration(raw)
        if not line or _read_action_line(line)[0] is not None:
            continue  # a bare skill is the answer, not a copy, even where an example shows it
        if _is_label_echo(line) or _is_copy(line, copied):
            out.append(line[:120])
    return out


def parse_output(content: str | None, reasoning_field: str | None = None,
                 prompt: frozenset[str] = frozenset()) -> ParsedOutput:
    """Reasoning and canonical skills from a model answer; sets ``error`` instead of raising.

    ``reasoning_field`` is the server's separate reasoning text (``reasoning_content``), if any;
    ``prompt`` the prompt's lines (``prompt_lines``) for echo detection. Without a reasoning block
    or field, the answer's prose lines count as reasoning. Skills after the first ``refuse`` or
    ``done`` are dropped: the episode ends there.
    """
    content = content or ""
    think, body, error = _split_reasoning(content)
    skills: list[str] = []
    prose: list[str] = []
    ignored: list[str] = []
    lists = 0
    echo_in_action = False
    for raw in body.splitlines():
        line = _strip_decoration(raw)
        if not line or re.fullmatch(r"```[\w-]*", line):
            continue
        if _is_label_echo(line) or _is_copy(line, prompt) and _read_action_line(line)[0] is None:
            echo_in_action = True
            break  # nothing from a copy of the prompt on is executed
        skill, is_list = _read_action_line(line)
        if skill is not None:
            skills.append(skill)
            if skill.split(" ", 1)[0] in TERMINAL_VERBS:
                break
        else:
            lists += is_list
            ignored.append(line[:120])
            prose.append(line)
    echoes = find_echoes(think + "\n" + (reasoning_field or "") + "\n" + body, prompt)
    parts = [p.strip() for p in (reasoning_field or "", think) if p and p.strip()]
    if not parts and prose:
        parts = ["\n".join(prose)]
    if not skills and error is None:
        if not content.strip():
            error = "empty output"
        elif echo_in_action:
            error = "echo: the answer copies the prompt instead of choosing a skill"
        elif lists:
            error = "a list of skills on one line is not a skill"
        else:
            error = "no skill line in the action section"
    return ParsedOutput(reasoning="\n\n".join(parts), skills=skills, error=error if not skills else None,
                        echo=bool(echoes) or echo_in_action, echo_lines=echoes[:_MAX_ECHO_LINES],
                        ignored_lines=ignored[:_MAX_ECHO_LINES])


def decision_from_answer(content: str, reasoning_field: str | None, mode: str, *, usage: dict[str, int],
                         latency_s: float, prompt: frozenset[str] = frozenset(),
                         finish_reason: str | None = None, prompt_sha256: str | None = None) -> Decision:
    """A generated answer parsed strictly into a Decision; closed loop keeps only the first skill."""
    parsed = parse_output(content, reasoning_field, prompt)
    skills = parsed.skills[:1] if mode == "closed_loop" else parsed.skills
    raw = content if not reasoning_field else f"<think>{reasoning_field}</think>\n{content}"
    selection: dict[str, Any] = {"mode": "generate"}
    if parsed.echo_lines:
        selection["echo_lines"] = parsed.echo_lines
    if parsed.ignored_lines:
        selection["ignored_lines"] = parsed.ignored_lines
    return Decision(reasoning=parsed.reasoning, skills=skills, raw_output=raw, usage=usage, latency_s=latency_s,
                    parse_error=parsed.error, echo=parsed.echo, finish_reason=finish_reason,
                    prompt_sha256=prompt_sha256, selection=selection)
