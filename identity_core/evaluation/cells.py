"""Scores of one (LoRA, prompt, strength) cell: its seeds summarised."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .measure import ImageMeasure
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
from .thresholds import Thresholds


@dataclass
class CellScore:
    lora_name: str
    prompt_id: str
    strength: float
    is_control: bool
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
    carbon_copies: list[CarbonCopy] = field(default_factory=list)
    memorised: list[Memorisation] = field(default_factory=list)
    leakage: bool = False
    reaches_target: bool = False

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
        if self.memorised:
            names = ", ".join(sorted({m.reference_label for m in self.memorised}))
            reasons.append(f"near copy of training image {names}")
        return reasons


def score_cell(
    key: tuple[str, str, float, bool],
    seeds: list[int],
    measures: list[ImageMeasure],
    reference_labels: list[str],
    thresholds: Thresholds,
) -> CellScore:
    lora_name, prompt_id, strength, is_control = key
    similarities = [m.similarity if m.face_found else None for m in measures]
    known = [s for s in similarities if s is not None]
    face_rate = len(known) / len(measures) if measures else 0.0
    mean = float(np.mean(known)) if known else None
    spread = pose_spread(measures)
    same_person = [s for s in known if s >= thresholds.same_person]
    cell = CellScore(
        lora_name=lora_name,
        prompt_id=prompt_id,
        strength=strength,
        is_control=is_control,
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
        carbon_copies=carbon_copies(seeds, measures, thresholds),
        memorised=memorisations(seeds, measures, reference_labels, thresholds),
    )
    if is_control:
        cell.leakage = bool(measures) and len(same_person) / len(measures) >= 0.5
    else:
        cell.reaches_target = (
            mean is not None and mean >= thresholds.identity_target and face_rate >= thresholds.min_face_rate
        )
    return cell


def _mean(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return float(np.mean(known)) if known else None
