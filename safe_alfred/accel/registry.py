"""The acceleration layer's book: what is derived and what it reads, the process-wide tables,
the mode switch, and the one place that clears it all.

* ``derive(fact, reads=..., fast=..., update=..., by_pose=...)`` declares a derived value: a
  ``world.state.fact`` (the world's own, or one that perception or the safety filter defines),
  the parts of a state it reads (``reads.py``), optionally a faster computation that must give
  the same answer, and an update that brings an old value up to date from what a step wrote.
* ``pose_value(key, reads=...)`` declares what a value kept in a per-pose entry beside a fact's
  reads (the sight a visibility computation keeps there), so that it is carried like the facts.
* ``rule(fn, reads=..., idle_without=...)`` declares one of the world's automatic rules
  (``WorldState.apply``) and what it reads, so that a step that changed none of it can skip a
  rule that changed nothing the step before (or one with nothing to act on).
* ``table(name)`` is a process-wide dict (per-pose view tables, per-dict perception records,
  ...) and ``memo`` a bounded memo of a pure function; ``clear_all`` empties every one of them.
* ``reference()`` says whether the process runs on the reference world: ``SAFE_ALFRED_REFERENCE=1``
  in the environment, or ``set_reference(True)`` in process (new states follow it; states made
  before keep their kind). Then no state remembers anything, no table is filled, no memo is
  kept and no scene is prepared: every value is computed afresh by the world's own code.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass

from .reads import AGENT_POSE, ALL_OBJECT_FIELDS, HELD, OBJECT_SET, SETTINGS, SPAWNED, names


@dataclass(frozen=True)
class Derived:
    """One derived value: ``fact`` (a ``world.state.fact``), what it reads, how to get it fast."""

    fact: Callable
    reads: int
    fast: Callable  # fast(state, *args) == fact.compute(state, *args)
    update: Callable | None = None  # update(old value, before, after, changes) -> value for after
    by_pose: bool = False  # kept per agent pose, in a table shared while nothing else it reads changes
    memo: bool = True  # remembered on the state (False: only its ``fast`` runs, for facts with arguments)


@dataclass(frozen=True)
class Rule:
    """One automatic rule of the world, what it reads, and when it may be skipped: when it changed
    nothing the step before and the step changed nothing it reads, or when the state's container
    ``idle_without`` (``"decay"``, say) is empty, so that it has nothing to act on."""

    fn: Callable
    reads: int
    idle_without: str | None = None
    copies: int = 0  # parts read only to be written into what it changes (so not read when it changes nothing)


# What a value kept per pose may read besides the pose: objects, the hand, the view settings.
# The states between which only the agent moved share one table of them (fixed, so that a table
# shared under one set of declarations is never read under a wider one).
VIEW_READS = ALL_OBJECT_FIELDS | OBJECT_SET | HELD | SETTINGS | SPAWNED

DECLARED: dict[Callable, Derived] = {}
RULES: dict[Callable, Rule] = {}
READS: dict = {}  # fact, rule or per-pose key -> what it reads (the keys a state remembers)
UPDATES: dict[Callable, Callable] = {}  # fact -> its update
POSE_KEYS: list = []  # the keys of the per-pose entries: facts kept per pose, then ``pose_value``s
FAST: dict[Callable, Callable] = {}  # fact -> its fast computation

_TABLES: dict[str, dict] = {}
_CLEARERS: list[Callable[[], None]] = []
_REFERENCE = [os.environ.get("SAFE_ALFRED_REFERENCE", "").strip().lower() not in ("", "0", "false", "no")]


def reference() -> bool:
    """Whether this process runs on the reference world (the acceleration layer off)."""
    return _REFERENCE[0]


def set_reference(on: bool) -> None:
    """Run on the reference world from now on (``True``), or accelerated (``False``). States made
    before keep their kind; an env follows at its next reset. Switching it on empties every
    table (``clear_all``), which then stay empty while it is on."""
    if on:
        clear_all()
    _REFERENCE[0] = bool(on)


def derive(fact: Callable, *, reads: int, fast: Callable | None = None, update: Callable | None = None,
           by_pose: bool = False, memo: bool = True) -> Derived:
    """Declare a derived value (see the module docstring); returns its declaration."""
    if not hasattr(fact, "compute"):
        raise TypeError(f"{getattr(fact, '__qualname__', fact)!r} is not a world.state.fact")
    if by_pose:
        _check_pose_reads(fact.__qualname__, reads)
    d = Derived(fact, reads, fast or fact.compute, update, by_pose, memo)
    DECLARED[fact] = d
    READS[fact] = reads
    FAST[fact] = d.fast
    if by_pose and fact not in POSE_KEYS:
        POSE_KEYS.append(fact)
    if update is not None:
        UPDATES[fact] = update
    return d


def _check_pose_reads(name: str, reads: int) -> None:
    """A value kept per pose is shared by states at that pose: it may read only what they share."""
    if reads & ~(VIEW_READS | AGENT_POSE):
        raise ValueError(f"{name}: a value kept per pose may read objects, the hand, the view settings and "
                         f"the agent's pose, not {names(reads & ~(VIEW_READS | AGENT_POSE))}")


def pose_value(key: str, *, reads: int) -> None:
    """Declare a value other than a fact that a fast computation keeps in the per-pose entries
    beside its fact's (``accel.visibility.SIGHT``), and what it reads: a step that changes none
    of that carries it over with them. A key not declared is never carried."""
    _check_pose_reads(key, reads)
    READS[key] = reads
    if key not in POSE_KEYS:
        POSE_KEYS.append(key)


def rule(fn: Callable, *, reads: int, idle_without: str | None = None, copies: int = 0) -> Rule:
    """Declare an automatic rule (see the module docstring); returns its declaration. ``copies``:
    parts it reads only to write them somewhere (the step a decay starts at)."""
    r = RULES[fn] = Rule(fn, reads, idle_without, copies)
    READS[fn] = reads
    return r


def table(name: str) -> dict:
    """The process-wide table ``name`` (made empty on first use, emptied by ``clear_all``)."""
    t = _TABLES.get(name)
    if t is None:
        t = _TABLES[name] = {}
    return t


def on_clear(fn: Callable[[], None]) -> None:
    """Also run ``fn`` when everything is cleared (for state kept outside ``table``)."""
    _CLEARERS.append(fn)


def clear_all() -> None:
    """Forget everything the acceleration layer keeps across states (states keep their own)."""
    for t in _TABLES.values():
        t.clear()
    for fn in _CLEARERS:
        fn()


class _Memo(dict):
    """A memo table that is also the memoised function: calling it looks the argument up in
    the dict itself (in C, no Python frame on a hit) and computes and keeps it on a miss."""

    def __init__(self, fn: Callable, limit: int) -> None:
        super().__init__()
        self.bind(fn, limit)

    def bind(self, fn: Callable, limit: int) -> None:
        """Memoise ``fn``; what the table keeps stays (``memo`` binds it again when a module is reloaded)."""
        self.fn, self.limit = fn, limit
        functools.update_wrapper(self, fn)

    def __missing__(self, arg):
        value = self.fn(arg)
        if not _REFERENCE[0]:  # (nothing is kept on the reference world: always empty there)
            if len(self) >= self.limit:
                self.clear()
            self[arg] = value
        return value

    __call__ = dict.__getitem__
    # otherwise a function: hashed, compared and copied as itself, pickled by its name (and, as
    # a table, false while empty: ``clear_all`` leaves every table so)
    __hash__ = object.__hash__

    def __eq__(self, other: object) -> bool:
        return self is other

    def __ne__(self, other: object) -> bool:
        return self is not other

    def __repr__(self) -> str:
        return f"<memo of {self.__module__}.{self.__qualname__}>"

    def __copy__(self) -> _Memo:
        return self

    def __deepcopy__(self, memo: dict) -> _Memo:
        return self

    def __reduce__(self) -> str:
        return self.__qualname__


def memo(limit: int = 20_000) -> Callable[[Callable], Callable]:
    """A memo of a pure function of one hashable argument (skill text, scene name), kept as a
    ``table`` (emptied by ``clear_all``); bypassed on the reference world."""
    def wrap(fn: Callable) -> Callable:
        name = f"memo:{fn.__module__}.{fn.__qualname__}"
        t = _TABLES.get(name)
        if isinstance(t, _Memo):  # (a module loaded again: the same table, its new function)
            t.bind(fn, limit)
            return t
        t = _TABLES[name] = _Memo(fn, limit)
        return t
    return wrap
