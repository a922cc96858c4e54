"""The dataset TOML: parsed with tomllib, checked against the pinned engine's schema facts."""

from __future__ import annotations

from pathlib import Path

import tomllib

from sd_scripts_bridge.model import DatasetStaging, StagedImage
from sd_scripts_bridge.plan.dataset_toml import build_dataset_toml, class_prompt
from sd_scripts_bridge.plan.profiles import FAST, FINAL, resolve_settings

# Keys library/config_util.py (voluptuous, extra keys rejected) accepts for DreamBooth datasets.
GENERAL_AND_DATASET_KEYS = {
    "enable_bucket", "min_bucket_reso", "max_bucket_reso", "bucket_reso_steps", "bucket_no_upscale",
    "caption_extension", "shuffle_caption", "keep_tokens", "resolution", "batch_size", "network_multiplier",
    "validation_split", "validation_seed", "resize_interpolation", "color_aug", "flip_aug", "random_crop",
    "caption_prefix", "caption_suffix", "caption_separator", "keep_tokens_separator", "face_crop_aug_range",
    "caption_dropout_rate", "caption_tag_dropout_rate", "caption_dropout_every_n_epochs",
    "token_warmup_min", "token_warmup_step", "secondary_separator", "enable_wildcard", "alpha_mask",
}  # fmt: skip
SUBSET_KEYS = {
    "image_dir", "is_reg", "alpha_mask", "caption_extension", "class_tokens", "cache_info", "num_repeats",
    "shuffle_caption", "keep_tokens", "keep_tokens_separator", "secondary_separator", "caption_separator",
    "enable_wildcard", "color_aug", "flip_aug", "face_crop_aug_range", "random_crop", "caption_prefix",
    "caption_suffix", "custom_attributes", "token_warmup_min", "token_warmup_step", "resize_interpolation",
    "caption_dropout_rate", "caption_tag_dropout_rate", "caption_dropout_every_n_epochs",
}  # fmt: skip


def staging(root: Path, reg: bool) -> DatasetStaging:
    return DatasetStaging(
        root=root,
        subject_dir=root / "subject",
        reg_dir=root / "reg" if reg else None,
        subject=(StagedImage(Path("/a.png"), "0001_a.png", "ohwx person"),),
        reg=(StagedImage(Path("/r.png"), "0001_r.png", None),) if reg else (),
        dataset_hash="0" * 64,
        key="1" * 64,
    )


def test_fast_toml(tmp_path):
    text = build_dataset_toml(staging(tmp_path, False), resolve_settings(FAST, {}), "ohwx", "person")
    data = tomllib.loads(text)
    general = data["general"]
    assert general["bucket_reso_steps"] == 64 and general["shuffle_caption"] is False
    assert (general["min_bucket_reso"], general["max_bucket_reso"]) == (256, 768)
    assert general["caption_extension"] == ".txt" and general["enable_bucket"] is True
    (dataset,) = data["datasets"]
    assert dataset["resolution"] == 512 and dataset["batch_size"] == 1
    (subset,) = dataset["subsets"]
    assert subset == {
        "image_dir": str(tmp_path / "subject"),
        "num_repeats": 10,
        "class_tokens": "ohwx person",
    }
    assert "validation_split" not in dataset


def test_final_toml_with_regularization_and_validation(tmp_path):
    settings = resolve_settings(FINAL, {})
    text = build_dataset_toml(staging(tmp_path, True), settings, "ohwx", "man", validation_split=0.1, seed=7)
    data = tomllib.loads(text)
    (dataset,) = data["datasets"]
    assert dataset["resolution"] == 768
    assert (dataset["validation_split"], dataset["validation_seed"]) == (0.1, 7)
    subject, reg = dataset["subsets"]
    assert "is_reg" not in subject
    assert reg["is_reg"] is True and reg["image_dir"] == str(tmp_path / "reg")
    assert reg["class_tokens"] == "a man" and "ohwx" not in reg["class_tokens"]  # Section 6
    assert (data["general"]["min_bucket_reso"], data["general"]["max_bucket_reso"]) == (384, 1024)


def test_only_keys_the_engine_schema_accepts(tmp_path):
    data = tomllib.loads(
        build_dataset_toml(staging(tmp_path, True), resolve_settings(FINAL, {}), "ohwx", "person", 0.2)
    )
    assert set(data) == {"general", "datasets"}
    assert set(data["general"]) <= GENERAL_AND_DATASET_KEYS
    for dataset in data["datasets"]:
        assert set(dataset) - {"subsets"} <= GENERAL_AND_DATASET_KEYS
        for subset in dataset["subsets"]:
            assert set(subset) <= SUBSET_KEYS
    assert "prior_loss_weight" not in str(data)  # CLI only; the engine's TOML schema rejects it


def test_strings_are_escaped(tmp_path):
    odd = tmp_path / 'quo"te \\ back ünï'
    text = build_dataset_toml(staging(odd, False), resolve_settings(FAST, {}), 'tok"en', "person")
    subset = tomllib.loads(text)["datasets"][0]["subsets"][0]
    assert subset["image_dir"] == str(odd / "subject")
    assert subset["class_tokens"] == 'tok"en person'


def test_class_prompt_article():
    assert class_prompt("person") == "a person" and class_prompt("actress") == "an actress"


def test_the_engines_regularization_balancing_halves_the_subjects_steps():
    from sd_scripts_bridge.plan.dataset_toml import engine_steps, subject_steps_of

    assert engine_steps(2500, has_regularization=True, keep_subject_steps=True) == 5000
    assert engine_steps(2500, has_regularization=True, keep_subject_steps=False) == 2500
    assert engine_steps(1500, has_regularization=False, keep_subject_steps=True) == 1500
    assert subject_steps_of(5000, True) == 2500 and subject_steps_of(1500, False) == 1500
