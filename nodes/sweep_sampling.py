"""Sampling LoRA files over strengths, prompts and seeds with ComfyUI's own functions.

Shared by StrengthSweep's full pass and its coarse pass over checkpoints: the LoRA file is read
once, patched once per strength with the core LoRA loader function; each prompt is encoded once
(per strength only when the LoRA also patches the text encoder); each image takes the core
KSampler path with FLUX guidance set on the conditioning, then VAE decode.
"""

from __future__ import annotations

from .comfy_glue.images import images_to_arrays
from .comfy_glue.progress import raise_if_interrupted
from .comfy_glue.sampling import apply_lora, decode_latent, encode_flux_prompt, load_lora_file, sample_latent

FLUX_CFG = 1.0  # FLUX.1-dev is guidance-distilled: cfg 1, strength of the prompt via FluxGuidance


class SweepPlan:
    """What to sample for each LoRA file: prompts x strengths x seeds, and how."""

    def __init__(self, specs, texts, strengths, seeds, steps, guidance, sampler, scheduler, width, height):
        self.specs, self.texts, self.strengths, self.seeds = specs, texts, strengths, seeds
        self.steps, self.guidance, self.sampler, self.scheduler = steps, guidance, sampler, scheduler
        self.width, self.height = width, height
        self.images_per_strength = len(specs) * len(seeds)
        self.images_per_lora = len(strengths) * self.images_per_strength

    def narrowed(self, specs, strengths, seeds, texts: dict | None = None) -> SweepPlan:
        """The same sampling settings for other prompts, strengths or seeds (the coarse pass)."""
        texts = {**self.texts, **(texts or {})}
        return SweepPlan(
            specs, {spec.prompt_id: texts[spec.prompt_id] for spec in specs}, strengths, seeds, self.steps,
            self.guidance, self.sampler, self.scheduler, self.width, self.height,
        )  # fmt: skip


def encode_all(plan: SweepPlan, clip) -> dict:
    return {pid: encode_flux_prompt(clip, text, plan.guidance) for pid, text in plan.texts.items()}


def sample_lora(
    plan: SweepPlan, model, clip, vae, name, path, progress, entries, strengths, beyond_design=False
) -> None:
    """Read the LoRA file once; patch once per strength; sample every prompt and seed.

    A LoRA that also carries text-encoder keys (kohya ``lora_te*``) patches CLIP too, so its
    prompts are encoded per strength; otherwise each prompt is encoded once per file. Each image
    is kept as 8-bit RGB (what the sweep scores and SaveImage writes), never as the VAE's float32.
    """
    from ..identity_core.evaluation.model import SweepEntry

    lora = load_lora_file(path)
    patches_text_encoder = any(key.startswith(("lora_te", "text_encoder")) for key in lora)
    shared_conditioning = None if patches_text_encoder else encode_all(plan, clip)
    first = len(entries)
    total = progress.total
    done = progress.current
    for strength in strengths:
        patched_model, patched_clip = apply_lora(
            model, clip if patches_text_encoder else None, lora, strength
        )
        conditioning = shared_conditioning or encode_all(plan, patched_clip)
        for spec in plan.specs:
            positive, negative = conditioning[spec.prompt_id]
            for seed in plan.seeds:
                raise_if_interrupted()
                offset = done + (len(entries) - first) * plan.steps
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
                image = images_to_arrays(decode_latent(vae, latent))[0]
                entries.append(
                    SweepEntry(
                        image,
                        spec.prompt_id,
                        plan.texts[spec.prompt_id],
                        strength,
                        seed,
                        name,
                        role=spec.role,
                        beyond_design=beyond_design,
                    )
                )
                progress.update_absolute(done + (len(entries) - first) * plan.steps, total)
