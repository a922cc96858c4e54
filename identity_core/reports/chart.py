"""Identity similarity against LoRA strength: one line per prompt, the target, leakage marked.

matplotlib (its Agg canvas, without pyplot) is imported inside the function:
importing this module stays cheap.
"""

from __future__ import annotations

import numpy as np

from ..evaluation.report import EvaluationReport

MAX_PANELS = 6


def similarity_chart(report: EvaluationReport, width_px: int = 900, height_px: int = 520) -> np.ndarray:
    """Render the chart as an RGB ``uint8`` array (one panel per LoRA checkpoint)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    loras = list(dict.fromkeys(c.lora_name for c in report.cells))[:MAX_PANELS]
    dpi = 100
    figure = Figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi)
    canvas = FigureCanvasAgg(figure)  # Agg directly: no pyplot, no global backend switch
    axes = figure.subplots(1, len(loras), squeeze=False, sharey=True)[0]
    target = report.thresholds.identity_target
    for axis, lora in zip(axes, loras, strict=False):
        _draw_panel(
            axis, [c for c in report.cells if c.lora_name == lora], target, report.thresholds.same_person
        )
        axis.set_title(lora or "sweep", fontsize=9)
    axes[0].set_ylabel(f"identity similarity ({report.backend_name})", fontsize=8)
    rec = report.recommendation
    if rec.passed:
        for axis, lora in zip(axes, loras, strict=False):
            if lora == rec.lora_name:
                axis.axvline(
                    rec.strength, color="tab:green", linestyle=":", label=f"recommended {rec.strength:g}"
                )
                axis.legend(fontsize=7, loc="best")
    figure.tight_layout()
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[:, :, :3].copy()


def _draw_panel(axis, cells, target: float, same_person: float) -> None:
    prompts = list(dict.fromkeys(c.prompt_id for c in cells))
    for prompt in prompts:
        series = sorted((c for c in cells if c.prompt_id == prompt), key=lambda c: c.strength)
        points = [
            (c.strength, c.similarity_mean, c.similarity_sd or 0.0)
            for c in series
            if c.similarity_mean is not None
        ]
        control = any(c.is_control for c in series)
        if points:
            xs, ys, sds = (np.array(v, dtype=float) for v in zip(*points, strict=True))
            axis.errorbar(
                xs,
                ys,
                yerr=sds,
                marker="o",
                capsize=3,
                linestyle="--" if control else "-",
                label=prompt + (" (control)" if control else ""),
            )
        leaks = [
            (c.strength, c.similarity_mean) for c in series if c.leakage and c.similarity_mean is not None
        ]
        overfit = [
            (c.strength, c.similarity_mean) for c in series if c.overfit and c.similarity_mean is not None
        ]
        if leaks:
            axis.scatter(
                *zip(*leaks, strict=True),
                marker="X",
                s=120,
                color="red",
                zorder=5,
                label="leakage (no token)",
            )
        if overfit:
            axis.scatter(
                *zip(*overfit, strict=True),
                marker="s",
                s=90,
                facecolors="none",
                edgecolors="orange",
                zorder=5,
                label="overfit signal",
            )
    axis.axhline(target, color="black", linestyle="-.", linewidth=1, label=f"target {target:.2f}")
    if abs(same_person - target) > 1e-6:
        axis.axhline(
            same_person, color="grey", linestyle=":", linewidth=1, label=f"same person {same_person:.2f}"
        )
    axis.set_xlabel("LoRA strength", fontsize=8)
    axis.grid(True, alpha=0.3)
    axis.legend(fontsize=7, loc="best")
