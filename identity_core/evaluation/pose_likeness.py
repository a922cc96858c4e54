"""Likeness per head pose: front, three-quarter and profile, each against the same pose of the
real photos.

Face recognisers lose much of their similarity as the head turns, so one mean over every face
hides the failure users ask about most: a LoRA that holds the face straight on and loses it in
profile. Each pose class of the generated faces (identity and pose-probe prompts) is compared
with the reference photos of the same class, and read against a yardstick: how well the real
photos of that class match each other (each one against the others of its class). Where the
backend cannot tell people apart at a pose (dlib reads different people's profiles alike), the
class is shown and not judged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..faces.identity_scale import IdentityScale
from ..faces.model import l2_normalise
from ..faces.pose import POSE_CLASSES
from .measure import ImageMeasure
from .reference import ReferenceIdentity

JUDGED = "judged"
NO_REFERENCE = "no reference photo in this pose"
NOT_JUDGED = "not judged by this backend"


@dataclass(frozen=True)
class PoseLikeness:
    pose: str
    faces: int  # generated faces in this pose class
    likeness: float | None  # their mean similarity to the reference photos of the same class
    real: float | None  # the yardstick: real photos of this class against the others of it
    references: int  # reference photos in this class
    status: str  # JUDGED, NO_REFERENCE or NOT_JUDGED
    holds: bool | None  # likeness reaches min(target, yardstick); None when not judged

    def to_dict(self) -> dict:
        return {
            "pose": self.pose,
            "faces": self.faces,
            "likeness": _rounded(self.likeness),
            "real_photos": _rounded(self.real),
            "reference_photos": self.references,
            "status": self.status,
            "holds": self.holds,
        }

    def text(self) -> str:
        if self.faces == 0:
            return f"{self.pose}: no generated face"
        head = f"{self.pose}: {self.faces} faces"
        if self.status != JUDGED:
            shown = f", likeness {self.likeness:.3f}" if self.likeness is not None else ""
            return f"{head}{shown} ({self.status})"
        real = f", real photos of this pose {self.real:.3f}" if self.real is not None else ""
        verdict = "holds" if self.holds else "weaker than the real photos allow"
        return (
            f"{head}, likeness {self.likeness:.3f} to the {self.references} reference photos{real}: {verdict}"
        )


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def likeness_by_pose(
    measures: list[ImageMeasure], reference: ReferenceIdentity, scale: IdentityScale, target: float
) -> list[PoseLikeness]:
    """One row per pose class, in the order front, three-quarter, profile."""
    reference_poses = reference.pose_classes()
    rows = []
    for pose in POSE_CLASSES:
        faces = [m.embedding for m in measures if m.face_found and m.pose == pose]
        members = reference.embeddings[[i for i, p in enumerate(reference_poses) if p == pose]]
        rows.append(_row(pose, faces, members, scale, target))
    return rows


def _row(pose: str, faces: list, members: np.ndarray, scale: IdentityScale, target: float) -> PoseLikeness:
    likeness = (
        float(np.mean([f @ l2_normalise(members.mean(axis=0)) for f in faces]))
        if faces and len(members)
        else None
    )
    real = _leave_one_out(members)
    if not scale.judges_pose(pose):
        status = NOT_JUDGED
    elif not len(members):
        status = NO_REFERENCE
    else:
        status = JUDGED
    holds = None
    if status == JUDGED and likeness is not None:
        holds = likeness >= min(target, real) if real is not None else likeness >= target
    return PoseLikeness(pose, len(faces), likeness, real, len(members), status, holds)


def _leave_one_out(members: np.ndarray) -> float | None:
    """Each real photo of the class against the mean of the others of it (None for fewer than 2)."""
    if len(members) < 2:
        return None
    total = members.sum(axis=0)
    return float(np.mean([member @ l2_normalise(total - member) for member in members]))
