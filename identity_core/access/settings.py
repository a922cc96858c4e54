"""The server owner's settings: allowed and writable roots, the work folder, and the owner's limits.

Two ways, both documented in docs/shared-server.md: environment variables
(``IDENTITY_LORA_ALLOWED_ROOTS``, a list separated by the OS path separator;
``IDENTITY_LORA_WORK_DIR``), or a small JSON file beside the pack, ``identity_lora_server.json``
(git-ignored, see ``identity_lora_server.example.json``; ``IDENTITY_LORA_SETTINGS`` names another
file). The environment adds to the file's roots and its work folder wins. Only the server owner
can set either: node inputs never reach them, and a node input can only lower a limit
(``owner_limits.py``).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import IdentityError

ALLOWED_ROOTS_ENV = "IDENTITY_LORA_ALLOWED_ROOTS"
WORK_FOLDER_ENV = "IDENTITY_LORA_WORK_DIR"
SETTINGS_ENV = "IDENTITY_LORA_SETTINGS"
SETTINGS_FILE = "identity_lora_server.json"

# The owner's limits and their defaults (docs/shared-server.md explains each).
DEFAULT_MAX_KEPT_CHECKPOINTS = 24  # the Final profile with regularization saves 20 at every 250 steps
DEFAULT_CHECKPOINT_DISK_GB = 40.0  # those 20 at rank 64 (0.6 GB each) and two resume states (3.7 GB each)


@dataclass(frozen=True)
class ServerSettings:
    extra_roots: tuple[Path, ...] = ()
    work_folder: Path | None = None
    writable_roots: tuple[Path, ...] = ()  # caption write-back, besides ComfyUI's input folder
    ram_check: bool = True  # True: every run is checked; a node cannot turn the check off
    max_processes: int | None = None  # engine processes per run (None: the GPUs present, or 1 on a CPU)
    max_kept_checkpoints: int = DEFAULT_MAX_KEPT_CHECKPOINTS
    checkpoint_disk_gb: float = DEFAULT_CHECKPOINT_DISK_GB

    @property
    def readable_roots(self) -> tuple[Path, ...]:
        """The roots photo folders may lie in: the allowed roots and the writable ones."""
        return tuple(dict.fromkeys((*self.extra_roots, *self.writable_roots)))


def settings_file(pack_dir: Path, environ: Mapping[str, str] | None = None) -> Path:
    environ = os.environ if environ is None else environ
    named = environ.get(SETTINGS_ENV, "").strip()
    return Path(named).expanduser() if named else Path(pack_dir) / SETTINGS_FILE


def read_settings(pack_dir: Path, environ: Mapping[str, str] | None = None) -> ServerSettings:
    environ = os.environ if environ is None else environ
    from_file = _from_file(settings_file(pack_dir, environ))
    env_roots = tuple(Path(p).expanduser() for p in environ.get(ALLOWED_ROOTS_ENV, "").split(os.pathsep) if p)
    env_work = environ.get(WORK_FOLDER_ENV, "").strip()
    return ServerSettings(
        extra_roots=from_file.extra_roots + env_roots,
        work_folder=Path(env_work).expanduser() if env_work else from_file.work_folder,
        writable_roots=from_file.writable_roots,
        ram_check=from_file.ram_check,
        max_processes=from_file.max_processes,
        max_kept_checkpoints=from_file.max_kept_checkpoints,
        checkpoint_disk_gb=from_file.checkpoint_disk_gb,
    )


def _from_file(path: Path) -> ServerSettings:
    if not path.is_file():
        return ServerSettings()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise TypeError("not a JSON object")
        work = data.get("work_folder")
        return ServerSettings(
            extra_roots=_paths(data, "allowed_roots"),
            work_folder=Path(str(work)).expanduser() if work else None,
            writable_roots=_paths(data, "writable_roots"),
            ram_check=_value(data, "ram_check", bool, True),
            max_processes=_value(data, "max_processes", int, None, low=1),
            max_kept_checkpoints=_value(
                data, "max_kept_checkpoints", int, DEFAULT_MAX_KEPT_CHECKPOINTS, low=1
            ),
            checkpoint_disk_gb=float(
                _value(data, "checkpoint_disk_budget_gb", float, DEFAULT_CHECKPOINT_DISK_GB, low=0.001)
            ),
        )
    except (OSError, ValueError, AttributeError, TypeError) as error:
        raise IdentityError(
            f"The server settings file cannot be read ({error})",
            'fix it to hold a JSON object such as {"allowed_roots": ["/data/photos"]} (the keys are listed '
            "in the pack's docs/shared-server.md), or remove it",
            path=path,
        ) from error


def _paths(data: dict, key: str) -> tuple[Path, ...]:
    values = data.get(key, [])
    if not isinstance(values, list):
        raise TypeError(f"{key} is not a list of folders")
    return tuple(Path(str(root)).expanduser() for root in values)


def _value(data: dict, key: str, kind: type, default: Any, low: float | None = None) -> Any:
    """``data[key]`` of ``kind`` (an int is a float too; a bool is never a number), at least ``low``."""
    if key not in data or data[key] is None:
        return default
    value = data[key]
    numeric = kind in (int, float)
    if (
        isinstance(value, bool) != (kind is bool)
        or not isinstance(value, (int, float) if kind is float else kind)
        or (numeric and not math.isfinite(value))
        or (low is not None and value < low)
    ):
        wanted = {bool: "true or false", int: "a whole number", float: "a number"}[kind]
        floor = f" of at least {low:g}" if low is not None else ""
        raise ValueError(f"{key} must be {wanted}{floor}")
    return value
