"""A host base folder for StrengthSweep/ArcFaceScore on the tiny FLUX: a kohya-layout LoRA, the
tiny models and the stand-in text encoder (used by the node tests and benchmarks/sweep_cost.py);
with ``prepare_checkpoint_host``, also a training run's checkpoints and its published LoRA, and the
test-only node that makes their IDENTITY_CHECKPOINTS value."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from sd_scripts_bridge.lora_file import DOUBLE_BLOCK_MODULES, SINGLE_BLOCK_MODULES

STANDIN_MODULE = "identity_lora_standins.py"
CHECKPOINT_NODES = "identity_lora_checkpoint_test_nodes.py"
LORA_NAME = "tiny_identity_lora.safetensors"
RUN_NAME = "tiny"  # <base>/runs/tiny: the run's checkpoints, out of the loras folders
CHECKPOINT_STEPS = (1, 2, 3)
RUN_METADATA = {"identity_lora_profile": "fast", "identity_lora_text_encoder": "frozen"}

# kohya-ss/sd-scripts FLUX LoRA modules for 1 double + 1 single block, from the bridge's layout
# table (notes sd_scripts.md section 4): name -> (in features, out features)
KOHYA_MODULES = {
    **{f"double_blocks_0_{name}": shape for name, shape in DOUBLE_BLOCK_MODULES.items()},
    **{f"single_blocks_0_{name}": shape for name, shape in SINGLE_BLOCK_MODULES.items()},
}


def write_kohya_lora(
    path: Path, rank: int = 4, scale: float = 0.05, seed: int = 0, metadata: dict[str, str] | None = None
) -> Path:
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
    engine_keys = {"ss_network_module": "networks.lora_flux", "ss_network_dim": str(rank)}
    save_file(tensors, str(path), metadata={**engine_keys, **(metadata or {})})
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


def checkpoint_file(base: Path, step: int) -> Path:
    return base / "runs" / RUN_NAME / f"tiny_identity-step{step:08d}.safetensors"


def prepare_checkpoint_host(base: Path, dit: Path, ae: Path, published: tuple[str, ...]) -> None:
    """``prepare_sweep_host`` plus a run of three checkpoints (different random LoRAs) and, for each
    name in ``published`` (under models/loras), the run's published LoRA: the last checkpoint with
    the run's identity_lora_* keys. The test node TestCheckpointSet makes the checkpoint value."""
    prepare_sweep_host(base, dit, ae)
    for step in CHECKPOINT_STEPS:
        write_kohya_lora(checkpoint_file(base, step), seed=step, metadata={"ss_steps": str(step)})
    last = CHECKPOINT_STEPS[-1]
    for name in published:
        write_kohya_lora(
            base / "models" / "loras" / name, seed=last, metadata={"ss_steps": str(last), **RUN_METADATA}
        )
    os.symlink(Path(__file__).with_name("checkpoint_test_nodes.py"), base / "custom_nodes" / CHECKPOINT_NODES)


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
