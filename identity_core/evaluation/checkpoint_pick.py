"""Which checkpoints the full strength sweep samples: the best of the coarse pass, and a tie.

The coarse pass gives each checkpoint one likeness (strength 1.0, the identity prompts, two
seeds). Checkpoints whose samples copy a training photo or each other are set aside first: they
score high because they copy, the evaluation protocol's overfit signal, not because the identity is better.
Of the rest, the best is the earliest checkpoint within the margin of the highest likeness
(:meth:`LikenessCurve.best`: an earlier checkpoint has copied less of its dataset), and a second
checkpoint is sampled too when its likeness lies within the margin of the best one's: a tie the
coarse pass cannot break. The margin is a tenth of the gap between the backend's same-person
floor and its likeness target (:attr:`Thresholds.checkpoint_margin`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .likeness_curve import LikenessCurve, LikenessPoint


@dataclass(frozen=True)
class CheckpointPick:
    best: int  # the step the full pass samples first
    tie: int | None  # a second step within the margin of the best (None: no tie)
    margin: float
    latest_following_pose: int | None  # the pose probe's latest step that still turned as asked
    set_aside: tuple[int, ...]  # steps whose samples copy (never the best while another is measured)
    reason: str

    @property
    def steps(self) -> list[int]:
        return [self.best] + ([self.tie] if self.tie is not None else [])

    def to_dict(self) -> dict[str, Any]:
        return {
            "best_step": self.best,
            "tie_step": self.tie,
            "margin": self.margin,
            "latest_following_pose": self.latest_following_pose,
            "set_aside_for_copies": list(self.set_aside),
            "reason": self.reason,
        }


def pick_checkpoints(curve: LikenessCurve, margin: float, steps: list[int]) -> CheckpointPick:
    """The best checkpoint of ``steps`` (and a tie) by coarse likeness, copies set aside.

    Without any measured likeness (no face in any sample) the last checkpoint, the run's final
    LoRA, is the one swept, and the reason says so.
    """
    pose = LikenessCurve([p for p in curve.points if p.step in steps]).latest_following_pose()
    measured = [p for p in curve.measured() if p.step in steps]
    set_aside = tuple(p.step for p in measured if p.copied)
    if not measured:
        reason = "no face was found in any coarse sample, so likeness is not measured: the final checkpoint"
        return CheckpointPick(max(steps), None, margin, pose, set_aside, reason)
    pool = [p for p in measured if not p.copied]
    if not pool:
        pool = measured
        reason_prefix = "every measured checkpoint's samples copy (see the copy signals); of them, "
    else:
        reason_prefix = ""
    best = LikenessCurve(pool).best(margin)
    tie = _tie(pool, best, margin)
    reason = reason_prefix + (
        f"step {best.step} has the best likeness ({best.likeness:.3f}) within {margin:.3f} of the highest"
        + (f"; step {tie.step} ({tie.likeness:.3f}) is within the margin too" if tie else "")
        + (f"; steps {', '.join(map(str, set_aside))} set aside: their samples copy" if set_aside else "")
    )
    return CheckpointPick(best.step, tie.step if tie else None, margin, pose, set_aside, reason)


def _tie(pool: list[LikenessPoint], best: LikenessPoint, margin: float) -> LikenessPoint | None:
    """The other checkpoint closest to the top whose likeness is within ``margin`` of the best's."""
    close = [p for p in pool if p.step != best.step and abs(p.likeness - best.likeness) <= margin]
    return max(close, key=lambda p: (p.likeness, -p.step)) if close else None
