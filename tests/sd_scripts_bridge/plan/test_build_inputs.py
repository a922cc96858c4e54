"""Bad inputs are refused with what/which file/fix before any process starts."""

from __future__ import annotations

import pytest

from sd_scripts_bridge.errors import BridgeError
from sd_scripts_bridge.model import DatasetImage, ModelFiles
from sd_scripts_bridge.plan.build import build_plan
from tests.sd_scripts_bridge import plan_builders as builders


def refused(tmp_path, **changes) -> BridgeError:
    with pytest.raises(BridgeError) as caught:
        build_plan(builders.make_request(tmp_path, **changes), builders.make_engine(tmp_path))
    assert "What to do:" in str(caught.value)
    assert not (tmp_path / "run").exists()
    return caught.value


@pytest.mark.parametrize(
    "name", ["../evil", "a/b", "a\\b", "..", "", " x", ".hidden", "a:b", "x" * 200, "a\nb"]
)
def test_output_names_with_paths_or_odd_characters(tmp_path, name):
    assert "output name" in refused(tmp_path, output_name=name).what


def test_missing_model_file_names_the_file(tmp_path):
    request = builders.make_request(tmp_path)
    missing = tmp_path / "nowhere" / "flux1-dev.safetensors"
    models = ModelFiles(missing, request.models.clip_l, request.models.t5xxl, request.models.ae)
    error = refused(tmp_path, models=models)
    assert error.path == missing and "FLUX diffusion model" in error.what


def test_no_images(tmp_path):
    assert "no images" in refused(tmp_path, images=()).what


def test_missing_image(tmp_path):
    gone = tmp_path / "photos" / "gone.png"
    error = refused(tmp_path, images=(DatasetImage(gone, "x"),))
    assert error.path == gone


def test_unsupported_image_format(tmp_path):
    gif = tmp_path / "photos" / "anim.gif"
    gif.parent.mkdir()
    gif.write_bytes(b"GIF89a")
    assert ".gif" in refused(tmp_path, images=(DatasetImage(gif, "x"),)).what


@pytest.mark.parametrize(
    "changes",
    [
        {"seed": -1},
        {"num_processes": 0},
        {"validation_split": 0.9},
        {"save_every_n_steps": 0},
        {"overrides": {"max_train_steps": 0}},
        {"overrides": {"learning_rate": 5.0}},
        {"overrides": {"network_dim": 0}},
        {"overrides": {"network_dropout": 1.5}},
        {"overrides": {"lr_scheduler": "adafactor"}},
        {"overrides": {"max_train_steps": "many"}},
        {"overrides": {"resolution": 500}},
        {"overrides": {"min_bucket_reso": 1024}},
    ],
)
def test_out_of_range_numbers(tmp_path, changes):
    refused(tmp_path, **changes)


def test_unknown_override(tmp_path):
    error = refused(tmp_path, overrides={"split_mode": True})
    assert "max_train_steps" in error.fix


def test_samples_need_a_cadence_and_prompts(tmp_path):
    assert "sample" in refused(tmp_path, sample_prompts=("a",)).what
    assert "no sample prompts" in refused(tmp_path, sample_every_n_steps=10).what


def test_run_dir_inside_the_dataset_folder(tmp_path):
    error = refused(tmp_path, run_dir=tmp_path / "dataset" / "run")
    assert "inside the dataset folder" in error.what


def test_empty_trigger_token(tmp_path):
    refused(tmp_path, trigger_token=" ")


def test_unknown_tier(tmp_path):
    assert "8gb" in refused(tmp_path, vram_tier="6gb").fix


def test_missing_tokenizer_folder(tmp_path):
    refused(tmp_path, tokenizer_cache_dir=tmp_path / "no_tokenizers")


def test_sample_prompts_are_text_only(tmp_path):
    from sd_scripts_bridge.plan.sample_prompts import SamplePromptError, render_sample_prompt

    assert render_sample_prompt("{token} {class_word} {token:>9999999999} {0}", "ohwx", "man") == (
        "ohwx man {token:>9999999999} {0}"
    )
    engine = builders.make_engine(tmp_path)
    for bad in ("ohwx --w 4096", "--n ugly ohwx", "ohwx\t--seed 1"):
        with pytest.raises(SamplePromptError, match="'--' options"):
            build_plan(
                builders.make_request(tmp_path, sample_prompts=(bad,), sample_every_n_steps=10), engine
            )
    request = builders.make_request(
        tmp_path, sample_prompts=("a well-lit ohwx - smiling",), save_every_n_steps=5
    )
    plan = build_plan(request, engine)
    assert plan.sample_prompts_path.suffix == ".json"
