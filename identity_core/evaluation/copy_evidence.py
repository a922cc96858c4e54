"""A copy is this photo again, not this person again.

The embedding alone cannot tell them apart: it is trained to read every photo of one person
alike, and on the shared real photos another photo of the same person, taken on another day,
reads as high against one training photo as an edited copy of it does. What a copy keeps and
another photo does not is the face's *appearance*: the same expression, head pose, light and
shadows, hair strands and skin, pixel for pixel once the two faces are aligned.

So a generated face copies a training photo when both hold:

1. it is the same person (embedding similarity at or above the backend's same-person floor);
2. the two aligned face crops match: the grey 112 px crops (aligned on the five keypoints, as
   the embedding sees them) are registered onto each other with an affine fit (ECC), which takes
   out the keypoints' jitter, a mirror, a crop, a slight rotation or a resize, and their
   normalised cross-correlation is at or above ``COPY_CROP_MATCH``. Light blur before the
   comparison lets recompression, denoising and re-rendering through, as a copy; a changed
   expression, pose or light does not.

Both figures are kept as evidence (:class:`CopyEvidence`) and shown in the report for every copy.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np

CROP_SIZE = 112
BLUR_SIGMA = 1.0
REGISTRATION_BLUR_SIGMA = 1.5
COMPARED = slice(12, 100)  # the aligned face without the template's corners (background, border)
MAX_COMPARED_REFERENCES = 3  # a copy of one photo is among the most similar by embedding
CLIPPED_LOW, CLIPPED_HIGH = 5.0, 250.0
ECC_ITERATIONS, ECC_EPSILON = 100, 1e-5
MIN_COMPARED_PIXELS = 500  # of the 88 x 88 compared

COPY_CROP_MATCH = 0.983
NEAR_COPY_CROP_MATCH = 0.95
COPY_CROP_MATCH_SOURCE = (
    "0.983 (registered correlation of the aligned 112 px grey face crops, with the same-person floor): on "
    "the shared real photos (benchmarks/judgement_figures.py, decoded at most 1024 px), photos of one person "
    "from different occasions match at most 0.883 (29 pairs), the same day in other places 0.942 (12), one "
    "studio session or video (neutral and smiling, a few frames apart) 0.982 at the 99th percentile of 67; "
    "the highest, 0.985, is two frames of one video 4 hash bits apart, the same picture. Each of 87 photos "
    "edited (resized to half and to a 120 px face, JPEG quality 30, brighter x1.3 with clipping and x1.15, "
    "mirrored, cropped to the head, rotated 5 and 10 degrees, NL-means denoised, re-rendered: half size, "
    "noise, tint, JPEG 70; blurred) matches its original at 0.984 or more. From 0.95 a face is a near "
    "copy: a note to check by eye, no diagnosis"
)


def aligned_face_crop(image: np.ndarray, face) -> np.ndarray:
    """Grey 112x112 crop: aligned on the five keypoints when known, else the box resized."""
    if face.kps is not None:
        from ..faces.alignment import align_face

        crop = align_face(np.ascontiguousarray(image), np.asarray(face.kps, np.float32), CROP_SIZE)
    else:
        from PIL import Image

        height, width = image.shape[:2]
        x1, y1, x2, y2 = (round(v) for v in face.bbox)
        x1, y1 = max(x1, 0), max(y1, 0)
        x2, y2 = min(max(x2, x1 + 1), width), min(max(y2, y1 + 1), height)
        region = Image.fromarray(np.ascontiguousarray(image[y1:y2, x1:x2]))
        crop = np.asarray(region.resize((CROP_SIZE, CROP_SIZE), Image.BILINEAR))
    return crop.astype(np.float32).mean(axis=2)


@dataclass(frozen=True)
class CropMatch:
    """How well two aligned face crops match after registration (1.0: the same pixels)."""

    correlation: float
    mirrored: bool


@dataclass(frozen=True)
class CopyEvidence:
    """The evidence that a generated face is (or is not) one training photo again."""

    reference_label: str
    similarity: float  # embedding cosine to that photo
    crop_match: float  # registered correlation of the aligned face crops
    mirrored: bool  # the best match was with the photo mirrored
    phash_distance: int | None = None  # whole-image perceptual hash bits (framing, background)

    def is_copy(self, same_person: float, crop_threshold: float = COPY_CROP_MATCH) -> bool:
        return self.similarity >= same_person and self.crop_match >= crop_threshold

    def is_near_copy(self, same_person: float, crop_threshold: float = COPY_CROP_MATCH) -> bool:
        """As close as one session's other shots: below a copy, above other occasions (a note)."""
        return self.similarity >= same_person and NEAR_COPY_CROP_MATCH <= self.crop_match < crop_threshold

    def describe(self) -> str:
        mirror = ", mirrored" if self.mirrored else ""
        framing = (
            f", whole picture {self.phash_distance} hash bits apart"
            if self.phash_distance is not None
            else ""
        )
        return (
            f"{self.reference_label}: face similarity {self.similarity:.3f}, aligned face crops match "
            f"{self.crop_match:.3f}{mirror}{framing}"
        )

    def to_dict(self) -> dict:
        return {
            "reference": self.reference_label,
            "similarity": round(self.similarity, 4),
            "crop_match": round(self.crop_match, 4),
            "mirrored": self.mirrored,
            "phash_distance": self.phash_distance,
        }


def crop_match(crop_a: np.ndarray, crop_b: np.ndarray) -> CropMatch:
    """The registered correlation of two aligned grey crops, the second also tried mirrored."""
    straight = _registered_correlation(crop_a, crop_b)
    mirrored = _registered_correlation(crop_a, np.ascontiguousarray(crop_b[:, ::-1]))
    if mirrored > straight:
        return CropMatch(mirrored, True)
    return CropMatch(straight, False)


def _registration(fixed: np.ndarray, moving: np.ndarray) -> np.ndarray:
    """The affine warp that lays ``moving`` onto ``fixed`` (identity when ECC does not converge:
    the crops are then compared as the keypoints aligned them)."""
    import cv2

    warp = np.eye(2, 3, dtype=np.float32)
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, ECC_ITERATIONS, ECC_EPSILON)
    with contextlib.suppress(cv2.error):
        _, warp = cv2.findTransformECC(
            cv2.GaussianBlur(fixed, (0, 0), REGISTRATION_BLUR_SIGMA),
            cv2.GaussianBlur(moving, (0, 0), REGISTRATION_BLUR_SIGMA),
            warp,
            cv2.MOTION_AFFINE,
            criteria,
            None,
            1,
        )
    return warp


def _registered_correlation(fixed: np.ndarray, moving: np.ndarray) -> float:
    import cv2

    fixed, moving = np.float32(fixed), np.float32(moving)
    warp = _registration(fixed, moving)
    size = fixed.shape[1], fixed.shape[0]
    registered = cv2.warpAffine(moving, warp, size, flags=cv2.INTER_LINEAR + cv2.WARP_INVERSE_MAP)
    a = cv2.GaussianBlur(fixed, (0, 0), BLUR_SIGMA)[COMPARED, COMPARED]
    b = cv2.GaussianBlur(registered, (0, 0), BLUR_SIGMA)[COMPARED, COMPARED]
    return _correlation(a, b, _unclipped(fixed[COMPARED, COMPARED], registered[COMPARED, COMPARED]))


def _unclipped(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pixels neither crop clips to black or white: a brighter copy saturates highlights, which no
    longer follow the original's shading, and the warp's black border is no part of the face."""
    return (a > CLIPPED_LOW) & (a < CLIPPED_HIGH) & (b > CLIPPED_LOW) & (b < CLIPPED_HIGH)


def _correlation(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float:
    if mask.sum() < MIN_COMPARED_PIXELS:
        return 0.0
    a, b = a[mask], b[mask]
    a = a - a.mean()
    b = b - b.mean()
    denominator = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / denominator) if denominator > 0 else 0.0


def best_copy_evidence(
    crop: np.ndarray | None,
    similarities: np.ndarray,
    reference_crops: list[np.ndarray | None],
    reference_labels: list[str],
    same_person: float,
    phash_distances: list[int] | None = None,
) -> CopyEvidence | None:
    """The copy evidence against the training photos most like this face (None: not the person).

    Only photos the face verifies against are compared, at most the
    ``MAX_COMPARED_REFERENCES`` most similar: a copy of one photo is the same person as it.
    """
    if crop is None:
        return None
    order = [int(i) for i in np.argsort(-np.asarray(similarities))[:MAX_COMPARED_REFERENCES]]
    best: CopyEvidence | None = None
    for index in order:
        if similarities[index] < same_person or reference_crops[index] is None:
            continue
        match = crop_match(reference_crops[index], crop)
        evidence = CopyEvidence(
            reference_labels[index],
            float(similarities[index]),
            match.correlation,
            match.mirrored,
            phash_distances[index] if phash_distances is not None else None,
        )
        if best is None or _rank(evidence) > _rank(best):
            best = evidence
    return best


def _rank(evidence: CopyEvidence) -> tuple[float, bool, float]:
    """Best match first; among equal matches the photo as it is before a mirrored one."""
    return round(evidence.crop_match, 3), not evidence.mirrored, evidence.similarity
