"""One checkpoint's likeness from a few samples: the coarse pass over a training run's checkpoints.

Each checkpoint is sampled at strength 1.0 on the identity prompts with two fixed seeds (the same
prompts and seeds for every checkpoint), by the engine while training or by StrengthSweep in ComfyUI.
Every sample is scored against the reference photos once; its checkpoint's :class:`LikenessPoint`
collects the similarities, the face rate, the diversity of the seeds and the copy signals. A checkpoint
whose samples copy a training photo (the same aligned face again, ``copy_evidence``, the rule
ArcFaceScore uses) (or whose two seeds are the same picture) scores high *because* it copies: that is
the evaluation protocol's carbon-copy overfit signal, so such a checkpoint is never the best one
(``checkpoint_pick``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .likeness_curve import LikenessCurve, LikenessPoint
from .measure import ImageMeasure
from .pose_probe import PoseProbe
from .signals import carbon_copies, diversity, memorisations, seed_pairs
from .thresholds import Thresholds

COARSE_STRENGTH = 1.0
COARSE_SEEDS = 2


@dataclass(frozen=True)
class _Sample:
    prompt_id: str
    seed: int
    measure: ImageMeasure


class CoarseLikeness:
    """Builds a :class:`LikenessCurve` from scored samples, one point per checkpoint step."""

    def __init__(self, thresholds: Thresholds, measured_by: str = "") -> None:
        self.thresholds = thresholds
        self.curve = LikenessCurve(measured_by=measured_by)
        self._samples: dict[int, dict[tuple[str, int], _Sample]] = {}

    def add_identity(self, step: int, prompt_id: str, seed: int, measure: ImageMeasure) -> LikenessPoint:
        """One identity sample of checkpoint ``step``: likeness, face rate, diversity and copies update.

        A sample of the same prompt and seed replaces the earlier one (a resumed run samples the
        steps after its saved state again)."""
        by_key = self._samples.setdefault(step, {})
        by_key[(prompt_id, seed)] = _Sample(prompt_id, seed, measure)
        samples = list(by_key.values())
        point = self.curve.point(step)
        point.samples = len(samples)
        point.similarities = [
            float(s.measure.judged_similarity) for s in samples if s.measure.judged_similarity is not None
        ]
        point.diversity = _seed_diversity(samples)
        point.copies = _copy_signals(samples, self.thresholds)
        return point

    def add_pose_probe(self, step: int, probe: PoseProbe, measure: ImageMeasure) -> LikenessPoint:
        """The pose probe's sample of checkpoint ``step``: did the face turn as asked."""
        point = self.curve.point(step)
        point.pose_probe_yaw = measure.yaw if measure.face_found else None
        point.pose_probe_followed = probe.follows(point.pose_probe_yaw)
        return point


def _by_prompt(samples: list[_Sample]) -> dict[str, list[_Sample]]:
    groups: dict[str, list[_Sample]] = {}
    for sample in samples:
        groups.setdefault(sample.prompt_id, []).append(sample)
    return groups


def _seed_diversity(samples: list[_Sample]) -> float | None:
    """Median over the prompts of the seeds' mean pairwise phash distance (as ``identity_diversity``)."""
    values = [diversity([s.measure for s in group]) for group in _by_prompt(samples).values()]
    known = [value for value in values if value is not None]
    return float(np.median(known)) if known else None


def _copy_signals(samples: list[_Sample], thresholds: Thresholds) -> list[str]:
    """Training photos copied and seeds that are the same picture, as short sentences."""
    signals = []
    for prompt_id, group in _by_prompt(samples).items():
        seeds, measures = [s.seed for s in group], [s.measure for s in group]
        for copy in memorisations(seeds, measures, thresholds):
            signals.append(
                f"'{prompt_id}' seed {copy.seed}: copies training photo {copy.evidence.describe()}"
            )
        for pair in carbon_copies(seed_pairs(seeds, measures), thresholds):
            signals.append(f"'{prompt_id}': seeds {pair.seed_a}/{pair.seed_b} are carbon copies")
    return signals
