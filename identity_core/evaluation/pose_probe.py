"""The pose probe: a prompt for the head pose the dataset has least of, and whether a face follows.

A LoRA that copies its dataset's poses stops turning the head when asked. DatasetCheck measured
each photo's pose class; the probe asks for the rarest of front / three-quarter / profile, and
the yaw of the generated face says whether a checkpoint still follows the prompt. The latest
checkpoint that follows it is the latest one worth keeping: later ones copy the dataset's poses,
an overfit signal that likeness cannot see.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from ..faces.pose import FRONT, FRONT_MAX_YAW, POSE_CLASSES, PROFILE, THREE_QUARTER
from .prompts import PromptSpec

PROBE_PROMPT_ID = "pose_probe"
ROLE_POSE_PROBE = "pose_probe"
_PROMPTS = {
    PROFILE: "a side profile photo of {token} {class_word}, head turned 90 degrees, looking to the side",
    THREE_QUARTER: "a photo of {token} {class_word}, head turned three-quarters away from the camera",
    FRONT: "a photo of {token} {class_word} facing the camera straight on",
}


@dataclass(frozen=True)
class PoseProbe:
    pose: str  # the pose class asked for
    template: str  # with {token} and {class_word}
    dataset_counts: dict[str, int]

    def follows(self, yaw: float | None) -> bool | None:
        """Whether a face at ``yaw`` turned as asked (None: no face or no yaw measured).

        Five-point yaw reads low on full profiles, so a turned pose counts as followed once the
        face leaves the frontal band; a frontal probe is followed inside it.
        """
        if yaw is None:
            return None
        turned = abs(yaw) >= FRONT_MAX_YAW
        return not turned if self.pose == FRONT else turned

    @property
    def spec(self) -> PromptSpec:
        """The probe as a sweep prompt (``render`` fills the token and class word)."""
        return PromptSpec(PROBE_PROMPT_ID, self.template, ROLE_POSE_PROBE)

    def describe(self) -> str:
        counts = ", ".join(f"{self.dataset_counts.get(p, 0)} {p}" for p in POSE_CLASSES)
        return f"pose probe asks for a {self.pose} view (the dataset has {counts})"


def pose_probe(image_notes: Mapping[str, Mapping[str, str]]) -> PoseProbe:
    """The probe for the pose class least present in DatasetCheck's per-image notes.

    Ties go to the most turned pose (profile, then three-quarter): those are the views identity
    LoRAs lose first (the failure table's angle failure).
    """
    counts = Counter(note.get("pose") for note in image_notes.values() if note.get("pose") in POSE_CLASSES)
    order = (PROFILE, THREE_QUARTER, FRONT)
    pose = min(order, key=lambda name: (counts.get(name, 0), order.index(name)))
    return PoseProbe(pose, _PROMPTS[pose], {name: counts.get(name, 0) for name in POSE_CLASSES})


def probe_for_measured_poses(image_notes: Mapping[str, Mapping[str, str]] | None) -> PoseProbe | None:
    """The probe, when DatasetCheck measured the pose of at least one photo (else None: nothing to
    choose the rarest pose from)."""
    notes = image_notes or {}
    if not any(note.get("pose") in POSE_CLASSES for note in notes.values()):
        return None
    return pose_probe(notes)
