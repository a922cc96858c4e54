"""How one embedding backend's cosine similarities read: thresholds as data, each with its source.

Face-similarity thresholds belong to one model and never carry over between models, so every
backend that produces identity embeddings has its own :class:`IdentityScale`. The evaluation
(ArcFaceScore) and the dataset checks read their identity thresholds from here only.

ArcFace figures are published ones (cosine of L2-normalised 512-d embeddings):

- same person: deepface's ArcFace threshold is a cosine distance of 0.68 (similarity 0.32),
  insightface's evaluation GUI defaults to 0.40, production guides for buffalo_l use 0.45;
- a good FLUX.1-dev identity LoRA (20 photos, ai-toolkit, scored with insightface ArcFace
  through ComfyUI) reaches a median of 0.72 (mean 0.61) against the reference; MirrorMetrics
  reads 0.50-0.70 against the reference centroid as OK;
- copying: 0.85 or more against one training photo (MirrorMetrics).

dlib's 128-d figures are measured on real photos (see ``DLIB_SCALE`` and ``benchmarks/face_calibration.py``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class IdentityScale:
    """Cosine-similarity landmarks of one embedding model."""

    model: str  # the embedding model these figures belong to
    same_person: float  # at or above: the same person (verification floor)
    likeness_target: float  # what a good identity LoRA reaches against the reference centroid
    copy: float  # at or above against one single training photo: a copy of it
    sources: tuple[str, ...]  # where each figure comes from


ARCFACE_SCALE = IdentityScale(
    model="ArcFace (insightface antelopev2 / buffalo_l, 512-d)",
    same_person=0.40,
    likeness_target=0.60,
    copy=0.85,
    sources=(
        "same person 0.40: insightface 2.1 evaluation GUI default; deepface ArcFace 0.32 (distance 0.68) "
        "and buffalo_l production guides 0.45 bracket it",
        "likeness target 0.60: a FLUX.1-dev identity LoRA (20 photos, 1750 steps) scored with "
        "insightface ArcFace reached mean 0.61 / median 0.72; MirrorMetrics reads 0.50-0.70 to the "
        "reference centroid as OK",
        "copy 0.85: MirrorMetrics flags similarity above 0.85 to the nearest training photo as copying",
    ),
)

# dlib's 128-d figures, measured on real photos by ``benchmarks/face_calibration.py`` with the
# offline default pipeline (CenterFace keypoints -> dlib's 150 px chip -> ResNet; cosine of the
# L2-normalised descriptors). Photos: 5 from registry packages (10 people, plus 44 edited copies)
# and the project's 38-photo real set (25 people; same-person pairs from Obama, Biden and two
# people filmed by Intel). One 2-core AVX2 machine, 2026-11.
#   same person, other photo   n=52    min 0.940  p5 0.947  median 0.959  max 0.998
#   different people           n=1223  min 0.732  median 0.842  p95 0.892  p99 0.910  max 0.932
#   same photo, edited         n=44    min 0.976  p5 0.981  median 0.995  (resized, brighter, warmer,
#                                      softer, mirrored)
#   photo to the centroid of the same person's other photos  n=20  min 0.943  p5 0.956  median 0.979
# dlib's HOG backend (dlib's own 5-point chip) reads the same: different people p99 0.909, same
# person min 0.936, so one scale serves both. dlib-models' README threshold (Euclidean 0.6 at
# descriptor norm 1.45, i.e. cosine 0.914) agrees with the measured same-person floor.
DLIB_SAME_PERSON_COSINE = 0.910

DLIB_SCALE = IdentityScale(
    model="dlib ResNet 128-d (face_recognition_models)",
    same_person=DLIB_SAME_PERSON_COSINE,
    likeness_target=0.956,
    copy=0.984,
    sources=(
        "same person 0.910: measured, the 99th percentile of 1223 different-person pairs on real photos "
        "(max 0.932); all 52 same-person pairs of different photos read 0.940 or more; dlib-models' "
        "Euclidean 0.6 converts to 0.914",
        "likeness target 0.956: measured, the 5th percentile of 20 real photos against the centroid of the "
        "same person's other photos (median 0.979): a LoRA face should match the person as well as nearly "
        "all of their real photos do",
        "copy 0.984: measured, the equal-error point between the same photo edited (44 pairs, median 0.995) "
        "and other photos of the same person (52 pairs, median 0.959); 7% wrong on either side, since "
        "video frames of one person read as close as copies",
    ),
)
