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
- a face reads higher against an average face than against one photo, so the landmarks that a face
  is compared with the reference centroid on (likeness target, resembles, bleed) are their own.

A copy of a training photo is not decided on this scale: an embedding reads every photo of one
person alike (``evaluation/copy_evidence.py`` decides it from the aligned faces).

dlib's 128-d figures are measured on real photos (see ``DLIB_SCALE`` and
``benchmarks/judgement_figures.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

from .pose import POSE_CLASSES


@dataclass(frozen=True)
class IdentityScale:
    """Cosine-similarity landmarks of one embedding model.

    Two kinds of comparison have their own figures, since a face reads higher against an average
    face than against one photo: ``same_person`` is for one photo against one photo;
    ``likeness_target``, ``resembles`` and ``bleed`` are for one face against the centroid of the
    reference photos.
    """

    model: str  # the embedding model these figures belong to
    same_person: float  # photo to photo, at or above: the same person (verification floor)
    likeness_target: float  # to the reference centroid: what a good identity LoRA reaches
    resembles: float  # to the centroid: strangers rarely reach it; a control face above it is a note
    bleed: float  # to the centroid: above every stranger measured; a control face here is the person
    sources: tuple[str, ...]  # where each figure comes from
    judged_poses: tuple[str, ...] = POSE_CLASSES  # head poses at which this model tells people apart

    def judges_pose(self, pose: str | None) -> bool:
        """Whether a face in this pose class is judged (an unknown pose is)."""
        return pose is None or pose in self.judged_poses


ARCFACE_SCALE = IdentityScale(
    model="ArcFace (insightface antelopev2 / buffalo_l, 512-d)",
    same_person=0.40,
    likeness_target=0.60,
    resembles=0.40,
    bleed=0.50,
    sources=(
        "same person 0.40: insightface 2.1 evaluation GUI default; deepface ArcFace 0.32 (distance 0.68) "
        "and buffalo_l production guides 0.45 bracket it",
        "likeness target 0.60: a FLUX.1-dev identity LoRA (20 photos, 1750 steps) scored with "
        "insightface ArcFace reached mean 0.61 / median 0.72; MirrorMetrics reads 0.50-0.70 to the "
        "reference centroid as OK",
        "resembles 0.40 (to the centroid): the published same-person floor; a face against an average "
        "face reads at least as high as against one photo, so a stranger above it resembles the subject",
        "bleed 0.50 (to the centroid): MirrorMetrics' lowest likeness to the reference centroid that it "
        "reads as the person; a control face there has the subject's identity",
    ),
)

# dlib's 128-d figures, measured on real photos by ``benchmarks/judgement_figures.py`` with the
# offline default pipeline (CenterFace keypoints -> dlib's 150 px chip -> ResNet; cosine of the
# L2-normalised descriptors), photos decoded at most 1024 px as the pack decodes them. Photos: the
# project's shared real set, 87 photos of 38 people (13 people with 3-7 photos taken on several
# occasions, in one studio session at four poses, or on one day). One 2-core machine, 2026-12.
#   photo to photo, poses dlib judges (front, three-quarter):
#     same person, other photo     n=87    min 0.919  p1 0.921  p5 0.945  median 0.971
#     different people             n=2994  median 0.831  p99 0.910  max 0.942
#     different people, profiles   n=28    median 0.909  max 0.961 (above most same-person pairs:
#                                          dlib reads every profile alike, so profiles are not judged)
#   to the centroid of 1-3 of a person's photos (front and three-quarter):
#     the person's other photos    n=594   min 0.919  p1 0.926  p5 0.954  median 0.975
#     strangers (every pose)       n=19930 median 0.844  p99 0.914  max 0.942
# The lowest same-person figures are a soft 424 px video still and photos with sunglasses; with the
# 15-30 photos of a real dataset the centroid is steadier (5 photos: the person's other photos
# 0.965 or more, strangers 0.920 at most).
DLIB_SAME_PERSON_COSINE = 0.910

DLIB_SCALE = IdentityScale(
    model="dlib ResNet 128-d (face_recognition_models)",
    same_person=DLIB_SAME_PERSON_COSINE,
    likeness_target=0.945,
    resembles=0.914,
    bleed=0.946,
    sources=(
        "same person 0.910 (photo to photo): measured, the 99th percentile of 2994 different-person pairs "
        "on the shared real photos (max 0.942); 99% of 87 same-person pairs of different photos read 0.921 "
        "or more; dlib-models' Euclidean 0.6 converts to 0.914",
        "likeness target 0.945 (to the reference centroid): measured, between the highest stranger against "
        "the centroid of 1-3 of a person's photos (0.942, of 19930) and the 5th percentile of the person's "
        "own other photos (0.954, of 594): a LoRA face should match the person as nearly all of their real "
        "photos do, and above every stranger measured",
        "resembles 0.914 (to the centroid): measured, the 99th percentile of strangers against the centroid "
        "of 1-3 of a person's photos; a control face above it looks like the subject (a note, check by eye)",
        "bleed 0.946 (to the centroid): measured, above every one of 19930 strangers against the centroid of "
        "1-3 of a person's photos (max 0.942); the person's own photos read 0.954 or more in 95% of cases",
        "poses judged: front and three-quarter, measured: different people's profiles match each other "
        "at up to 0.961 (28 pairs), above the same person's frontal photos, so a profile's likeness "
        "is shown, never judged",
    ),
    judged_poses=("front", "three-quarter"),
)
