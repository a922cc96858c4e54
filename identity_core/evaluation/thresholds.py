"""Every threshold the evaluation uses, in one place, each with where its value comes from.

Identity thresholds belong to one embedding model, so they are read from the face backend's
:class:`~identity_core.faces.identity_scale.IdentityScale` (``backend.scale``), never written
here:

- identity target (``scale.likeness_target``, or the user's ``identity_target``): what a good
  identity LoRA reaches against the reference centroid. A prompt with the *identity* role holds
  the identity at a strength when the mean cosine of its seeds reaches it and a face was found
  in at least half of its seeds. The target is not the same-person floor: a LoRA whose faces
  merely verify as the person is weak.
- style floor (``scale.same_person``): the *style* prompt (an oil painting...) only has to keep
  a face that still verifies as the same person. Face embedders are trained on photographs and
  score stylised faces lower, so photo likeness is not asked of a painting.
- bleed (``scale.bleed``): on the *control* prompt (no trigger token) at least half of the seeds
  show a face at or above it against the reference centroid: the LoRA paints the person without
  being asked. It lies above every stranger measured against a centroid; between ``scale.resembles``
  and it, a control face merely resembles the subject (a note: check by eye).

A copy (memorisation, carbon copies) is the same aligned face again, not the same person again:
``copy_crop_match`` (``copy_evidence``) together with the same-person floor.

The other thresholds are our measurements on real photos (project notes ``faces.md`` §4 and
the figures in ``SOURCES``): perceptual-hash distances, pose spread, texture energy.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..faces.identity_scale import IdentityScale
from .copy_evidence import COPY_CROP_MATCH, COPY_CROP_MATCH_SOURCE, NEAR_COPY_CROP_MATCH
from .texture import WAXY_NOTE_RATIO, WAXY_RATIO, WAXY_SOURCE

SOURCES = {
    "carbon_copy": "two seeds are the same picture when their aligned faces match as a copy does "
    "(copy_crop_match); seeds without a face when their whole-image hashes are <= 10 bits apart, as edits "
    "of one photo are (different photos >= 23 bits apart, faces.md §4)",
    "same_pose": "yaw, pitch and roll vary by < 2 degrees and the face box by < 1.5% of the image across "
    ">= 3 seeds (faces.md §4: pose SD near zero means the same pose every time)",
    "min_diversity": "0.25 (16 of 64 phash bits, mean over seed pairs, median over the identity prompts): "
    "16 real head-and-shoulders photos of different people at one framing are 18-42 bits apart (5th "
    "percentile 22, median 30); frames of one video where only the head moves, 2-18 "
    "(benchmarks/judgement_figures.py, shared face photos); judged over >= 3 seeds whose faces also match "
    "like one session's shots: two real shots of one studio session (neutral and smiling) already do",
    "copy_crop_match": COPY_CROP_MATCH_SOURCE,
    "likeness_by_pose": "each pose class of the generated faces (front < 20 degrees, three-quarter 20-55, "
    "profile > 55; yaw from the five keypoints) against the reference photos of the same class, and read "
    "against how well those real photos match each other; a pose at which the backend cannot tell people "
    "apart is shown and not judged (dlib: strangers' profiles match each other at up to 0.966 on the "
    "shared photos, above the same person's frontal photos)",
    "waxy_skin": WAXY_SOURCE,
    "rising_margin": "0.01: likeness still rises when the top strength's identity mean is at least this "
    "far above the strength before it (smaller steps vanish in the reports' two decimals)",
    "checkpoint_margin_share": "0.1 x (likeness target - same-person floor) of the backend's scale: two "
    "checkpoints whose coarse likeness (strength 1.0, the identity prompts, 2 seeds) differs by less than a "
    "tenth of the gap between 'verifies as the person' and 'what a good LoRA reaches' are a tie (ArcFace "
    "0.020, dlib 0.005); the earlier one is preferred, it has copied less of its dataset. A design "
    "choice scaled to each backend, not a measured figure",
}


@dataclass(frozen=True)
class Thresholds:
    same_person: float
    identity_target: float
    resembles: float
    bleed: float
    style_floor: float
    model: str = ""
    identity_sources: tuple[str, ...] = ()
    carbon_copy_phash: int = 10
    copy_crop_match: float = COPY_CROP_MATCH
    pose_sd_degrees: float = 2.0
    box_sd: float = 0.015
    min_face_rate: float = 0.5
    min_seeds_for_spread: int = 3
    turned_yaw_degrees: float = 25.0
    min_diversity: float = 0.25
    waxy_ratio: float = WAXY_RATIO
    waxy_note_ratio: float = WAXY_NOTE_RATIO
    min_reference_textures: int = 2
    rising_margin: float = 0.01
    checkpoint_margin_share: float = 0.1
    sources: dict[str, str] = field(default_factory=lambda: dict(SOURCES))

    @property
    def checkpoint_margin(self) -> float:
        """Likeness differences between checkpoints smaller than this are a tie (see SOURCES)."""
        return self.checkpoint_margin_share * max(self.identity_target - self.same_person, 0.0)

    def rules(self) -> dict[str, dict]:
        """The copy, bleed and waxy rules and likeness per pose, with their figures and sources (JSON)."""
        identity = {line.split(" ", 1)[0]: line for line in self.identity_sources}
        return {
            "copy": {
                "same_person": self.same_person,
                "crop_match": self.copy_crop_match,
                "near_copy_note": NEAR_COPY_CROP_MATCH,
                "source": self.sources.get("copy_crop_match", ""),
            },
            "bleed": {
                "resembles_note": self.resembles,
                "bleed": self.bleed,
                "compared_with": "the reference centroid",
                "source": " ".join(v for k, v in identity.items() if k in ("resembles", "bleed")),
            },
            "waxy_skin": {
                "diagnosis_below": self.waxy_ratio,
                "note_below": self.waxy_note_ratio,
                "of": "the smoothest training photo's cheek texture",
                "source": self.sources.get("waxy_skin", ""),
            },
            "likeness_by_pose": {"source": self.sources.get("likeness_by_pose", "")},
        }

    @classmethod
    def from_scale(cls, scale: IdentityScale, identity_target: float | None = None) -> Thresholds:
        """The backend's landmarks; ``identity_target`` > 0 replaces its likeness target."""
        override = identity_target is not None and identity_target > 0
        target = float(identity_target) if override else float(scale.likeness_target)
        sources = tuple(scale.sources)
        if override:
            sources += (f"identity target {target:.2f}: set by the user (identity_target input)",)
        sources += (
            f"style floor {scale.same_person:.2f}: the same-person floor; a stylised face must still "
            "verify as the person, but face embedders trained on photos score paintings lower, so "
            "photo likeness is not asked of it",
        )
        return cls(
            same_person=float(scale.same_person),
            identity_target=target,
            resembles=float(scale.resembles),
            bleed=float(scale.bleed),
            style_floor=float(scale.same_person),
            model=scale.model,
            identity_sources=sources,
        )
