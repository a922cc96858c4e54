"""StrengthSweep's inputs by name, checked before any parsing or sampling, and the plan they make.

On a shared server every input is untrusted: text caps, finite numbers and the kinds of the linked
values are checked first (``identity_core.input_limits``, ``input_checks``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .sweep_sampling import Models, SweepPlan

FREE_TEXT_INPUTS = ("prompts", "strengths", "extra_loras", "lora_file")


@dataclass(frozen=True)
class SweepInputs:
    """The inputs as ComfyUI passes them (by the names of ``INPUT_TYPES``), with the defaults of the
    optional ones: a workflow saved before an optional input existed runs without it."""

    model: Any
    clip: Any
    vae: Any
    lora_name: str
    trigger_token: str
    class_word: str
    prompts: str
    strengths: str
    seeds: int
    base_seed: int
    steps: int
    guidance: float
    sampler_name: str
    scheduler: str
    width: int
    height: int
    extra_loras: str = ""
    lora_file: str | None = None
    probe_beyond: bool = True
    reference_dataset: Any = None
    reference_images: Any = None
    face_backend: str = "auto"
    checkpoints: Any = None
    sweep_tied_checkpoint: bool = False

    @property
    def models(self) -> Models:
        return Models(self.model, self.clip, self.vae)


def checked_plan(inputs: SweepInputs) -> SweepPlan:
    """What to sample for each LoRA file, once every input is checked; the prompts and strengths
    parsed (their errors name the input)."""
    from ..identity_core.evaluation.prompts import parse_prompts, parse_strengths

    _check(inputs)
    return SweepPlan(
        specs=tuple(parse_prompts(inputs.prompts)),
        trigger_token=inputs.trigger_token.strip(),
        class_word=inputs.class_word.strip(),
        strengths=tuple(parse_strengths(inputs.strengths)),
        seeds=tuple(inputs.base_seed + i for i in range(inputs.seeds)),
        steps=inputs.steps,
        guidance=inputs.guidance,
        sampler=inputs.sampler_name,
        scheduler=inputs.scheduler,
        width=inputs.width,
        height=inputs.height,
    )


def check_sweep_size(plan: SweepPlan, lora_files: int, probe_beyond: bool) -> None:
    """The images the full pass (and its probes) will hold, within the count and pixel caps."""
    from ..identity_core.evaluation.prompts import PROBE_STRENGTHS
    from ..identity_core.input_limits import check_count

    probes = len(PROBE_STRENGTHS) * plan.images_per_strength if probe_beyond else 0
    images = lora_files * (plan.images_per_lora + probes)
    check_count("sweep images", images)
    check_count("sweep megapixels", -(-images * plan.width * plan.height // 1_000_000))


def _check(inputs: SweepInputs) -> None:
    """Every input a client could send as anything, then the trigger token's presence."""
    from ..identity_core.evaluation import EvaluationError
    from ..identity_core.input_limits import check_number, check_text, check_word
    from .input_checks import require_dataset, require_images, require_models

    check_word("trigger_token", inputs.trigger_token)
    check_word("class_word", inputs.class_word)
    for name in FREE_TEXT_INPUTS:
        if getattr(inputs, name) is not None:
            check_text(name, getattr(inputs, name))
    check_number("guidance", inputs.guidance, 0.0, 100.0)
    require_models(inputs.model, inputs.clip, inputs.vae)
    require_dataset("reference_dataset", inputs.reference_dataset, optional=True)
    require_images("reference_images", inputs.reference_images, optional=True)
    if not inputs.trigger_token.strip():
        raise EvaluationError(
            "The trigger token is empty", "enter the token the LoRA was trained with", "trigger_token"
        )
