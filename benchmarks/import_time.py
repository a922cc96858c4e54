"""How much the pack adds to ComfyUI's startup: its import through ComfyUI's own loader.

Each run is a fresh host interpreter (cwd = the ComfyUI folder) that first does what ComfyUI's
startup does before custom nodes (``import nodes`` + ``init_extra_nodes`` for the built-in
extra nodes, so modules ComfyUI itself loads are not billed to the pack), then times
``nodes.load_custom_node(<pack>)``: the same call, and the same figure, as the
"Import times for custom nodes" lines of the server log. Prints every run, the median, and
the modules the pack pulled in. Target: <= 150 ms.

    python benchmarks/import_time.py [--runs 5] [--pack-name flux-identity-lora]

Host selection as in the test harness: COMFYUI_DIR / COMFYUI_PYTHON, else the cached 0.3.75
host under $IDENTITY_LORA_CACHE (make setup builds it).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
TARGET_MS = 150.0

MEASURE = r"""
import asyncio, json, sys, time
sys.path.insert(0, ".")
import comfy.cli_args
comfy.cli_args.args.cpu = True
comfy.cli_args.args.disable_api_nodes = True
import nodes
asyncio.run(nodes.init_extra_nodes(init_custom_nodes=False, init_api_nodes=False))
before = set(sys.modules)
started = time.perf_counter()
loaded = asyncio.run(nodes.load_custom_node(sys.argv[1], ignore=set(nodes.NODE_CLASS_MAPPINGS)))
seconds = time.perf_counter() - started
new = sorted({m.split(".")[0] for m in set(sys.modules) - before if not m.startswith("/")})
print("IMPORT-TIME-JSON:" + json.dumps({"loaded": loaded, "seconds": seconds, "new_top_modules": new}))
"""


def host() -> tuple[Path, str]:
    from devkit.host import comfyui_dir, host_python

    comfyui = comfyui_dir()
    if not (comfyui / "main.py").exists():
        raise SystemExit(f"error: no ComfyUI at {comfyui}; run `make setup` or set COMFYUI_DIR")
    return comfyui, host_python()


def measure_once(pack_path: Path, comfyui: Path, python: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    completed = subprocess.run(
        [python, "-c", MEASURE, str(pack_path)],
        cwd=comfyui,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    for line in completed.stdout.splitlines():
        if line.startswith("IMPORT-TIME-JSON:"):
            return json.loads(line.split(":", 1)[1])
    raise SystemExit(f"error: measurement failed (exit {completed.returncode}):\n{completed.stderr[-2000:]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--pack-name", default="flux-identity-lora")
    args = parser.parse_args()
    comfyui, python = host()
    with tempfile.TemporaryDirectory(prefix="import-time-") as folder:
        pack_path = Path(folder) / args.pack_name
        pack_path.symlink_to(REPO_ROOT, target_is_directory=True)
        results = [measure_once(pack_path, comfyui, python) for _ in range(max(args.runs, 1))]
    if not all(result["loaded"] for result in results):
        print("error: ComfyUI's loader did not load the pack (IMPORT FAILED); see the server log")
        return 1
    runs_ms = [1000 * result["seconds"] for result in results]
    median_ms = statistics.median(runs_ms)
    print(f"ComfyUI at {comfyui}")
    print("runs (ms): " + ", ".join(f"{ms:.1f}" for ms in runs_ms))
    print(f"pack import over ComfyUI's own startup: median {median_ms:.1f} ms (target <= {TARGET_MS:.0f} ms)")
    print("top-level modules the pack brought in: " + (", ".join(results[0]["new_top_modules"]) or "none"))
    return 0 if median_ms <= TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
