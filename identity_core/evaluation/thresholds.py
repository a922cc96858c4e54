"""Every threshold the evaluation uses, in one place, and why it has that value.

Identity thresholds are relative to the face backend's own ``same_person_cosine``, so the
same rules hold for insightface (ArcFace, 512-d) and the dlib fallback (128-d, not ArcFace):

- identity target: by default the backend's same-person cosine. A prompt "holds the
  identity" at a strength when the mean cosine of its seeds to the reference centroid is at
  or above the target and a face was found in at least half of its seeds.
- leakage (bleed): on a control prompt (no trigger token) at least half of the seeds show a
  face at or above the same-person cosine: the LoRA paints the person without being asked.
- memorisation: a generated image whose face matches one training photo at or above the
  same-person cosine *and* whose whole-image perceptual hash is within
  ``memorisation_phash`` bits of that photo (a near copy; faces.md §4: edits of one photo
  stay at <= 10 bits, different photos are >= 23 bits apart).
- carbon copies: two seeds of one prompt and strength whose images are within
  ``carbon_copy_phash`` bits, or whose aligned grey face crops differ by at most
  ``carbon_copy_crop_mad`` grey levels on average (the same face, expression and light).
- same pose every time: with at least ``min_seeds_for_spread`` faces, every known angle
  (yaw, pitch, roll) varies by less than ``pose_sd_degrees`` and the face box centre and
  scale by less than ``box_sd`` of the image size (standard deviations across seeds).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Thresholds:
    same_person: float
    identity_target: float
    memorisation_phash: int = 10
    carbon_copy_phash: int = 10
    carbon_copy_crop_mad: float = 6.0
    pose_sd_degrees: float = 2.0
    box_sd: float = 0.015
    min_face_rate: float = 0.5
    min_seeds_for_spread: int = 3
    turned_yaw_degrees: float = 25.0

    @classmethod
    def for_backend(cls, same_person_cosine: float, identity_target: float | None = None) -> Thresholds:
        """``identity_target`` None or <= 0 means: the backend's same-person cosine."""
        target = same_person_cosine if identity_target is None or identity_target <= 0 else identity_target
        return cls(same_person=float(same_person_cosine), identity_target=float(target))
