"""ComfyUI's model folders: the insightface folder this pack adds, the files a folder lists, and
the current choices of the core loaders' combos."""

from __future__ import annotations

import os

INSIGHTFACE_FOLDER = "insightface"


def register_model_folders() -> None:
    """Register ``models/insightface`` (the IPAdapter/InstantID/PuLID convention).

    Packs live in ``models/insightface/models/<pack>/*.onnx``. Users may add more roots
    through extra_model_paths.yaml under the ``insightface`` key.
    """
    import folder_paths

    default_root = os.path.join(folder_paths.models_dir, INSIGHTFACE_FOLDER)
    known = folder_paths.folder_names_and_paths.get(INSIGHTFACE_FOLDER)
    if known is None or default_root not in known[0]:
        folder_paths.add_model_folder_path(INSIGHTFACE_FOLDER, default_root, is_default=True)


def insightface_roots() -> list[str]:
    import folder_paths

    return list(folder_paths.get_folder_paths(INSIGHTFACE_FOLDER))


def insightface_pack_choices() -> list[str]:
    """auto, the two known packs, and every pack folder installed (a choice, never a free path)."""
    from ...identity_core.faces.insightface_backend import KNOWN_PACKS, installed_packs

    return list(dict.fromkeys(["auto", *KNOWN_PACKS, *installed_packs(insightface_roots())]))


def model_file_names(folder: str) -> list[str]:
    """Files ComfyUI lists in a model folder (legacy names such as ``clip`` map to the new ones)."""
    import folder_paths

    return list(folder_paths.get_filename_list(folder))


def model_file_path(folder: str, name: str) -> str:
    """Full path of a model chosen in a combo; FileNotFoundError names the folder when it is gone."""
    import folder_paths

    return folder_paths.get_full_path_or_raise(folder, name)


def loader_combo(class_type: str, input_name: str) -> list:
    """The current choices of a core loader's combo input (e.g. UNETLoader's ``unet_name``).

    An output typed with this list can be linked to that input: ComfyUI's validation compares a
    linked output's type with the combo's list, as for V3 ``Combo.Output``.
    """
    import nodes

    spec = nodes.NODE_CLASS_MAPPINGS[class_type].INPUT_TYPES()
    section = "required" if input_name in spec.get("required", {}) else "optional"
    return list(spec[section][input_name][0])
