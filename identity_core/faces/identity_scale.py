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

dlib's 128-d figures are measured on real photos (see ``DLIB_SCALE``).
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

# dlib calls two descriptors the same person below a Euclidean distance of 0.6 (dlib-models README,
# 99.38% on LFW). Its raw descriptors have norms of about 1.45 on real photos, and for two such
# vectors d^2 = 2 n^2 (1 - cos), so d = 0.6 is cos = 1 - 0.36 / (2 * 1.45^2) = 0.914 on the
# L2-normalised vectors this pack keeps.
DLIB_SAME_PERSON_COSINE = 1.0 - 0.6**2 / (2.0 * 1.45**2)

DLIB_SCALE = IdentityScale(
    model="dlib ResNet 128-d (face_recognition_models)",
    same_person=DLIB_SAME_PERSON_COSINE,
    likeness_target=DLIB_SAME_PERSON_COSINE,
    copy=0.985,
    sources=(
        "same person 0.914: dlib-models README, Euclidean distance 0.6, converted at descriptor norm 1.45",
        "likeness target: the same-person floor until calibrated on real photos",
        "copy 0.985: the same photo mirrored and resized measured 0.983-0.995 on shipped photos",
    ),
)
