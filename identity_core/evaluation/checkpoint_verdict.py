"""ArcFaceScore's judgement of a checkpoint sweep: per checkpoint, over training, and which one to use.

Each checkpoint of the full pass gets its own strength recommendation (``recommend`` on its cells
alone); the recommended checkpoint is the one whose recommendation is best: passed first, then the
higher likeness at its strength, then the earlier step (it has copied less). Beside it the report lists
every checkpoint's coarse likeness, face rate, seed diversity, copy signals, pose probe and loss, and
the training findings: the evaluation protocol's "loss still dropping, visuals not improving"
(docs/profiles.md, "Evaluation protocol"; :class:`PlateauRule` on the coarse curve with the run's
losses) and an early stop.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from .checkpoint_sweep import CheckpointSweep
from .evidence import SweepEvidence, identity_mean
from .likeness_curve import LikenessPoint, Plateau, PlateauRule
from .recommend import Recommendation, recommend

PLATEAU_ISSUE = "Loss still dropping, visuals not improving"
EARLY_STOP_ISSUE = "Training stopped early"


@dataclass(frozen=True)
class CheckpointFinding:
    """A finding about the run over its checkpoints, with who measured it and the rule's source."""

    issue: str
    step: int  # where it began (plateau) or happened (early stop)
    when: str  # the step in words: "from step 300", "at step 600"
    evidence: str
    fix: str
    measured_by: str
    source: str

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_text(self) -> str:
        fix = f" -> {self.fix}" if self.fix else ""
        return (
            f"{self.issue} ({self.when}){fix}. {self.evidence}\n"
            f"    measured by: {self.measured_by}\n    source: {self.source}"
        )


@dataclass
class CheckpointChoice:
    """One swept checkpoint's own recommendation."""

    step: int
    file: str
    recommendation: Recommendation
    likeness: float | None  # identity mean at the recommended strength

    def sort_key(self) -> tuple:
        likeness = -2.0 if self.likeness is None else self.likeness
        return (not self.recommendation.passed, -likeness, self.step)

    def to_dict(self) -> dict[str, Any]:
        return {
            "checkpoint": {"step": self.step, "file": self.file},
            "strength": self.recommendation.strength,
            "passed": self.recommendation.passed,
            "likeness": self.likeness,
        }

    def describe(self) -> str:
        likeness = "-" if self.likeness is None else f"{self.likeness:.3f}"
        verdict = "passed" if self.recommendation.passed else "best effort, not passed"
        return (
            f"step {self.step} ({self.file}) at strength {self.recommendation.strength:g}: {verdict}, "
            f"likeness {likeness}"
        )


@dataclass(frozen=True)
class PublishedCheckpoint:
    """Which LoRA file holds which checkpoint after ArcFaceScore published its recommendation."""

    lora_name: str  # LoraLoader's name of the published file (no server path)
    step: int
    strength: float
    changed: bool  # False: the file already held this checkpoint with this recommendation
    moved_aside: str = ""  # LoraLoader's name of the file it replaced, kept beside it
    new_file: bool = False  # published under a new name: the checkpoints were not this prompt's training

    def describe(self) -> str:
        action = "now holds" if self.changed else "already held"
        text = (
            f"The LoRA '{self.lora_name}' {action} the checkpoint of step {self.step} (recommended "
            f"strength {self.strength:g})."
        )
        if self.moved_aside:
            text += f" The file it replaced is kept as '{self.moved_aside}'."
        if self.new_file:
            text += (
                " These checkpoints were not trained by this prompt, so they are published under a new name "
                "and the run's own LoRA is left as it is."
            )
        return text


@dataclass
class CheckpointVerdict:
    sweep: CheckpointSweep
    choices: list[CheckpointChoice]  # best first
    findings: list[CheckpointFinding]
    plateau: Plateau | None = None  # where likeness stopped improving while the loss fell
    published: PublishedCheckpoint | None = None
    not_published: str = ""  # why nothing was published

    @property
    def recommended(self) -> CheckpointChoice:
        return self.choices[0]

    def by_checkpoint(self) -> list[dict[str, Any]]:
        points = {p.step: p for p in self.sweep.curve.points}
        return [self._row(f.step, f.path.name, points.get(f.step)) for f in self.sweep.checkpoint_set.files]

    def _row(self, step: int, file: str, point: LikenessPoint | None) -> dict[str, Any]:
        pick = self.sweep.pick
        return {
            "step": step,
            "file": file,
            "likeness": point.likeness if point else None,
            "face_rate": point.face_rate if point else None,
            "samples": point.samples if point else 0,
            "diversity": point.diversity if point else None,
            "copies": list(point.copies) if point else [],
            "pose_probe": {
                "followed": point.pose_probe_followed if point else None,
                "yaw": point.pose_probe_yaw if point else None,
            },
            "loss": point.loss if point else None,
            "best": step == pick.best,
            "tie": step == pick.tie,
            "recommended": step == self.recommended.step,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "coarse_pass": self.sweep.to_dict(),
            "by_checkpoint": self.by_checkpoint(),
            "checkpoint_findings": [finding.to_dict() for finding in self.findings],
            "latest_following_pose": self.sweep.pick.latest_following_pose,
            "recommended": {**self.recommended.to_dict(), "others": [c.to_dict() for c in self.choices[1:]]},
            "published": None if self.published is None else dataclasses.asdict(self.published),
            "not_published": self.not_published,
        }

    def text_lines(self) -> list[str]:
        sweep, pick = self.sweep, self.sweep.pick
        lines = [
            f"Checkpoints: coarse pass at strength 1.0 on the identity prompts, 2 seeds ({sweep.source}, "
            f"measured by {sweep.curve.measured_by or 'an unnamed backend'})",
            "  step (file): likeness | faces | diversity | pose probe | loss | marks",
            *(_row_text(row) for row in self.by_checkpoint()),
            f"  Best by likeness: step {pick.best}"
            + (f", tie step {pick.tie}" if pick.tie is not None else "")
            + f" (margin {pick.margin:.3f}); {pick.reason}.",
            "  Pose probe: "
            + (
                f"step {pick.latest_following_pose} is the latest checkpoint that still turns the head as "
                "asked (later ones may copy the dataset's poses)."
                if pick.latest_following_pose is not None
                else "no checkpoint measured turning the head as asked (or the probe was not sampled)."
            ),
            f"Recommended checkpoint: {self.recommended.describe()}.",
        ]
        lines += [f"  Also swept: {choice.describe()}." for choice in self.choices[1:]]
        lines += [f"  {finding.to_text()}" for finding in self.findings]
        if not any(p.loss is not None for p in sweep.curve.points):
            lines.append(
                "  Loss over training: unknown (the run's losses did not come with the checkpoints)."
            )
        if self.published is not None:
            lines.append(self.published.describe())
        elif self.not_published:
            lines.append(f"Not published: {self.not_published}")
        return lines


def _row_text(row: dict[str, Any]) -> str:
    def number(value, pattern="{:.3f}"):
        return "-" if value is None else pattern.format(value)

    probe = row["pose_probe"]
    pose = "-" if probe["followed"] is None else ("followed" if probe["followed"] else "did not turn")
    if probe["yaw"] is not None:
        pose += f" (yaw {probe['yaw']:.0f})"
    marks = [m for m in ("best", "tie", "recommended") if row[m]] + (["copies"] if row["copies"] else [])
    likeness = "no face" if row["likeness"] is None and row["samples"] else number(row["likeness"])
    return (
        f"  step {row['step']} ({row['file']}): {likeness} | {number(row['face_rate'], '{:.0%}')} | "
        f"{number(row['diversity'], '{:.2f}')} | {pose} | {number(row['loss'], '{:.4f}')} | "
        + (", ".join(marks) or "-")
    )


def judge_checkpoints(evidence: SweepEvidence, sweep: CheckpointSweep) -> CheckpointVerdict:
    """Per-checkpoint recommendations (best first) and the run's findings over its checkpoints."""
    choices = sorted(
        (_choice(evidence, sweep, f.step, f.label) for f in sweep.swept), key=CheckpointChoice.sort_key
    )
    rule = PlateauRule(margin=evidence.thresholds.checkpoint_margin)
    plateau = rule.find(sweep.curve.points)
    return CheckpointVerdict(sweep, choices, _findings(sweep, rule, plateau), plateau)


def _choice(evidence: SweepEvidence, sweep: CheckpointSweep, step: int, label: str) -> CheckpointChoice:
    own = dataclasses.replace(
        evidence,
        cells=[c for c in evidence.cells if c.lora_name == label],
        angle_points=[p for p in evidence.angle_points if p.lora_name == label],
    )
    recommendation = recommend(own)
    group = own.settings_groups().get((label, recommendation.strength), [])
    return CheckpointChoice(step, sweep.file_name(step), recommendation, identity_mean(group))


def _findings(sweep: CheckpointSweep, rule: PlateauRule, plateau: Plateau | None) -> list[CheckpointFinding]:
    findings = []
    measured_by = _measured_by(sweep)
    if plateau is not None:
        findings.append(
            CheckpointFinding(
                PLATEAU_ISSUE,
                plateau.began_at,
                f"from step {plateau.began_at}",
                plateau.describe(),
                f"use step {plateau.best_step} or an earlier checkpoint; next time train fewer steps (about "
                f"{plateau.best_step}) or let early stop end the run",
                measured_by,
                rule.describe(),
            )
        )
    stop = sweep.checkpoint_set.early_stop
    if stop is not None:
        findings.append(
            CheckpointFinding(
                EARLY_STOP_ISSUE,
                stop.at_step,
                f"at step {stop.at_step}",
                f"Training stopped at step {stop.at_step} ({stop.reason}) and kept step {stop.kept_step}.",
                "",
                _measured_while_training(sweep),
                "docs/profiles.md#failure-table (sameface -> early stop), by the same plateau rule while "
                "training",
            )
        )
    return findings


def _measured_by(sweep: CheckpointSweep) -> str:
    backend = sweep.curve.measured_by or "the face backend"
    return (
        f"{backend}, on the coarse samples ({sweep.source}): the mean similarity of the faces it detected; "
        "samples without a detected face are not scored, and the loss is the engine's training loss"
    )


def _measured_while_training(sweep: CheckpointSweep) -> str:
    curve = sweep.checkpoint_set.likeness
    backend = curve.measured_by if curve is not None and curve.measured_by else "the face backend"
    return f"{backend}, on the engine's samples while training (the run's own likeness curve)"
