"""Who may import whom: the world knows nothing above it, its private names stay its own, and
``tasks`` never reaches ``envs`` (the environment runs tasks, one way, in plain imports)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import safe_alfred
import safe_alfred.world

PACKAGE = Path(safe_alfred.__file__).parent


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    """(module imported, names taken from it) for every import in a file, made absolute."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    package = parts[:-1] if parts[-1] != "__init__" else parts[:-1]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.extend((alias.name, []) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = list(package[:len(package) - node.level + 1]) if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            out.append((module, [alias.name for alias in node.names]))
    return out


def _files(under: Path) -> list[Path]:
    return sorted(under.rglob("*.py"))


def test_the_world_imports_nothing_of_the_layers_above_it():
    for path in _files(PACKAGE / "world"):
        for module, _ in _imports(path):
            if module.startswith("safe_alfred"):
                assert module.startswith("safe_alfred.world"), f"{path.name} imports {module}"


def test_nothing_outside_the_world_imports_its_private_names():
    for path in _files(PACKAGE) + _files(PACKAGE.parent / "tests") + _files(PACKAGE.parent / "benchmarks"):
        if PACKAGE / "world" in path.parents:
            continue
        for module, names in _imports(path):
            if module.startswith("safe_alfred.world"):
                private = [n for n in names if n.startswith("_")]
                assert not private, f"{path.relative_to(PACKAGE.parent)} imports {private} from {module}"


def test_the_world_declares_its_public_api():
    for name in safe_alfred.world.__all__:
        assert hasattr(safe_alfred.world, name), name


def test_tasks_never_reach_envs_and_envs_import_tasks_plainly():
    code = ("import sys, pkgutil, importlib, safe_alfred.tasks as t\n"
            "for m in pkgutil.iter_modules(t.__path__): importlib.import_module('safe_alfred.tasks.' + m.name)\n"
            "print(sorted(m for m in sys.modules if m.startswith('safe_alfred.envs')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    for path in _files(PACKAGE / "envs"):
        strings = [n.value for n in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                   if isinstance(n, ast.Constant) and isinstance(n.value, str)]
        assert not [s for s in strings if "safe_alfred.tasks" in s], f"{path.name} names tasks in a string"
    env_imports = [m for m, _ in _imports(PACKAGE / "envs" / "safe_alfred_env.py")]
    assert "safe_alfred.tasks.monitor" in env_imports and "safe_alfred.tasks.suite" in env_imports
