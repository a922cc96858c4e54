"""The folders of this ComfyUI server: those it serves to every client, its source tree, the roots
folder inputs may name (the owner's settings), and the pack's private work folder."""

from __future__ import annotations

import os

# The pack folder (the repository root): nodes/comfy_glue/server_folders.py is three levels down.
PACK_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def output_directory() -> str:
    import folder_paths

    return folder_paths.get_output_directory()


def temp_directory() -> str:
    import folder_paths

    return folder_paths.get_temp_directory()


def comfyui_dir() -> str:
    """ComfyUI's source folder (holds comfy/sd1_tokenizer, comfy/text_encoders/t5_tokenizer).

    Taken from where ``folder_paths.py`` lives: ``folder_paths.base_path`` moves with
    ``--base-directory``, the source tree does not.
    """
    import folder_paths

    return os.path.dirname(os.path.realpath(folder_paths.__file__))


def served_folders() -> list[str]:
    """Folders ComfyUI serves to every client (/view, /upload, userdata)."""
    import folder_paths

    return [
        folder_paths.get_input_directory(),
        folder_paths.get_output_directory(),
        folder_paths.get_temp_directory(),
        folder_paths.get_user_directory(),
    ]


def server_settings():
    """The owner's settings file (and environment), read on each use: the owner may edit it live."""
    from ...identity_core.access import read_settings

    return read_settings(PACK_DIR)


def allowed_roots() -> tuple:
    """ComfyUI's input folder plus the roots the server owner listed (none may overlap the work
    folder, whose staged photos and backups are private)."""
    import folder_paths

    from ...identity_core.access import allowed_roots as roots
    from ...identity_core.access import refuse_roots_over

    settings = server_settings()
    found = roots(folder_paths.get_input_directory(), settings.readable_roots)
    refuse_roots_over(work_folder(), found)
    return found


def writable_roots() -> tuple:
    """Where caption files may be rewritten: ComfyUI's input folder and the owner's writable roots."""
    import folder_paths

    from ...identity_core.access import allowed_roots as roots
    from ...identity_core.access import refuse_roots_over

    found = roots(folder_paths.get_input_directory(), server_settings().writable_roots)
    refuse_roots_over(work_folder(), found)
    return found


def work_folder():
    """The pack's private work folder (not served by ComfyUI), created on first use."""
    import folder_paths

    from ...identity_core.access import work_folder as private_folder

    return private_folder(folder_paths.base_path, served_folders(), server_settings().work_folder)
