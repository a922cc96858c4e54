"""What a finished training job says: the summary a person reads and ``training_report.json``."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..model import TrainingPlan, TrainingResult
from .disk_use import disk_record, disk_sentence
from .early_stop import stop_sentence
from .progress_text import format_duration

REPORT_FILE = "training_report.json"
ALLOW_UNPINNED_NOTE = "Engine not checked against the pinned commit (unpinned engines are untested)."


def summary_text(
    plan: TrainingPlan,
    result: TrainingResult,
    wall_seconds: float,
    sec_per_step: float | None,
    before_training: str = "",
    notes: Sequence[str] = (),
) -> str:
    """Lines a person reads after a run: what was trained, how, how fast, and every warning.

    No absolute paths: on a shared server this text reaches every client (the CLI prints the run
    folder and report paths itself)."""
    loss = f"{result.final_loss:.4f}" if result.final_loss is not None else "n/a"
    lines = [
        f"Trained {result.lora_path.name} ({plan.request.profile} profile, {result.steps} steps, "
        f"final loss {loss}) in {format_duration(wall_seconds)}.",
        f"Text encoder: {plan.settings.get('text_encoder')}. Tier {plan.tier.name}: {plan.tier.reason}",
    ]
    if before_training:
        lines.append(f"Before training: {before_training}.")
    lines += list(notes)
    if sec_per_step is not None:
        lines.append(f"Speed: {sec_per_step:.2f} s/step (engine's average over the run).")
    if result.engine_peak_ram_bytes:
        lines.append(f"Engine peak RAM: {result.engine_peak_ram_bytes / 1e9:.1f} GB (measured, PSS).")
    if result.resumed_at is not None:
        lines.append(f"Resumed at step {result.resumed_at}.")
    if result.stopped_early is not None:
        lines.append(stop_sentence(result.stopped_early, published_checkpoint(result), plan.total_steps))
    if result.disk is not None:
        lines.append(disk_sentence(result.disk))
    if plan.request.allow_unpinned_engine:
        lines.append(ALLOW_UNPINNED_NOTE)
    if plan.request.validation_split and not plan.request.save_every_n_steps:
        lines.append("Validation split set but no checkpoint interval: no validation loss was measured.")
    lines += [f"Warning: {warning}" for warning in plan.warnings]
    return "\n".join(lines)


def reused_summary(lora_path: Path, key: str, earlier_report: Mapping[str, Any]) -> str:
    text = (
        f"Reused {lora_path.name}: it was trained from these exact inputs (key {key[:12]}); nothing was "
        "trained again. Change an input or delete the file to train anew."
    )
    earlier = earlier_report.get("summary")
    return f"{text}\n{earlier}" if isinstance(earlier, str) and earlier else text


def report_record(
    plan: TrainingPlan, result: TrainingResult, key: str, summary: str, wall_seconds: float
) -> dict[str, Any]:
    return {
        "summary": summary,
        "request_key": key,
        "lora_path": str(result.lora_path),
        "steps": result.steps,
        "final_loss": result.final_loss,
        "wall_seconds": round(wall_seconds, 1),
        "resumed_at_step": result.resumed_at,
        "engine_peak_ram_bytes": result.engine_peak_ram_bytes,
        "log_path": str(result.log_path),
        "loss_csv": str(result.loss_csv),
        "validation_csv": str(result.validation_csv) if result.validation_csv else None,
        "checkpoints": [{"step": c.step, "path": str(c.path)} for c in result.checkpoints],
        "stopped_early": _stop_record(result),
        "disk": disk_record(result.disk) if result.disk is not None else None,
        "samples": [str(path) for path in result.samples],
        "metadata": result.metadata,
        "plan": plan.to_dict(),
    }


def published_checkpoint(result: TrainingResult) -> Path | None:
    """The step checkpoint an early-stopped run published (None: it published its final file)."""
    if result.stopped_early is None:
        return None
    kept = [c.path for c in result.checkpoints if c.step == result.stopped_early.keep_step]
    return kept[0] if kept else None


def _stop_record(result: TrainingResult) -> dict[str, Any] | None:
    stop = result.stopped_early
    if stop is None:
        return None
    checkpoint = published_checkpoint(result)
    return {
        "at_step": stop.at_step,
        "keep_step": stop.keep_step,
        "reason": stop.reason,
        "published_checkpoint": str(checkpoint) if checkpoint is not None else None,
    }


def write_report(run_dir: Path, record: Mapping[str, Any]) -> Path:
    path = run_dir / REPORT_FILE
    temporary = path.with_suffix(".json.partial")
    temporary.write_text(json.dumps(record, indent=2, default=str), encoding="utf-8")
    temporary.replace(path)
    return path


def read_report(run_dir: Path) -> dict[str, Any]:
    """The earlier run's report, or {} when it is missing or unreadable."""
    try:
        data = json.loads((run_dir / REPORT_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
