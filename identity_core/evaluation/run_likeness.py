"""Likeness while a run trains: what the engine samples, the monitor that scores it, the early stop.

The engine samples, at every preview step, the likeness prompts (neutral portrait and new
environment, two fixed seeds each), the pose probe (the pose the dataset has least of, when
DatasetCheck measured poses) and the user's own preview prompt when one is set. The monitor scores
them against the training photos with the face backend.

Early stop defaults per profile (the ``auto`` choice):

- **fast: on, patience 2.** The Fast run exists to validate the dataset and find where identity
  saturates; once likeness has not improved for two checkpoints while the loss falls, the rest of
  the run only adds the overfitting docs/profiles.md warns of ("Failure table": sameface -> early stop).
- **final: off.** The Final profile's cosine schedule spends its last steps at a low learning rate,
  where skin and detail settle while a face embedding already reads the identity as reached; the
  checkpoints are still scored, so the best one is picked either way. Turn it on to save time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..faces.model import FaceBackend
from .likeness_monitor import LikenessMonitor
from .live_likeness import LiveLikeness, SamplePrompt, likeness_prompts
from .pose_probe import PoseProbe, probe_for_measured_poses
from .reference import build_reference, load_reference_photos
from .thresholds import Thresholds

EARLY_STOP_CHOICES = ("auto", "on", "off")


@dataclass(frozen=True)
class EarlyStopPolicy:
    enabled: bool
    patience: int  # checkpoints in a row without improvement, loss falling
    why: str


PROFILE_EARLY_STOP = {
    "fast": EarlyStopPolicy(True, 2, "Fast profile default: on (it validates the dataset)"),
    "final": EarlyStopPolicy(False, 3, "Final profile default: off (the cosine tail refines detail)"),
}


def early_stop_policy(profile: str, choice: str) -> EarlyStopPolicy:
    """The profile's policy for ``auto``; ``on``/``off`` override whether it is enabled."""
    default = PROFILE_EARLY_STOP.get(profile, PROFILE_EARLY_STOP["final"])
    if choice == "on":
        return EarlyStopPolicy(True, default.patience, "on (early_stop input)")
    if choice == "off":
        return EarlyStopPolicy(False, default.patience, "off (early_stop input)")
    return default


def training_prompts(
    image_notes: Mapping[str, Mapping[str, str]], token: str, class_word: str, seed: int, preview: str = ""
) -> tuple[list[SamplePrompt], PoseProbe | None]:
    """The sample prompts in file order, and the pose probe (None: DatasetCheck measured no pose)."""
    probe = probe_for_measured_poses(image_notes)
    return likeness_prompts(token, class_word, seed, probe, preview), probe


def start_monitor(
    dataset: Any,
    backend: FaceBackend,
    prompts: list[SamplePrompt],
    probe: PoseProbe | None,
    checkpoint_every: int,
    sample_every: int,
    policy: EarlyStopPolicy,
) -> LikenessMonitor:
    """The monitor for one run: the training photos as the reference identity."""
    reference = build_reference(load_reference_photos(dataset.image_paths), backend)
    live = LiveLikeness(backend, reference, prompts, probe)
    thresholds = Thresholds.from_scale(backend.scale)
    margin = thresholds.checkpoint_margin
    patience = policy.patience if policy.enabled else None
    monitor = LikenessMonitor(live, checkpoint_every, sample_every, margin, patience)
    monitor.about = {
        "backend": backend.name,
        "same_person": thresholds.same_person,
        "likeness_target": thresholds.identity_target,
        "margin": margin,
        "early_stop": policy.why,
    }
    return monitor
