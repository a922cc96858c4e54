"""Scores of one (LoRA, prompt, strength) cell: its seeds summarised, judged by the prompt's role.

- identity prompts reach the identity target (``reaches_target``);
- the style prompt reaches the lower style floor (``reaches_target`` too, against that floor);
- the control prompt shows the person without the token (``leakage``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .measure import ImageMeasure
from .prompts import ROLE_CONTROL, ROLE_IDENTITY, ROLE_STYLE
from .signals import (
    CarbonCopy,
    Memorisation,
    PoseSpread,
    carbon_copies,
    diversity,
    is_same_pose,
    memorisations,
    pose_spread,
    seed_consistency,
)
from .texture import median_texture
from .thresholds import Thresholds


@dataclass(frozen=True)
class CellKey:
    lora_name: str
    prompt_id: str
    strength: float
    role: str
    beyond_design: bool = False


@dataclass
class CellScore:
    lora_name: str
    prompt_id: str
    strength: float
    role: str
    seeds: list[int]
    similarities: list[float | None]
    face_rate: float
    similarity_mean: float | None
    similarity_sd: float | None
    best_reference_mean: float | None
    diversity: float | None
    seed_consistency: float | None
    pose: PoseSpread
    same_pose: bool
    skin_texture: float | None = None  # median over the seeds whose texture could be measured
    beyond_design: bool = False  # a probe strength past the design document's sweep
    carbon_copies: list[CarbonCopy] = field(default_factory=list)
    memorised: list[Memorisation] = field(default_factory=list)
    leakage: bool = False
    reaches_target: bool = False  # identity: the identity target; style: the style floor

    @property
    def is_control(self) -> bool:
        return self.role == ROLE_CONTROL

    @property
    def judges_identity(self) -> bool:
        return self.role == ROLE_IDENTITY

    @property
    def overfit(self) -> bool:
        return self.same_pose or bool(self.carbon_copies) or bool(self.memorised)

    def overfit_reasons(self) -> list[str]:
        reasons = []
        if self.same_pose:
            reasons.append("same pose every seed")
        if self.carbon_copies:
            pairs = ", ".join(f"{c.seed_a}/{c.seed_b}" for c in self.carbon_copies)
            reasons.append(f"carbon copies (seeds {pairs})")
        face_copies = sorted({m.reference_label for m in self.memorised if m.face_copy})
        image_copies = sorted({m.reference_label for m in self.memorised if m.image_copy and not m.face_copy})
        if face_copies:
            reasons.append(f"face copies training photo {', '.join(face_copies)}")
        if image_copies:
            reasons.append(f"near copy of training image {', '.join(image_copies)}")
        return reasons


def score_cell(
    key: CellKey,
    seeds: list[int],
    measures: list[ImageMeasure],
    reference_labels: list[str],
    thresholds: Thresholds,
) -> CellScore:
    similarities = [m.similarity if m.face_found else None for m in measures]
    known = [s for s in similarities if s is not None]
    face_rate = len(known) / len(measures) if measures else 0.0
    mean = float(np.mean(known)) if known else None
    spread = pose_spread(measures)
    cell = CellScore(
        lora_name=key.lora_name,
        prompt_id=key.prompt_id,
        strength=key.strength,
        role=key.role,
        seeds=list(seeds),
        similarities=similarities,
        face_rate=face_rate,
        similarity_mean=mean,
        similarity_sd=float(np.std(known)) if len(known) >= 2 else None,
        best_reference_mean=_mean([m.best_reference_similarity for m in measures if m.face_found]),
        diversity=diversity(measures),
        seed_consistency=seed_consistency(measures),
        pose=spread,
        same_pose=is_same_pose(spread, thresholds),
        skin_texture=median_texture([m.skin_texture for m in measures if m.face_found]),
        beyond_design=key.beyond_design,
        carbon_copies=carbon_copies(seeds, measures, thresholds),
        memorised=memorisations(seeds, measures, reference_labels, thresholds),
    )
    if key.role == ROLE_CONTROL:
        same_person = [s for s in known if s >= thresholds.same_person]
        cell.leakage = bool(measures) and len(same_person) / len(measures) >= 0.5
    else:
        bar = thresholds.style_floor if key.role == ROLE_STYLE else thresholds.identity_target
        cell.reaches_target = mean is not None and mean >= bar and face_rate >= thresholds.min_face_rate
    return cell


def _mean(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return float(np.mean(known)) if known else None
