"""Likeness beside loss: the chart a person reads to pick a checkpoint.

Likeness per checkpoint (left axis, with the backend's same-person floor and likeness target as
lines), the training loss (right axis), the best checkpoint marked, the plateau where likeness
stopped improving while the loss fell, checkpoints whose samples copy, and the pose probe's verdict
per checkpoint. matplotlib's
Agg canvas is imported inside the function.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..evaluation.likeness_curve import LikenessCurve, Plateau
from .loss_chart import LossPoint


def likeness_chart(
    curve: LikenessCurve,
    losses: Sequence[LossPoint] = (),
    same_person: float | None = None,
    target: float | None = None,
    plateau: Plateau | None = None,
    stopped_at: int | None = None,
    title: str = "",
    width_px: int = 800,
    height_px: int = 420,
    best_step: int | None = None,
    recommended_step: int | None = None,
) -> np.ndarray:
    """An RGB ``uint8`` array (a labelled empty chart when nothing was measured yet).

    ``best_step`` marks a chosen best checkpoint (default: the highest likeness, ``curve.best()``);
    ``recommended_step`` marks the checkpoint ArcFaceScore recommends after the full sweep.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    dpi = 100
    figure = Figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi)
    canvas = FigureCanvasAgg(figure)
    axis = figure.subplots()
    measured = curve.measured()
    if measured:
        _likeness(axis, curve, same_person, target, best_step)
        _recommended(axis, curve, recommended_step)
    else:
        axis.text(0.5, 0.5, "no likeness measured yet", ha="center", va="center", transform=axis.transAxes)
    if losses:
        loss_axis = axis.twinx()
        loss_axis.plot([p.step for p in losses], [p.loss for p in losses], color="tab:blue", alpha=0.35)
        loss_axis.set_ylabel("training loss", color="tab:blue")
    if plateau is not None:
        axis.axvspan(
            plateau.began_at,
            plateau.seen_at,
            color="tab:orange",
            alpha=0.15,
            label="loss falls, likeness flat",
        )
    if stopped_at is not None:
        axis.axvline(
            stopped_at, color="tab:red", linestyle="--", linewidth=1, label=f"stopped at {stopped_at}"
        )
    axis.set_xlabel("step")
    axis.set_ylabel("likeness (cosine to the reference)")
    axis.grid(True, alpha=0.3)
    if measured or plateau is not None:
        axis.legend(fontsize=7, loc="lower right")
    if title:
        axis.set_title(title, fontsize=9)
    figure.tight_layout()
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[:, :, :3].copy()


def _likeness(
    axis, curve: LikenessCurve, same_person: float | None, target: float | None, best_step: int | None
) -> None:
    measured = curve.measured()
    steps, values = [p.step for p in measured], [p.likeness for p in measured]
    axis.plot(steps, values, color="tab:green", marker="o", label="likeness")
    best = curve.best() if best_step is None else next((p for p in measured if p.step == best_step), None)
    if best is not None:
        axis.scatter([best.step], [best.likeness], s=140, facecolors="none", edgecolors="black", zorder=3)
        axis.annotate(
            f"best {best.step}",
            (best.step, best.likeness),
            textcoords="offset points",
            xytext=(6, 8),
            fontsize=8,
        )
    for value, label, style in ((same_person, "same person", ":"), (target, "target", "--")):
        if value is not None:
            axis.axhline(value, color="gray", linestyle=style, linewidth=1, label=label)
    copies = [p for p in measured if p.copied]
    if copies:
        axis.scatter(
            [p.step for p in copies], [p.likeness for p in copies], marker="s", s=110, facecolors="none",
            edgecolors="tab:orange", zorder=4, label="samples copy (set aside)",
        )  # fmt: skip
    for point in curve.points:
        if point.pose_probe_followed is not None and point.likeness is not None:
            marker = "^" if point.pose_probe_followed else "x"
            axis.scatter([point.step], [point.likeness], marker=marker, color="tab:purple", zorder=4)


def _recommended(axis, curve: LikenessCurve, step: int | None) -> None:
    point = next((p for p in curve.measured() if p.step == step), None)
    if point is None:
        if step is not None:
            axis.axvline(step, color="tab:green", linestyle=":", linewidth=1.5, label=f"recommended {step}")
        return
    axis.scatter(
        [point.step], [point.likeness], marker="*", s=220, color="gold", edgecolors="black", zorder=5,
        label=f"recommended {point.step}",
    )  # fmt: skip
