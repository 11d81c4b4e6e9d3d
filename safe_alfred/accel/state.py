"""``AcceleratedState``: a ``WorldState`` that remembers what is derived from it.

The world's code runs unchanged on it; only ``ask`` and ``answers`` (a derived value), ``apply`` (an automatic
rule), ``evolve``, ``write`` and ``add`` behave differently, and never change an answer:

* A state made by ``evolve`` is *open* while ``transition`` changes it. An open state stores
  nothing; a value asked of it is the one the state it came from (``before``) holds when the
  step has changed nothing the value reads, else that value brought up to date (``update``),
  else computed.
* ``apply`` (the world's automatic rules, the last step of ``transition`` that changes the
  state) *closes* it: what ``before`` knew is carried over wherever the step changed nothing it
  reads (``reads.changes``), and from then on every value asked is remembered on the state.
  A value kept per agent pose lives in a table shared by the states between which only the
  agent's pose changed, so walking back to a pose finds it there; a step that changed other
  parts gives its state a table of its own with what the old one kept that reads none of them.
* A rule that changed nothing on the step before is skipped when the step changed nothing the
  rule reads (``registry.rule``): it would change nothing again.
* ``write`` or ``add`` on a closed state opens it again and forgets what it had derived; a state
  that is evolved from is closed first (it is complete).

A state's agent, hand and settings are changed by hand only in an action's handler, before
``apply``; after it, only through ``write`` (``docs/world_rules.md``).
"""

from __future__ import annotations

from typing import Any

from ..world.state import WorldState
from .reads import ALL_AGENT, LAST, STEP, changes
from .registry import DECLARED, FAST, POSE_KEYS, READS, RULES, UPDATES, VIEW_READS

_MISS = object()
_MOVE_STEP = ALL_AGENT | STEP | LAST  # what a step that wrote nothing else may have changed


class AcceleratedState(WorldState):
    """See the module docstring. Made by ``accel.start`` and by ``evolve``."""

    # per instance, not dataclass fields: what this state knows
    memo: dict | None = None  # fact (or rule) -> value, for a closed state
    memo_reads: int = 0  # what the values in ``memo`` read, together
    views: dict | None = None  # agent pose -> {fact: value}, shared while only the pose changes
    view: dict | None = None  # this state's entry in ``views``
    before: AcceleratedState | None = None  # the state this one was made from, until evolved from
    closed: bool = False
    writes: int = 0  # calls of write and add so far
    open_mask: tuple | None = None  # (writes, decay size, hand, changes) while the rules run
    open_values: dict | None = None  # fact -> (writes, value) brought up to date while the rules run
    carry: tuple | None = None  # (memo_reads, rules) for which a step that moved only the agent carries it all

    @classmethod
    def adopt(cls, state: WorldState) -> AcceleratedState:
        """An accelerated (closed, knowing nothing yet) state with ``state``'s data."""
        new = cls(state.scene, state.objects, state.agent, state.held, state.step, state.last, state.settings,
                  state.spawned, state.decay)
        new.memo = {}
        new.closed = True
        return new

    def remember(self, fact, value) -> None:
        """Tell a closed state a value it will be asked for (one known without computing)."""
        self.memo[fact] = value
        self.memo_reads |= READS[fact]

    def evolve(self) -> AcceleratedState:
        if not self.closed:
            self._close(None)
        self.before = None  # complete now: what it carried is its own
        new = AcceleratedState(self.scene, dict(self.objects), dict(self.agent), self.held, self.step,
                               dict(self.last), self.settings, dict(self.spawned), dict(self.decay))
        new.before = self
        new.carry = None  # (set here, with ``before``, on every state: an attribute some states got
        # later than others, in another order, made every attribute access dearer: +4% instructions/step)
        return new

    def write(self, object_id: str) -> dict[str, Any]:
        if self.closed:
            self._reopen()
        self.writes += 1
        return super().write(object_id)

    def add(self, object_id: str, object_state: dict[str, Any]) -> None:
        if self.closed:
            self._reopen()
        self.writes += 1
        super().add(object_id, object_state)

    # -- derived values -----------------------------------------------------------------------
    answers = FAST  # a fact with arguments: its fast computation (what it gives is not remembered)

    def ask(self, fact):
        if self.closed:
            memo = self.memo
            value = memo.get(fact, _MISS)
            if value is not _MISS:
                return value
            view = self.view
            if view is not None:
                value = view.get(fact, _MISS)
                if value is not _MISS:
                    return value
            d = DECLARED.get(fact)
            if d is None:
                return fact.compute(self)
            if d.by_pose:
                if view is None:
                    view = self.view = _pose_entry_in(self, self.agent)
                    value = view.get(fact, _MISS)
                    if value is not _MISS:
                        return value
                value = view[fact] = d.fast(self, view)
                return value
            value = memo[fact] = d.fast(self)
            self.memo_reads |= d.reads
            return value
        return self._ask_open(fact)

    def _ask_open(self, fact):
        d = DECLARED.get(fact)
        if d is None:
            return fact.compute(self)
        before = self.before
        if before is None:  # opened by a write after its step: nothing to carry from
            return d.fast(self, {}) if d.by_pose else d.fast(self)
        known = self.open_mask
        if known is not None and known[0] == self.writes and known[1] == len(self.decay) and known[2] == self.held:
            mask = known[3]
        else:  # (a handler checking what it may act on before it writes: the move mask)
            mask = self._changes_since(before)
            if known is not None:
                self.open_mask = (self.writes, len(self.decay), self.held, mask)
        if d.by_pose:
            entry = {} if mask & VIEW_READS else _pose_entry_in(before, self.agent)
            value = entry.get(fact, _MISS)
            if value is _MISS:
                value = entry[fact] = d.fast(self, entry)
            return value
        value = before.ask(fact)  # kept by the complete state, and carried on from there
        if not mask & d.reads:
            return value
        if d.update is not None:
            value = d.update(value, before, self, mask)
            if known is not None:  # asked by a rule: closing takes it while nothing is written since
                if self.open_values is None:
                    self.open_values = {}
                self.open_values[fact] = (self.writes, value)
            return value
        return d.fast(self)

    # -- automatic rules ----------------------------------------------------------------------
    def apply(self, *rules) -> None:
        if self.closed:
            self._reopen()
        before = self.before
        if before is None:
            for rule in rules:
                rule(self)
            self._close(None)
            return
        if self._moved_only(before):  # what changed is within _MOVE_STEP: no need to work it out
            carry = before.carry
            if carry is not None and carry[0] == before.memo_reads and carry[1] == rules:
                self._carry(before, carry)  # (as the state before was: nothing it knows reads what moved)
                return
            if self._carry_unchanged(before, rules):
                return
            mask = _MOVE_STEP
        else:
            mask = changes(before, self)
        known = before.memo
        quiet = None  # rules that ran here and changed nothing, remembered as such on closing
        for rule in rules:
            r = RULES.get(rule)
            if r is None:
                rule(self)
                mask = changes(before, self)
                quiet = _still_quiet(quiet, mask)
                continue
            if r.idle_without is not None and not getattr(self, r.idle_without):
                continue  # nothing to act on
            if not mask & r.reads and rule in known:
                # it changed nothing last time, and nothing it reads changed since: skipped, and
                # remembered as quiet by ``_close`` unless a later rule changes what it reads
                continue
            writes, decay = self.writes, len(self.decay) and dict(self.decay)
            held, settings, agent = self.held, self.settings, tuple(self.agent.values())
            # asked while the rule runs: what changed, known as long as the rule changes objects
            # (through write and add) and what cools down, as rules do
            self.open_mask = (writes, len(self.decay), held, mask)
            rule(self)
            self.open_mask = None
            if (self.writes == writes and (self.decay == decay if decay else not self.decay) and self.held == held
                    and self.settings is settings and tuple(self.agent.values()) == agent):
                if not r.reads & STEP:  # (one that reads the step counter is never skipped)
                    quiet = (quiet or []) + [rule]
            else:
                mask = changes(before, self)
                quiet = _still_quiet(quiet, mask)
                self.open_values = None
        self._close(mask)
        if quiet:
            memo = self.memo
            for rule in quiet:
                memo[rule] = True
                self.memo_reads |= READS[rule]

    def _moved_only(self, before: AcceleratedState) -> bool:
        """Whether the step wrote no object and changed neither the hand, the view settings, the
        spawned objects nor what cools down (a move, a turn, a wait): then only the agent, the
        step counter and ``last`` can differ (``_MOVE_STEP``, a mask that covers what changed)."""
        return (not self.written and self.held == before.held and self.settings is before.settings
                and len(self.spawned) == len(before.spawned) and self.decay == before.decay)

    def _changes_since(self, before: AcceleratedState) -> int:
        """A mask covering what differs from ``before``: ``_MOVE_STEP`` itself when the step
        changed nothing else (``_moved_only``), without working it out; else ``reads.changes``."""
        return _MOVE_STEP if self._moved_only(before) else changes(before, self)

    def _carry_unchanged(self, before: AcceleratedState, rules: tuple) -> bool:
        """Close at once after a step that changed only what ``_MOVE_STEP`` covers, when no rule
        reads it and each has nothing to act on or changed nothing the step before: every rule
        would be skipped and everything ``before`` knew that reads none of it carries over,
        per-pose values included. (What the general path would do, without its loop.)"""
        if before.memo_reads & _MOVE_STEP:
            return False
        known = before.memo
        for rule in rules:
            r = RULES.get(rule)
            if r is None:
                return False
            if r.idle_without is not None and not getattr(self, r.idle_without):
                continue
            if r.reads & _MOVE_STEP or rule not in known:
                return False
        self._carry(before, (before.memo_reads, rules))
        return True

    def _carry(self, before: AcceleratedState, carry: tuple) -> None:
        """Close with all ``before`` knew, per-pose values included (``_carry_unchanged``'s
        outcome); ``carry`` (what ``before`` knew read, the rules) says the next such step may
        do the same without asking again, while this state comes to know nothing more that reads."""
        self.memo = dict(before.memo)
        self.memo_reads = carry[0]
        views = before.views
        if views is not None:
            self.views = views
        self.view = None
        self.closed = True
        self.carry = carry

    # -- open and closed ----------------------------------------------------------------------
    def _close(self, mask: int | None) -> None:
        memo: dict = {}
        before = self.before
        if before is not None:
            if mask is None:
                mask = changes(before, self)
            known = before.memo
            if known:
                if not mask & before.memo_reads:
                    memo = dict(known)
                    self.memo_reads = before.memo_reads
                else:
                    reads = 0
                    done = self.open_values or {}
                    for key, value in known.items():
                        key_reads = READS[key]
                        if not mask & key_reads:
                            memo[key] = value
                        elif key in UPDATES:  # what can be brought up to date is (or was, by a rule)
                            found = done.get(key)
                            memo[key] = found[1] if found is not None and found[0] == self.writes \
                                else UPDATES[key](value, before, self, mask)
                        else:
                            continue
                        reads |= key_reads
                    self.memo_reads = reads
            views = before.views
            if views is not None:
                self.views = views if not mask & VIEW_READS else _carried_views(views, mask & VIEW_READS)
        self.memo = memo
        self.view = None
        self.open_values = None
        self.closed = True

    def _reopen(self) -> None:
        self.closed = False
        self.carry = None
        self.open_values = None
        self.memo = None
        self.memo_reads = 0
        self.view = None
        self.views = None


def _carried_views(views: dict, mask: int) -> dict | None:
    """A per-pose table of its own holding what ``views`` kept at each pose that reads nothing in
    ``mask`` (what the step changed, the agent aside: each value stays at its pose), or None
    when nothing does. Only the declared keys (``registry.POSE_KEYS``) are carried."""
    keep = [key for key in POSE_KEYS if not READS[key] & mask]
    if not keep:
        return None
    out = {}
    for pose, entry in views.items():
        kept = {key: entry[key] for key in keep if key in entry}
        if kept:
            out[pose] = kept
    return out or None


def _still_quiet(quiet: list | None, mask: int) -> list | None:
    """The quiet rules of ``quiet`` that read nothing in ``mask`` (what a later rule changed is in
    it): one that reads what changed after it ran must run again on the next step."""
    if not quiet:
        return quiet
    return [rule for rule in quiet if not mask & READS[rule]] or None


def pose_entry(state: WorldState) -> dict:
    """Where the values kept per pose are for ``state``'s pose: its entry in the shared table
    (a closed state, or an open one whose step changed nothing they read but the pose), else a
    scratch dict."""
    if not isinstance(state, AcceleratedState):
        return {}
    if not state.closed:
        before = state.before
        if before is None or state._changes_since(before) & VIEW_READS:
            return {}
        return _pose_entry_in(before, state.agent)  # differs from ``before`` in pose alone
    entry = state.view
    if entry is None:
        entry = state.view = _pose_entry_in(state, state.agent)
    return entry


def _pose_entry_in(owner: AcceleratedState, agent: dict) -> dict:
    """The entry for ``agent``'s pose in ``owner``'s per-pose table, both made on first use."""
    views = owner.views
    if views is None:
        views = owner.views = {}
    key = (agent["x"], agent["z"], agent["rotation"])
    entry = views.get(key)
    if entry is None:
        entry = views[key] = {}
    return entry
