"""The random FLUX model set: layouts, the streamed writer, the cache, and loading in ComfyUI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file

from devkit import tiny_flux
from devkit.flux_layouts import (
    NORMAL,
    ONES,
    ZEROS,
    TensorSpec,
    clip_l_layout,
    flux_ae_layout,
    flux_dit_layout,
    parameter_count,
    t5xxl_layout,
)
from devkit.safetensors_stream import expected_file_size, write_random_safetensors
from devkit.tiny_flux import PartSpec, ensure_tiny_flux
from tests.fixtures.models import tiny_flux_files  # noqa: F401  (pytest fixture)

HERE = Path(__file__).parent


# --- layouts -------------------------------------------------------------------------------------


def test_dit_layout_matches_the_published_sizes():
    tiny = flux_dit_layout(1, 1)
    assert parameter_count(tiny) == 545_548_096  # notes/sd_scripts.md §5: 545.5M
    assert len(tiny) == 52
    assert parameter_count(flux_dit_layout(19, 38)) == 11_901_408_320  # FLUX.1-dev, 11.9B
    names = {t.name for t in tiny}
    assert "guidance_in.in_layer.weight" in names  # dev, not schnell
    assert "double_blocks.0.img_attn.norm.key_norm.scale" in names  # ComfyUI's FLUX detection key
    schnell = [t.name for t in flux_dit_layout(1, 1, guidance=False)]
    assert not any(n.startswith("guidance_in") for n in schnell)


def test_dit_block_counts_are_what_the_loaders_count():
    names = [t.name for t in flux_dit_layout(3, 5)]
    doubles = {int(n.split(".")[1]) for n in names if n.startswith("double_blocks.")}
    singles = {int(n.split(".")[1]) for n in names if n.startswith("single_blocks.")}
    assert doubles == {0, 1, 2}
    assert singles == {0, 1, 2, 3, 4}
    with pytest.raises(ValueError, match="at least 1 double and 1 single"):
        flux_dit_layout(0, 1)


def test_encoder_and_ae_layouts_match_the_published_sizes():
    assert round(parameter_count(flux_ae_layout()) / 1e6, 1) == 83.8
    assert round(parameter_count(clip_l_layout()) / 1e6, 1) == 123.1
    t5 = t5xxl_layout()
    assert round(parameter_count(t5) / 1e6, 1) == 4762.3
    assert len(t5) == 219
    assert {t.name for t in t5} >= {"shared.weight", "encoder.block.23.layer.1.DenseReluDense.wi_1.weight"}


def test_layout_names_are_unique():
    for layout in (flux_dit_layout(2, 2), flux_ae_layout(), clip_l_layout(), t5xxl_layout()):
        names = [t.name for t in layout]
        assert len(names) == len(set(names))


# --- streamed writer -----------------------------------------------------------------------------

SMALL = [
    TensorSpec("a.weight", (8, 4), NORMAL, 0.5),
    TensorSpec("a.bias", (8,), ZEROS),
    TensorSpec("norm.scale", (3,), ONES),
    TensorSpec("b.weight", (2, 3, 3, 3), NORMAL, 1.0),
]


@pytest.mark.parametrize("dtype", ["fp32", "fp16", "bf16", "fp8"])
def test_streamed_file_loads_with_safetensors(tmp_path, dtype):
    path = tmp_path / "small.safetensors"
    meta = {"format": "pt", "note": "x"}
    written = write_random_safetensors(path, SMALL, dtype, seed=7, metadata=meta)
    assert written == path.stat().st_size == expected_file_size(SMALL, dtype, meta)
    tensors = load_file(path)
    expected_dtype = {
        "fp32": torch.float32,
        "fp16": torch.float16,
        "bf16": torch.bfloat16,
        "fp8": torch.float8_e4m3fn,
    }
    assert {k: tuple(v.shape) for k, v in tensors.items()} == {s.name: s.shape for s in SMALL}
    assert all(v.dtype == expected_dtype[dtype] for v in tensors.values())
    assert torch.all(tensors["a.bias"].float() == 0)
    assert torch.all(tensors["norm.scale"].float() == 1)
    assert tensors["a.weight"].float().std() > 0.1
    with safe_open(path, framework="pt") as f:
        assert f.metadata() == meta
    assert not list(tmp_path.glob(".*partial"))


def test_streamed_file_is_deterministic(tmp_path):
    one, two, other = tmp_path / "1.safetensors", tmp_path / "2.safetensors", tmp_path / "3.safetensors"
    for path, seed in ((one, 3), (two, 3), (other, 4)):
        write_random_safetensors(path, SMALL, "bf16", seed=seed, metadata={})
    assert one.read_bytes() == two.read_bytes()
    assert one.read_bytes() != other.read_bytes()


# --- cache and manifest --------------------------------------------------------------------------


@pytest.fixture
def small_parts(monkeypatch):
    """Swap the real (GiB-sized) recipes for small ones; everything else runs for real."""
    specs = {
        "dit": PartSpec("dit", "dit.safetensors", lambda: SMALL, "bf16", 1),
        "ae": PartSpec("ae", "ae.safetensors", lambda: SMALL[:2], "fp32", 2),
        "clip_l": PartSpec("clip_l", "clip.safetensors", lambda: SMALL[1:], "fp16", 3),
        "t5xxl": PartSpec("t5xxl", "t5.safetensors", lambda: SMALL, "fp8", 4),
    }
    monkeypatch.setattr(tiny_flux, "part_specs", lambda full_size=False: dict(specs))
    return specs


def test_ensure_generates_once_and_records_a_manifest(tmp_path, small_parts):
    files = ensure_tiny_flux(tmp_path, parts=("dit", "t5xxl"))
    assert files.dit == tmp_path / "dit.safetensors" and files.t5xxl == tmp_path / "t5.safetensors"
    assert files.ae is None and files.clip_l is None
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["spec_version"] == tiny_flux.SPEC_VERSION
    assert manifest["files"]["dit.safetensors"]["bytes"] == files.dit.stat().st_size
    stamps = {p: p.stat().st_mtime_ns for p in (files.dit, files.t5xxl)}
    again = ensure_tiny_flux(tmp_path, parts=("dit", "t5xxl"))
    assert again == files
    assert {p: p.stat().st_mtime_ns for p in (files.dit, files.t5xxl)} == stamps


def test_ensure_rewrites_a_truncated_file(tmp_path, small_parts):
    files = ensure_tiny_flux(tmp_path, parts=("dit",))
    good = files.dit.read_bytes()
    files.dit.write_bytes(good[:100])
    ensure_tiny_flux(tmp_path, parts=("dit",))
    assert files.dit.read_bytes() == good


def test_ensure_rewrites_when_the_recipe_changes(tmp_path, small_parts):
    files = ensure_tiny_flux(tmp_path, parts=("dit",))
    before = files.dit.read_bytes()
    small_parts["dit"] = PartSpec("dit", "dit.safetensors", lambda: SMALL, "bf16", seed=99)
    ensure_tiny_flux(tmp_path, parts=("dit",))
    assert files.dit.read_bytes() != before


def test_ensure_rejects_unknown_parts(tmp_path):
    with pytest.raises(ValueError, match="unknown model parts \\['vae'\\]"):
        ensure_tiny_flux(tmp_path, parts=("dit", "vae"))


def test_files_link_into_comfy_model_folders(tmp_path, small_parts):
    files = ensure_tiny_flux(tmp_path / "cache")
    links = files.link_into_comfy_models(tmp_path / "models")
    assert links["dit"] == tmp_path / "models" / "diffusion_models" / "dit.safetensors"
    assert links["t5xxl"].parent.name == "text_encoders" and links["ae"].parent.name == "vae"
    assert all(link.resolve() == getattr(files, part) for part, link in links.items())
    files.link_into_comfy_models(tmp_path / "models")  # replacing existing links works


def test_model_files_for_the_bridge_need_all_parts(tmp_path, small_parts):
    files = ensure_tiny_flux(tmp_path, parts=("dit",))
    with pytest.raises(ValueError, match="all four FLUX files"):
        files.as_model_files()


def test_full_size_recipe_is_the_19_plus_38_dit_in_fp8():
    dit = tiny_flux.part_specs(full_size=True)["dit"]
    assert dit.dtype == "fp8"
    assert parameter_count(dit.layout()) == parameter_count(flux_dit_layout(19, 38))
    assert tiny_flux.part_specs()["dit"].filename != dit.filename


# --- the real files in the real loaders ----------------------------------------------------------


def _comfyui_dir() -> Path:
    cache = Path(os.environ.get("IDENTITY_LORA_CACHE", Path.home() / ".cache" / "flux-identity-lora"))
    return Path(os.environ.get("COMFYUI_DIR", cache / "comfyui"))


def test_generated_files_load_in_comfyui(tiny_flux_files):  # noqa: F811
    comfy_dir = _comfyui_dir()
    assert (comfy_dir / "comfy" / "sd.py").is_file(), f"ComfyUI not found at {comfy_dir}: run `make setup`"
    f = tiny_flux_files
    args = [str(p) for p in (f.dit, f.ae, f.clip_l, f.t5xxl)]
    proc = subprocess.run(
        [sys.executable, str(HERE / "comfy_load_check.py"), *args],
        cwd=comfy_dir,
        capture_output=True,
        text=True,
        timeout=600,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("REPORT ")]
    assert proc.returncode == 0 and lines, proc.stderr[-3000:]
    report = json.loads(lines[-1][len("REPORT ") :])
    assert report["dit"] == {
        "class": "Flux",
        "double_blocks": 1,
        "single_blocks": 1,
        "hidden_size": 3072,
        "guidance_embed": True,
        "meta_tensors": [],
    }
    assert report["ae"]["latent_channels"] == 16
    assert report["clip_l"] == {"cond_shape": [1, 77, 768], "finite": True}
    assert report["t5xxl"] == {"detected": "T5_XXL", "missing": [], "unexpected": [], "shape_mismatch": []}
    # Real FLUX clip_l.safetensors files carry no text_projection either (ComfyUI logs the same line
    # for them; FLUX uses the unprojected pooled output), so that one line is expected.
    unloaded = [m for m in report["warnings"] if "missing" in m.lower() or "unexpected" in m.lower()]
    assert unloaded == ["clip missing: ['text_projection.weight']"]
