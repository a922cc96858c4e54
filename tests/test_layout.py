"""The repository's import rules (docs/ARCHITECTURE.md), read from the source with ``ast``.

- Nothing outside ``tests/`` imports ``tests``: what the demo, scripts and benchmarks share with the
  tests lives in ``devkit/``.
- The pack itself (``__init__.py``, ``nodes/``, ``identity_core/``, ``sd_scripts_bridge/``) imports
  none of the developer folders that registry installs leave out (``.comfyignore``).
- No module is named like a standard-library module: run as a script, a file puts its folder first
  on ``sys.path`` and would stand in for that module everywhere.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
PACK = ("nodes", "identity_core", "sd_scripts_bridge")
DEVELOPER = ("demo", "devkit", "scripts", "benchmarks", "workflows")
LEFT_OUT_OF_INSTALLS = ("tests", "demo", "devkit", "scripts", "benchmarks")
# The API client's old name, kept as a thin wrapper for one release (see its docstring).
DEPRECATED_SHADOWS = {"workflows/queue.py"}


def python_files(*folders: str) -> list[Path]:
    return sorted(path for folder in folders for path in (REPO_ROOT / folder).rglob("*.py"))


def imported_packages(path: Path) -> Iterator[tuple[int, str]]:
    """(line, top-level package) of every absolute import in the file, function-level ones too."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module.split(".")[0]


def offending_imports(files: list[Path], forbidden: tuple[str, ...]) -> list[str]:
    return [
        f"{path.relative_to(REPO_ROOT)}:{line} imports {package}"
        for path in files
        for line, package in imported_packages(path)
        if package in forbidden
    ]


def test_nothing_outside_tests_imports_tests():
    assert offending_imports(python_files(*PACK, *DEVELOPER), ("tests",)) == []


def test_the_pack_imports_no_developer_folder():
    files = [REPO_ROOT / "__init__.py", *python_files(*PACK)]
    assert offending_imports(files, LEFT_OUT_OF_INSTALLS) == []


def test_registry_installs_leave_the_developer_folders_out():
    ignored = (REPO_ROOT / ".comfyignore").read_text(encoding="utf-8").split()
    assert {f"/{name}/" for name in LEFT_OUT_OF_INSTALLS} <= set(ignored)  # anchored: web/docs stays


def test_no_module_shadows_the_standard_library():
    shadows = [
        str(path.relative_to(REPO_ROOT))
        for path in python_files(*PACK, *DEVELOPER, "tests")
        if path.stem in sys.stdlib_module_names
    ]
    assert sorted(set(shadows) - DEPRECATED_SHADOWS) == []
