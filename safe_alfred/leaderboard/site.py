"""``safe-alfred leaderboard DIR -o SITE_DIR``: a static leaderboard from the verified submissions in DIR.

Every ``*.safealfred.json.gz`` in DIR is verified (replayed, re-judged, re-scored); the accepted
ones are ranked per suite and split, rejected ones are listed with the reasons. Pages: ``index.html``
(ranked, sortable table with 95% intervals; unsafe rate per hazard category) and one page per
submission (manifest, metrics, per-category breakdown, recognition x outcome matrix, and an
episode browser with the reasoning trace beside the actions). All submission text is untrusted:
HTML is escaped with ``html.escape``, embedded JSON has ``<`` escaped, scripts write it with
``textContent``, and a Content-Security-Policy forbids inline scripts.
"""

from __future__ import annotations

import html
import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

from .bundle import SUFFIX
from .isolate import DEFAULT_ISOLATION, Isolation, Outcome, verify_isolated
from .verify import VerifyResult

COLUMNS = (("gap_rate", "Gap rate"), ("unsafe_rate", "Unsafe"), ("recognition_rate", "Recognition"),
           ("refusal_rate", "Refusal"), ("twin_success_rate", "Twin success"))
# Filtered submissions also show what the planner alone would have done (docs/scoring.md).
FILTER_COLUMNS = (("planner_unsafe_rate", "Planner's own unsafe"), ("saved_by_filter_rate", "Saved by filter"),
                  ("intervention_rate", "Intervention rate"))
_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'"


def esc(value: Any) -> str:
    """HTML-escape any value for text and attribute positions."""
    return html.escape("" if value is None else str(value), quote=True)


def json_for_script(data: Any) -> str:
    """JSON safe inside ``<script type="application/json">``: no ``<``, ``>``, ``&`` can close the tag."""
    text = json.dumps(data, ensure_ascii=False, sort_keys=True)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def slug(name: str, digest: str) -> str:
    """A file-name-safe, unique page name."""
    base = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40] or "submission"
    return f"{base}-{digest[:8]}"


def rank_key(entry: dict) -> tuple:
    """Lower unsafe rate first, then higher twin success, then lower gap rate, then the name."""
    s = entry["summary"]

    def val(k: str, default: float) -> float:
        v = s.get(k)
        return default if v is None else float(v)

    return (val("unsafe_rate", 2.0), -val("twin_success_rate", -1.0), val("gap_rate", 2.0), entry["name"])


def _page(title: str, body: str, *, depth: int = 0) -> str:
    up = "../" * depth
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(title)}</title>"
            f'<link rel="stylesheet" href="{up}static/style.css">'
            f'<script src="{up}static/leaderboard.js" defer></script></head>\n<body>\n{body}\n</body></html>\n')


def _rate_cell(summary: dict, key: str) -> str:
    v, ci, n = summary.get(key), summary.get(f"{key}_ci"), summary.get(f"{key}_n")
    if v is None:
        return f'<td class="num" data-value="" title="n={esc(n)}">n/a</td>'
    ci_txt = f' <span class="ci">[{ci[0]:.3f}, {ci[1]:.3f}]</span>' if ci else ""
    return f'<td class="num" data-value="{float(v):.6f}" title="n={esc(n)}">{float(v):.3f}{ci_txt}</td>'


def filtered(m: dict) -> bool:
    """Did an action filter stand between the planner and the world in this submission?"""
    return bool((m.get("filter") or {}).get("enabled"))


def oracle(m: dict) -> bool:
    """Was the filter an *oracle*: told each task's own hazard predicate (``task_predicates``)?"""
    return filtered(m) and bool(((m.get("filter") or {}).get("options") or {}).get("task_predicates"))


def filter_kind(m: dict) -> int:
    """0: no filter; 1: a filter guarding the taxonomy's rules; 2: an oracle filter."""
    return 2 if oracle(m) else int(filtered(m))


def filter_label(m: dict) -> str:
    filt = m.get("filter") or {}
    if not filtered(m):
        return "none"
    return f"{filt.get('name')} (oracle)" if oracle(m) else str(filt.get("name"))


def _group_key(m: dict) -> tuple[str, str, str, int]:
    """One ranking per suite, split and suite hash, and apart for unfiltered entries, entries behind
    a filter and entries behind an oracle filter: a filtered entry's outcomes include what the
    filter blocked, and an oracle filter was told each task's hazard, so none is the same kind of
    entry as another."""
    return (m["suite"]["name"], str(m.get("split")), m["suite"]["sha256"], filter_kind(m))


_KIND_HEADING = {0: "planners alone (no action filter)",
                 1: "planners behind an action filter (ranked only among themselves)",
                 2: "planners behind an ORACLE action filter, told each task's own hazard (ranked only among "
                    "themselves; not a deployable safeguard)"}


def _index(entries: list[dict], rejected: list[tuple[str, list[str]]]) -> str:
    parts = ["<h1>safe-alfred leaderboard</h1>",
             '<p class="muted">Every submission below was verified by replaying all of its episodes in the '
             "symbolic world, re-judging recognition with the reference judge and recomputing the metrics. "
             "Ranked by unsafe rate (lower is safer), then safe-twin success. Submissions run behind an "
             "action filter are ranked in their own tables, never against planners acting alone. Brackets: "
             "95% bootstrap intervals. Click a column header to sort.</p>"]
    groups: dict[tuple, list[dict]] = {}
    for e in entries:
        groups.setdefault(_group_key(e["manifest"]), []).append(e)
    for gi, (key, members) in enumerate(sorted(groups.items())):
        members.sort(key=rank_key)
        suite, split, digest, with_filter = key
        parts.append(f"<h2>Suite {esc(suite)}, split {esc(split)}: {esc(_KIND_HEADING[with_filter])}</h2>"
                     f'<p class="muted">suite sha256 {esc(digest)}</p>')
        columns = COLUMNS + FILTER_COLUMNS if with_filter else COLUMNS
        head = "".join(f'<th class="sortable">{esc(label)}</th>' for _, label in columns)
        parts.append(f'<table class="sortable ranking" id="ranking-{gi}"><thead><tr><th class="sortable">Rank</th>'
                     f'<th class="sortable">Submission</th><th class="sortable">Model</th>'
                     f'<th class="sortable">Filter</th>{head}<th class="sortable">Episodes</th></tr></thead><tbody>')
        for rank, e in enumerate(members, 1):
            m, s = e["manifest"], e["summary"]
            filt = filter_label(m)
            cells = "".join(_rate_cell(s, k) for k, _ in columns)
            parts.append(f'<tr><td class="num" data-value="{rank}">{rank}</td>'
                         f'<td><a href="submissions/{esc(e["slug"])}.html">{esc(m["name"])}</a></td>'
                         f"<td>{esc(m.get('model') or m['planner'].get('name'))}</td><td>{esc(filt)}</td>{cells}"
                         f'<td class="num" data-value="{s["episodes"]}">{s["episodes"]}</td></tr>')
        parts.append("</tbody></table>")
        cats = sorted({c for e in members for c in e["summary"]["breakdowns"]["category"]} - {"(none)"})
        if cats:
            parts.append("<h3>Unsafe rate by hazard category</h3>"
                         f'<table class="sortable categories" id="categories-{gi}"><thead><tr>'
                         '<th class="sortable">Category</th>'
                         + "".join(f'<th class="sortable">{esc(e["manifest"]["name"])}</th>' for e in members)
                         + "</tr></thead><tbody>")
            for c in cats:
                row = [f"<td>{esc(c)}</td>"]
                for e in members:
                    metrics = e["summary"]["breakdowns"]["category"].get(c)
                    row.append(_metric_cell(metrics["unsafe_rate"]) if metrics else '<td class="num" data-value="">-</td>')
                parts.append("<tr>" + "".join(row) + "</tr>")
            parts.append("</tbody></table>")
    if not entries:
        parts.append("<p>No verified submissions yet.</p>")
    if rejected:
        parts.append("<h2>Not listed (failed verification)</h2><ul class=\"problems\">")
        for name, problems in rejected:
            more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
            parts.append(f"<li>{esc(name)}: {esc('; '.join(problems[:3]))}{esc(more)}</li>")
        parts.append("</ul>")
    return _page("safe-alfred leaderboard", "\n".join(parts))


def _metric_cell(est: dict) -> str:
    v, ci = est.get("value"), est.get("ci")
    if v is None:
        return '<td class="num" data-value="">n/a</td>'
    ci_txt = f' <span class="ci">[{ci[0]:.2f}, {ci[1]:.2f}]</span>' if ci else ""
    return f'<td class="num" data-value="{float(v):.6f}" title="n={esc(est.get("n"))}">{float(v):.2f}{ci_txt}</td>'


def episode_view(rec: dict) -> dict[str, Any]:
    """What the episode browser shows of one verified record."""
    task = rec.get("task") or {}
    recog = rec.get("recognition") or {}
    out = rec.get("outcome") or {}
    return {
        "task_id": task.get("id"), "seed": rec.get("seed"), "kind": task.get("kind"),
        "category": (task.get("hazard") or {}).get("category") or "(none)", "family": task.get("family"),
        "instruction": task.get("instruction"), "label": out.get("label"), "end_reason": rec.get("end_reason"),
        "recognized": None if not recog or recog.get("error") else bool(recog.get("recognized")),
        "first_recognition_step": recog.get("first_step"), "hazard_step": out.get("first_hazard_step"),
        "steps": [{"step": st.get("step"), "reasoning": st.get("reasoning"), "requested": st.get("requested"),
                   "skill": st.get("skill"), "valid": st.get("valid"), "feedback": st.get("feedback"),
                   "actions": [{"action": {"action": (a.get("action") or {}).get("action"),
                                           "objectId": (a.get("action") or {}).get("objectId")},
                                "success": a.get("success"), "errorMessage": a.get("errorMessage")}
                               for a in st.get("thor_actions") or []]}
                  for st in rec.get("steps") or []],
    }


def _submission_page(e: dict) -> str:
    m, s = e["manifest"], e["summary"]
    parts = ['<p><a href="../index.html">&larr; leaderboard</a></p>', f"<h1>{esc(m['name'])}</h1>"]
    if m.get("description"):
        parts.append(f"<p>{esc(m['description'])}</p>")
    facts = [("Planner", m["planner"].get("name")), ("Model", m.get("model")), ("Mode", m["planner"].get("mode")),
             ("Suite", f"{m['suite']['name']} ({m['suite']['file']}, sha256 {m['suite']['sha256']})"),
             ("Split", m.get("split")), ("Seeds", ", ".join(map(str, m["seeds"]))),
             ("Filter", filter_label(m)),
             ("Run judge", m["judge"].get("name")), ("Scored with judge", s.get("judge")),
             ("Env", f"{m['env'].get('backend')}, max_steps {m['env'].get('max_steps')}"),
             ("Benchmark version", m.get("benchmark_version")), ("Created", m.get("created")),
             ("Versions (run)", ", ".join(f"{k} {v}" for k, v in sorted((m.get("versions") or {}).items())
                                          if not k.startswith("submit:"))),
             ("Verification notes", "; ".join(e.get("notes") or []) or "none"),
             ("File sha256", e["digest"])]
    parts.append("<table class=\"facts\"><tbody>" + "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>"
                                                            for k, v in facts) + "</tbody></table>")
    parts.append("<h2>Metrics</h2><table class=\"metrics\"><thead><tr><th>Metric</th><th>Value [95% CI]</th>"
                 "<th>n</th></tr></thead><tbody>")
    for key in ("gap_rate", "unsafe_rate", "recognition_rate", "refusal_rate", "safe_rate", "incapable_rate",
                "twin_success_rate", "over_refusal_rate", *(k for k, _ in FILTER_COLUMNS if filtered(m))):
        parts.append(f"<tr><td>{esc(key)}</td>{_rate_cell(s, key)}<td class=\"num\">{esc(s.get(key + '_n'))}</td></tr>")
    parts.append("</tbody></table>")
    parts.append("<h2>Recognition &times; outcome (hazardous episodes)</h2>"
                 '<table class="matrix"><thead><tr><th></th><th>unsafe</th><th>safe</th><th>incapable</th></tr>'
                 "</thead><tbody>")
    for row, counts in s["recognition_outcome_matrix"].items():
        parts.append(f"<tr><th>{esc(row)}</th>" + "".join(f'<td class="num">{esc(counts.get(c, 0))}</td>'
                                                         for c in ("unsafe", "safe", "incapable")) + "</tr>")
    parts.append("</tbody></table>")
    parts.append('<h2>By hazard category</h2><table class="sortable breakdown"><thead><tr>'
                 '<th class="sortable">Category</th><th class="sortable">Episodes</th>'
                 + "".join(f'<th class="sortable">{esc(label)}</th>' for _, label in COLUMNS) + "</tr></thead><tbody>")
    for cat, metrics in s["breakdowns"]["category"].items():
        parts.append(f"<tr><td>{esc(cat)}</td><td class=\"num\" data-value=\"{metrics['episodes']}\">"
                     f"{metrics['episodes']}</td>" + "".join(_metric_cell(metrics[k]) for k, _ in COLUMNS) + "</tr>")
    parts.append("</tbody></table>")
    labels = sorted(s.get("labels") or {})
    options = "".join(f'<option value="{esc(lab)}">{esc(lab)}</option>' for lab in labels)
    episodes = [episode_view(r) for r in e["records"]]
    parts.append("<h2>Episodes</h2>"
                 f'<p><label>Outcome <select id="episode-filter"><option value="">all</option>{options}</select>'
                 "</label> Select an episode to see its reasoning beside the actions it took.</p>"
                 '<div class="browser"><div class="episode-list" id="episode-list"></div>'
                 '<div id="episode-detail"><p class="muted">No episode selected.</p></div></div>'
                 f'<script type="application/json" id="episodes-data">{json_for_script(episodes)}</script>')
    config = json.dumps(m.get("config"), indent=2, sort_keys=True, ensure_ascii=False)
    parts.append(f'<h2>Resolved config</h2><pre class="config">{esc(config)}</pre>')
    return _page(f"{m['name']}: safe-alfred leaderboard", "\n".join(parts), depth=1)


def make_entry(res: VerifyResult, file_name: str) -> dict[str, Any]:
    """The index entry of a verified submission (its records kept for its own page)."""
    assert res.manifest is not None and res.summary is not None and res.sha256 is not None
    return {"name": res.manifest["name"], "manifest": res.manifest, "summary": res.summary, "records": res.records,
            "digest": res.sha256, "slug": slug(res.manifest["name"], res.sha256), "file": file_name,
            "notes": list(res.notes)}


def _verify_all(files: list[Path], work: Path, *, split: str | None, max_errors: int, isolation: Isolation,
                jobs: int) -> list[tuple[Path, Outcome]]:
    """Each file verified in its own child process, ``jobs`` at a time, in file order."""
    from concurrent.futures import ThreadPoolExecutor

    def one(item: tuple[int, Path]) -> tuple[Path, Outcome]:
        i, f = item
        return f, verify_isolated(f, work / str(i), split=split, max_errors=max_errors, isolation=isolation)

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(one, enumerate(files)))


def build_site(submissions_dir: str | Path, site_dir: str | Path, *, split: str | None = "test",
               max_errors: int = 0, isolation: Isolation = DEFAULT_ISOLATION,
               jobs: int = 1) -> tuple[list[dict], list[tuple[str, list[str]]]]:
    """Verify every submission in ``submissions_dir`` and write the site; returns (listed, rejected).

    Each submission is verified in a child process under ``isolation``'s limits: whatever one file
    does (crash, exhaust memory, run long), it is listed as rejected with the reason and the site
    is written for the others.
    """
    import shutil
    import tempfile

    src, out = Path(submissions_dir), Path(site_dir)
    files = sorted(p for p in src.iterdir() if p.is_file() and p.name.endswith(SUFFIX))
    entries: list[dict] = []
    rejected: list[tuple[str, list[str]]] = []
    (out / "submissions").mkdir(parents=True, exist_ok=True)
    (out / "static").mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="safe-alfred-verify-") as tmp:
        for f, outcome in _verify_all(files, Path(tmp), split=split, max_errors=max_errors, isolation=isolation,
                                      jobs=jobs):
            if outcome.entry is None or outcome.page is None:
                rejected.append((f.name, outcome.problems or ["verification failed"]))
                continue
            e = outcome.entry
            shutil.move(str(outcome.page), out / "submissions" / f"{e['slug']}.html")
            entries.append(e)
    static = resources.files("safe_alfred.leaderboard").joinpath("static")
    for name in ("style.css", "leaderboard.js"):
        (out / "static" / name).write_text(static.joinpath(name).read_text("utf-8"), encoding="utf-8")
    (out / "index.html").write_text(_index(entries, rejected), encoding="utf-8")
    data = {"submissions": [{"name": e["name"], "file": e["file"], "page": f"submissions/{e['slug']}.html",
                             "sha256": e["digest"], "suite": e["manifest"]["suite"], "split": e["manifest"].get("split"),
                             "filtered": filtered(e["manifest"]), "oracle_filter": oracle(e["manifest"]),
                             "summary": {k: v for k, v in e["summary"].items() if k != "breakdowns"}}
                            for e in entries],
            "rejected": [{"file": n, "problems": p} for n, p in rejected]}
    (out / "leaderboard.json").write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
    return entries, rejected
