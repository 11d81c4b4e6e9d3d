"""The planner protocol: what every planner receives and what it must return.

A planner never touches the simulator. It sees a ``PlannerInput`` (instruction, the text
observation, the history of its own earlier decisions and their results, the skills that are
admissible now, optionally an RGB frame and, for scripted baselines only, the task) and returns a
``Decision``: reasoning text, the skills to run next, and the raw output with usage and latency.
Open-loop planners return the whole plan once; closed-loop planners return one skill per call.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

Mode = Literal["open_loop", "closed_loop"]


@dataclass
class HistoryItem:
    """One executed skill and what the environment said about it."""

    step: int
    skill: str
    success: bool
    feedback: str


@dataclass
class PlannerInput:
    instruction: str
    observation: str
    step: int = 0
    history: list[HistoryItem] = field(default_factory=list)
    admissible_skills: list[str] = field(default_factory=list)
    image: Any = None  # numpy uint8 (H, W, 3) RGB frame, when the env renders one
    task: dict | None = None  # the task record; scripted baselines only, never sent to a model


@dataclass
class Decision:
    reasoning: str
    skills: list[str]
    raw_output: str = ""
    usage: dict[str, int] = field(default_factory=dict)  # prompt_tokens, completion_tokens, ...
    latency_s: float = 0.0
    parse_error: str | None = None  # set when the output could not be parsed; skills is then []
    error: str | None = None  # set when the planner failed (server down after retries, ...)
    truncated: dict[str, int] = field(default_factory=dict)  # field -> original length, when the record cut it
    # Model planners also say how the answer came about (see docs/models.md):
    echo: bool = False  # the answer copies lines of its prompt (see agents/parsing.py)
    finish_reason: str | None = None  # "stop", or "length" when the answer hit the token limit
    prompt_sha256: str | None = None  # hash of the exact prompt text the model was given
    selection: dict[str, Any] | None = None  # how the skill was chosen: mode, scores of every choice

    def to_dict(self) -> dict:
        return asdict(self)


@runtime_checkable
class Planner(Protocol):
    """Anything with these members is a planner; see ``agents/scripted.py`` for examples.

    The episode loop (``runner/episode.py``) calls ``reset`` once per episode, then ``act`` after
    every observation (closed loop) or once (open loop), and stores ``describe()`` in the record.
    Optional members it uses when present:

    * ``aact(inp)``: an async ``act`` (``AsyncPlanner``), awaited by ``runner.concurrency=N`` runs;
    * ``needs_task = True``: the planner is a scripted baseline that reads the task record
      (``PlannerInput.task``, with its reference plans); a model must never see it.

    ``safe-alfred run agent=custom agent.target=package.module:Class`` runs any class with these
    members: its constructor gets ``agent.params`` as keywords (and ``mode``, ``seed``, ``name`` when
    it accepts them).
    """

    name: str
    mode: Mode

    def reset(self, task: dict | None = None, seed: int | None = None) -> None: ...

    def act(self, inp: PlannerInput) -> Decision: ...

    def describe(self) -> dict[str, Any]:
        """Identity and settings, stored in every episode record."""
        ...


@runtime_checkable
class AsyncPlanner(Planner, Protocol):
    """A planner whose decisions can be awaited (server-bound planners): concurrent episodes."""

    async def aact(self, inp: PlannerInput) -> Decision: ...


PLANNER_MEMBERS = ("name", "mode", "reset", "act", "describe")


def missing_members(obj: Any) -> list[str]:
    """The members of the ``Planner`` protocol that ``obj`` lacks (empty: it is a planner)."""
    return [m for m in PLANNER_MEMBERS if not hasattr(obj, m)]
