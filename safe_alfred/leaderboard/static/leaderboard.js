// safe-alfred leaderboard: sortable tables and the episode browser.
// Every piece of submission data is written with textContent: never as HTML.
"use strict";

function sortTable(table, col, th) {
  const body = table.tBodies[0];
  const rows = Array.from(body.rows);
  const asc = th.getAttribute("aria-sort") !== "ascending";
  const key = (row) => {
    const cell = row.cells[col];
    const v = cell.getAttribute("data-value");
    if (v === null) return { num: false, v: cell.textContent.trim().toLowerCase() };
    if (v === "") return { num: true, v: null };
    return { num: true, v: parseFloat(v) };
  };
  rows.sort((a, b) => {
    const ka = key(a), kb = key(b);
    if (ka.num || kb.num) {
      if (ka.v === null && kb.v === null) return 0;
      if (ka.v === null) return 1;  // missing values last, either direction
      if (kb.v === null) return -1;
      return asc ? ka.v - kb.v : kb.v - ka.v;
    }
    return asc ? ka.v.localeCompare(kb.v) : kb.v.localeCompare(ka.v);
  });
  for (const other of table.tHead.querySelectorAll("th")) other.removeAttribute("aria-sort");
  th.setAttribute("aria-sort", asc ? "ascending" : "descending");
  for (const r of rows) body.appendChild(r);
}

function initSortable() {
  for (const table of document.querySelectorAll("table.sortable")) {
    const ths = table.tHead.rows[0].cells;
    for (let i = 0; i < ths.length; i++) {
      const th = ths[i];
      if (!th.classList.contains("sortable")) continue;
      th.tabIndex = 0;
      th.addEventListener("click", () => sortTable(table, i, th));
      th.addEventListener("keydown", (e) => { if (e.key === "Enter") sortTable(table, i, th); });
    }
  }
}

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (cls) node.className = cls;
  return node;
}

function actionText(a) {
  const act = a.action || {};
  const parts = [String(act.action || "?")];
  if (act.objectId) parts.push(String(act.objectId));
  let s = parts.join(" ") + (a.success ? "  ok" : "  FAILED");
  if (!a.success && a.errorMessage) s += ": " + String(a.errorMessage);
  return s;
}

function showEpisode(ep, panel) {
  panel.replaceChildren();
  panel.appendChild(el("h3", ep.task_id + " (seed " + ep.seed + ")"));
  const meta = el("p");
  meta.appendChild(el("span", "Outcome: "));
  meta.appendChild(el("span", ep.label, "label-" + ep.label));
  meta.appendChild(el("span", "  |  recognised: " + (ep.recognized === null ? "n/a" : (ep.recognized ? "yes" : "no")) +
    (ep.first_recognition_step !== null ? " (step " + ep.first_recognition_step + ")" : "") +
    "  |  first hazard step: " + (ep.hazard_step === null ? "none" : ep.hazard_step) +
    "  |  category: " + ep.category + "  |  end: " + ep.end_reason));
  panel.appendChild(meta);
  const instr = el("p");
  instr.appendChild(el("strong", "Instruction: "));
  instr.appendChild(el("span", ep.instruction, "instruction"));
  panel.appendChild(instr);
  const table = el("table", null, "steps");
  const head = table.createTHead().insertRow();
  for (const h of ["Step", "Reasoning (before the step)", "Skill", "THOR actions", "Feedback"]) head.appendChild(el("th", h));
  const body = table.createTBody();
  for (const st of ep.steps) {
    const row = body.insertRow();
    if (ep.hazard_step !== null && st.step === ep.hazard_step) row.className = "hazard-step";
    row.appendChild(el("td", st.step, "num"));
    row.appendChild(el("td", st.reasoning || "", "reasoning"));
    row.appendChild(el("td", (st.skill || st.requested || "(none)") + (st.valid ? "" : "  [invalid]")));
    row.appendChild(el("td", st.actions.map(actionText).join("\n"), "actions"));
    row.appendChild(el("td", st.feedback || ""));
  }
  panel.appendChild(table);
}

function initBrowser() {
  const data = document.getElementById("episodes-data");
  const list = document.getElementById("episode-list");
  const panel = document.getElementById("episode-detail");
  const filter = document.getElementById("episode-filter");
  if (!data || !list || !panel) return;
  const episodes = JSON.parse(data.textContent);
  const render = () => {
    list.replaceChildren();
    const want = filter ? filter.value : "";
    episodes.forEach((ep, i) => {
      if (want && ep.label !== want) return;
      const b = el("button", ep.label + " | " + ep.task_id + " s" + ep.seed);
      b.type = "button";
      b.setAttribute("data-index", String(i));
      b.setAttribute("aria-selected", "false");
      b.addEventListener("click", () => {
        for (const o of list.querySelectorAll("button")) o.setAttribute("aria-selected", "false");
        b.setAttribute("aria-selected", "true");
        showEpisode(ep, panel);
      });
      list.appendChild(b);
    });
  };
  if (filter) filter.addEventListener("change", render);
  render();
}

document.addEventListener("DOMContentLoaded", () => { initSortable(); initBrowser(); });
