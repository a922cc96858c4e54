"""How a LoRA was trained, read from its file, so that a diagnosis matches the run.

StrengthSweep reads each LoRA file's safetensors metadata (the engine's ``ss_*`` keys and the
``identity_lora_*`` keys TrainIdentityLoRA adds) and whether the file holds text-encoder
weights; this module turns those strings into facts. Unknown stays unknown (None): a LoRA
from another trainer may carry none of these keys, and no advice may rest on a guess.

Text encoder, in order of evidence:

- ``identity_lora_text_encoder``: ``frozen`` or ``two_phase`` (trained for the first steps,
  then frozen: the text-encoder policy (docs/profiles.md, "Text encoder policy") already applied);
- no text-encoder weights in the file (no ``lora_te*`` keys): it was not trained;
- ``ss_text_encoder_lr`` of 0: the modules exist but never learned;
- text-encoder weights and nothing else: trained, schedule unknown.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

OUR_PREFIX = "identity_lora_"
TE_FROZEN = "frozen"
TE_TWO_PHASE = "two_phase"
TE_TRAINED = "trained"
TE_UNKNOWN = "unknown"

# sd-scripts balances regularization 1:1: reg images are repeated until they match subject
# images x repeats, so with regularization half of the steps train the subject.
REGULARIZATION_SUBJECT_SHARE = 0.5


@dataclass(frozen=True)
class TrainingRun:
    lora_name: str
    text_encoder: str = TE_UNKNOWN
    text_encoder_steps: int | None = None
    steps: int | None = None  # optimizer steps the engine ran (ss_steps, else ss_max_train_steps)
    subject_steps: int | None = None  # of those, steps on the subject images
    rank: int | None = None
    dropout: float | None = None
    profile: str | None = None
    regularization_images: int | None = None  # 0: none; None: unknown
    base_precision: str | None = None  # "fp8" / "bf16" / "not fp8": the base weights while training
    metadata: Mapping[str, str] = field(default_factory=dict, compare=False)

    @classmethod
    def unknown(cls, lora_name: str) -> TrainingRun:
        return cls(lora_name)

    @classmethod
    def from_file(
        cls, lora_name: str, metadata: Mapping[str, str], has_text_encoder_weights: bool | None
    ) -> TrainingRun:
        """Facts from one LoRA file's metadata and key layout."""
        ours = {k[len(OUR_PREFIX) :]: v for k, v in metadata.items() if k.startswith(OUR_PREFIX)}
        steps = _int(metadata.get("ss_steps")) or _int(metadata.get("ss_max_train_steps"))
        regularization = _int(ours.get("regularization_images"))
        if regularization is None:
            regularization = _int(metadata.get("ss_num_reg_images"))
        subject_steps = _int(ours.get("subject_steps"))
        if subject_steps is None and steps is not None and regularization is not None:
            subject_steps = round(steps * REGULARIZATION_SUBJECT_SHARE) if regularization else steps
        text_encoder = _text_encoder(ours.get("text_encoder"), metadata, has_text_encoder_weights)
        return cls(
            lora_name=lora_name,
            text_encoder=text_encoder,
            text_encoder_steps=_int(ours.get("text_encoder_steps")) if text_encoder == TE_TWO_PHASE else None,
            steps=steps,
            subject_steps=subject_steps,
            rank=_int(metadata.get("ss_network_dim")),
            dropout=_float(metadata.get("ss_network_dropout")),
            profile=ours.get("profile") or None,
            regularization_images=regularization,
            base_precision=ours.get("base_precision") or _fp8_flag(metadata.get("ss_fp8_base")),
            metadata=dict(metadata),
        )

    @property
    def text_encoder_was_trained(self) -> bool | None:
        """True/False when known; a two-phase run trained it, then froze it."""
        if self.text_encoder == TE_UNKNOWN:
            return None
        return self.text_encoder != TE_FROZEN

    def describe(self) -> str:
        """One line for the report: what the file says about its training."""
        parts = [f"text encoder {self.text_encoder.replace('_', '-')}"]
        if self.text_encoder == TE_TWO_PHASE and self.text_encoder_steps:
            parts[-1] += f" (trained {self.text_encoder_steps} steps, then frozen)"
        if self.steps is not None:
            steps = f"{self.steps} steps"
            if self.regularization_images and self.subject_steps is not None:
                steps += f" ({self.subject_steps} on the subject, the rest on regularization images)"
            parts.append(steps)
        if self.rank is not None:
            parts.append(f"rank {self.rank}")
        if self.profile:
            parts.append(f"{self.profile} profile")
        if self.regularization_images is not None:
            parts.append(f"{self.regularization_images} regularization images")
        if self.base_precision:
            parts.append(f"{self.base_precision} base while training")
        return ", ".join(parts)

    def to_dict(self) -> dict:
        return {
            "lora_name": self.lora_name,
            "text_encoder": self.text_encoder,
            "text_encoder_steps": self.text_encoder_steps,
            "steps": self.steps,
            "subject_steps": self.subject_steps,
            "rank": self.rank,
            "dropout": self.dropout,
            "profile": self.profile,
            "regularization_images": self.regularization_images,
            "base_precision": self.base_precision,
        }


def _text_encoder(ours: str | None, metadata: Mapping[str, str], has_weights: bool | None) -> str:
    if ours in (TE_FROZEN, TE_TWO_PHASE):
        return ours
    if has_weights is False:
        return TE_FROZEN
    rates = _floats(metadata.get("ss_text_encoder_lr"))
    if has_weights and rates and all(rate == 0 for rate in rates):
        return TE_FROZEN
    return TE_TRAINED if has_weights else TE_UNKNOWN


def _int(text: str | None) -> int | None:
    try:
        return int(float(text)) if text not in (None, "", "None") else None
    except ValueError:
        return None


def _float(text: str | None) -> float | None:
    values = _floats(text)
    return values[0] if len(values) == 1 and text not in (None, "None") else None


def _floats(text: str | None) -> list[float]:
    return [float(v) for v in re.findall(r"[-+]?\d*\.?\d+(?:[eE][-+]?\d+)?", text or "")]


def _fp8_flag(text: str | None) -> str | None:
    if text in ("True", "true"):
        return "fp8"
    return "not fp8" if text in ("False", "false") else None
