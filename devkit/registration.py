"""Load the pack with ComfyUI's own custom-node loader, outside any server, and describe it.

Run as a script with the host's python and ComfyUI's folder as the working directory::

    python devkit/registration.py /path/to/custom_nodes/<pack folder>

It imports ComfyUI's ``nodes`` module (the built-in nodes, as main.py does), calls
``nodes.load_custom_node(pack_path)`` (a coroutine in 0.3.75) and prints one JSON object:
whether it loaded, the load time, the modules the pack pulled in, and for every node it
registered its INPUT_TYPES, RETURN_TYPES and the other V1 class attributes.
``describe_pack`` runs this in a subprocess and returns the parsed JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

V1_ATTRIBUTES = ("RETURN_TYPES", "RETURN_NAMES", "FUNCTION", "CATEGORY", "OUTPUT_NODE", "DESCRIPTION")


def describe_pack(pack_path: Path, comfyui_dir: Path, python: str, timeout: float = 300) -> dict[str, Any]:
    """Run this file in a fresh host interpreter against ``pack_path``; the JSON it printed."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    completed = subprocess.run(
        [python, str(Path(__file__).resolve()), str(pack_path)],
        cwd=comfyui_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    marker = "REGISTRATION-JSON:"
    for line in completed.stdout.splitlines():
        if line.startswith(marker):
            return json.loads(line[len(marker) :])
    raise RuntimeError(
        f"registration script failed (exit {completed.returncode})\n"
        f"stdout:\n{completed.stdout[-3000:]}\nstderr:\n{completed.stderr[-3000:]}"
    )


def _load(pack_path: str) -> dict[str, Any]:
    import asyncio
    import inspect
    import time

    sys.path.insert(0, os.getcwd())  # ComfyUI's folder: its top-level modules, as main.py has them
    import comfy.cli_args

    comfy.cli_args.args.cpu = True  # what `main.py --cpu` sets; no GPU is needed to register nodes
    import nodes  # ComfyUI's own module (the pack must never shadow it)

    base_names = set(nodes.NODE_CLASS_MAPPINGS)
    modules_before = set(sys.modules)
    started = time.perf_counter()
    result = nodes.load_custom_node(pack_path, ignore=base_names, module_parent="custom_nodes")
    loaded = asyncio.run(result) if inspect.iscoroutine(result) else result
    seconds = time.perf_counter() - started
    new_modules = sorted(set(sys.modules) - modules_before)
    module_name = f"custom_nodes.{os.path.basename(pack_path)}"
    described = {}
    for name, cls in nodes.NODE_CLASS_MAPPINGS.items():
        if getattr(cls, "RELATIVE_PYTHON_MODULE", None) != module_name:
            continue
        entry: dict[str, Any] = {"class_name": cls.__name__, "INPUT_TYPES": cls.INPUT_TYPES()}
        for attribute in V1_ATTRIBUTES:
            if hasattr(cls, attribute):
                entry[attribute] = getattr(cls, attribute)
        entry["has_function"] = callable(getattr(cls, getattr(cls, "FUNCTION", ""), None))
        entry["DISPLAY_NAME"] = nodes.NODE_DISPLAY_NAME_MAPPINGS.get(name)
        described[name] = entry
    return {
        "loaded": bool(loaded),
        "seconds": seconds,
        "new_modules": new_modules,
        "web_dirs": {k: v for k, v in nodes.EXTENSION_WEB_DIRS.items()},
        "nodes": described,
    }


if __name__ == "__main__":
    # Keep this script's folder (devkit/) off sys.path: only ComfyUI's modules are wanted.
    sys.path[:] = [
        p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))
    ]
    report = _load(os.path.abspath(sys.argv[1]))
    print("REGISTRATION-JSON:" + json.dumps(report, default=repr), flush=True)
