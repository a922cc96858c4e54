"""The few places where the pack touches ComfyUI's own modules.

Everything here imports ComfyUI lazily, inside functions, so the node modules can be
imported (and their INPUT_TYPES read) cheaply at pack load time.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

CATEGORY_ROOT = "FLUX Identity LoRA"
INSIGHTFACE_FOLDER = "insightface"

# Custom socket types passed between this pack's nodes.
DATASET_TYPE = "IDENTITY_DATASET"
SWEEP_TYPE = "IDENTITY_SWEEP"


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


def output_directory() -> str:
    import folder_paths

    return folder_paths.get_output_directory()


def temp_directory() -> str:
    import folder_paths

    return folder_paths.get_temp_directory()


def progress_bar(total: int) -> Any:
    import comfy.utils

    return comfy.utils.ProgressBar(total)


def raise_if_interrupted() -> None:
    import comfy.model_management

    comfy.model_management.throw_exception_if_processing_interrupted()


def is_interrupted() -> bool:
    import comfy.model_management

    return bool(comfy.model_management.processing_interrupted())


def interrupt_checker() -> Callable[[], bool]:
    """A cheap callable for pure-Python loops that must stop when the user cancels."""
    return is_interrupted
