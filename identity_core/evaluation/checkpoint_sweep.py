"""A sweep over a training run's checkpoints: the coarse pass, the pick, and the files swept.

StrengthSweep with a :class:`CheckpointSet` first measures one likeness per checkpoint (the
coarse pass: strength 1.0, the identity prompts, two seeds), from the engine's own samples when
training measured every checkpoint, else by sampling each checkpoint in ComfyUI. It then runs
the full evaluation protocol on the best checkpoint (and a tie), labelled ``step N``. This value
rides on the :class:`Sweep` so ArcFaceScore can report per checkpoint and publish the one it
recommends.
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass
from typing import Any

from .checkpoint_pick import CheckpointPick
from .checkpoints import CheckpointFile, CheckpointSet
from .likeness_curve import LikenessCurve

SOURCE_TRAINING = "training samples"  # the engine's samples at each checkpoint, scored while it trained
SOURCE_SWEEP = "sampled in ComfyUI"  # StrengthSweep sampled each checkpoint with the connected MODEL


@dataclass
class CheckpointSweep:
    checkpoint_set: CheckpointSet
    curve: LikenessCurve  # the coarse pass: one point per checkpoint, losses attached
    source: str  # SOURCE_TRAINING or SOURCE_SWEEP
    pick: CheckpointPick

    @property
    def swept(self) -> list[CheckpointFile]:
        """The checkpoint files of the full pass, best first."""
        return [file for step in self.pick.steps if (file := self.checkpoint_set.at(step)) is not None]

    def file_name(self, step: int) -> str:
        """The checkpoint's file name (never its folder: reports name no server path)."""
        file = self.checkpoint_set.at(step)
        return file.path.name if file is not None else ""

    def step_of(self, label: str) -> int | None:
        return next((f.step for f in self.swept if f.label == label), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "measured_by": self.curve.measured_by,
            "checkpoints": len(self.checkpoint_set.files),
            "swept": [{"step": f.step, "file": f.path.name} for f in self.swept],
            **self.pick.to_dict(),
        }

    def summary_lines(self) -> list[str]:
        """What the coarse pass measured and chose, for StrengthSweep's summary."""
        lines = [
            f"Coarse pass over {len(self.checkpoint_set.files)} checkpoints ({self.source}, "
            f"{self.curve.measured_by or 'face backend unknown'}):"
        ]
        for point in sorted(self.curve.points, key=lambda p: p.step):
            likeness = "no face" if point.likeness is None else f"{point.likeness:.3f}"
            copies = " | copies" if point.copied else ""
            lines.append(f"  step {point.step}: likeness {likeness}, faces {point.face_rate:.0%}{copies}")
        lines.append(f"Full pass on {', '.join(f.label for f in self.swept)}: {self.pick.reason}.")
        if self.pick.latest_following_pose is not None:
            lines.append(
                f"Pose probe: step {self.pick.latest_following_pose} is the latest that turned as asked."
            )
        return lines


def training_curve(checkpoint_set: CheckpointSet, backend_name: str) -> LikenessCurve | None:
    """A copy of the likeness training measured, when it measured every checkpoint with the face
    backend ``backend_name`` (else None).

    A curve that misses checkpoints is not mixed with samples made here: the engine samples with
    its own base precision and sampler, so both kinds of point would not compare alike. Nor is a
    curve another backend scored (or one that does not say which): each backend has its own
    similarity scale, so its likeness would be judged against the wrong thresholds.
    """
    curve = checkpoint_set.likeness
    if curve is None or curve.measured_by != backend_name:
        return None
    measured = {point.step for point in curve.points if point.measured}
    if not set(checkpoint_set.steps) <= measured:
        return None
    return copy.deepcopy(curve)


def attach_run_losses(curve: LikenessCurve, checkpoint_set: CheckpointSet) -> None:
    """Each point without a loss gets the run's mean loss since the checkpoint before it."""
    if not checkpoint_set.losses:
        return
    steps = sorted(checkpoint_set.steps)
    gaps = [later - earlier for earlier, later in itertools.pairwise(steps) if later > earlier]
    window = min(gaps) if gaps else max(steps[0], 1)
    known = {point.step: point.loss for point in curve.points if point.loss is not None}
    curve.attach_losses(checkpoint_set.losses, window)
    for point in curve.points:
        if point.step in known:
            point.loss = known[point.step]
