"""CaptionTokenizer: enforce the caption rules and judge the trigger token (thin adapter).

Captions are staged in memory on the returned dataset; the user's .txt files are rewritten
only when ``write_captions`` is on, after every existing caption file is backed up.

``INPUT_IS_LIST``: the optional ``captions`` input takes a captioning node's output list (one
string per image) as well as one multiline text, so ComfyUI hands every input over as a list
and ``run`` unwraps the single values.
"""

from __future__ import annotations

from ..identity_core.dataset.captions import MODES as CAPTION_MODES
from .comfy_glue.hidden_paths import hiding_private_paths
from .comfy_glue.progress import raise_if_interrupted
from .comfy_glue.server_folders import comfyui_dir, work_folder, writable_roots
from .pack_names import CATEGORY_ROOT, DATASET_TYPE

BACKUP_SUBFOLDER = "caption_backups"  # inside the pack's private work folder


class CaptionTokenizer:
    DISPLAY_NAME = "Caption Tokenizer (identity)"
    CATEGORY = f"{CATEGORY_ROOT}/dataset"
    RETURN_TYPES = (DATASET_TYPE, "STRING")
    RETURN_NAMES = ("dataset", "report")
    OUTPUT_TOOLTIPS = (
        "The dataset with the fixed captions (in memory), for TrainIdentityLoRA.",
        "What was changed or flagged in the captions, and the token's rarity for CLIP-L and T5.",
    )
    FUNCTION = "run"
    OUTPUT_NODE = True
    INPUT_IS_LIST = True
    DESCRIPTION = (
        "Puts the trigger token in every subject caption (and none in regularization captions), writes "
        "template captions from what DatasetCheck measured (framing, view, light, background), flags "
        "verbose, identical and negative captions and captioned traits of the person (hair, eye or skin "
        "colour, face shape), and checks that the token is rare for CLIP-L and T5. Takes captions from a "
        "captioning node too. Caption files are only rewritten with write_captions, after a backup."
    )

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "dataset": (DATASET_TYPE, {"tooltip": "The checked dataset from DatasetCheck."}),
                "trigger_token": ("STRING", {"default": "zyqux", "tooltip": "A rare made-up word."}),
                "class_word": ("STRING", {"default": "person", "tooltip": "man, woman, person..."}),
                "mode": (
                    list(CAPTION_MODES),
                    {
                        "default": CAPTION_MODES[0],
                        "tooltip": "Keep your captions and put the token in them, or write template captions "
                        "for every photo from what DatasetCheck measured (framing, view, light, background).",
                    },
                ),
                "write_captions": (
                    "BOOLEAN",
                    {
                        "default": False,
                        "tooltip": "Rewrite the .txt files in the dataset folder (after a backup): "
                        "only under ComfyUI's input folder or a root the server owner marks writable; "
                        "one line of at most 1 KB each.",
                    },
                ),
            },
            "optional": {
                "captions": (
                    "STRING",
                    {
                        "forceInput": True,
                        "tooltip": "Captions from a captioning node, one per subject image in the dataset's "
                        "order (file names sorted, as the report lists them): a list output, or one text "
                        "with a caption per line. They replace the caption files; the token is enforced.",
                    },
                ),
            },
        }

    @hiding_private_paths
    def run(self, dataset, trigger_token, class_word, mode, write_captions, captions=None):
        from ..identity_core.dataset.caption_files import write_caption_files
        from ..identity_core.dataset.captions import apply_caption_rules
        from ..identity_core.dataset.tokens import load_tokenizers

        dataset, trigger_token, class_word, mode, write_captions = (
            _single(value) for value in (dataset, trigger_token, class_word, mode, write_captions)
        )
        raise_if_interrupted()
        _check_inputs(dataset, trigger_token, class_word, captions)
        tokenizers = load_tokenizers(comfyui_dir())
        result = apply_caption_rules(dataset, trigger_token, class_word, mode, tokenizers, captions)
        if write_captions:
            written = write_caption_files(result.dataset, work_folder() / BACKUP_SUBFOLDER, writable_roots())
            result.backup_folder, result.written, result.skipped = (
                written.backup_folder,
                written.written,
                written.skipped,
            )
        report = result.text_report()
        return {"ui": {"text": [report]}, "result": (result.dataset, report)}


def _check_inputs(dataset, trigger_token, class_word, captions) -> None:
    """Caps on the words and the captions (each ends up in every caption file), before any work."""
    from ..identity_core.input_limits import check_captions, check_word
    from .input_checks import require_dataset

    require_dataset("dataset", dataset)
    check_word("trigger_token", trigger_token)
    check_word("class_word", class_word)
    if captions is not None:
        check_captions(captions if isinstance(captions, list) else [captions])


def _single(value):
    """INPUT_IS_LIST hands every input over as a list; the widgets and the dataset hold one value."""
    return value[0] if isinstance(value, list) else value
