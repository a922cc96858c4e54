"""ArcFaceScore's chart for a sweep over checkpoints: likeness by strength above likeness by step.

The upper panel is the strength chart of the full pass (``chart.similarity_chart``); the lower
one the coarse likeness of every checkpoint beside the run's loss (``likeness_chart``), with the
best checkpoint of the coarse pass ringed, the recommended one starred, the plateau shaded and an
early stop marked.
"""

from __future__ import annotations

import numpy as np

from ..evaluation.report import EvaluationReport
from .chart import similarity_chart
from .likeness_chart import likeness_chart
from .loss_chart import LossPoint

WIDTH_PX = 900


def checkpoint_chart(report: EvaluationReport) -> np.ndarray:
    """Both panels stacked (RGB ``uint8``); the strength chart alone when not from checkpoints."""
    strength = similarity_chart(report, width_px=WIDTH_PX)
    verdict = report.checkpoints
    if verdict is None:
        return strength
    checkpoint_set = verdict.sweep.checkpoint_set
    stop = checkpoint_set.early_stop
    backend = verdict.sweep.curve.measured_by or "face backend unknown"
    by_step = likeness_chart(
        verdict.sweep.curve,
        [LossPoint(step, loss) for step, loss in checkpoint_set.losses],
        same_person=report.thresholds.same_person,
        target=report.thresholds.identity_target,
        plateau=verdict.plateau,
        stopped_at=stop.at_step if stop is not None else None,
        title=f"likeness by checkpoint ({verdict.sweep.source}, {backend})",
        width_px=WIDTH_PX,
        best_step=verdict.sweep.pick.best,
        recommended_step=verdict.recommended.step,
    )
    return np.vstack([strength, by_step])
