"""Atomic publishing: metadata merge, no overwrite without the flag, nothing partial left behind."""

import os
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from sd_scripts_bridge import publish
from sd_scripts_bridge.errors import BridgeError, OutputExistsError
from sd_scripts_bridge.lora_file import read_metadata, same_tensors
from sd_scripts_bridge.plan.request_key import REQUEST_KEY_METADATA, published_for_key, published_step
from sd_scripts_bridge.publish import (
    CHECKPOINT_STEP_KEY,
    RECOMMENDED_STRENGTH_KEY,
    merged_metadata,
    publish_checkpoint,
    publish_lora,
)

ENGINE_METADATA = {"ss_network_dim": "4", "ss_steps": "1500", "modelspec.title": "ohwx"}
OURS = {"identity_lora_profile": "fast", "identity_lora_dataset_hash": "abc", "ss_steps": "999"}


def trained_file(tmp_path: Path, value: float = 1.0) -> Path:
    path = tmp_path / "run" / "ohwx.safetensors"
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {
        "lora_unet_single_blocks_0_linear2.lora_down.weight": np.full((4, 15360), value, np.float16),
        "lora_unet_single_blocks_0_linear2.lora_up.weight": np.full((3072, 4), value, np.float16),
        "lora_unet_single_blocks_0_linear2.alpha": np.array(4, np.float16),
    }
    save_file(tensors, str(path), metadata=ENGINE_METADATA)
    return path


def leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.startswith(".")]


def test_publish_adds_our_metadata_and_keeps_the_engines(tmp_path):
    source = trained_file(tmp_path)
    destination = tmp_path / "loras" / "sub" / "ohwx.safetensors"
    written = publish_lora(source, destination, OURS)
    metadata = read_metadata(destination)
    assert metadata == written
    assert metadata["ss_steps"] == "1500"  # ours never replaces an engine key
    assert metadata["identity_lora_profile"] == "fast" and metadata["modelspec.title"] == "ohwx"
    published, original = load_file(str(destination)), load_file(str(source))
    assert all(np.array_equal(published[k], original[k]) for k in original)
    assert leftovers(destination.parent) == []
    assert source.exists()  # the run folder keeps its file


def test_published_file_honours_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        destination = tmp_path / "out.safetensors"
        publish_lora(trained_file(tmp_path), destination, OURS)
    finally:
        os.umask(old)
    assert destination.stat().st_mode & 0o777 == 0o644


def test_existing_file_is_never_replaced_without_the_flag(tmp_path):
    destination = tmp_path / "loras" / "ohwx.safetensors"
    destination.parent.mkdir()
    destination.write_bytes(b"the user's earlier LoRA")
    with pytest.raises(OutputExistsError) as caught:
        publish_lora(trained_file(tmp_path), destination, OURS)
    assert str(destination) in str(caught.value) and "overwrite" in caught.value.fix
    assert destination.read_bytes() == b"the user's earlier LoRA"
    assert leftovers(destination.parent) == []


def test_overwrite_flag_replaces(tmp_path):
    destination = tmp_path / "ohwx.safetensors"
    publish_lora(trained_file(tmp_path, 1.0), destination, OURS)
    publish_lora(trained_file(tmp_path, 2.0), destination, OURS, overwrite=True)
    assert load_file(str(destination))["lora_unet_single_blocks_0_linear2.lora_up.weight"][0, 0] == 2.0


def test_a_file_appearing_during_the_copy_is_not_replaced(tmp_path, monkeypatch):
    destination = tmp_path / "ohwx.safetensors"
    real_write = publish.write_with_metadata

    def racing_write(source, target, metadata):
        destination.write_bytes(b"written by someone else meanwhile")
        real_write(source, target, metadata)

    monkeypatch.setattr(publish, "write_with_metadata", racing_write)
    with pytest.raises(OutputExistsError):
        publish_lora(trained_file(tmp_path), destination, OURS)
    assert destination.read_bytes() == b"written by someone else meanwhile"
    assert leftovers(tmp_path) == []


def test_a_failed_write_leaves_no_partial_file(tmp_path, monkeypatch):
    def disk_full(source, target, metadata):
        target.write(b"half a file")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(publish, "write_with_metadata", disk_full)
    destination = tmp_path / "loras" / "ohwx.safetensors"
    with pytest.raises(BridgeError) as caught:
        publish_lora(trained_file(tmp_path), destination, OURS)
    assert "No space left on device" in str(caught.value) and str(destination) in str(caught.value)
    assert not destination.exists() and leftovers(destination.parent) == []


def test_merged_metadata_stringifies_ours():
    assert merged_metadata({"ss_a": "1"}, {"identity_lora_n": 3}) == {"ss_a": "1", "identity_lora_n": "3"}


def checkpoint_file(tmp_path: Path, step: int, value: float) -> Path:
    path = trained_file(tmp_path / f"checkpoint_{step}", value)
    metadata = {**read_metadata(path), "ss_steps": str(step)}
    save_file(load_file(str(path)), str(path), metadata=metadata)
    return path


def test_a_recommended_checkpoint_replaces_the_published_lora_keeping_our_keys(tmp_path):
    destination = tmp_path / "loras" / "sub" / "ohwx.safetensors"
    final = {**OURS, REQUEST_KEY_METADATA: "k" * 64}
    publish_lora(trained_file(tmp_path, 3.0), destination, final)  # training published its final step
    original = destination.read_bytes()
    checkpoint = checkpoint_file(tmp_path, 500, 2.0)
    done = publish_checkpoint(checkpoint, destination, 500, 0.8)
    assert done.changed is True
    assert done.moved_aside.parent == destination.parent / "replaced"  # the file it replaced, kept
    assert done.moved_aside.read_bytes() == original
    metadata = read_metadata(destination)
    assert metadata["ss_steps"] == "500"  # the checkpoint's own engine keys
    assert metadata["identity_lora_profile"] == "fast" and metadata["identity_lora_dataset_hash"] == "abc"
    assert (metadata[CHECKPOINT_STEP_KEY], metadata[RECOMMENDED_STRENGTH_KEY]) == ("500", "0.8")
    assert metadata[REQUEST_KEY_METADATA] == "k" * 64 + ":step500"  # the key records the checkpoint
    assert published_step(destination, "k" * 64) == 500 and not published_for_key(destination, "k" * 64)
    assert same_tensors(checkpoint, destination) and leftovers(destination.parent) == []
    before = destination.stat()
    assert publish_checkpoint(checkpoint, destination, 500, 0.8).changed is False  # already its content
    assert destination.stat().st_ino == before.st_ino and destination.stat().st_mtime_ns == before.st_mtime_ns
    assert len(list((destination.parent / "replaced").iterdir())) == 1  # nothing moved when nothing changed
    # the published file itself recommended at another strength: only the metadata changes
    assert publish_checkpoint(destination, destination, 500, 1.0).changed is True
    assert read_metadata(destination)[RECOMMENDED_STRENGTH_KEY] == "1" and same_tensors(
        checkpoint, destination
    )
    assert read_metadata(destination)[REQUEST_KEY_METADATA] == "k" * 64 + ":step500"
    assert not same_tensors(trained_file(tmp_path, 3.0), destination)
    assert len(list((destination.parent / "replaced").iterdir())) == 2


def test_a_checkpoint_published_as_a_new_file_never_replaces_one(tmp_path):
    run_keys = {**OURS, REQUEST_KEY_METADATA: "k" * 64}
    checkpoint = checkpoint_file(tmp_path, 250, 2.0)
    destination = tmp_path / "loras" / "identity" / "run-step00000250.safetensors"
    done = publish_checkpoint(checkpoint, destination, 250, 1.0, run_keys, replace=False)
    assert done.changed and done.moved_aside is None and same_tensors(checkpoint, destination)
    assert read_metadata(destination)[REQUEST_KEY_METADATA] == "k" * 64 + ":step250"
    again = publish_checkpoint(checkpoint, destination, 250, 1.2, run_keys, replace=False)
    assert again.changed is False and read_metadata(destination)[RECOMMENDED_STRENGTH_KEY] == "1"
    other = checkpoint_file(tmp_path / "other", 250, 5.0)
    with pytest.raises(OutputExistsError):
        publish_checkpoint(other, destination, 250, 1.0, run_keys, replace=False)
    assert same_tensors(checkpoint, destination) and not (destination.parent / "replaced").exists()
