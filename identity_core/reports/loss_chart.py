"""The training loss curve as an image: the engine's running loss per step, validation loss on top.

Input is the run folder's ``loss.csv`` (``step,loss,sec_per_step,phase``: one row per optimizer
step, the engine's ``avr_loss``, written by the engine bridge) and, when a validation split was
used, ``validation.csv`` (``step,val_loss``). The files are read with the csv module here, so
this package never imports the bridge. Phase changes (two-phase text-encoder training) are
marked with a vertical line. matplotlib's Agg canvas is imported inside the function.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class LossPoint:
    step: int
    loss: float
    phase: str = ""


def read_loss_points(path: Path | str, loss_column: str = "loss") -> list[LossPoint]:
    """Rows of a loss CSV with a finite loss, in step order ([] when the file is missing)."""
    path = Path(path)
    if not path.is_file():
        return []
    points = []
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            try:
                step, loss = int(row["step"]), float(row[loss_column])
            except (KeyError, TypeError, ValueError):
                continue
            if math.isfinite(loss):
                points.append(LossPoint(step, loss, row.get("phase") or ""))
    return sorted(points, key=lambda point: point.step)


def read_validation_points(path: Path | str) -> list[LossPoint]:
    return read_loss_points(path, loss_column="val_loss")


def loss_chart(
    training: Sequence[LossPoint],
    validation: Sequence[LossPoint] = (),
    title: str = "",
    width_px: int = 800,
    height_px: int = 420,
) -> np.ndarray:
    """Render the curve as an RGB ``uint8`` array (a labelled empty chart when there is no data)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    dpi = 100
    figure = Figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi)
    canvas = FigureCanvasAgg(figure)
    axis = figure.subplots()
    if training:
        axis.plot(
            [p.step for p in training], [p.loss for p in training], color="tab:blue", label="training loss"
        )
        for step, phase in phase_starts(training)[1:]:
            axis.axvline(step, color="gray", linestyle=":", linewidth=1)
            axis.annotate(phase, (step, 1.0), xycoords=("data", "axes fraction"), fontsize=7, va="top")
    if validation:
        axis.plot(
            [p.step for p in validation],
            [p.loss for p in validation],
            color="tab:orange",
            marker="o",
            label="validation loss",
        )
    if not training and not validation:
        axis.text(0.5, 0.5, "no loss recorded", ha="center", va="center", transform=axis.transAxes)
    else:
        axis.legend(fontsize=8, loc="best")
    axis.set_xlabel("step")
    axis.set_ylabel("loss (engine running average)")
    axis.grid(True, alpha=0.3)
    if title:
        axis.set_title(title, fontsize=9)
    figure.tight_layout()
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[:, :, :3].copy()


def phase_starts(points: Sequence[LossPoint]) -> list[tuple[int, str]]:
    """(first step, phase name) of each phase, in order."""
    starts: list[tuple[int, str]] = []
    for point in points:
        if not starts or starts[-1][1] != point.phase:
            starts.append((point.step, point.phase))
    return starts
