"""The repository's import rules (docs/ARCHITECTURE.md), read from the source with ``ast``.

- Nothing outside ``tests/`` imports ``tests``: what the demo, scripts and benchmarks share with the
  tests lives in ``devkit/``.
- The pack itself (``__init__.py``, ``nodes/``, ``identity_core/``, ``sd_scripts_bridge/``) imports
  none of the developer folders that registry installs leave out (``.comfyignore``).
- No module is named like a standard-library module: run as a script, a file puts its folder first
  on ``sys.path`` and would stand in for that module everywhere.
- Only ``nodes/comfy_glue/`` imports ComfyUI, and only inside functions (the pack loads cheaply).
- The bridge's layers (``BRIDGE_LAYERS``): each unit (a sub-package, or a module on top) imports only
  the units listed before it, its modules import each other in no cycle, and none of them falls
  back on ``ImportError`` for a module of the bridge itself.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

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
BRIDGE = REPO_ROOT / "sd_scripts_bridge"
# The bridge's units, lowest first: a unit imports only the units before it. The shared types and the
# LoRA file's code sit on top of the package folder but at the bottom of the layers (every sub-package
# reads them); the job composes the sub-packages, and the command line calls the job.
BRIDGE_LAYERS = (
    "errors",  # BridgeError and its kinds
    "model",  # the data passed around: request, plan, phases, events, results
    "host_memory",  # what the job asks of its host (ComfyUI) about memory
    "lora_file",  # reading and checking a kohya FLUX LoRA file
    "engine",  # the installed engine and its processes
    "plan",  # request -> plan, before anything runs
    "publish",  # writing a LoRA into the user's folder, atomically, with the request key's metadata
    "run_folder",  # what a run folder holds between runs
    "run",  # one run of a plan
    "job",  # the one training job of every front end
    "cli",  # python -m sd_scripts_bridge
    "__main__",
)
# Not Python of the bridge's process: put on the engine's PYTHONPATH (plan/command.py).
ENGINE_SIDE = BRIDGE / "engine" / "shims"


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


def bridge_modules() -> dict[str, Path]:
    """Dotted name inside the bridge (``run.runner``; ``""`` for the package) -> file, the engine-side
    shims left out."""
    modules = {}
    for path in BRIDGE.rglob("*.py"):
        if ENGINE_SIDE not in path.parents:
            parts = path.relative_to(BRIDGE).with_suffix("").parts
            modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), str(path))


def bridge_targets(node: ast.AST, name: str, is_package: bool) -> list[str]:
    """The bridge's modules (dotted names) that the statement ``node`` in module ``name`` imports."""
    package = name.split(".") if is_package else name.split(".")[:-1]
    if isinstance(node, ast.ImportFrom) and node.level > 0:
        base = package[: len(package) - (node.level - 1)]
        if node.module:
            return [".".join([*base, node.module])]
        return [".".join([*base, alias.name]) for alias in node.names]
    if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sd_scripts_bridge."):
        return [node.module.removeprefix("sd_scripts_bridge.")]
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names if alias.name.startswith("sd_scripts_bridge.")]
        return [name.removeprefix("sd_scripts_bridge.") for name in names]
    return []


def bridge_imports(tree: ast.AST, name: str, is_package: bool = False) -> Iterator[tuple[int, str]]:
    """(line, imported module of the bridge) for every import in ``tree``, function-level ones too."""
    for node in ast.walk(tree):
        for target in bridge_targets(node, name, is_package):
            yield node.lineno, target


def imports_of(name: str, path: Path) -> list[tuple[int, str]]:
    return list(bridge_imports(parse(path), name, path.name == "__init__.py"))


def unit_of(name: str) -> str:
    return name.split(".")[0]


def upward_imports(name: str, imports: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """The imports of module ``name`` whose unit is not below its own in ``BRIDGE_LAYERS``."""
    rank = {unit: index for index, unit in enumerate(BRIDGE_LAYERS)}
    own = rank[unit_of(name)] if name else len(rank)
    return [
        (line, target)
        for line, target in imports
        if unit_of(target) != unit_of(name) and rank.get(unit_of(target), len(rank)) >= own
    ]


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every cycle a depth-first walk of the import graph meets (none: the modules form layers)."""
    cycles: list[list[str]] = []
    state: dict[str, str] = {}

    def visit(name: str, trail: list[str]) -> None:
        state[name] = "open"
        for target in sorted(graph.get(name, ())):
            if state.get(target) == "open":
                cycles.append([*trail[trail.index(target) :], target])
            elif target not in state:
                visit(target, [*trail, target])
        state[name] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    return cycles


def import_error_fallbacks(tree: ast.AST, name: str, is_package: bool = False) -> list[int]:
    """Lines of ``try`` blocks that import a bridge module and catch ImportError (or wider)."""
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Try)
        and any(_catches_import_error(handler) for handler in node.handlers)
        and any(bridge_imports(ast.Module(body=node.body, type_ignores=[]), name, is_package))
    ]


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    names = {n.id for n in ast.walk(handler.type) if isinstance(n, ast.Name)}
    return bool(names & {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"})


def test_every_bridge_module_belongs_to_a_layer():
    units = {unit_of(name) for name in bridge_modules() if name}
    assert sorted(units - set(BRIDGE_LAYERS)) == []


def test_the_bridge_imports_only_downwards():
    upward = [
        f"{path.relative_to(REPO_ROOT)}:{line} imports {target}"
        for name, path in bridge_modules().items()
        for line, target in upward_imports(name, imports_of(name, path))
    ]
    assert upward == []


def test_the_bridge_has_no_import_cycle():
    modules = bridge_modules()
    graph = {
        name: {target for _, target in imports_of(name, path) if target in modules and target != name}
        for name, path in modules.items()
    }
    assert import_cycles(graph) == []


def test_the_bridge_has_no_import_error_fallback_for_its_own_modules():
    fallbacks = [
        f"{path.relative_to(REPO_ROOT)}:{line}"
        for name, path in bridge_modules().items()
        for line in import_error_fallbacks(parse(path), name, path.name == "__init__.py")
    ]
    assert fallbacks == []


@pytest.mark.parametrize(
    "source, found",
    [
        ("from ..plan.build import build_plan\n", ["plan.build"]),
        ("def f():\n    from ..job import run_job\n", ["job"]),
        ("from .. import job\n", ["job"]),
        ("import sd_scripts_bridge.job\n", ["job"]),
        ("from .resume import find_start\n", ["run_folder.resume"]),
        ("import json\nfrom pathlib import Path\n", []),
    ],
)
def test_the_layer_check_reads_every_form_of_import(source, found):
    assert [target for _, target in bridge_imports(ast.parse(source), "run_folder.ledger")] == found


def test_the_layer_checks_find_what_they_look_for():
    """Each check on planted code: an upward import, a cycle, an ImportError fallback."""
    planted = ast.parse("from ..run.runner import run_training\nfrom ..model import Phase\n")
    assert upward_imports("run_folder.resume", list(bridge_imports(planted, "run_folder.resume"))) == [
        (1, "run.runner")
    ]
    assert import_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    fallback = "try:\n    from .staging import prepare\nexcept ImportError:\n    prepare = None\n"
    assert import_error_fallbacks(ast.parse(fallback), "plan.build") == [1]
    foreign = "try:\n    import accelerate\nexcept ImportError:\n    accelerate = None\n"
    assert import_error_fallbacks(ast.parse(foreign), "plan.build") == []
