"""Sampling LoRA files over strengths, prompts and seeds with ComfyUI's own functions.

Shared by StrengthSweep's full pass, its probe beyond the sweep and its coarse pass over
checkpoints: the LoRA file is read once, patched once per strength with the core LoRA loader
function; each prompt is encoded once (per strength only when the LoRA also patches the text
encoder); each image takes the core KSampler path with FLUX guidance set on the conditioning,
then VAE decode.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from .comfy_glue.images import images_to_arrays
from .comfy_glue.progress import raise_if_interrupted
from .comfy_glue.sampling import apply_lora, decode_latent, encode_flux_prompt, load_lora_file, sample_latent

FLUX_CFG = 1.0  # FLUX.1-dev is guidance-distilled: cfg 1, strength of the prompt via FluxGuidance


@dataclass(frozen=True)
class Models:
    """The MODEL, CLIP and VAE as connected: every image is sampled from these, patched per strength."""

    model: Any
    clip: Any
    vae: Any


@dataclass(frozen=True)
class LoraFile:
    """A LoRA file to sample: its name in the sweep (as LoraLoader lists it, or ``step N``) and its path."""

    name: str
    path: str


@dataclass(frozen=True)
class SweepPlan:
    """What to sample for each LoRA file: prompts x strengths x seeds, and how."""

    specs: tuple  # identity_core.evaluation.prompts.PromptSpec, each id once
    trigger_token: str
    class_word: str
    strengths: tuple[float, ...]
    seeds: tuple[int, ...]
    steps: int
    guidance: float
    sampler: str
    scheduler: str
    width: int
    height: int

    @property
    def images_per_strength(self) -> int:
        return len(self.specs) * len(self.seeds)

    @property
    def images_per_lora(self) -> int:
        return len(self.strengths) * self.images_per_strength

    def text(self, spec) -> str:
        """The prompt as sampled: the spec's template with the token and the class word."""
        return spec.render(self.trigger_token, self.class_word)

    def narrowed(self, specs, strengths, seeds) -> SweepPlan:
        """The same sampling settings for other prompts, strengths or seeds (the coarse pass, probes)."""
        return dataclasses.replace(self, specs=tuple(specs), strengths=tuple(strengths), seeds=tuple(seeds))


def sample_lora(
    plan: SweepPlan, models: Models, lora: LoraFile, progress, beyond_design: bool = False
) -> list:
    """The ``SweepEntry`` of every strength, prompt and seed of ``plan`` with ``lora``, in that order.

    The file is read once and patched once per strength. A LoRA that also carries text-encoder keys
    (kohya ``lora_te*``) patches CLIP too, so its prompts are encoded per strength; otherwise each
    prompt is encoded once per file. Each image is kept as 8-bit RGB (what the sweep scores and
    SaveImage writes), never as the VAE's float32. ``progress`` advances by ``plan.steps`` per image.
    """
    from ..identity_core.evaluation.model import SweepEntry

    weights = load_lora_file(lora.path)
    patches_text_encoder = any(key.startswith(("lora_te", "text_encoder")) for key in weights)
    shared_conditioning = None if patches_text_encoder else _encode_all(plan, models.clip)
    done, total = progress.current, progress.total
    entries = []
    for strength in plan.strengths:
        clip = models.clip if patches_text_encoder else None
        patched_model, patched_clip = apply_lora(models.model, clip, weights, strength)
        conditioning = shared_conditioning or _encode_all(plan, patched_clip)
        for spec in plan.specs:
            positive, negative = conditioning[spec.prompt_id]
            for seed in plan.seeds:
                raise_if_interrupted()
                offset = done + len(entries) * plan.steps
                latent = sample_latent(
                    patched_model,
                    positive,
                    negative,
                    seed,
                    plan.steps,
                    FLUX_CFG,
                    plan.sampler,
                    plan.scheduler,
                    plan.width,
                    plan.height,
                    on_step=lambda step, o=offset: progress.update_absolute(o + step, total),
                )
                image = images_to_arrays(decode_latent(models.vae, latent))[0]
                entries.append(
                    SweepEntry(
                        image=image,
                        prompt_id=spec.prompt_id,
                        prompt_text=plan.text(spec),
                        strength=strength,
                        seed=seed,
                        lora_name=lora.name,
                        role=spec.role,
                        beyond_design=beyond_design,
                    )
                )
                progress.update_absolute(done + len(entries) * plan.steps, total)
    return entries


def _encode_all(plan: SweepPlan, clip) -> dict:
    """prompt id -> (positive, negative) conditioning of every prompt of the plan."""
    return {spec.prompt_id: encode_flux_prompt(clip, plan.text(spec), plan.guidance) for spec in plan.specs}
