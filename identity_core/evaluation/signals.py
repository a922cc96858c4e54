"""Signals computed across the seeds of one prompt and strength.

Diversity and identity consistency describe the seeds; same pose, carbon copies and
memorisation are the overfit signals of the evaluation protocol (docs/profiles.md, "Evaluation protocol").
A copy is the same picture again, not the same person again (``copy_evidence``): two seeds, or
a seed and a training photo, whose aligned faces match pixel for pixel.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np

from ..faces.model import clamp_similarity
from .copy_evidence import NEAR_COPY_CROP_MATCH, CopyEvidence, crop_match
from .measure import ImageMeasure
from .thresholds import Thresholds


@dataclass
class PoseSpread:
    """Standard deviations across seeds; None where the backend gives no such value."""

    faces: int
    yaw_sd: float | None
    pitch_sd: float | None
    roll_sd: float | None
    centre_sd: float | None
    scale_sd: float | None


@dataclass
class CarbonCopy:
    """Two seeds that are the same picture: their aligned faces match (or, without faces, their
    whole-image hashes are as close as edits of one photo)."""

    seed_a: int
    seed_b: int
    phash_distance: int
    crop_match: float | None


@dataclass
class Memorisation:
    """A seed that is one training photo again, with the evidence (``copy_evidence``)."""

    seed: int
    evidence: CopyEvidence

    @property
    def reference_label(self) -> str:
        return self.evidence.reference_label


def _sd(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return float(np.std(known)) if len(known) >= 2 else None


def pose_spread(measures: list[ImageMeasure]) -> PoseSpread:
    faces = [m for m in measures if m.face_found]
    centres = [m.box_centre for m in faces if m.box_centre is not None]
    centre_sd = float(np.sqrt(np.var(np.array(centres), axis=0).sum())) if len(centres) >= 2 else None
    return PoseSpread(
        faces=len(faces),
        yaw_sd=_sd([m.yaw for m in faces]),
        pitch_sd=_sd([m.pitch for m in faces]),
        roll_sd=_sd([m.roll for m in faces]),
        centre_sd=centre_sd,
        scale_sd=_sd([m.box_scale for m in faces]),
    )


def is_same_pose(spread: PoseSpread, thresholds: Thresholds) -> bool:
    """Near-zero spread of every known angle and of the face box across enough seeds."""
    if spread.faces < thresholds.min_seeds_for_spread or spread.centre_sd is None:
        return False
    angles = [sd for sd in (spread.yaw_sd, spread.pitch_sd, spread.roll_sd) if sd is not None]
    if any(sd >= thresholds.pose_sd_degrees for sd in angles):
        return False
    return spread.centre_sd < thresholds.box_sd and (spread.scale_sd or 0.0) < thresholds.box_sd


@dataclass(frozen=True)
class SeedPair:
    """Two seeds of one cell: how far apart their whole pictures and their faces are."""

    seed_a: int
    seed_b: int
    phash_distance: int
    crop_match: float | None  # None unless both seeds have a face


def seed_pairs(seeds: list[int], measures: list[ImageMeasure]) -> list[SeedPair]:
    pairs = []
    for (seed_a, a), (seed_b, b) in combinations(zip(seeds, measures, strict=True), 2):
        match = crop_match(a.crop, b.crop).correlation if a.crop is not None and b.crop is not None else None
        pairs.append(SeedPair(seed_a, seed_b, int(a.phash - b.phash), match))
    return pairs


def carbon_copies(pairs: list[SeedPair], thresholds: Thresholds) -> list[CarbonCopy]:
    """Seed pairs that are the same picture: their faces match as a copy does (without faces: their
    whole-image hashes are as close as edits of one photo)."""
    copies = []
    for pair in pairs:
        if pair.crop_match is not None:
            same_picture = pair.crop_match >= thresholds.copy_crop_match
        else:
            same_picture = pair.phash_distance <= thresholds.carbon_copy_phash
        if same_picture:
            copies.append(CarbonCopy(pair.seed_a, pair.seed_b, pair.phash_distance, pair.crop_match))
    return copies


def faces_alike(pairs: list[SeedPair]) -> bool | None:
    """Whether the seeds' faces match like one session's shots (median pair at or above a near
    copy); None when fewer than two seeds have a face."""
    matches = [pair.crop_match for pair in pairs if pair.crop_match is not None]
    if not matches:
        return None
    return float(np.median(matches)) >= NEAR_COPY_CROP_MATCH


def memorisations(
    seeds: list[int], measures: list[ImageMeasure], thresholds: Thresholds
) -> list[Memorisation]:
    """The seeds that are a training photo again: the same person and the same aligned face."""
    return [
        Memorisation(seed, m.copy)
        for seed, m in zip(seeds, measures, strict=True)
        if m.copy is not None and m.copy.is_copy(thresholds.same_person, thresholds.copy_crop_match)
    ]


def near_copies(seeds: list[int], measures: list[ImageMeasure], thresholds: Thresholds) -> list[Memorisation]:
    """The seeds as close to a training photo as one session's other shots: a note, not a copy."""
    return [
        Memorisation(seed, m.copy)
        for seed, m in zip(seeds, measures, strict=True)
        if m.copy is not None and m.copy.is_near_copy(thresholds.same_person, thresholds.copy_crop_match)
    ]


def diversity(measures: list[ImageMeasure]) -> float | None:
    """Mean pairwise whole-image phash distance across seeds, as a share of 64 bits.

    Unrelated images sit around 0.5 (faces.md §4: median 32 bits); copies near 0.
    """
    pairs = [int(a.phash - b.phash) / 64.0 for a, b in combinations(measures, 2)]
    return float(np.mean(pairs)) if pairs else None


def seed_consistency(measures: list[ImageMeasure]) -> float | None:
    """Mean pairwise cosine of the seeds' faces: how stable the identity is across seeds.

    High is expected for a good identity LoRA; on its own it is not an overfit signal.
    """
    embeddings = [m.embedding for m in measures if m.judged_similarity is not None]
    pairs = [clamp_similarity(a @ b) for a, b in combinations(embeddings, 2)]
    return float(np.mean(pairs)) if pairs else None
