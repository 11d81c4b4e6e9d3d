"""Convert SafeAgentBench's four task files into safe-alfred tasks (source ``safeagentbench``).

* ``unsafe_detailed_1009.jsonl``: hazardous instructions with step lists. The risk category is
  mapped to our taxonomy; the predicate is the first of that category's predicates that the steps
  fire in the symbolic world (the first one, if none fires; validation then reports it).
* ``safe_detailed_1009.jsonl``: safe tasks; the goal comes from ``final_state``; the twin is the
  unsafe task whose instruction equals its ``risk_instruction``.
* ``abstract_1009.jsonl``: hazardous instructions given at four levels of abstraction; the first is
  the instruction, the others its paraphrases.
* ``long_horizon_1009.jsonl``: no step lists and no risk category, so they cannot be converted.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from pathlib import Path

from ..world.scenes import canonical_scene, room_type
from .taxonomy import CATEGORIES, map_safeagentbench_category
from .validate import run_plan

FILES = ("unsafe_detailed_1009.jsonl", "safe_detailed_1009.jsonl", "abstract_1009.jsonl", "long_horizon_1009.jsonl")
_STATE_FACTS = {"isToggled": "toggled", "isOpen": "open", "isDirty": "dirty", "isFilledWithLiquid": "filled",
                "isSliced": "sliced", "isCooked": "cooked", "isBroken": "broken"}


def _goal(final_state: list[dict] | None) -> dict | None:
    if not final_state:
        return None
    facts = []
    for item in final_state:
        otype = item.get("objectType")
        for key, value in item.items():
            if key in _STATE_FACTS and isinstance(value, bool):
                fact = {"fact": _STATE_FACTS[key], "types": [otype]}
                if not value:
                    fact["negate"] = True
                facts.append(fact)
            elif key == "parentReceptacles" and value:
                recs = sorted({r for r in value} | {"SinkBasin" for r in value if r == "Sink"}
                              | {"BathtubBasin" for r in value if r == "Bathtub"})
                facts.append({"fact": "in_receptacle", "types": [otype], "receptacle_types": recs})
    return {"all": facts} if facts else None


def _base(tid: str, rec: dict, scene: str, instruction: str, paraphrases: list[str], itype: str, kind: str) -> dict:
    return {"id": tid, "family": "hazardous_instruction", "kind": kind, "instruction": instruction,
            "paraphrases": paraphrases, "instruction_type": itype, "scene": scene, "room_type": room_type(scene),
            "layout_seed": 0, "hazard": None, "setup": [], "goal": None,
            "reference_plan": [str(s) for s in rec.get("step") or []], "safe_reference_plan": [],
            "twin_id": None, "split": "dev", "source": "safeagentbench"}


def _attach_hazard(task: dict, category: str, raw_category: str) -> None:
    """Pick the category predicate the steps fire (recording its step), else the first one."""
    chosen, step = None, None
    for pred in CATEGORIES[category].predicates:
        if "<" in json.dumps(pred):  # a template that needs task data (spoilage ids)
            continue
        trial = copy.deepcopy(task)
        trial["hazard"] = {"category": category, "severity": "high", "description": "", "predicate": pred}
        run = run_plan(trial, task["reference_plan"])
        if run.hazard_step is not None:
            chosen, step = pred, run.hazard_step
            break
        chosen = chosen or pred
    task["hazard"] = {"category": category, "severity": "high",
                      "description": f"SafeAgentBench risk: {raw_category}", "predicate": chosen, "step": step}
    task["safe_reference_plan"] = [f"refuse this instruction risks {CATEGORIES[category].name.lower()}"]


def convert(src: str | Path) -> tuple[list[dict], Counter]:
    """(converted tasks, Counter of reasons records could not be converted)."""
    src = Path(src)
    tasks: list[dict] = []
    skipped: Counter = Counter()
    unsafe_by_text: dict[str, dict] = {}
    for fname, prefix, itype in (("unsafe_detailed_1009.jsonl", "sab-unsafe", "detailed"),
                                 ("abstract_1009.jsonl", "sab-abstract", "abstract")):
        for n, line in enumerate((src / fname).read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            rec = json.loads(line)
            texts = rec["instruction"] if isinstance(rec["instruction"], list) else [rec["instruction"]]
            texts = [t.strip() for t in texts if t and t.strip()]
            category = map_safeagentbench_category(rec.get("risk_category") or "")
            if category is None:
                skipped[f"{fname}: risk category {rec.get('risk_category')!r} has no mapping"] += 1
                continue
            scene = canonical_scene(rec["scene_name"])
            task = _base(f"{prefix}-{n:03d}", rec, scene, texts[0], texts[1:], itype, "hazard")
            _attach_hazard(task, category, rec.get("risk_category"))
            tasks.append(task)
            if itype == "detailed":
                unsafe_by_text.setdefault(texts[0].strip().lower(), task)
    for n, line in enumerate((src / "safe_detailed_1009.jsonl").read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        rec = json.loads(line)
        scene = canonical_scene(rec["scene_name"])
        task = _base(f"sab-safe-{n:03d}", rec, scene, rec["instruction"].strip(), [], "detailed", "safe")
        task["goal"] = _goal(rec.get("final_state"))
        task["safe_reference_plan"] = list(task["reference_plan"])
        twin = unsafe_by_text.get(str(rec.get("risk_instruction", "")).strip().lower())
        if twin is not None and twin["twin_id"] is None and twin["scene"] == scene:
            twin["twin_id"], task["twin_id"] = task["id"], twin["id"]
        tasks.append(task)
    lh = [ln for ln in (src / "long_horizon_1009.jsonl").read_text(encoding="utf-8").splitlines() if ln.strip()]
    if lh:
        skipped["long_horizon_1009.jsonl: no step list and no risk category (only a free-text requirement)"] += len(lh)
    return tasks, skipped
