"""Turning a model's free-form answer into reasoning text and canonical skill strings.

Models rarely follow an output format exactly: they number their steps, wrap them in markdown
lists or code fences, write "Action: Turn on the microwave.", use THOR action names or lower case.
The parser accepts those variations and maps every skill to the canonical grammar
(``toggle_on Microwave``); what it cannot read is reported as a parse error, never raised, so a
badly formatted answer is counted as such and never crashes a run.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

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
    args = [w for w in args if w.lower() not in _PREPOSITIONS]
    types = _segment_types(args)
    if not types or len(types) != 1:
        return None
    return f"{verb} {types[0]}"


@dataclass
class ParsedOutput:
    reasoning: str
    skills: list[str] = field(default_factory=list)
    error: str | None = None


_LIST_PREFIX = re.compile(
    r"""^\s*(?:
        [-*+•>]+\s*                                  # bullets, quotes
      | \(?\d+[.):]\s*                               # 1.  1)  (1)  1:
      | (?:step|action|skill|next\s+action|next\s+skill|next|plan|answer|final\s+answer|output)
        \s*\d*\s*[:.)-]\s*                           # Step 3:  Action:  Next action -
    )+""",
    re.IGNORECASE | re.VERBOSE,
)


def _clean_line(line: str) -> str:
    line = line.strip()
    line = re.sub(r"^#+\s*", "", line)  # markdown headings
    line = line.replace("**", "").replace("__", "")
    prev = None
    while prev != line:
        prev = line
        line = _LIST_PREFIX.sub("", line).strip().strip("`\"'").strip()
    return line.rstrip(",").strip()


def _skills_in_line(line: str) -> tuple[list[str], bool]:
    """(canonical skills written on one line, whether the line is also prose)."""
    cleaned = _clean_line(line)
    if not cleaned:
        return [], False
    candidates = [cleaned]
    m = re.match(r"^([A-Za-z][\w \-]{0,30}):\s*(.+)$", cleaned)
    if m:
        candidates.append(_clean_line(m.group(2)))
    for cand in candidates:
        s = normalize_skill(cand)
        if s is not None:
            return [s], False
        if not cand.lower().startswith("refuse"):
            parts = [p for p in re.split(r"\s*(?:;|,|->|→|\bthen\b)\s*", cand) if p.strip()]
            if len(parts) > 1:
                skills = [normalize_skill(_clean_line(p)) for p in parts]
                if all(skills):
                    return [s for s in skills if s], False
    # inline code spans inside prose: "Next I will `find Fork`."
    spans = re.findall(r"`([^`]+)`", line)
    found = [normalize_skill(s) for s in spans]
    return [s for s in found if s], True


def _split_reasoning(text: str) -> tuple[str, str, str | None]:
    """(reasoning, body, error) from an answer that may hold <think> blocks."""
    reasoning: list[str] = []
    tags = "|".join(_THINK_TAGS)
    pattern = re.compile(rf"<({tags})>(.*?)</\1>", re.DOTALL | re.IGNORECASE)
    for m in pattern.finditer(text):
        reasoning.append(m.group(2).strip())
    body = pattern.sub("\n", text)
    open_m = re.search(rf"<({tags})>", body, re.IGNORECASE)
    if open_m:  # opened and never closed: the answer was cut off inside its reasoning
        reasoning.append(body[open_m.end() :].strip())
        return "\n\n".join(r for r in reasoning if r), body[: open_m.start()], "unterminated <think> block"
    close_m = re.search(rf"</({tags})>", body, re.IGNORECASE)
    if close_m:  # the chat template opened <think> inside the prompt; only the closing tag came back
        reasoning.insert(0, body[: close_m.start()].strip())
        body = body[close_m.end() :]
    return "\n\n".join(r for r in reasoning if r), body, None


def _skills_from_json(body: str) -> tuple[list[str], str] | None:
    stripped = body.strip()
    if not stripped or stripped[0] not in "[{":
        return None
    try:
        data = json.loads(stripped)
    except ValueError:
        return None
    reasoning = ""
    if isinstance(data, dict):
        for k in ("reasoning", "thought", "thoughts", "think"):
            if isinstance(data.get(k), str):
                reasoning = data[k]
        items = next((data[k] for k in ("skills", "actions", "plan", "action", "skill") if k in data), None)
        if isinstance(items, str):
            items = [items]
    else:
        items = data
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        return None
    skills = [s for s in (normalize_skill(_clean_line(i)) for i in items) if s]
    return skills, reasoning


def parse_output(content: str | None, reasoning_field: str | None = None) -> ParsedOutput:
    """Reasoning and canonical skills from a model answer; sets ``error`` instead of raising.

    ``reasoning_field`` is the server's separate reasoning text (``reasoning_content``), if any.
    Without a reasoning block or field, the prose lines around the skills count as reasoning.
    Skills after the first ``refuse`` or ``done`` are dropped: the episode ends there.
    """
    content = content or ""
    think, body, error = _split_reasoning(content)
    body = re.sub(r"^\s*```[\w-]*\s*$", "", body, flags=re.MULTILINE)  # code fences
    skills: list[str] = []
    prose: list[str] = []
    from_json = _skills_from_json(body)
    if from_json is not None:
        skills, json_reasoning = from_json
        prose = [json_reasoning] if json_reasoning else []
    else:
        for line in body.splitlines():
            found, is_prose = _skills_in_line(line)
            skills.extend(found)
            if is_prose and line.strip():
                prose.append(line.strip())
    parts = [p.strip() for p in (reasoning_field or "", think) if p and p.strip()]
    if not parts:
        parts = ["\n".join(prose)] if prose else []
    reasoning = "\n\n".join(parts)
    for i, s in enumerate(skills):
        if s.split(" ", 1)[0] in TERMINAL_VERBS:
            skills = skills[: i + 1]
            break
    if not skills and error is None:
        error = "empty output" if not content.strip() else "no skill found in output"
    return ParsedOutput(reasoning=reasoning, skills=skills, error=error if not skills else None)
