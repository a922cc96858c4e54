"""LoRA file checks (kohya FLUX layout, finiteness) and the byte-level metadata rewrite."""

import io
import json
import struct
from pathlib import Path

import numpy as np
import pytest
from safetensors import safe_open
from safetensors.numpy import load_file, save_file

from sd_scripts_bridge import lora_file
from sd_scripts_bridge.errors import BadLoRAFileError
from sd_scripts_bridge.lora_file import (
    LoRAExpectation,
    base_model_block_counts,
    check_lora,
    differing_tensors,
    expectation_for,
    expected_clip_modules,
    expected_unet_modules,
    inspect_lora,
    read_metadata,
    write_with_metadata,
)
from sd_scripts_bridge.model import PhaseNetwork

RANK = 2


def lora_tensors(doubles=1, singles=1, clip=False, rank=RANK):
    modules = expected_unet_modules(doubles, singles)
    if clip:
        modules |= expected_clip_modules()
    rng = np.random.default_rng(0)
    tensors = {}
    for name, (fan_in, fan_out) in modules.items():
        tensors[f"{name}.lora_down.weight"] = rng.standard_normal((rank, fan_in)).astype(np.float16)
        tensors[f"{name}.lora_up.weight"] = rng.standard_normal((fan_out, rank)).astype(np.float16)
        tensors[f"{name}.alpha"] = np.array(rank, dtype=np.float16)
    return tensors


def write(path: Path, tensors, metadata=None) -> Path:
    save_file(tensors, str(path), metadata=metadata or {"ss_network_dim": str(RANK)})
    return path


def test_the_layout_the_real_engine_writes_passes(tmp_path):
    # Notes §6: 1 double + 1 single block -> 13 modules, 39 tensors; with CLIP-L 216 more.
    report = check_lora(write(tmp_path / "a.safetensors", lora_tensors()), LoRAExpectation(rank=RANK))
    assert report.tensor_count == 39
    with_clip = write(tmp_path / "b.safetensors", lora_tensors(clip=True))
    expect = LoRAExpectation(rank=RANK, text_encoder=True, double_blocks=1, single_blocks=1)
    assert check_lora(with_clip, expect).tensor_count == 39 + 216


def test_full_size_module_count_matches_the_notes():
    assert len(expected_unet_modules(19, 38)) == 19 * 10 + 38 * 3
    params_per_rank = sum(i + o for i, o in expected_unet_modules(19, 38).values())
    assert params_per_rank == 4_786_176
    assert sum(i + o for i, o in expected_clip_modules().values()) == 165_888


@pytest.mark.parametrize(
    ("damage", "expect", "problem"),
    [
        (lambda t: t.pop("lora_unet_single_blocks_0_linear2.alpha"), None, "lack lora_down/lora_up/alpha"),
        (
            lambda t: [t.pop(k) for k in list(t) if k.startswith("lora_unet_double_blocks_0_txt_mlp_0.")],
            None,
            "FLUX (lora_unet_) modules are missing",
        ),
        (lambda t: None, LoRAExpectation(rank=8), "expected network_dim 8"),
        (lambda t: None, LoRAExpectation(double_blocks=2), "modules are missing"),
        (lambda t: None, LoRAExpectation(text_encoder=True), "CLIP-L (lora_te1_) modules are missing"),
        (
            lambda t: t.update({"lora_unet_single_blocks_0_linear1.lora_up.weight": np.zeros((5, RANK))}),
            None,
            "expected (3072, 21504)",
        ),
        (lambda t: t.update({"model.weight": np.zeros(1)}), None, "not kohya LoRA keys"),
    ],
)
def test_missing_or_wrong_keys_are_named(tmp_path, damage, expect, problem):
    tensors = lora_tensors()
    damage(tensors)
    path = write(tmp_path / "bad.safetensors", tensors)
    with pytest.raises(BadLoRAFileError) as caught:
        check_lora(path, expect, log_path=tmp_path / "engine.log", log_tail=["last engine line"])
    message = str(caught.value)
    assert problem in message and str(path) in message
    assert "last engine line" in message and "engine.log" in message


def test_non_finite_values_are_refused_with_the_nan_fix(tmp_path):
    tensors = lora_tensors()
    tensors["lora_unet_double_blocks_0_img_attn_qkv.lora_up.weight"][0, 0] = np.nan
    path = write(tmp_path / "nan.safetensors", tensors)
    assert "non-finite" in inspect_lora(path).problems[0]
    with pytest.raises(BadLoRAFileError) as caught:
        check_lora(path)
    assert "lower the learning rate" in caught.value.fix and "bf16" in caught.value.fix


@pytest.mark.parametrize(
    "dtype", ["float64", "float32", "float16", "bfloat16", "float8_e4m3fn", "float8_e5m2"]
)
@pytest.mark.parametrize("planted", [None, float("nan"), float("inf"), float("-inf"), 3.0e38])
def test_the_value_check_reads_every_float_dtype_as_torch_does(tmp_path, monkeypatch, dtype, planted):
    """The bit-mask check against torch's own isfinite, on every float dtype safetensors stores, with the
    planted value in the last of several read chunks (values the dtype cannot hold become inf or NaN)."""
    torch = pytest.importorskip("torch")
    from safetensors.torch import save_file as save_torch

    monkeypatch.setattr(lora_file, "CHUNK_BYTES", 64)
    tensors = {
        "lora_unet_a.lora_up.weight": torch.linspace(-2, 2, 400).reshape(20, 20).to(getattr(torch, dtype))
    }
    tensors["lora_unet_b.alpha"] = torch.tensor([7], dtype=torch.int64)
    if planted is not None:
        tensors["lora_unet_a.lora_up.weight"][19, 19] = planted
    path = tmp_path / f"{dtype}.safetensors"
    save_torch(tensors, str(path))
    finite = bool(torch.isfinite(tensors["lora_unet_a.lora_up.weight"].float()).all())
    assert (lora_file._non_finite_problems(path) == []) is finite


def test_unreadable_truncated_and_absent_files(tmp_path):
    whole = write(tmp_path / "whole.safetensors", lora_tensors())
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(whole.read_bytes()[:-10])
    assert "truncated" in inspect_lora(cut, check_values=False).problems[0]
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x05")
    assert "cannot be read as safetensors" in inspect_lora(junk).problems[0]
    with pytest.raises(BadLoRAFileError, match="does not exist"):
        check_lora(tmp_path / "absent.safetensors")


def test_expectation_from_the_phase_network_and_the_base_model(tmp_path):
    base = tmp_path / "flux.safetensors"
    save_file(
        {
            "double_blocks.0.img_attn.proj.bias": np.zeros(1, np.float16),
            "double_blocks.2.img_attn.proj.bias": np.zeros(1, np.float16),
            "single_blocks.4.modulation.lin.bias": np.zeros(1, np.float16),
        },
        str(base),
    )
    assert base_model_block_counts(base) == (3, 5)
    assert expectation_for(PhaseNetwork(rank=16), base) == LoRAExpectation(
        rank=16, unet=True, text_encoder=False, double_blocks=3, single_blocks=5
    )
    assert expectation_for(PhaseNetwork(rank=16, text_encoder_lr=0.0), base).text_encoder is True
    assert expectation_for(PhaseNetwork(rank=16, text_encoder_lr=4e-5), base).text_encoder is True
    unknown = expectation_for(PhaseNetwork(), tmp_path / "missing.safetensors")
    assert (unknown.rank, unknown.double_blocks, unknown.single_blocks) == (None, None, None)
    assert base_model_block_counts(tmp_path / "missing.safetensors") is None


def test_metadata_rewrite_keeps_every_tensor_byte_and_adds_keys(tmp_path):
    source = write(tmp_path / "a.safetensors", lora_tensors(), {"ss_network_dim": "2", "ss_steps": "4"})
    target = tmp_path / "b.safetensors"
    buffer = io.BytesIO()
    write_with_metadata(source, buffer, {"ss_network_dim": "2", "identity_lora_profile": "fast"})
    target.write_bytes(buffer.getvalue())
    (header_length,) = struct.unpack("<Q", buffer.getvalue()[:8])
    assert header_length % 8 == 0
    assert read_metadata(target) == {"ss_network_dim": "2", "identity_lora_profile": "fast"}
    with safe_open(str(target), framework="numpy") as handle:
        assert handle.metadata()["identity_lora_profile"] == "fast"
    before, after = load_file(str(source)), load_file(str(target))
    assert before.keys() == after.keys()
    assert all(np.array_equal(before[k], after[k]) for k in before)
    assert differing_tensors(source, target, "lora_") == []
    header = json.loads(buffer.getvalue()[8 : 8 + header_length])
    assert set(header) - {"__metadata__"} == set(before)


def test_differing_tensors_names_changed_and_missing_keys(tmp_path):
    tensors = lora_tensors(clip=True)
    first = write(tmp_path / "a.safetensors", tensors)
    key = "lora_te1_text_model_encoder_layers_0_mlp_fc1.lora_up.weight"
    tensors[key] = tensors[key] + np.float16(1)
    dropped = "lora_te1_text_model_encoder_layers_11_mlp_fc2.alpha"
    tensors.pop(dropped)
    second = write(tmp_path / "b.safetensors", tensors)
    assert differing_tensors(first, second, "lora_te1_") == [dropped, key]
    assert differing_tensors(first, second, "lora_unet_") == []


def test_differing_tensors_compares_bits_dtypes_and_shapes(tmp_path):
    key = "lora_te1_text_model_encoder_layers_0_mlp_fc1.alpha"
    zero = write(tmp_path / "zero.safetensors", {key: np.array([0.0], np.float32)})
    negative_zero = write(tmp_path / "negative_zero.safetensors", {key: np.array([-0.0], np.float32)})
    wider = write(tmp_path / "wider.safetensors", {key: np.array([0.0], np.float64)})
    longer = write(tmp_path / "longer.safetensors", {key: np.array([0.0, 0.0], np.float32)})
    assert differing_tensors(zero, zero, "lora_te1_") == []
    for other in (negative_zero, wider, longer):
        assert differing_tensors(zero, other, "lora_te1_") == [key]
