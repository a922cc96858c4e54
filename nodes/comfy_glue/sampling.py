"""The calls the core LoraLoader, CLIPTextEncode, FluxGuidance, KSampler and VAEDecode nodes make,
so a sweep image equals the image of the equivalent core graph."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def sampler_names() -> list[str]:
    import comfy.samplers

    return list(comfy.samplers.KSampler.SAMPLERS)


def scheduler_names() -> list[str]:
    import comfy.samplers

    return list(comfy.samplers.KSampler.SCHEDULERS)


def load_lora_file(path: str) -> dict:
    import comfy.utils

    return comfy.utils.load_torch_file(path, safe_load=True)


def apply_lora(model: Any, clip: Any, lora: dict, strength: float) -> tuple[Any, Any]:
    """LoraLoader's own function; strength 0 returns the inputs unchanged, as LoraLoader does.

    ``clip`` None applies the LoRA to the diffusion model only (LoraLoaderModelOnly).
    """
    import comfy.sd

    if strength == 0:
        return model, clip
    return comfy.sd.load_lora_for_models(model, clip, lora, strength, strength if clip is not None else 0)


def encode_flux_prompt(clip: Any, text: str, guidance: float) -> tuple[list, list]:
    """CLIPTextEncode + FluxGuidance; the negative is the zeroed positive (ConditioningZeroOut)."""
    import node_helpers
    import torch

    tokens = clip.tokenize(text)
    positive = node_helpers.conditioning_set_values(
        clip.encode_from_tokens_scheduled(tokens), {"guidance": guidance}
    )
    negative = []
    for cond, extras in positive:
        extras = extras.copy()
        if extras.get("pooled_output") is not None:
            extras["pooled_output"] = torch.zeros_like(extras["pooled_output"])
        negative.append([torch.zeros_like(cond), extras])
    return positive, negative


def sample_latent(
    model: Any,
    positive: list,
    negative: list,
    seed: int,
    steps: int,
    cfg: float,
    sampler_name: str,
    scheduler: str,
    width: int,
    height: int,
    on_step: Callable[[int], None] | None = None,
) -> Any:
    """EmptySD3LatentImage + the core KSampler path (common_ksampler), one image."""
    import comfy.model_management
    import comfy.sample
    import torch

    latent = torch.zeros(
        [1, 16, height // 8, width // 8], device=comfy.model_management.intermediate_device()
    )
    latent = comfy.sample.fix_empty_latent_channels(model, latent)
    noise = comfy.sample.prepare_noise(latent, seed, None)

    def callback(step, _x0, _x, _total):
        if on_step is not None:
            on_step(step + 1)

    return comfy.sample.sample(
        model,
        noise,
        steps,
        cfg,
        sampler_name,
        scheduler,
        positive,
        negative,
        latent,
        denoise=1.0,
        callback=callback,
        disable_pbar=True,
        seed=seed,
    )


def decode_latent(vae: Any, samples: Any) -> Any:
    """VAEDecode: latent -> IMAGE tensor (BxHxWx3)."""
    images = vae.decode(samples)
    if len(images.shape) == 5:  # video VAEs return a frame axis
        images = images.reshape(-1, images.shape[-3], images.shape[-2], images.shape[-1])
    return images


def model_weight_dtype(model: Any) -> str | None:
    """The diffusion model's weight dtype as ComfyUI holds it (e.g. float8_e4m3fn); None if unknown."""
    try:
        dtype = model.model_dtype()
    except Exception:  # a patcher without the method or a model that cannot say
        return None
    return None if dtype is None else str(dtype).replace("torch.", "")
