"""The server owner's settings: extra allowed roots and the work folder's location.

Two ways, both documented in the README: environment variables (``IDENTITY_LORA_ALLOWED_ROOTS``,
a list separated by the OS path separator; ``IDENTITY_LORA_WORK_DIR``), or a small JSON file
beside the pack, ``identity_lora_server.json`` (``{"allowed_roots": [...], "work_folder": "..."}``;
git-ignored, see ``identity_lora_server.example.json``). The environment adds to the file's roots
and its work folder wins. Only the server owner can set either: node inputs never reach them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..errors import IdentityError

ALLOWED_ROOTS_ENV = "IDENTITY_LORA_ALLOWED_ROOTS"
WORK_FOLDER_ENV = "IDENTITY_LORA_WORK_DIR"
SETTINGS_FILE = "identity_lora_server.json"


@dataclass(frozen=True)
class ServerSettings:
    extra_roots: tuple[Path, ...] = ()
    work_folder: Path | None = None


def read_settings(pack_dir: Path, environ: Mapping[str, str] | None = None) -> ServerSettings:
    environ = os.environ if environ is None else environ
    from_file = _from_file(Path(pack_dir) / SETTINGS_FILE)
    env_roots = tuple(Path(p).expanduser() for p in environ.get(ALLOWED_ROOTS_ENV, "").split(os.pathsep) if p)
    env_work = environ.get(WORK_FOLDER_ENV, "").strip()
    return ServerSettings(
        extra_roots=from_file.extra_roots + env_roots,
        work_folder=Path(env_work).expanduser() if env_work else from_file.work_folder,
    )


def _from_file(path: Path) -> ServerSettings:
    if not path.is_file():
        return ServerSettings()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        roots = tuple(Path(str(root)).expanduser() for root in data.get("allowed_roots", []))
        work = data.get("work_folder")
        return ServerSettings(roots, Path(str(work)).expanduser() if work else None)
    except (OSError, ValueError, AttributeError, TypeError) as error:
        raise IdentityError(
            f"The server settings file cannot be read ({error})",
            'fix it to hold a JSON object such as {"allowed_roots": ["/data/photos"]}, or remove it',
            path=path,
        ) from error
