"""Where a shared ComfyUI server lets this pack read and write: allowed roots and the work folder.

ComfyUI serves its input, output, temp and user folders to every client, and anyone who can
queue a prompt sets every node input. So path inputs are confined to allowed roots, and private
files (staged photos, states, logs, caption backups, anything that holds paths) live in a work
folder that ComfyUI does not serve. Pure Python: the nodes pass in ComfyUI's folders.
"""

from .private_paths import PathLabels, hide_in_error, private_paths_hidden
from .roots import (
    OutsideAllowedRootsError,
    RootOverlapsWorkFolderError,
    allowed_roots,
    confine_folder,
    is_inside,
    refuse_roots_over,
)
from .settings import (
    ALLOWED_ROOTS_ENV,
    SETTINGS_ENV,
    SETTINGS_FILE,
    WORK_FOLDER_ENV,
    ServerSettings,
    read_settings,
)
from .work_folder import PRIVATE_LABEL, ServedWorkFolderError, hide_private_paths, work_folder

__all__ = [
    "ALLOWED_ROOTS_ENV",
    "PRIVATE_LABEL",
    "SETTINGS_ENV",
    "SETTINGS_FILE",
    "WORK_FOLDER_ENV",
    "OutsideAllowedRootsError",
    "PathLabels",
    "RootOverlapsWorkFolderError",
    "ServedWorkFolderError",
    "ServerSettings",
    "allowed_roots",
    "confine_folder",
    "hide_in_error",
    "hide_private_paths",
    "is_inside",
    "private_paths_hidden",
    "read_settings",
    "refuse_roots_over",
    "work_folder",
]
