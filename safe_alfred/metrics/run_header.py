"""What a report describes, said first: the run's identity as a title, a header table and a plot caption.

The identity (``RunDir.identity``: agent, model, suite and hash, filter, env, judge, seeds, versions,
how many of the expected episodes are in) is stored as ``summary.json``'s ``run`` section; these
functions turn it into the lines ``report.md`` starts with and the caption on every plot.
"""

from __future__ import annotations

from typing import Any


def run_title(run: dict[str, Any] | None) -> str:
    """One line naming the run: ``always_comply on smoke (filter none, env symbolic, judge lexicon, seed 0)``."""
    if not run:
        return ""
    agent = str(run.get("agent") or run.get("planner") or "?")
    model = run.get("model")
    if model and str(model) not in agent:
        agent += f" [{model}]"
    suite = run.get("suite") or {}
    seeds = run.get("seeds") or []
    seed_text = f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {seeds[0]}-{seeds[-1]}" if seeds else "seeds ?"
    env = run.get("env") or {}
    name, split = str(suite.get("name") or "?"), suite.get("split")
    return (f"{agent} on {name}{' (' + str(split) + ' split)' if split and str(split) not in name else ''} "
            f"(filter {run.get('filter')}, env {env.get('backend')}, judge {run.get('judge')}, {seed_text})")


def plot_caption(run: dict[str, Any] | None) -> str:
    """The caption every plot carries: the run's title, its suite hash, the versions that made it and
    how many of the expected episodes it holds."""
    if not run:
        return ""
    sha = (run.get("suite") or {}).get("sha256")
    versions = run.get("versions") or {}
    shown = ", ".join(f"{k} {versions[k]}" for k in ("safe-alfred", "benchmark") if versions.get(k))
    parts = [f"suite sha256 {sha[:12]}" if sha else "", shown,
             f"{episodes_text(run, int(run.get('episodes_done') or 0))} episodes" if run.get("episodes_expected") else ""]
    return "; ".join([run_title(run)] + [p for p in parts if p])


def episodes_text(run: dict[str, Any], episodes: int) -> str:
    expected = run.get("episodes_expected")
    return f"{episodes} of {expected}" if expected is not None else str(episodes)


def header_lines(run: dict[str, Any] | None, episodes: int) -> list[str]:
    """The identity table, and a warning first when the run is partial."""
    if not run:
        return []
    suite = run.get("suite") or {}
    env = run.get("env") or {}
    versions = run.get("versions") or {}
    sha = suite.get("sha256")
    suite_text = f"{suite.get('name')} (`{suite.get('path')}`"
    suite_text += f", split {suite.get('split')}" if suite.get("split") else ""
    suite_text += f", first {suite.get('limit')} tasks" if suite.get("limit") else ""
    suite_text += f", sha256 `{sha[:16]}`)" if sha else ")"
    filt = str(run.get("filter"))
    if run.get("filter_gamma") is not None:
        filt += f" (gamma {run['filter_gamma']})"
    shown_versions = ", ".join(f"{k} {v}" for k, v in versions.items() if v and k in (
        "safe-alfred", "benchmark", "python", "ai2thor", "torch", "transformers", "openai"))
    lines = []
    if run.get("partial"):
        resume = run.get("resume_command")
        lines += [f"**Partial run: {episodes_text(run, run.get('episodes_done', episodes))} episodes** "
                  f"({run.get('state') or 'unfinished'}). Every rate below is over the episodes that ran."
                  + (f" Resume it with `{resume}`." if resume else ""), ""]
    seeds = run.get("seeds") or []
    lines += ["| run | |", "|---|---|",
              f"| directory | `{run.get('run_dir')}` |",
              f"| agent | {run.get('agent')} (planner `{run.get('planner')}`) |",
              f"| model | {run.get('model') or '-'} |",
              f"| suite | {suite_text} |",
              f"| filter | {filt} |",
              f"| env | {env.get('backend')}, at most {env.get('max_steps')} steps |",
              f"| judge | {run.get('judge') or '-'} |",
              f"| seeds | {', '.join(str(s) for s in seeds) or '-'} |",
              f"| episodes | {episodes_text(run, episodes)} |",
              f"| versions | {shown_versions or '-'} |",
              f"| config | `{run.get('config_hash') or '-'}`, started {run.get('started') or '-'}, "
              f"finished {run.get('finished') or '-'} |", ""]
    return lines
