"""The engine's ``--dataset_config`` TOML (DreamBooth style) for a staged dataset.

Only keys the pinned engine's schema accepts (library/config_util.py rejects extra keys):
``prior_loss_weight`` is not one of them and goes on the command line. ``bucket_reso_steps`` is
64 (FLUX rejects 32), ``shuffle_caption`` is false (required with cached text-encoder outputs).
Regularization images are an ``is_reg`` subset captioned with the class only (no trigger token,
design document Section 6).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..model import DatasetStaging

CAPTION_EXTENSION = ".txt"
REG_NUM_REPEATS = 1  # the engine repeats reg images until they match the subject images
# Reg-image balancing (engine notes §3, [code, run]): reg images are repeated until their count
# equals subject images x num_repeats, so every epoch holds as many regularization samples as
# subject samples, and with regularization half of the optimizer steps train the subject.
SUBJECT_SHARE_WITH_REGULARIZATION = 0.5


def engine_steps(subject_steps: int, has_regularization: bool, keep_subject_steps: bool) -> int:
    """``--max_train_steps`` that gives the subject ``subject_steps`` (when kept) beside the reg half."""
    if not has_regularization or not keep_subject_steps:
        return subject_steps
    return round(subject_steps / SUBJECT_SHARE_WITH_REGULARIZATION)


def subject_steps_of(engine_step_count: int, has_regularization: bool) -> int:
    """How many of ``engine_step_count`` steps train the subject images."""
    if not has_regularization:
        return engine_step_count
    return round(engine_step_count * SUBJECT_SHARE_WITH_REGULARIZATION)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    # JSON string escapes (\\, \", \n, \uXXXX) are valid TOML basic-string escapes.
    return json.dumps(str(value), ensure_ascii=False)


def table(lines: list[str], entries: Mapping[str, Any], indent: str = "") -> None:
    for key, value in entries.items():
        if value is not None:
            lines.append(f"{indent}{key} = {toml_value(value)}")


def class_prompt(class_word: str) -> str:
    """``a person`` / ``an actor``: the regularization caption of Section 6."""
    article = "an" if class_word[:1].lower() in "aeiou" else "a"
    return f"{article} {class_word}"


def build_dataset_toml(
    staging: DatasetStaging,
    settings: Mapping[str, Any],
    trigger_token: str,
    class_word: str,
    validation_split: float = 0.0,
    seed: int = 42,
) -> str:
    lines = ["# Written by sd_scripts_bridge for kohya sd-scripts --dataset_config", "[general]"]
    table(
        lines,
        {
            "enable_bucket": settings["enable_bucket"],
            "min_bucket_reso": settings["min_bucket_reso"],
            "max_bucket_reso": settings["max_bucket_reso"],
            "bucket_reso_steps": settings["bucket_reso_steps"],
            "bucket_no_upscale": False,
            "caption_extension": CAPTION_EXTENSION,
            "shuffle_caption": settings["shuffle_caption"],
        },
    )
    lines += ["", "[[datasets]]"]
    table(
        lines,
        {
            "resolution": settings["resolution"],
            "batch_size": settings["batch_size"],
            "validation_split": validation_split if validation_split > 0 else None,
            "validation_seed": seed if validation_split > 0 else None,
        },
    )
    lines += ["", "  [[datasets.subsets]]"]
    table(
        lines,
        {
            "image_dir": str(staging.subject_dir),
            "num_repeats": settings["num_repeats"],
            "class_tokens": f"{trigger_token} {class_word}",
        },
        indent="  ",
    )
    if staging.reg_dir is not None:
        lines += ["", "  [[datasets.subsets]]"]
        table(
            lines,
            {
                "image_dir": str(staging.reg_dir),
                "is_reg": True,
                "num_repeats": REG_NUM_REPEATS,
                "class_tokens": class_prompt(class_word),
            },
            indent="  ",
        )
    return "\n".join(lines) + "\n"
