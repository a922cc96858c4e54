"""ComfyUI's ``loras`` folders: the LoRA files they list, and whether a path lies inside them.

A LoRA input is never a free path: on a shared server it would load any file the server can read.
"""

from __future__ import annotations

import os


def lora_roots() -> list[str]:
    """ComfyUI's ``loras`` folders, in the order LoraLoader searches them."""
    import folder_paths

    return list(folder_paths.get_folder_paths("loras"))


def lora_root() -> str:
    """The first ``loras`` folder: where LoraLoader looks first."""
    return lora_roots()[0]


def lora_names() -> list[str]:
    import folder_paths

    return list(folder_paths.get_filename_list("loras"))


def lora_full_path(name: str) -> str | None:
    """A LoRA from ComfyUI's ``loras`` folders: a name as LoraLoader lists it, or a full path that
    lies inside one of those folders (TrainIdentityLoRA's lora_path); None otherwise."""
    import folder_paths

    if not os.path.isabs(name):
        return folder_paths.get_full_path("loras", name)
    real = os.path.realpath(name)
    return real if _lora_root_of(real) is not None and os.path.isfile(real) else None


def lies_in_lora_folders(path: str) -> bool:
    """Whether ``path`` (present or not yet) lies inside one of ComfyUI's ``loras`` folders."""
    real = os.path.realpath(path)
    root = _lora_root_of(real)
    return root is not None and real != root


def lora_display_name(path: str) -> str:
    """A LoRA file's name as LoraLoader lists it (relative to its loras folder)."""
    real = os.path.realpath(path)
    root = _lora_root_of(real)
    return os.path.relpath(real, root).replace(os.sep, "/") if root else os.path.basename(path)


def _lora_root_of(real: str) -> str | None:
    """The first of ComfyUI's ``loras`` folders (resolved) that holds the resolved path ``real``."""
    for folder in lora_roots():
        root = os.path.realpath(folder)
        if os.path.commonpath([real, root]) == root:
            return root
    return None
