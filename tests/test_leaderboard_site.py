"""The static leaderboard: built from verified smoke-run submissions, checked as HTML and in headless Chromium."""

from __future__ import annotations

import functools
import http.server
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from safe_alfred.judges.registry import make_judge
from safe_alfred.leaderboard.bundle import write_submission
from safe_alfred.leaderboard.site import build_site, json_for_script
from safe_alfred.leaderboard.submit import build_submission
from safe_alfred.metrics.judging import judge_record
from safe_alfred.records import trajectory_hash

INJECTED = '</script><script>window.__pwned=1;alert(1)</script><img src=x onerror="window.__pwned=2"> <b>bold</b>'
AGENTS = ("always_comply", "recognize_then_comply", "oracle_safe")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three verified submissions (one with markup in a trace and its name) and one tampered one."""
    root = tmp_path_factory.mktemp("lb")
    proc = subprocess.run([sys.executable, "-m", "safe_alfred.cli", "run", "-m", f"agent={','.join(AGENTS)}",
                           "suite=smoke", f"hydra.sweep.dir={root / 'sweep'}", "runner.progress=none"],
                          capture_output=True, text=True, timeout=150)
    assert proc.returncode == 0, proc.stderr[-2000:]
    subs = root / "subs"
    for i, agent in enumerate(AGENTS):
        doc, _ = build_submission(root / "sweep" / str(i), name=agent.replace("_", " "))
        if agent == "recognize_then_comply":
            doc["manifest"]["name"] = "RTC " + INJECTED
            doc["manifest"]["description"] = INJECTED
            rec = next(r for r in doc["records"] if r["outcome"]["label"] == "unsafe")
            rec["decisions"][0]["reasoning"] = INJECTED
            rec["steps"][0]["reasoning"] = INJECTED
            rec["trajectory_hash"] = trajectory_hash(rec["steps"], rec["final_state_digest"])
            judge_record(rec, make_judge("lexicon"))
            doc["manifest"]["claimed"] = None
        write_submission(subs / f"{agent}.safealfred.json.gz", doc)
        if agent == "always_comply":
            doc["records"][0]["outcome"]["label"] = "safe"
            write_submission(subs / "tampered.safealfred.json.gz", doc)
    out = root / "site"
    entries, rejected = build_site(subs, out, split="manifest")
    assert len(entries) == 3
    assert [name for name, _ in rejected] == ["tampered.safealfred.json.gz"]
    return out


def test_site_layout_and_ranking(site: Path) -> None:
    index = (site / "index.html").read_text()
    pages = sorted((site / "submissions").glob("*.html"))
    assert len(pages) == 3 and (site / "static" / "leaderboard.js").is_file()
    # Ranked by unsafe rate: the oracle first, always-comply last.
    assert index.index("oracle safe") < index.index("RTC ") < index.index("always comply")
    assert "Not listed (failed verification)" in index and "tampered.safealfred.json.gz" in index
    assert "outcome differs" in index
    assert "Unsafe rate by hazard category" in index and "fire" in index


def test_untrusted_text_is_escaped(site: Path) -> None:
    for page in [site / "index.html", *(site / "submissions").glob("*.html")]:
        text = page.read_text()
        assert "<script>window.__pwned" not in text and "<img src=x" not in text and "<b>bold" not in text
        assert text.count("<script") == text.count('<script src="') + text.count('<script type="application/json"')
        assert "script-src 'self'" in text
    rtc = next(p for p in (site / "submissions").glob("rtc-*.html"))
    assert "&lt;/script&gt;&lt;script&gt;window.__pwned=1" in rtc.read_text()


def test_json_for_script_cannot_close_the_tag() -> None:
    text = json_for_script({"t": INJECTED, "sep": "\u2028"})
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text


# -- in a real browser -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def server(site: Path) -> Iterator[str]:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("headless Chromium tests need Debian's 'chromium' and 'chromium-driver' packages "
                    "(/usr/bin/chromium, /usr/bin/chromedriver)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="the browser tests need 'selenium'")
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--user-data-dir={tmp_path_factory.mktemp('chrome-profile')}"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(options=opts, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def _column(driver: object, table: object, name: str) -> list[str]:
    from selenium.webdriver.common.by import By

    heads = [th.text.strip() for th in table.find_elements(By.CSS_SELECTOR, "thead th")]
    i = heads.index(name)
    return [row.find_elements(By.TAG_NAME, "td")[i].get_attribute("data-value")
            for row in table.find_elements(By.CSS_SELECTOR, "tbody tr")]


def test_table_renders_and_sorts(browser: object, server: str) -> None:
    from selenium.webdriver.common.by import By

    browser.get(server + "/index.html")
    table = browser.find_element(By.CSS_SELECTOR, "table.ranking")
    rows = table.find_elements(By.CSS_SELECTOR, "tbody tr")
    assert len(rows) == 3 and rows[0].text.split()[1] == "oracle"
    unsafe = next(th for th in table.find_elements(By.CSS_SELECTOR, "thead th") if th.text.strip() == "Unsafe")
    unsafe.click()
    assert unsafe.get_attribute("aria-sort") == "ascending"
    up = [float(v) for v in _column(browser, table, "Unsafe")]
    assert up == sorted(up) and up[0] < up[-1]
    unsafe.click()
    assert unsafe.get_attribute("aria-sort") == "descending"
    down = [float(v) for v in _column(browser, table, "Unsafe")]
    assert down == sorted(up, reverse=True)
    names = table.find_elements(By.CSS_SELECTOR, "tbody tr td:nth-child(2)")
    assert names[-1].text == "oracle safe"
    assert browser.execute_script("return window.__pwned === undefined")


def test_episode_browser_and_injected_script(browser: object, server: str) -> None:
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By

    browser.get(server + "/index.html")
    link = browser.find_element(By.PARTIAL_LINK_TEXT, "RTC")
    assert INJECTED in link.text  # the name shows as text
    link.click()
    assert "/submissions/rtc-" in browser.current_url
    buttons = browser.find_elements(By.CSS_SELECTOR, "#episode-list button")
    assert len(buttons) == 20
    unsafe = [b for b in buttons if b.text.startswith("unsafe")]
    for b in unsafe:
        b.click()
        cell = browser.find_element(By.CSS_SELECTOR, "#episode-detail table.steps tbody tr td.reasoning")
        if cell.get_attribute("textContent") == INJECTED:
            break
    else:
        pytest.fail("the episode with the injected trace was not found")
    assert b.get_attribute("aria-selected") == "true"
    rows = browser.find_elements(By.CSS_SELECTOR, "#episode-detail table.steps tbody tr")
    assert len(rows) >= 2
    actions = rows[0].find_element(By.CSS_SELECTOR, "td.actions").text
    assert "ok" in actions and rows[0].find_elements(By.TAG_NAME, "td")[2].text
    assert browser.find_elements(By.CSS_SELECTOR, "#episode-detail tr.hazard-step")
    assert not browser.find_elements(By.CSS_SELECTOR, "#episode-detail img, #episode-detail b, #episode-detail script")
    assert browser.execute_script("return window.__pwned === undefined")
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # noqa: B018
    select = browser.find_element(By.ID, "episode-filter")
    select.find_element(By.CSS_SELECTOR, "option[value='success']").click()
    shown = browser.find_elements(By.CSS_SELECTOR, "#episode-list button")
    assert shown and all(b.text.startswith("success") for b in shown)


def _entry(name: str, unsafe: float, filter_enabled: bool, oracle: bool = False) -> dict:
    summary = {"unsafe_rate": unsafe, "twin_success_rate": 0.5, "gap_rate": 0.0, "episodes": 10,
               "breakdowns": {"category": {}}, **({"planner_unsafe_rate": 0.7} if filter_enabled else {})}
    manifest = {"name": name, "suite": {"name": "safe_alfred_v1", "sha256": "ab" * 32}, "split": "test",
                "planner": {"name": name}, "filter": {"name": "cbf" if filter_enabled else "none",
                                                      "enabled": filter_enabled,
                                                      "options": {"task_predicates": oracle}}}
    return {"name": name, "manifest": manifest, "summary": summary, "slug": name}


def test_filtered_and_unfiltered_submissions_are_never_ranked_together() -> None:
    from safe_alfred.leaderboard.site import _index

    html = _index([_entry("alone-a", 0.4, False), _entry("filtered-b", 0.0, True), _entry("alone-c", 0.2, False)], [])
    tables = html.split("<table class=\"sortable ranking\"")[1:]
    assert len(tables) == 2
    alone, behind = tables
    assert "alone-c" in alone and "alone-a" in alone and "filtered-b" not in alone
    assert "filtered-b" in behind and "alone-" not in behind
    # each table ranks its own members from 1: the filtered entry is not placed above the planners alone
    assert alone.index("alone-c") < alone.index("alone-a")
    assert behind.count('data-value="1">1</td>') == 1 and 'data-value="2">2</td>' not in behind
    assert html.index(": planners alone") < html.index(": planners behind an action filter")
    # only the filtered table shows what the planner alone would have done
    assert "Planner&#x27;s own unsafe" in behind and "Saved by filter" in behind
    assert "Planner&#x27;s own unsafe" not in alone and 'data-value="0.700000"' in behind


# -- one file cannot stop the site -------------------------------------------------------------------

def test_crashing_and_bomb_files_are_listed_and_the_rest_published(site: Path, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import gzip
    import json
    import os
    import stat
    import zlib

    from safe_alfred.leaderboard.bundle import write_submission

    subs = tmp_path / "subs"
    subs.mkdir()
    shutil.copy(site.parent / "subs" / "oracle_safe.safealfred.json.gz", subs / "oracle.safealfred.json.gz")
    shutil.copy(site.parent / "subs" / "oracle_safe.safealfred.json.gz", subs / "crash.safealfred.json.gz")
    doc = json.loads(gzip.decompress((subs / "oracle.safealfred.json.gz").read_bytes()))
    doc["manifest"]["filter"] = {"name": "cbf", "enabled": True, "categories": 5}  # once a TypeError
    write_submission(subs / "typed.safealfred.json.gz", doc)
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    bomb = c.compress(b'{"format": "safe-alfred-submission", "x": [' + b"[]," * 20_550_000 + b"[]]}") + c.flush()
    (subs / "bomb.safealfred.json.gz").write_bytes(bomb)
    # A verifier process that dies on one file: the file stands for anything that kills a verifier.
    wrapper = tmp_path / "python"
    wrapper.write_text(f'#!/bin/sh\ncase "${{3##*/}}" in crash.*) kill -SEGV $$ ;; esac\nexec "{sys.executable}" "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setattr(sys, "executable", str(wrapper))
    out = tmp_path / "site"
    entries, rejected = build_site(subs, out, split="manifest", jobs=2)
    assert [e["file"] for e in entries] == ["oracle.safealfred.json.gz"], rejected
    reasons = dict(rejected)
    assert sorted(reasons) == ["bomb.safealfred.json.gz", "crash.safealfred.json.gz", "typed.safealfred.json.gz"]
    assert reasons["crash.safealfred.json.gz"] == ["verification was killed by signal SIGSEGV"]
    assert reasons["bomb.safealfred.json.gz"][0].startswith("too many JSON values")
    assert "categories" in reasons["typed.safealfred.json.gz"][0]
    index = (out / "index.html").read_text()
    assert "oracle safe" in index and "killed by signal SIGSEGV" in index and "too many JSON values" in index
    assert len(os.listdir(out / "submissions")) == 1
    page = (out / "submissions" / os.listdir(out / "submissions")[0]).read_text()
    assert "Versions (run)" in page and "safe-alfred " in page and "Verification notes" in page
    listed = json.loads((out / "leaderboard.json").read_text())
    assert [r["file"] for r in listed["rejected"]] == sorted(reasons)


def test_memory_and_time_limits_reject_with_the_reason(site: Path, tmp_path: Path) -> None:
    from safe_alfred.leaderboard.isolate import Isolation, verify_isolated

    sub = site.parent / "subs" / "oracle_safe.safealfred.json.gz"
    slow = verify_isolated(sub, tmp_path / "a", split="manifest", max_errors=0, isolation=Isolation(time_s=0.5))
    assert slow.entry is None and slow.problems == ["verification exceeded the time limit of 0.5 s"]
    small = verify_isolated(sub, tmp_path / "b", split="manifest", max_errors=0, isolation=Isolation(memory_mb=30))
    assert small.entry is None and small.problems == ["verification exceeded the memory limit of 30 MiB"]


def test_an_oracle_filter_is_ranked_apart_and_labelled() -> None:
    """A filter told each task's own hazard (``task_predicates``) is not a deployable safeguard: it
    gets its own table, its heading and its row say oracle."""
    from safe_alfred.leaderboard.site import _index

    html = _index([_entry("honest", 0.1, True), _entry("told", 0.0, True, oracle=True), _entry("alone", 0.4, False)],
                  [])
    tables = [t.split("</table>")[0] for t in html.split("<table class=\"sortable ranking\"")[1:]]
    assert len(tables) == 3
    told = next(t for t in tables if "told" in t)
    assert "honest" not in told and "alone" not in told and "cbf (oracle)" in told
    honest = next(t for t in tables if "honest" in t)
    assert "(oracle)" not in honest
    assert "ORACLE action filter" in html
