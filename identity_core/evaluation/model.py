"""The IDENTITY_SWEEP value: every image a strength sweep made, with how it was made."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .checkpoint_sweep import CheckpointSweep
from .prompts import ROLE_CONTROL, ROLE_IDENTITY
from .training_run import TrainingRun

PLAIN_IMAGES_PROMPT_ID = "images"


@dataclass
class SweepEntry:
    """One generated image (RGB ``uint8`` HxWx3) and the settings that produced it.

    ``role`` is what the prompt judges (``prompts.ROLES``); empty means the old two-way split:
    control when ``is_control``, identity otherwise. ``beyond_design`` marks strengths probed
    past the evaluation protocol's sweep (1.5, 2.0).
    """

    image: np.ndarray
    prompt_id: str
    prompt_text: str
    strength: float
    seed: int
    lora_name: str
    is_control: bool = False
    role: str = ""
    beyond_design: bool = False

    def __post_init__(self) -> None:
        if not self.role:
            self.role = ROLE_CONTROL if self.is_control else ROLE_IDENTITY
        self.is_control = self.role == ROLE_CONTROL


@dataclass(repr=False)
class Sweep:
    """A strength sweep: entries in generation order plus the shared settings.

    ``settings`` holds the sampling settings (steps, guidance, sampler, scheduler, size,
    base seed, the MODEL's weight dtype, probes) so the report can say how the images were
    made. ``training_runs`` maps each LoRA name to how it was trained, read from its file's
    metadata (the engine's ``ss_*`` and our ``identity_lora_*`` keys), so the diagnoses match
    the run. ``plain_images`` marks a sweep built from plain IMAGE input, where prompts and
    strengths are unknown. ``checkpoints`` is set when the sweep came from a training run's
    checkpoints: the coarse pass, the pick, and the checkpoint files swept (labelled ``step N``).
    """

    entries: list[SweepEntry]
    trigger_token: str = ""
    class_word: str = ""
    settings: dict[str, Any] = field(default_factory=dict)
    plain_images: bool = False
    training_runs: dict[str, TrainingRun] = field(default_factory=dict)
    checkpoints: CheckpointSweep | None = None

    def __repr__(self) -> str:
        """Counts only (``Dataset.__repr__`` says why): a full repr would print every image's pixels."""
        return (
            f"Sweep({len(self.entries)} images, {len(self.lora_names())} LoRA files, "
            f"{len(self.prompt_ids())} prompts, {len(self.strengths())} strengths, {len(self.seeds())} seeds"
            f"{', checkpoints' if self.checkpoints is not None else ''})"
        )

    def training_run(self, lora_name: str) -> TrainingRun:
        return self.training_runs.get(lora_name) or TrainingRun.unknown(lora_name)

    def __len__(self) -> int:
        return len(self.entries)

    def lora_names(self) -> list[str]:
        return _ordered_unique(entry.lora_name for entry in self.entries)

    def prompt_ids(self) -> list[str]:
        return _ordered_unique(entry.prompt_id for entry in self.entries)

    def strengths(self) -> list[float]:
        return sorted({float(entry.strength) for entry in self.entries})

    def seeds(self) -> list[int]:
        return _ordered_unique(entry.seed for entry in self.entries)

    def control_prompt_ids(self) -> list[str]:
        return _ordered_unique(entry.prompt_id for entry in self.entries if entry.is_control)

    def prompt_text(self, prompt_id: str) -> str:
        return next((e.prompt_text for e in self.entries if e.prompt_id == prompt_id), "")

    def cell(self, lora_name: str, prompt_id: str, strength: float) -> list[SweepEntry]:
        """The seeds of one (LoRA, prompt, strength) combination, in generation order."""
        return [
            entry
            for entry in self.entries
            if entry.lora_name == lora_name
            and entry.prompt_id == prompt_id
            and np.isclose(entry.strength, strength)
        ]

    @classmethod
    def from_images(cls, images: list[np.ndarray]) -> Sweep:
        """Wrap plain images (no prompts, no strengths) so they can be scored one by one."""
        entries = [
            SweepEntry(
                image=image,
                prompt_id=PLAIN_IMAGES_PROMPT_ID,
                prompt_text="",
                strength=1.0,
                seed=index,
                lora_name="",
            )
            for index, image in enumerate(images)
        ]
        return cls(entries=entries, plain_images=True)


def _ordered_unique(values) -> list:
    seen: dict = {}
    for value in values:
        seen.setdefault(value, None)
    return list(seen)


def with_images(sweep: Sweep, images: list[np.ndarray]) -> Sweep:
    """The same sweep with its images replaced (e.g. after a face-restore or upscale pass).

    The batch must have one image per sweep entry, in the sweep's order.
    """
    from .errors import EvaluationError

    if len(images) != len(sweep.entries):
        raise EvaluationError(
            f"The image batch has {len(images)} images but the sweep has {len(sweep.entries)}",
            "connect the images that belong to this sweep (same order and count), or leave 'images' empty",
            "images",
        )
    entries = [dataclasses.replace(e, image=image) for image, e in zip(images, sweep.entries, strict=True)]
    return dataclasses.replace(sweep, entries=entries, settings=dict(sweep.settings))
