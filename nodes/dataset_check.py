"""DatasetCheck: check an identity dataset folder before training (thin adapter).

The logic lives in ``identity_core.dataset``; this module turns node inputs into a
``check_dataset`` call, reports progress per image, honours interruption and shows the
report and contact sheet in the node.
"""

from __future__ import annotations

import os

from .comfy_glue.hidden_paths import hiding_private_paths
from .comfy_glue.images import arrays_to_images, save_preview_png
from .comfy_glue.model_folders import insightface_pack_choices
from .comfy_glue.progress import is_interrupted, progress_bar, raise_if_interrupted
from .comfy_glue.server_folders import allowed_roots, output_directory
from .face_reference import BACKENDS, load_face_backend
from .pack_names import CATEGORY_ROOT, DATASET_TYPE

REPORT_SUBFOLDER = os.path.join("identity_lora", "dataset_check")


class DatasetCheck:
    DISPLAY_NAME = "Dataset Check (identity)"
    CATEGORY = f"{CATEGORY_ROOT}/dataset"
    RETURN_TYPES = (DATASET_TYPE, "STRING", "STRING", "IMAGE")
    RETURN_NAMES = ("dataset", "verdict", "report", "contact_sheet")
    OUTPUT_TOOLTIPS = (
        "The checked photos and captions (in memory) with the findings, for CaptionTokenizer or training.",
        "ready, warnings or failed: training refuses a failed dataset.",
        "The findings as text, each with what to do.",
        "The photos in a grid, each marked with its findings.",
    )
    FUNCTION = "run"
    OUTPUT_NODE = True
    DESCRIPTION = (
        "Checks 15-30 photos of one person: count, readability, resolution, one face per image, "
        "angle mix, framing, light and background variety, duplicates and blur. Reads only; "
        "the JSON report goes to the output folder."
    )

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "folder": (
                    "STRING",
                    {
                        "default": "",
                        "tooltip": "Folder with the photos (+ optional .txt captions): inside ComfyUI's "
                        "input folder (a relative path starts there) or a root the server owner allows.",
                    },
                ),
                "face_backend": (
                    BACKENDS,
                    {
                        "default": "auto",
                        "tooltip": "auto: your insightface pack if found, else CenterFace + dlib (offline, "
                        "sees turned heads). dlib: HOG detector, front-facing faces only.",
                    },
                ),
                "insightface_pack": (
                    insightface_pack_choices(),
                    {
                        "default": "auto",
                        "tooltip": "A pack folder under models/insightface/models (auto: antelopev2, then "
                        "buffalo_l).",
                    },
                ),
                "profile": (
                    ["final", "fast"],
                    {"default": "final", "tooltip": "Bucket range for the size check."},
                ),
                "min_images": (
                    "INT",
                    {"default": 15, "min": 1, "max": 1000, "tooltip": "Fewer photos fail the check."},
                ),
                "max_images": (
                    "INT",
                    {"default": 30, "min": 1, "max": 1000, "tooltip": "More photos are a warning."},
                ),
                "max_background_share": (
                    "FLOAT",
                    {
                        "default": 0.4,
                        "min": 0.05,
                        "max": 1.0,
                        "step": 0.05,
                        "tooltip": "One background in more than this share of the photos is a warning.",
                    },
                ),
                "duplicate_distance": (
                    "INT",
                    {
                        "default": 8,
                        "min": 0,
                        "max": 32,
                        "tooltip": "Perceptual-hash bits at or below which two photos are near-duplicates.",
                    },
                ),
                "min_sharpness": (
                    "FLOAT",
                    {
                        "default": 100.0,
                        "min": 0.0,
                        "max": 10000.0,
                        "step": 10.0,
                        "tooltip": "Variance of the Laplacian (long side 512 px) below which a photo "
                        "is blurred.",
                    },
                ),
            },
            "optional": {
                "regularization_folder": (
                    "STRING",
                    {"default": "", "tooltip": "20-50 photos of other people."},
                ),
            },
        }

    @classmethod
    def IS_CHANGED(cls, folder, regularization_folder="", **_):
        """Re-run when files in the folders change, not only when the inputs do (a folder outside
        the allowed roots is never listed here: run() refuses it)."""
        from ..identity_core.errors import IdentityError

        try:
            folders = _confined(folder, regularization_folder)
        except IdentityError:  # outside the allowed roots or over the caps: run() says why
            return float("nan")
        return "|".join(_folder_fingerprint(path) for path in folders)

    @hiding_private_paths
    def run(
        self,
        folder,
        face_backend,
        insightface_pack,
        profile,
        min_images,
        max_images,
        max_background_share,
        duplicate_distance,
        min_sharpness,
        regularization_folder="",
    ):
        from ..identity_core.dataset.check import CheckCancelled, check_dataset
        from ..identity_core.dataset.report import render_contact_sheet, render_text, save_json_report
        from ..identity_core.dataset.thresholds import Thresholds
        from ..identity_core.input_limits import check_number

        raise_if_interrupted()
        check_number("max_background_share", max_background_share, 0.05, 1.0)
        check_number("min_sharpness", min_sharpness, 0.0, 10000.0)
        folder, regularization = _confined(folder, regularization_folder)
        thresholds = Thresholds(
            min_images=min_images,
            max_images=max_images,
            profile=profile,
            max_background_share=max_background_share,
            duplicate_phash_distance=duplicate_distance,
            min_sharpness=min_sharpness,
        )
        choice = load_face_backend(face_backend, insightface_pack or "")
        progress = _Progress()
        try:
            result = check_dataset(
                folder,
                choice.backend,
                thresholds,
                regularization_folder=regularization,
                backend_message=choice.message,
                on_progress=progress,
                should_cancel=is_interrupted,
            )
        except CheckCancelled:
            raise_if_interrupted()
            raise
        save_json_report(result, os.path.join(output_directory(), REPORT_SUBFOLDER))
        sheet = render_contact_sheet(result)
        report = render_text(result)
        return {
            "ui": {"text": [report], "images": [save_preview_png(sheet, "dataset_check")]},
            "result": (result.dataset, result.verdict, report, arrays_to_images([sheet])),
        }


class _Progress:
    """ComfyUI progress bar over all images; checks for interruption after each one."""

    def __init__(self) -> None:
        self.bar = None

    def __call__(self, done: int, total: int) -> None:
        raise_if_interrupted()
        if self.bar is None:
            self.bar = progress_bar(total)
        self.bar.update_absolute(done, total)


def _confined(folder: str, regularization_folder: str):
    """Both folder inputs resolved inside the allowed roots (the regularization one is optional)."""
    from ..identity_core.access import confine_folder
    from ..identity_core.input_limits import check_text

    check_text("folder", folder)
    check_text("regularization_folder", regularization_folder)
    roots = allowed_roots()
    subject = confine_folder(folder, roots, "folder")
    regularization = (
        confine_folder(regularization_folder, roots, "regularization_folder")
        if regularization_folder.strip()
        else None
    )
    return subject, regularization


def _folder_fingerprint(folder) -> str:
    if folder is None or not os.path.isdir(folder):
        return f"{folder}:absent"
    entries = []
    with os.scandir(folder) as scan:
        for entry in scan:
            stat = entry.stat()
            entries.append(f"{entry.name}:{stat.st_size}:{stat.st_mtime_ns}")
    return f"{folder}:" + ",".join(sorted(entries))
