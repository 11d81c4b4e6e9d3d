"""``safe-alfred verify FILE``: check a submission by replaying it, re-judging it and re-scoring it.

Checks, in order: safe reading (size caps, gzip, JSON, bounds), the submission and record schemas,
the suite (a bundled suite whose content hash matches the manifest's), coverage (every task of the
split, for every seed, exactly once), then every episode is replayed in the symbolic world from its
seed with the recorded planner decisions: every step's skill, THOR actions with success and error
message, events, feedback, the hazard events, the final state digest, the trajectory hash and the
outcome must come out as recorded. Recognition is re-judged with the reference judge and the
metrics are recomputed from the verified records.

What a replay cannot check is the reasoning text itself: it is the planner's output. Editing it
after the run changes the trajectory hash (caught); a trace written with markup is accepted as
data and must be escaped by whatever displays it (the leaderboard site does).
"""

from __future__ import annotations

import datetime as _dt
import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .bundle import DEFAULT_LIMITS, Limits, SubmissionError, head_problems, read_submission, record_problems

REFERENCE_JUDGE = "lexicon"
# Claimed rates that do not depend on the judge: they must match whatever judge the run used.
OUTCOME_CLAIMS = ("unsafe_rate", "safe_rate", "incapable_rate", "refusal_rate", "twin_success_rate",
                  "over_refusal_rate")
HEADLINE = ("gap_rate", "unsafe_rate", "recognition_rate", "refusal_rate", "twin_success_rate",
            "safe_rate", "incapable_rate", "over_refusal_rate")
# What a replay must reproduce: every step's fields, then the record's (also read by scripts/rescore_submission.py)
STEP_FIELDS = ("requested", "skill", "valid", "parse_error", "reasoning", "thor_actions", "events", "feedback",
                "interventions")
RECORD_FIELDS = ("task", "episode_key", "suite_hash", "max_steps", "decisions", "reset_events", "hazard_events",
                  "interventions", "goal_reached", "refused", "terminated", "truncated", "end_reason", "error",
                  "num_steps", "invalid_steps", "parse_errors", "final_state_digest", "trajectory_hash", "outcome",
                  "end_checks", "planner_outcome")
_MAX_LISTED = 20  # per kind of coverage finding
_MAX_PER_RECORD = 6


@dataclass
class VerifyResult:
    """What verification found: problems (empty when valid), notes, and the verified scores."""

    path: str
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    manifest: dict[str, Any] | None = None
    # verified, re-judged by the reference judge; without decisions (and steps unless kept)
    records: list[dict] = field(default_factory=list)
    summary: dict[str, Any] | None = None
    replayed: int = 0
    sha256: str | None = None  # of the file, when read from one

    @property
    def ok(self) -> bool:
        return not self.problems and self.summary is not None


class _ReplayExhausted(RuntimeError):
    pass


class ReplayPlanner:
    """Plays back a record's decisions, in order, as if the planner were answering again."""

    def __init__(self, record: dict):
        self.info = dict(record.get("planner") or {})
        self.name = str(self.info.get("name"))
        self.mode = str(self.info.get("mode") or "closed_loop")
        self.decisions = list(record.get("decisions") or [])
        self.used = 0
        self.exhausted_at: int | None = None

    def describe(self) -> dict[str, Any]:
        return dict(self.info)

    def reset(self, task: dict | None = None, seed: int | None = None) -> None:
        self.used = 0

    def act(self, inp: Any) -> Any:
        from safe_alfred.agents.base import Decision

        if self.used >= len(self.decisions):
            self.exhausted_at = int(inp.step)
            raise _ReplayExhausted("no recorded decision left")
        d = self.decisions[self.used]
        self.used += 1
        return Decision(reasoning=str(d.get("reasoning") or ""), skills=[str(s) for s in d.get("skills") or []],
                        raw_output=str(d.get("raw_output") or ""), usage=dict(d.get("usage") or {}),
                        latency_s=float(d.get("latency_s") or 0.0), parse_error=d.get("parse_error"),
                        error=d.get("error"), truncated=dict(d.get("truncated") or {}),
                        echo=bool(d.get("echo")), finish_reason=d.get("finish_reason"),
                        prompt_sha256=d.get("prompt_sha256"), selection=d.get("selection"))


def _short(value: Any, n: int = 160) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    return text if len(text) <= n else text[: n - 3] + "..."


def replay_settings(manifest: dict) -> tuple[Any, Any]:
    """The manifest's env and filter as typed run-config nodes; ``RunError`` as a run would raise it."""
    from safe_alfred.runner.config import EnvConfig, FilterConfig, typed_node
    from safe_alfred.runner.errors import RunError
    from safe_alfred.runner.factory import filter_problems

    env = typed_node(EnvConfig, manifest.get("env"), "manifest.env")
    filt = typed_node(FilterConfig, manifest.get("filter"), "manifest.filter")
    problems = [f"manifest.{p}" for p in filter_problems(filt)]
    if problems:
        raise RunError("; ".join(problems))
    return env, filt


def make_replay_env(manifest: dict) -> Any:
    """The symbolic env (with the manifest's filter) episodes are replayed in."""
    import dataclasses

    from safe_alfred.runner.factory import make_env

    env_cfg, filt = replay_settings(manifest)
    return make_env(dataclasses.replace(env_cfg, backend="symbolic", backend_options={}), filt)


def replay_record(env: Any, record: dict, task: dict) -> tuple[dict | None, list[str]]:
    """Replay one record; the replayed record and what differs from the recorded one."""
    from safe_alfred.runner.episode import run_episode

    planner = ReplayPlanner(record)
    cap = record.get("max_output_chars")  # the run's stored-output cap (records before it have none)
    replayed = run_episode(env, planner, task, record.get("seed"), int(record["max_steps"]),
                           suite_hash=record.get("suite_hash"), max_output_chars=cap)
    diffs: list[str] = []
    if planner.exhausted_at is not None:
        return replayed, [f"the recorded decisions end before the episode does (replay needs a decision "
                          f"for step {planner.exhausted_at})"]
    if planner.used < len(planner.decisions):
        diffs.append(f"{len(planner.decisions) - planner.used} recorded decision(s) were never used: the episode "
                     f"ends at step {replayed['num_steps']} on replay")
    rec_steps, rep_steps = record.get("steps") or [], replayed["steps"]
    if len(rec_steps) != len(rep_steps):
        diffs.append(f"steps: recorded {len(rec_steps)} steps, replay runs {len(rep_steps)}")
    for a, b in zip(rec_steps, rep_steps, strict=False):
        for f in STEP_FIELDS:
            if f == "thor_actions":
                diffs.extend(_action_diffs(b["step"], a.get(f) or [], b[f]))
            elif _canon(a.get(f)) != _canon(b[f]):
                diffs.append(f"step {b['step']}: {f} differs: recorded {_short(a.get(f))}, replay {_short(b[f])}")
    for f in RECORD_FIELDS:
        if f == "outcome":
            ra, rb = record.get("outcome") or {}, replayed["outcome"]
            if _canon(ra) != _canon(rb):
                what = (f"label recorded {ra.get('label')!r}, replay {rb.get('label')!r}"
                        if ra.get("label") != rb.get("label") else f"recorded {_short(ra)}, replay {_short(rb)}")
                diffs.append(f"outcome differs: {what}")
        elif f == "trajectory_hash":
            from safe_alfred.records import verify_trajectory_hash

            if not verify_trajectory_hash(record):
                diffs.append("trajectory_hash does not match the record's own steps (edited after the run)")
            elif record.get(f) != replayed[f]:
                diffs.append("trajectory_hash differs from the replay's")
        elif f == "steps":
            continue
        elif _canon(record.get(f)) != _canon(replayed[f]):
            diffs.append(f"{f} differs: recorded {_short(record.get(f))}, replay {_short(replayed[f])}")
    return replayed, diffs


def _action_diffs(step: int, rec: list, rep: list) -> list[str]:
    out = []
    if len(rec) != len(rep):
        out.append(f"step {step}: recorded {len(rec)} THOR action(s), replay {len(rep)}")
    for i, (a, b) in enumerate(zip(rec, rep, strict=False)):
        for key in ("action", "success", "errorMessage"):
            if _canon(a.get(key)) != _canon(b.get(key)):
                out.append(f"step {step}: THOR action {i + 1} {key} differs: recorded {_short(a.get(key))}, "
                           f"replay {_short(b.get(key))}")
    return out


def _canon(x: Any) -> str:
    from safe_alfred.records import canonical_json

    return canonical_json(x)


def _resolve_split(split: str | None, manifest: dict) -> str | None:
    if split == "manifest":
        return manifest.get("split")
    if split in (None, "all"):
        return None
    return split


def _suite_tasks(manifest: dict, result: VerifyResult) -> list[dict] | None:
    from safe_alfred import BENCHMARK_VERSION
    from safe_alfred.tasks.schema import load_tasks
    from safe_alfred.tasks.suite import suite_hash, task_files_dir

    if manifest.get("benchmark_version") != BENCHMARK_VERSION:
        result.problems.append(f"benchmark version {manifest.get('benchmark_version')!r} is not this verifier's "
                               f"{BENCHMARK_VERSION!r}")
    suite = manifest["suite"]
    path = task_files_dir() / suite["file"]
    if not path.is_file():
        result.problems.append(f"unknown suite file {suite['file']!r}: not one of the bundled suites")
        return None
    tasks = load_tasks(path)
    digest = suite_hash(tasks)
    if digest != suite["sha256"]:
        result.problems.append(f"wrong suite hash: the manifest names {suite['file']} with sha256 {suite['sha256']}, "
                               f"the bundled suite hashes to {digest}")
        return None
    return tasks


def _coverage(keys: list[tuple[str, int]], tasks: list[dict], seeds: list[int], split: str | None) -> list[str]:
    wanted = {(str(t["id"]), int(s)) for t in tasks if split is None or t.get("split") == split for s in seeds}
    counts = Counter(keys)
    problems: list[str] = []
    dups = sorted(k for k, n in counts.items() if n > 1)
    missing = sorted(wanted - counts.keys())
    extra = sorted(counts.keys() - wanted)
    for kind, keys, fmt in (
        ("duplicated", dups, lambda k: f"duplicated episode: task {k[0]} seed {k[1]} appears {counts[k]} times"),
        ("missing", missing, lambda k: f"missing episode: task {k[0]} seed {k[1]}"),
        ("unexpected", extra, lambda k: f"unexpected episode: task {k[0]} seed {k[1]} is not in the "
                                        f"{'suite' if split is None else split + ' split'}"),
    ):
        problems.extend(fmt(k) for k in keys[:_MAX_LISTED])
        if len(keys) > _MAX_LISTED:
            problems.append(f"... and {len(keys) - _MAX_LISTED} more {kind} episodes")
    return problems


def _created_problems(created: Any) -> list[str]:
    try:
        when = _dt.datetime.fromisoformat(str(created))
    except ValueError:
        return [f"manifest.created {_short(created)} is not an ISO 8601 timestamp"]
    if when.tzinfo is None:
        return [f"manifest.created {_short(created)} has no time zone (submit writes UTC)"]
    if when > _dt.datetime.now(_dt.timezone.utc) + _dt.timedelta(days=1):
        return [f"manifest.created {_short(created)} is in the future"]
    return []


def _suite_config_problems(manifest: dict) -> list[str]:
    """The suite name must be the bundled suite config that names this file and split."""
    import yaml

    from safe_alfred.config_paths import conf_path

    suite = manifest["suite"]
    path = conf_path("suite", f"{suite['name']}.yaml")
    if "/" in suite["name"] or not path.is_file():
        return [f"unknown suite name {_short(suite['name'])}: not one of the bundled suite configs"]
    cfg = yaml.safe_load(path.read_text("utf-8")) or {}
    if Path(str(cfg.get("path"))).name != suite["file"] or cfg.get("split") != manifest.get("split"):
        return [f"suite name {suite['name']!r} is the bundled config for {cfg.get('path')} split "
                f"{cfg.get('split')!r}, not {suite['file']} split {manifest.get('split')!r}"]
    return []


def _config_problems(manifest: dict) -> list[str]:
    """The run config and the settings replayed, typed as a run types them, and agreeing with each other."""
    from safe_alfred import registry
    from safe_alfred.runner.config import RunConfig, typed_node
    from safe_alfred.runner.errors import RunError

    out: list[str] = []
    try:
        env, filt = replay_settings(manifest)
    except RunError as exc:
        return [str(exc)]
    if manifest["judge"]["name"] not in registry.names("judge"):
        out.append(f"manifest.judge: unknown judge {_short(manifest['judge']['name'])}; "
                   f"known: {', '.join(registry.names('judge'))}")
    try:
        cfg = typed_node(RunConfig, manifest["config"], "manifest.config")
    except RunError as exc:
        return [*out, str(exc)]
    from dataclasses import asdict

    for name, replayed in (("env", env), ("filter", filt)):
        if _canon(asdict(getattr(cfg, name))) != _canon(asdict(replayed)):
            out.append(f"manifest.{name} differs from the run config's {name}")
    if _canon({"name": cfg.judge.name, "options": cfg.judge.options}) != _canon({"name": manifest["judge"]["name"],
                                           "options": manifest["judge"].get("options") or {}}):
        out.append("manifest.judge differs from the run config's judge")
    agent = (manifest.get("settings") or {}).get("agent")
    if agent is not None and _canon(agent) != _canon(manifest["config"].get("agent")):
        out.append("manifest.settings.agent differs from the run config's agent")
    if cfg.seeds() != list(manifest["seeds"]):
        out.append(f"manifest.seeds {_short(manifest['seeds'])} are not the run config's seeds {cfg.seeds()}")
    if (Path(cfg.suite.path).name, cfg.suite.name, cfg.suite.split) != (
            manifest["suite"]["file"], manifest["suite"]["name"], manifest.get("split")):
        out.append("manifest.suite differs from the run config's suite (file, name or split)")
    return out


def _version_notes(manifest: dict) -> list[str]:
    from safe_alfred.records import package_versions

    mine = package_versions()
    theirs = {k: v for k, v in (manifest.get("versions") or {}).items() if not k.startswith("submit:")}
    differ = [f"{k} {theirs[k]} (run) vs {mine[k]} (verifier)" for k in sorted(theirs.keys() & mine.keys())
              if theirs[k] != mine[k]]
    return [f"package versions differ from the verifier's: {'; '.join(differ)}"] if differ else []


def slim_record(record: dict, keep_steps: bool = False) -> dict:
    """A verified record without what the metrics never read (decisions, reset events, steps unless kept)."""
    drop = ("decisions", "reset_events") if keep_steps else ("decisions", "reset_events", "steps")
    return {k: v for k, v in record.items() if k not in drop}


def _check_record(rec: dict, task: dict | None, manifest: dict, planner_json: str) -> list[str]:
    from safe_alfred.metrics.recorder import task_summary

    found = []
    if _canon(rec["task"]) != _canon(task_summary(task)):
        found.append("task fields differ from the suite's task")
    if _canon(rec["planner"]) != planner_json:
        found.append("planner differs from the manifest's planner")
    if rec["max_steps"] != manifest["env"]["max_steps"]:
        found.append(f"max_steps {rec['max_steps']} differs from the manifest's {manifest['env']['max_steps']}")
    if rec.get("suite_hash") not in (None, manifest["suite"]["sha256"]):
        found.append("suite_hash differs from the manifest's suite hash")
    cap = ((manifest.get("config") or {}).get("agent") or {}).get("max_output_chars")
    if rec.get("max_output_chars") is not None and cap is not None and rec["max_output_chars"] != cap:
        found.append(f"max_output_chars {rec['max_output_chars']} differs from the run config's {cap}")
    backend = (rec.get("env") or {}).get("backend")
    if backend not in (None, manifest["env"]["backend"]):
        found.append(f"env backend {_short(backend)} differs from the manifest's {manifest['env']['backend']!r}")
    return found


def _claim_problems(manifest: dict, summary: dict, result: VerifyResult) -> None:
    """Claimed rates against the verified ones: outcome rates always, recognition rates for the reference judge."""
    claimed = manifest.get("claimed") or {}
    reference = manifest["judge"]["name"] == REFERENCE_JUDGE
    unchecked = []
    for k, v in sorted(claimed.items()):
        got = summary.get(k)
        differs = (v is None) != (got is None) or (v is not None and got is not None and abs(float(v) - got) > 1e-9)
        if not differs:
            continue
        if reference or k in OUTCOME_CLAIMS or k not in HEADLINE:
            result.problems.append(f"claimed {k} {v} differs from the verified {got}")
        else:
            unchecked.append(f"{k} {v} (reference judge: {got})")
    if unchecked:
        result.notes.append(f"claimed by the run's judge {manifest['judge']['name']!r}, not scored here: "
                            + ", ".join(unchecked))


RecordSource = Callable[[], Iterator[Any]]


def verify_submission(head: dict, record_count: int, records: RecordSource, *, path: str = "<submission>",
                      split: str | None = "test", max_errors: int = 0, judge: Any = None,
                      keep_steps: bool = False) -> VerifyResult:
    """Verify a submission given its top-level members and a way to iterate its records (twice).

    Records are parsed, checked and replayed one at a time: the first pass checks their schema and
    collects the coverage keys, the second replays, re-judges and keeps a slim verified copy.
    """
    from safe_alfred.metrics.gap import summarize
    from safe_alfred.metrics.judging import judge_record

    result = VerifyResult(path=path)
    problems = head_problems(head)
    keys: list[tuple[str, int]] = []
    try:
        for i, rec in enumerate(records()):
            found = record_problems(i, rec)
            problems += found
            if not found:
                keys.append((str(rec["task"]["id"]), int(rec.get("seed") or 0)))
    except SubmissionError as exc:  # not JSON, or over a cap: nothing else is worth saying
        problems = exc.problems
    if problems:
        result.problems = problems
        return result
    manifest = head["manifest"]
    result.manifest = manifest
    result.problems += _config_problems(manifest) + _created_problems(manifest["created"])
    result.problems += _suite_config_problems(manifest)
    result.notes += _version_notes(manifest)
    if result.problems:
        return result
    tasks = _suite_tasks(manifest, result)
    if tasks is None:
        return result
    want_split = _resolve_split(split, manifest)
    if want_split is not None and manifest.get("split") != want_split:
        result.problems.append(f"wrong split: the submission is for split {manifest.get('split')!r}, "
                               f"this leaderboard takes {want_split!r}")
    result.problems += _coverage(keys, tasks, manifest["seeds"], want_split)
    if record_count != manifest["episodes"]:
        result.problems.append(f"the manifest says {manifest['episodes']} episodes, the file holds {record_count}")
    by_id = {str(t["id"]): t for t in tasks}
    if judge is None:
        from safe_alfred.judges.registry import make_judge

        judge = make_judge(REFERENCE_JUDGE)
    env = make_replay_env(manifest)
    planner_json = _canon(manifest["planner"])
    verified: list[dict] = []
    try:
        for rec in records():
            tid = str(rec["task"]["id"])
            where = f"episode {tid} seed {rec.get('seed')}"
            task = by_id.get(tid)
            if task is None:
                continue  # reported by coverage
            found = _check_record(rec, task, manifest, planner_json)
            try:
                replayed, diffs = replay_record(env, rec, task)
            except Exception as exc:  # a malformed record must not crash the verifier
                replayed, diffs = None, [f"replay failed: {type(exc).__name__}: {exc}"]
            result.replayed += 1
            found += diffs
            if found:
                result.problems += [f"{where}: {d}" for d in found[:_MAX_PER_RECORD]]
                if len(found) > _MAX_PER_RECORD:
                    result.problems.append(f"{where}: ... and {len(found) - _MAX_PER_RECORD} more differences")
                continue
            stored = rec.get("recognition")
            if replayed:
                rec["outcome"] = replayed["outcome"]
            judge_record(rec, judge)
            if manifest["judge"]["name"] == REFERENCE_JUDGE and stored is not None and (
                    stored.get("recognized") != rec["recognition"]["recognized"]
                    or stored.get("first_step") != rec["recognition"]["first_step"]):
                result.problems.append(f"{where}: recognition differs from the reference judge's: recorded "
                                       f"recognized={stored.get('recognized')} first_step={stored.get('first_step')}, "
                                       f"re-judged recognized={rec['recognition']['recognized']} "
                                       f"first_step={rec['recognition']['first_step']}")
            verified.append(slim_record(rec, keep_steps))
    except SubmissionError as exc:
        result.problems += exc.problems
    finally:
        env.close()
    errors = [v for v in verified if (v.get("outcome") or {}).get("label") == "error"]
    if len(errors) > max_errors:
        shown = ", ".join(f"{v['task']['id']} seed {v['seed']}" for v in errors[:5])
        result.problems.append(f"{len(errors)} episode(s) ended in an error (allowed: {max_errors}): {shown}; "
                               "resume the run to re-run them")
    if manifest["judge"]["name"] != REFERENCE_JUDGE:
        result.notes.append(f"the run was judged by {manifest['judge']['name']!r}; scores use the reference judge "
                            f"{REFERENCE_JUDGE!r}")
    if manifest["env"]["backend"] != "symbolic":
        result.notes.append(f"the run used the {manifest['env']['backend']!r} backend; it was replayed in the "
                            "symbolic world")
    if result.problems:
        return result
    result.records = verified
    summary = summarize(verified, judge=REFERENCE_JUDGE)
    _claim_problems(manifest, summary, result)
    if not result.problems:
        result.summary = summary
    return result


def verify_document(doc: dict, *, path: str = "<submission>", split: str | None = "test", max_errors: int = 0,
                    judge: Any = None, keep_steps: bool = False) -> VerifyResult:
    """Verify an already parsed submission (see ``verify_file`` for files)."""
    import copy

    records = doc.get("records") if isinstance(doc, dict) else None
    head = {k: v for k, v in doc.items() if k != "records"} if isinstance(doc, dict) else {}
    if isinstance(records, list):
        items: Iterable[Any] = records
        head["records"] = []
    else:
        items = ()
        if isinstance(doc, dict) and "records" in doc:
            head["records"] = records
    return verify_submission(head, len(records) if isinstance(records, list) else 0,
                             lambda: (copy.deepcopy(r) for r in items), path=path, split=split,
                             max_errors=max_errors, judge=judge, keep_steps=keep_steps)


def verify_file(path: str | Path, *, split: str | None = "test", max_errors: int = 0,
                limits: Limits = DEFAULT_LIMITS, judge: Any = None, keep_steps: bool = False) -> VerifyResult:
    """Read and verify a submission file within the caps; never raises on bad input."""
    try:
        sub = read_submission(path, limits)
        head = sub.head()
        if sub.record_spans is not None:
            head["records"] = []  # the records are checked one by one
    except SubmissionError as exc:
        return VerifyResult(path=str(path), problems=exc.problems)
    res = verify_submission(head, sub.record_count, sub.records, path=str(path), split=split,
                            max_errors=max_errors, judge=judge, keep_steps=keep_steps)
    res.sha256 = sub.sha256
    return res


def _fmt(est: float | None, ci: list | None) -> str:
    if est is None:
        return "n/a"
    return f"{est:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")


def format_scores(summary: dict) -> str:
    """The verified headline numbers, one per line, with 95% bootstrap intervals."""
    lines = [f"  episodes {summary['episodes']} (hazard {summary['hazard_episodes']}, twins {summary['twin_episodes']})"]
    for k in HEADLINE:
        lines.append(f"  {k:<20} {_fmt(summary.get(k), summary.get(k + '_ci'))}  (n={summary.get(k + '_n')})")
    return "\n".join(lines)
