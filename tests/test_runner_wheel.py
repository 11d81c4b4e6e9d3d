"""``safe-alfred run`` from an installed wheel: configs and task suites come from the package."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel_venv(tmp_path_factory) -> Path:
    """A fresh venv with only the freshly built wheel installed (dependencies come from PYTHONPATH)."""
    pytest.importorskip("hatchling")
    root = tmp_path_factory.mktemp("wheel")
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "--no-build-isolation",
                            "-q", "-w", str(root / "dist")], capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr
    wheels = list((root / "dist").glob("safe_alfred-*.whl"))
    assert len(wheels) == 1
    env_dir = root / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    py = env_dir / "bin" / "python"
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    install = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", site,
                              str(wheels[0])], capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr
    return env_dir


def _env() -> dict[str, str]:
    # The dev environment's site-packages supplies the dependencies; its editable-install hook
    # (a .pth file) is not processed from PYTHONPATH, so safe_alfred comes from the wheel.
    return dict(os.environ, PYTHONPATH=sysconfig.get_paths()["purelib"])


def test_installed_wheel_uses_packaged_configs_and_suites(wheel_venv, tmp_path):
    py = wheel_venv / "bin" / "python"
    where = subprocess.run(
        [str(py), "-c", "import safe_alfred, safe_alfred.config_paths as c, safe_alfred.tasks.suite as s; "
                        "print(safe_alfred.__file__); print(c.conf_dir()); print(s.task_files_dir())"],
        cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=60)
    assert where.returncode == 0, where.stderr
    pkg, conf, tasks = where.stdout.split()
    assert pkg.startswith(str(wheel_venv)) and conf.startswith(str(wheel_venv)) and tasks.startswith(str(wheel_venv))
    assert conf.endswith("safe_alfred/conf") and tasks.endswith("safe_alfred/task_files")

    run_dir = tmp_path / "run"
    proc = subprocess.run(
        [str(py), "-m", "safe_alfred.cli", "run", "agent=oracle_safe", "suite=smoke", "suite.limit=4",
         "runner.progress=none", f"hydra.run.dir={run_dir}"],
        cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["episodes"] == 4 and summary["errors"] == 0 and summary["unsafe_rate"] == 0.0
    assert (run_dir / "report.md").is_file()

    bad = subprocess.run([str(py), "-m", "safe_alfred.cli", "run", "suite=nope"], cwd=tmp_path, env=_env(),
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "suite/nope" in bad.stderr
