"""The repository's import rules (docs/ARCHITECTURE.md), read from the source with ``ast``.

- Nothing outside ``tests/`` imports ``tests``: what the demo, scripts and benchmarks share with the
  tests lives in ``devkit/``.
- The pack itself (``__init__.py``, ``nodes/``, ``identity_core/``, ``sd_scripts_bridge/``) imports
  none of the developer folders that registry installs leave out (``.comfyignore``).
- No module is named like a standard-library module: run as a script, a file puts its folder first
  on ``sys.path`` and would stand in for that module everywhere.
- Only ``nodes/comfy_glue/`` imports ComfyUI, and only inside functions (the pack loads cheaply).
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
COMFY_GLUE = REPO_ROOT / "nodes" / "comfy_glue"
# ComfyUI's top-level modules and packages (its source folder's *.py files and folders of *.py
# files, less ``tests``, a name the pack's own rule above already keeps out). The pack imports
# itself relatively, so an absolute import of one of these names is an import of ComfyUI.
COMFYUI_MODULES = (
    "alembic_db", "api_server", "app", "comfy", "comfy_api", "comfy_api_nodes", "comfy_config",
    "comfy_execution", "comfy_extras", "comfyui_version", "cuda_malloc", "custom_nodes", "execution",
    "folder_paths", "hook_breaker_ac10a0", "latent_preview", "main", "middleware", "new_updater",
    "node_helpers", "nodes", "protocol", "script_examples", "server", "utils",
)  # fmt: skip


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


def module_level_imports(path: Path) -> Iterator[tuple[int, str]]:
    """(line, top-level package) of the absolute imports that run when the module is imported:
    those outside function bodies (class bodies and ``if``/``try`` blocks run at import too)."""
    pending = list(ast.parse(path.read_text(encoding="utf-8"), str(path)).body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            continue
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name.split(".")[0]) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module.split(".")[0]
        pending.extend(ast.iter_child_nodes(node))


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
    assert shadows == []


def test_only_comfy_glue_imports_comfyui():
    files = [REPO_ROOT / "__init__.py", *python_files(*PACK)]
    outside = [path for path in files if not path.is_relative_to(COMFY_GLUE)]
    assert COMFY_GLUE / "__init__.py" in files
    assert offending_imports(outside, COMFYUI_MODULES) == []


def test_comfy_glue_imports_comfyui_inside_functions_only():
    found = [
        f"{path.relative_to(REPO_ROOT)}:{line} imports {package} when the module is imported"
        for path in python_files("nodes/comfy_glue")
        for line, package in module_level_imports(path)
        if package in COMFYUI_MODULES
    ]
    assert found == []
    assert any(package in COMFYUI_MODULES for _, package in imported_packages(COMFY_GLUE / "progress.py"))


def test_the_comfyui_names_cover_the_hosts_modules():
    """Every top-level module of the ComfyUI the tests run is named in ``COMFYUI_MODULES``."""
    from devkit.host import comfyui_dir

    source = comfyui_dir()
    assert (source / "folder_paths.py").is_file(), f"no ComfyUI at {source}: run `make setup`"
    files = [*source.glob("*.py"), *source.glob("*/*.py")]
    modules = {path.stem if path.parent == source else path.parent.name for path in files}
    importable = {name for name in modules if name.isidentifier()}  # not tests-unit
    assert sorted(importable - set(COMFYUI_MODULES) - {"tests"}) == []
