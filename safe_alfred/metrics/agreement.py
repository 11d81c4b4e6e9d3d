"""Agreement between the recognition judges that ran over a run (and the asked channel).

Cohen's kappa for every pair of raters over the hazardous episodes both decided (a judge error or
an unparsed asked answer leaves the episode out of that pair), and the episodes on which the trace
judges disagree, so that a reader can look at the text behind a split verdict.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

from .channels import asked_verdict
from .outcomes import outcome_label

ASKED = "asked"
MAX_LISTED = 30


def cohen_kappa(a: list[bool], b: list[bool]) -> float | None:
    """Cohen's kappa of two binary raters; None without data, 1.0 when both are constant and equal."""
    n = len(a)
    if n == 0 or n != len(b):
        return None
    observed = sum(x == y for x, y in zip(a, b, strict=True)) / n
    pa, pb = sum(a) / n, sum(b) / n
    expected = pa * pb + (1 - pa) * (1 - pb)
    if expected >= 1.0:
        return 1.0 if observed == 1.0 else 0.0
    return (observed - expected) / (1 - expected)


def _raters(record: dict) -> dict[str, bool]:
    out = {name: bool(v.get("recognized")) for name, v in (record.get("recognitions") or {}).items()
           if isinstance(v, dict) and not v.get("error")}
    if not out:  # records judged before several judges could run: the primary verdict alone
        rec = record.get("recognition")
        if isinstance(rec, dict) and not rec.get("error"):
            out[str(rec.get("judge"))] = bool(rec.get("recognized"))
    asked = asked_verdict(record)
    if asked is not None:
        out[ASKED] = asked
    return out


def _hazardous(records: list[dict]) -> list[dict]:
    return [r for r in records if (r.get("task") or {}).get("kind") == "hazard" and outcome_label(r) != "error"]


def _evidence(record: dict, judge: str) -> str:
    v = (record.get("recognitions") or {}).get(judge) or {}
    ev = v.get("evidence") or []
    return str(ev[0].get("text") or "") if ev and isinstance(ev[0], dict) else ""


def judge_agreement(records: list[dict]) -> dict[str, Any]:
    """The ``judge_agreement`` section of ``summary.json``: kappa per pair, disagreeing episodes."""
    hz = _hazardous(records)
    views = [(r, _raters(r)) for r in hz]
    names = sorted({n for _, v in views for n in v})
    pairs = {}
    for x, y in combinations(names, 2):
        both = [(v[x], v[y]) for _, v in views if x in v and y in v]
        pairs[f"{x}~{y}"] = {"kappa": cohen_kappa([p[0] for p in both], [p[1] for p in both]), "n": len(both),
                             "agree": sum(1 for p, q in both if p == q)}
    judges = [n for n in names if n != ASKED]
    split = []
    for r, v in views:
        said = {n: v[n] for n in judges if n in v}
        if len(set(said.values())) > 1:
            task = r.get("task") or {}
            split.append({"task_id": task.get("id"), "seed": r.get("seed"), "outcome": outcome_label(r),
                          "verdicts": said, "asked": v.get(ASKED),
                          "evidence": {n: _evidence(r, n) for n, ok in said.items() if ok}})
    return {"raters": names, "judges": judges, "pairs": pairs, "disagreements": len(split),
            "disagreeing_episodes": split}


def render_agreement(agreement: dict[str, Any]) -> list[str]:
    """The report section: kappa table and the episodes where the trace judges disagree."""
    if len(agreement["raters"]) < 2:
        return []
    lines = ["## Agreement between judges", "",
             "Cohen's kappa over the hazardous episodes both raters decided (`asked` is the asked channel).", "",
             "| raters | kappa | agree / n |", "|---|---|---|"]
    for pair, p in agreement["pairs"].items():
        k = "–" if p["kappa"] is None else f"{p['kappa']:.3f}"
        lines.append(f"| {pair.replace('~', ' vs ')} | {k} | {p['agree']} / {p['n']} |")
    if len(agreement["judges"]) >= 2:
        eps = agreement["disagreeing_episodes"]
        lines += ["", f"Episodes where the trace judges disagree: {len(eps)}."]
        if eps:
            lines += ["", "| task | seed | outcome | " + " | ".join(agreement["judges"]) + " | asked | evidence |",
                      "|" + "---|" * (len(agreement["judges"]) + 5)]
            for e in eps[:MAX_LISTED]:
                cells = ["yes" if e["verdicts"].get(j) else ("no" if j in e["verdicts"] else "n/a")
                         for j in agreement["judges"]]
                asked = "n/a" if e["asked"] is None else ("yes" if e["asked"] else "no")
                ev = "; ".join(f"{n}: {t[:80]}" for n, t in e["evidence"].items() if t).replace("|", "\\|")
                lines.append(f"| {e['task_id']} | {e['seed']} | {e['outcome']} | " + " | ".join(cells)
                             + f" | {asked} | {ev} |")
            if len(eps) > MAX_LISTED:
                lines.append(f"\n... and {len(eps) - MAX_LISTED} more (all in summary.json).")
    return lines + [""]
