"""The pack's private work folder, outside everything ComfyUI serves.

Run folders (staged photos and captions, TOML, states, checkpoints, logs, HF home, commands),
the offline tokenizers and caption backups live here. Default: ``identity_lora_work`` in
ComfyUI's base folder (beside ``models`` and ``output``); the owner can move it (settings.py), but
never into or above a served folder, where clients could read or write it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..errors import IdentityError
from .private_paths import PathLabels, private_paths_hidden
from .roots import is_inside
from .settings import SETTINGS_FILE, WORK_FOLDER_ENV

DEFAULT_NAME = "identity_lora_work"
PRIVATE_LABEL = "<work folder>"


class ServedWorkFolderError(IdentityError):
    pass


def work_folder(base_dir: Path, served: Sequence[Path], configured: Path | None = None) -> Path:
    """The work folder (created, owner-only where the OS allows), refused when ComfyUI serves it."""
    folder = (Path(configured) if configured else Path(base_dir) / DEFAULT_NAME).expanduser().resolve()
    for served_folder in served:
        if is_inside(folder, served_folder) or is_inside(served_folder, folder):
            raise ServedWorkFolderError(
                f"The work folder {folder} is served by ComfyUI (it overlaps {served_folder})",
                f"set {WORK_FOLDER_ENV} or 'work_folder' in {SETTINGS_FILE} to a folder outside ComfyUI's "
                "input, output, temp and user folders",
            )
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def hide_private_paths(folder: Path):
    """Errors raised inside show ``<work folder>`` instead of the work folder's absolute path.

    Error messages reach every client through ComfyUI's history; the server's own log still has
    the full paths. The nodes hide every place they know (``private_paths``); this is the work
    folder alone, for callers that know only it.
    """
    return private_paths_hidden(PathLabels([(folder, PRIVATE_LABEL)]))
