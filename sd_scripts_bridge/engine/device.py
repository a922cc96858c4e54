"""The GPU an ``auto``-tier run will train on, and its free VRAM now, asked cheaply.

Only which GPU the engine calls ``cuda:0`` needs the engine's own torch (its Python started,
``import torch``, CUDA initialised: seconds). That answer depends only on the engine folder and the
GPUs, so it is asked once per engine install and GPU state and kept in ``<engine>/device.json``
with what it depends on: the engine's install record, ``CUDA_VISIBLE_DEVICES`` and
``CUDA_DEVICE_ORDER``, and the GPUs ``nvidia-smi`` lists (UUID, name, total memory). Every run then
reads that GPU's free memory from ``nvidia-smi`` (one call, no CUDA context). Without
``nvidia-smi``, or for a GPU it does not list (a MIG slice), the engine's torch is asked each time,
as before. Nothing is asked for a CPU run, an explicit tier or a given free VRAM: the callers
(``cli/plan_command.py``) only call this for a GPU run on the ``auto`` tier.

Free VRAM counts every other process on the GPU. ``nvidia-smi`` reads it without a CUDA context of
its own; the engine's torch reads it with one open (a few hundred MiB less).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..model import DeviceReport, Engine
from .folder import read_engine_info

CACHE_FILE = "device.json"
PROBE_TIMEOUT_S = 120
SMI_TIMEOUT_S = 20
MIB = 2**20
GIB = 2**30
SMI_QUERY = "uuid,name,memory.total,memory.free"
DEVICE_PROBE = r"""
import json, torch
out = {}
if torch.cuda.is_available():
    free, total = torch.cuda.mem_get_info(0)
    props = torch.cuda.get_device_properties(0)
    out = {"free": free, "total": total, "name": props.name, "count": torch.cuda.device_count(),
           "uuid": str(getattr(props, "uuid", "") or "")}
print("DEVICE_PROBE " + json.dumps(out))
"""
TORCH_SEES = "free now, as the engine's torch sees it"
SMI_SEES = "free now (nvidia-smi), the GPU the engine's torch uses"

Runner = Callable[[list[str], float, Path | None], str | None]


def detect_device(
    engine: Engine, environ: Mapping[str, str] | None = None, run: Runner | None = None
) -> DeviceReport | None:
    """GPU 0 as the engine's torch sees it: free VRAM now, total, name, count (None: no CUDA GPU, or
    no answer). ``run`` runs a command and returns its stdout (None on failure); tests replace it."""
    environ = os.environ if environ is None else environ
    run = run or _run
    gpus = nvidia_smi_gpus(run, environ)
    state = gpu_state(engine, environ, gpus)
    cached = _read_cache(engine, state)
    if cached is not None:
        answer = cached["answer"]
        if not answer:
            return None  # the engine's torch saw no CUDA GPU in this same state
        row = gpus.get(_plain_uuid(answer.get("uuid", ""))) if gpus else None
        if row is not None:
            return _report(row["free"], answer, SMI_SEES)
    answer = probe_engine_device(engine, run)
    if answer is None:
        return None
    if not answer or (gpus is not None and _plain_uuid(answer.get("uuid", "")) in gpus):
        _write_cache(engine, state, {k: v for k, v in answer.items() if k != "free"})
    return _report(answer["free"], answer, TORCH_SEES) if answer else None


def probe_engine_device(engine: Engine, run: Runner) -> dict[str, Any] | None:
    """The engine's torch on GPU 0: {} without CUDA, None when the probe gave no answer."""
    stdout = run([str(engine.python), "-c", DEVICE_PROBE], PROBE_TIMEOUT_S, None)
    for line in reversed((stdout or "").splitlines()):
        if line.startswith("DEVICE_PROBE "):
            try:
                return json.loads(line[len("DEVICE_PROBE ") :])
            except ValueError:
                return None
    return None


def nvidia_smi_gpus(run: Runner, environ: Mapping[str, str]) -> dict[str, dict[str, Any]] | None:
    """Every GPU ``nvidia-smi`` lists, by UUID (without its ``GPU-`` prefix): name, total and free
    bytes. None without ``nvidia-smi`` or without a readable answer."""
    smi = shutil.which("nvidia-smi", path=environ.get("PATH"))
    if smi is None:
        return None
    stdout = run([smi, f"--query-gpu={SMI_QUERY}", "--format=csv,noheader,nounits"], SMI_TIMEOUT_S, None)
    if stdout is None:
        return None
    gpus: dict[str, dict[str, Any]] = {}
    for line in stdout.splitlines():
        fields = [field.strip() for field in line.split(",")]
        if len(fields) != 4 or not fields[2].isdigit() or not fields[3].isdigit():
            return None
        gpus[_plain_uuid(fields[0])] = {
            "name": fields[1],
            "total": int(fields[2]) * MIB,
            "free": int(fields[3]) * MIB,
        }
    return gpus


def gpu_state(
    engine: Engine, environ: Mapping[str, str], gpus: dict[str, dict[str, Any]] | None
) -> dict[str, Any]:
    """What the engine's choice of GPU depends on: its install, the CUDA device variables, the GPUs."""
    return {
        "engine": str(engine.root),
        "installed_at": str(read_engine_info(engine.root).get("installed_at", "")),
        "python": str(engine.python),
        "cuda_visible_devices": environ.get("CUDA_VISIBLE_DEVICES"),
        "cuda_device_order": environ.get("CUDA_DEVICE_ORDER"),
        "gpus": None if gpus is None else sorted([uuid, g["name"], g["total"]] for uuid, g in gpus.items()),
    }


def _report(free: int, answer: Mapping[str, Any], measured_by: str) -> DeviceReport:
    return DeviceReport(
        free_vram_gib=round(free / GIB, 2),
        total_vram_gib=round(answer["total"] / GIB, 2),
        gpu_name=answer["name"],
        gpu_count=int(answer["count"]),
        measured_by=measured_by,
    )


def _plain_uuid(uuid: str) -> str:
    return uuid.strip().lower().removeprefix("gpu-")


def _read_cache(engine: Engine, state: dict[str, Any]) -> dict[str, Any] | None:
    try:
        cached = json.loads((engine.root / CACHE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if (
        not isinstance(cached, dict)
        or cached.get("state") != state
        or not isinstance(cached.get("answer"), dict)
    ):
        return None
    return cached


def _write_cache(engine: Engine, state: dict[str, Any], answer: dict[str, Any]) -> None:
    """Keep the answer for the next run (silently not, where the engine folder is read-only)."""
    path = engine.root / CACHE_FILE
    temporary = path.with_name(f".{CACHE_FILE}.{os.getpid()}.partial")
    with contextlib.suppress(OSError):
        temporary.write_text(json.dumps({"state": state, "answer": answer}, indent=2), encoding="utf-8")
        os.replace(temporary, path)


def _run(command: list[str], timeout: float, cwd: Path | None) -> str | None:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False, cwd=cwd)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None
