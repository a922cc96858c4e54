"""Likeness over training: one point per checkpoint, the best one, and where it stopped improving.

Each checkpoint's likeness is the mean similarity to the reference identity of the faces its
identity samples show (the same prompts and seeds at every checkpoint). The evaluation
protocol's overfit signal "loss still dropping, visuals not improving" (docs/profiles.md,
"Evaluation protocol") is a :class:`Plateau`:
``patience`` checkpoints in a row that do not beat the best earlier likeness by more than
``margin``, while the training loss kept falling over the same span. The same rule stops a run
early (docs/profiles.md, "Failure table": sameface -> early stop).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np


@dataclass
class LikenessPoint:
    """What the samples of one checkpoint showed."""

    step: int
    similarities: list[float] = field(default_factory=list)  # identity samples with a face
    samples: int = 0  # identity samples scored (with or without a face)
    pose_probe_followed: bool | None = None  # did the pose probe's face turn as asked
    pose_probe_yaw: float | None = None
    loss: float | None = None  # the training loss around this step (running average)
    diversity: float | None = None  # seed diversity of its identity samples (phash share), when measured
    copies: list[str] = field(default_factory=list)  # copy signals: training photos copied, seeds alike

    @property
    def copied(self) -> bool:
        """Its samples copy a training photo or each other: a high likeness that is overfit, not identity."""
        return bool(self.copies)

    @property
    def measured(self) -> bool:
        """Identity samples were scored (with or without a face)."""
        return self.samples > 0

    @property
    def likeness(self) -> float | None:
        return float(np.mean(self.similarities)) if self.similarities else None

    @property
    def face_rate(self) -> float:
        return len(self.similarities) / self.samples if self.samples else 0.0


@dataclass(frozen=True)
class Plateau:
    """Likeness stopped improving at ``began_at`` while the loss kept falling, through ``seen_at``."""

    began_at: int  # the first checkpoint that did not improve
    seen_at: int  # the checkpoint at which the rule fired
    best_step: int  # the best checkpoint so far
    best_likeness: float
    loss_before: float
    loss_now: float

    def describe(self) -> str:
        return (
            f"Loss still dropping, likeness not improving: from step {self.began_at} on, no checkpoint beat "
            f"step {self.best_step}'s likeness ({self.best_likeness:.3f}) while the loss fell from "
            f"{self.loss_before:.4f} to {self.loss_now:.4f} (docs/profiles.md#evaluation-protocol)."
        )


@dataclass(frozen=True)
class PlateauRule:
    """``patience`` checkpoints without an improvement larger than ``margin``, loss falling."""

    patience: int = 3
    margin: float = 0.01

    def describe(self) -> str:
        """The rule and its source, for reports."""
        return (
            "docs/profiles.md#evaluation-protocol (overfit signal: loss still dropping, visuals not "
            "improving): "
            f"{self.patience} checkpoints in a row that do not beat the best earlier likeness by more than "
            f"{self.margin:g} while the training loss fell over the same span"
        )

    def find(self, points: Sequence[LikenessPoint]) -> Plateau | None:
        """The first plateau in the curve (None: likeness kept improving, or too little data)."""
        measured = [p for p in sorted(points, key=lambda p: p.step) if p.likeness is not None]
        for end in range(self.patience, len(measured)):
            plateau = self._at(measured, end)
            if plateau is not None:
                return plateau
        return None

    def _at(self, measured: list[LikenessPoint], end: int) -> Plateau | None:
        start = end - self.patience + 1
        best_before = max(measured[:start], key=lambda p: p.likeness)
        if any(p.likeness > best_before.likeness + self.margin for p in measured[start : end + 1]):
            return None
        before, now = measured[start - 1].loss, measured[end].loss
        if before is None or now is None or not now < before:
            return None
        return Plateau(
            measured[start].step, measured[end].step, best_before.step, best_before.likeness, before, now
        )


@dataclass
class LikenessCurve:
    points: list[LikenessPoint] = field(default_factory=list)
    measured_by: str = ""  # the face backend that scored the samples

    def point(self, step: int) -> LikenessPoint:
        for point in self.points:
            if point.step == step:
                return point
        point = LikenessPoint(step)
        self.points.append(point)
        self.points.sort(key=lambda p: p.step)
        return point

    def get(self, step: int) -> LikenessPoint | None:
        return next((point for point in self.points if point.step == step), None)

    def measured(self) -> list[LikenessPoint]:
        return [p for p in self.points if p.likeness is not None]

    def best(self, margin: float = 0.0) -> LikenessPoint | None:
        """The earliest checkpoint within ``margin`` of the highest likeness: differences inside the
        margin are noise, and an earlier checkpoint has copied less of its dataset."""
        measured = self.measured()
        if not measured:
            return None
        top = max(p.likeness for p in measured)
        return min((p for p in measured if p.likeness >= top - margin), key=lambda p: p.step)

    def latest_following_pose(self) -> int | None:
        """The latest step whose pose probe still turned as asked (later ones copy the dataset's poses)."""
        following = [p.step for p in self.points if p.pose_probe_followed]
        return max(following) if following else None

    def attach_losses(self, losses: Sequence[tuple[int, float]], window: int) -> None:
        """Each point's loss: the mean training loss over the ``window`` steps up to it."""
        for point in self.points:
            values = [loss for step, loss in losses if point.step - window < step <= point.step]
            point.loss = float(np.mean(values)) if values else None

    def to_dict(self) -> list[dict[str, Any]]:
        return [
            {**asdict(p), "likeness": p.likeness, "face_rate": p.face_rate}
            for p in sorted(self.points, key=lambda p: p.step)
        ]

    @classmethod
    def from_dict(cls, entries: Sequence[dict[str, Any]]) -> LikenessCurve:
        """The curve :meth:`to_dict` wrote (unknown keys ignored, bad entries skipped)."""
        curve = cls()
        for entry in entries:
            try:
                point = curve.point(int(entry["step"]))
                point.similarities = [float(v) for v in entry.get("similarities", [])]
                point.samples = int(entry.get("samples", 0))
                point.pose_probe_followed = _optional(entry.get("pose_probe_followed"), bool)
                point.pose_probe_yaw = _optional(entry.get("pose_probe_yaw"), float)
                point.loss = _optional(entry.get("loss"), float)
                point.diversity = _optional(entry.get("diversity"), float)
                point.copies = [str(signal) for signal in entry.get("copies", [])]
            except (KeyError, TypeError, ValueError):
                continue
        return curve


def _optional(value: Any, kind: type) -> Any:
    return None if value is None else kind(value)
