"""Scores of one (LoRA, prompt, strength) cell: its seeds summarised, judged by the prompt's role.

- identity prompts reach the identity target (``reaches_target``);
- the style prompt reaches the lower style floor (``reaches_target`` too, against that floor);
- the control prompt shows the person without the token (``leakage``): at least half of its
  seeds read at or above the backend's *bleed* landmark against the reference centroid, which is
  above every stranger measured against a centroid; a control face between the *resembles*
  landmark and that one merely resembles the subject (``resembles``, a note to check by eye).

Likeness is compared like with like: a face against the reference centroid, on the centroid
landmarks of the backend's scale (``identity_scale``), never on the photo-to-photo floor.
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
    faces_alike,
    is_same_pose,
    memorisations,
    near_copies,
    pose_spread,
    seed_consistency,
    seed_pairs,
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
    faces_alike: bool | None  # the seeds' faces match like one session's shots (None: < 2 faces)
    seed_consistency: float | None
    pose: PoseSpread
    same_pose: bool
    skin_texture: float | None = None  # median over the seeds that are the person, where measurable
    beyond_design: bool = False  # a probe strength past the evaluation protocol's sweep
    carbon_copies: list[CarbonCopy] = field(default_factory=list)
    memorised: list[Memorisation] = field(default_factory=list)
    near_copies: list[Memorisation] = field(default_factory=list)  # close as one session's shots: a note
    leakage: bool = False
    resembles: bool = False  # control: the faces resemble the subject, below what makes it bleed
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
        copied = {m.reference_label: m.evidence for m in self.memorised}
        reasons += [f"copies training photo {evidence.describe()}" for evidence in copied.values()]
        return reasons


def score_cell(
    key: CellKey,
    seeds: list[int],
    measures: list[ImageMeasure],
    thresholds: Thresholds,
) -> CellScore:
    similarities = [m.judged_similarity for m in measures]
    known = [s for s in similarities if s is not None]
    face_rate = len(known) / len(measures) if measures else 0.0
    mean = float(np.mean(known)) if known else None
    spread = pose_spread(measures)
    pairs = seed_pairs(seeds, measures)
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
        faces_alike=faces_alike(pairs),
        seed_consistency=seed_consistency(measures),
        pose=spread,
        same_pose=is_same_pose(spread, thresholds),
        skin_texture=median_texture([m.skin_texture for m in measures if _is_the_person(m, thresholds)]),
        beyond_design=key.beyond_design,
        carbon_copies=carbon_copies(pairs, thresholds),
        memorised=memorisations(seeds, measures, thresholds),
        near_copies=near_copies(seeds, measures, thresholds),
    )
    if key.role == ROLE_CONTROL:
        cell.leakage = _half_of_seeds_reach(known, len(measures), thresholds.bleed)
        cell.resembles = not cell.leakage and _half_of_seeds_reach(known, len(measures), thresholds.resembles)
    else:
        bar = thresholds.style_floor if key.role == ROLE_STYLE else thresholds.identity_target
        cell.reaches_target = mean is not None and mean >= bar and face_rate >= thresholds.min_face_rate
    return cell


def _is_the_person(measure: ImageMeasure, thresholds: Thresholds) -> bool:
    """Skin is judged on faces that are the person: the person's skin against the person's photos."""
    similarity = measure.judged_similarity
    return similarity is not None and similarity >= thresholds.identity_target


def _half_of_seeds_reach(similarities: list[float], seeds: int, floor: float) -> bool:
    return seeds > 0 and sum(1 for s in similarities if s >= floor) / seeds >= 0.5


def _mean(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return float(np.mean(known)) if known else None
