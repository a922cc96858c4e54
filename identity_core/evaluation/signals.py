"""Signals computed across the seeds of one prompt and strength.

Diversity and identity consistency describe the seeds; same pose, carbon copies and
memorisation are the overfit signals of the design document (section 7).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np

from ..faces.model import clamp_similarity
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
    seed_a: int
    seed_b: int
    phash_distance: int
    crop_difference: float | None


@dataclass
class Memorisation:
    """A seed that copies one training photo: its face (similarity at or above the scale's
    copy landmark) or the whole picture (same person and a near-identical perceptual hash)."""

    seed: int
    reference_label: str
    similarity: float
    phash_distance: int
    face_copy: bool = False
    image_copy: bool = False


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


def crop_difference(a: np.ndarray | None, b: np.ndarray | None) -> float | None:
    """Mean absolute grey-level difference of two aligned face crops (0 = identical)."""
    if a is None or b is None:
        return None
    return float(np.abs(a - b).mean())


def carbon_copies(seeds: list[int], measures: list[ImageMeasure], thresholds: Thresholds) -> list[CarbonCopy]:
    copies = []
    for (seed_a, a), (seed_b, b) in combinations(zip(seeds, measures, strict=True), 2):
        distance = int(a.phash - b.phash)
        difference = crop_difference(a.crop, b.crop)
        close_crop = difference is not None and difference <= thresholds.carbon_copy_crop_mad
        if distance <= thresholds.carbon_copy_phash or close_crop:
            copies.append(CarbonCopy(seed_a, seed_b, distance, difference))
    return copies


def memorisations(
    seeds: list[int], measures: list[ImageMeasure], reference_labels: list[str], thresholds: Thresholds
) -> list[Memorisation]:
    found = []
    for seed, m in zip(seeds, measures, strict=True):
        if m.best_reference_index is None or m.best_reference_similarity is None:
            continue
        face_copy = m.best_reference_similarity >= thresholds.copy
        image_copy = (
            m.best_reference_similarity >= thresholds.same_person
            and m.phash_to_best_reference is not None
            and m.phash_to_best_reference <= thresholds.memorisation_phash
        )
        if face_copy or image_copy:
            found.append(
                Memorisation(
                    seed,
                    reference_labels[m.best_reference_index],
                    m.best_reference_similarity,
                    m.phash_to_best_reference,
                    face_copy,
                    image_copy,
                )
            )
    return found


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
    embeddings = [m.embedding for m in measures if m.face_found]
    pairs = [clamp_similarity(a @ b) for a, b in combinations(embeddings, 2)]
    return float(np.mean(pairs)) if pairs else None
