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
- leakage (bleed): on the *control* prompt (no trigger token) at least half of the seeds show a
  face at or above the same-person floor: the LoRA paints the person without being asked.
- copy (``scale.copy``): a generated face at or above it against one single training photo is
  a copy of that photo (memorisation).

The other thresholds are our measurements on real photos (project notes ``faces.md`` §4 and
the figures in ``SOURCES``): perceptual-hash distances, pose spread, texture energy.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..faces.identity_scale import IdentityScale

SOURCES = {
    "memorisation_phash": "10 bits: edits of one photo stay at <= 10 bits of whole-image phash distance, "
    "different photos are >= 23 apart (faces.md §4)",
    "carbon_copy": "10 phash bits between two seeds, or aligned 112 px grey face crops within 6 grey levels "
    "on average: the same face, expression and light (faces.md §4)",
    "same_pose": "yaw, pitch and roll vary by < 2 degrees and the face box by < 1.5% of the image across "
    ">= 3 seeds (faces.md §4: pose SD near zero means the same pose every time)",
    "min_diversity": "0.25 (16 of 64 phash bits, mean over seed pairs, median over the identity prompts): "
    "16 real head-and-shoulders photos of different people at one framing are 18-42 bits apart (5th "
    "percentile 22, median 30); frames of one video where only the head moves, 2-18 "
    "(benchmarks/judgement_figures.py, shared face photos)",
    "waxy_texture_ratio": "0.5 x the training photos' median skin texture (cheek high-pass energy over "
    "brightness, aligned 112 px crops of faces >= 112 px turned < 25 degrees): on 22 real faces, four "
    "photos of one person span 0.80-1.24 x their median; a blur of sigma = face height / 100 leaves "
    "0.25-0.58 x (median 0.38), / 70 0.15-0.44 x; halving the resolution 0.77-1.00 x "
    "(benchmarks/judgement_figures.py, shared face photos)",
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
    copy: float
    style_floor: float
    model: str = ""
    identity_sources: tuple[str, ...] = ()
    memorisation_phash: int = 10
    carbon_copy_phash: int = 10
    carbon_copy_crop_mad: float = 6.0
    pose_sd_degrees: float = 2.0
    box_sd: float = 0.015
    min_face_rate: float = 0.5
    min_seeds_for_spread: int = 3
    turned_yaw_degrees: float = 25.0
    min_diversity: float = 0.25
    waxy_texture_ratio: float = 0.5
    rising_margin: float = 0.01
    checkpoint_margin_share: float = 0.1
    sources: dict[str, str] = field(default_factory=lambda: dict(SOURCES))

    @property
    def checkpoint_margin(self) -> float:
        """Likeness differences between checkpoints smaller than this are a tie (see SOURCES)."""
        return self.checkpoint_margin_share * max(self.identity_target - self.same_person, 0.0)

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
            copy=float(scale.copy),
            style_floor=float(scale.same_person),
            model=scale.model,
            identity_sources=sources,
        )
