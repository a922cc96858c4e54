"""A host base folder for StrengthSweep/ArcFaceScore on the tiny FLUX: a kohya-layout LoRA, the
tiny models and the stand-in text encoder (used by the node tests and benchmarks/sweep_cost.py)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from sd_scripts_bridge.lora_file import DOUBLE_BLOCK_MODULES, SINGLE_BLOCK_MODULES

STANDIN_MODULE = "identity_lora_standins.py"
LORA_NAME = "tiny_identity_lora.safetensors"

# kohya-ss/sd-scripts FLUX LoRA modules for 1 double + 1 single block, from the bridge's layout
# table (notes sd_scripts.md section 4): name -> (in features, out features)
KOHYA_MODULES = {
    **{f"double_blocks_0_{name}": shape for name, shape in DOUBLE_BLOCK_MODULES.items()},
    **{f"single_blocks_0_{name}": shape for name, shape in SINGLE_BLOCK_MODULES.items()},
}


def write_kohya_lora(path: Path, rank: int = 4, scale: float = 0.05, seed: int = 0) -> Path:
    """A random LoRA with sd-scripts' key names, shapes and dtypes (bf16, alpha = rank)."""
    import torch
    from safetensors.torch import save_file

    generator = torch.Generator().manual_seed(seed)
    tensors = {}
    for module, (fan_in, fan_out) in KOHYA_MODULES.items():
        prefix = f"lora_unet_{module}"
        tensors[f"{prefix}.lora_down.weight"] = (
            torch.randn(rank, fan_in, generator=generator) * scale
        ).bfloat16()
        tensors[f"{prefix}.lora_up.weight"] = (
            torch.randn(fan_out, rank, generator=generator) * scale
        ).bfloat16()
        tensors[f"{prefix}.alpha"] = torch.tensor(float(rank)).bfloat16()
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(
        tensors, str(path), metadata={"ss_network_module": "networks.lora_flux", "ss_network_dim": str(rank)}
    )
    return path


def prepare_sweep_host(base: Path, dit: Path, ae: Path) -> None:
    """Models, the LoRA and the stand-in text encoder in a host's base folder."""
    models = base / "models"
    for folder, source in (("diffusion_models", dit), ("vae", ae)):
        (models / folder).mkdir(parents=True, exist_ok=True)
        os.symlink(source, models / folder / source.name)
    write_kohya_lora(models / "loras" / LORA_NAME)
    (base / "custom_nodes").mkdir(parents=True, exist_ok=True)
    os.symlink(
        Path(__file__).with_name("standin_flux_text_encoder.py"), base / "custom_nodes" / STANDIN_MODULE
    )


def sweep_nodes(
    dit_name: str,
    ae_name: str,
    prompts: str,
    strengths: str,
    seeds: int,
    base_seed: int,
    steps: int,
    size: int,
) -> dict[str, dict]:
    """Prompt nodes "1"-"4": the tiny DiT and AE loaders, the stand-in text encoder, and StrengthSweep
    on ``LORA_NAME`` (token ``ohwx``, class word ``person``; euler, simple, guidance 3.5)."""
    return {
        "1": {"class_type": "UNETLoader", "inputs": {"unet_name": dit_name, "weight_dtype": "default"}},
        "2": {"class_type": "VAELoader", "inputs": {"vae_name": ae_name}},
        "3": {"class_type": "StandInFluxTextEncoder", "inputs": {}},
        "4": {
            "class_type": "StrengthSweep",
            "inputs": {
                "model": ["1", 0],
                "clip": ["3", 0],
                "vae": ["2", 0],
                "lora_name": LORA_NAME,
                "trigger_token": "ohwx",
                "class_word": "person",
                "prompts": prompts,
                "strengths": strengths,
                "seeds": seeds,
                "base_seed": base_seed,
                "steps": steps,
                "guidance": 3.5,
                "sampler_name": "euler",
                "scheduler": "simple",
                "width": size,
                "height": size,
            },
        },
    }


def read_png(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))
