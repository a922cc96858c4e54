"""CaptionTokenizer: enforce the caption rules and judge the trigger token (thin adapter).

Captions are staged in memory on the returned dataset; the user's .txt files are rewritten
only when ``write_captions`` is on, after every existing caption file is backed up.
"""

from __future__ import annotations

from ..identity_core.dataset.captions import MODES as CAPTION_MODES
from . import comfy_glue
from .comfy_glue import CATEGORY_ROOT, DATASET_TYPE

BACKUP_SUBFOLDER = "caption_backups"  # inside the pack's private work folder


class CaptionTokenizer:
    DISPLAY_NAME = "Caption Tokenizer (identity)"
    CATEGORY = f"{CATEGORY_ROOT}/dataset"
    RETURN_TYPES = (DATASET_TYPE, "STRING")
    RETURN_NAMES = ("dataset", "report")
    FUNCTION = "run"
    OUTPUT_NODE = True
    DESCRIPTION = (
        "Puts the trigger token in every subject caption (and none in regularization captions), "
        "flags verbose, identical and negative captions, and checks that the token is rare for "
        "CLIP-L and T5. Caption files are only rewritten with write_captions, after a backup."
    )

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "dataset": (DATASET_TYPE,),
                "trigger_token": ("STRING", {"default": "zyqux", "tooltip": "A rare made-up word."}),
                "class_word": ("STRING", {"default": "person", "tooltip": "man, woman, person..."}),
                "mode": (list(CAPTION_MODES), {"default": CAPTION_MODES[0]}),
                "write_captions": (
                    "BOOLEAN",
                    {
                        "default": False,
                        "tooltip": "Rewrite the .txt files in the dataset folder (after a backup).",
                    },
                ),
            }
        }

    def run(self, dataset, trigger_token, class_word, mode, write_captions):
        from ..identity_core.dataset.caption_files import write_caption_files
        from ..identity_core.dataset.captions import apply_caption_rules
        from ..identity_core.dataset.tokens import load_tokenizers

        comfy_glue.raise_if_interrupted()
        tokenizers = load_tokenizers(comfy_glue.comfyui_dir())
        result = apply_caption_rules(dataset, trigger_token, class_word, mode, tokenizers)
        if write_captions:
            written = write_caption_files(result.dataset, comfy_glue.work_folder() / BACKUP_SUBFOLDER)
            result.backup_folder, result.written, result.skipped = (
                written.backup_folder,
                written.written,
                written.skipped,
            )
        report = result.text_report()
        return {"ui": {"text": [report]}, "result": (result.dataset, report)}
