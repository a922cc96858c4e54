"""The evaluation result: per-image scores, per-cell scores, the recommendation; as JSON and text."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .cells import CellScore
from .checkpoint_verdict import CheckpointVerdict
from .dataset_evidence import DatasetEvidence
from .pose_likeness import PoseLikeness
from .recommend import Recommendation
from .thresholds import Thresholds
from .training_run import TrainingRun


@dataclass
class ImageScore:
    index: int
    lora_name: str
    prompt_id: str
    strength: float
    seed: int
    is_control: bool
    face_count: int
    similarity: float | None
    best_reference_similarity: float | None
    best_reference: str | None
    yaw: float | None
    role: str = ""
    skin_texture: float | None = None

    @property
    def face_found(self) -> bool:
        return self.similarity is not None


@dataclass
class EvaluationReport:
    backend_name: str
    backend_message: str
    thresholds: Thresholds
    reference_labels: list[str]
    reference_without_face: list[str]
    images: list[ImageScore]
    cells: list[CellScore]
    recommendation: Recommendation
    settings: dict[str, Any] = field(default_factory=dict)
    plain_images: bool = False
    training_runs: list[TrainingRun] = field(default_factory=list)
    dataset: DatasetEvidence | None = None
    reference_textures: list[float] = field(default_factory=list)
    identity_measured: bool = True  # some identity prompt had a judged face in half of its seeds
    checkpoints: CheckpointVerdict | None = None  # set when the sweep came from a run's checkpoints
    pose_likeness: list[PoseLikeness] = field(default_factory=list)

    def cell(self, lora_name: str, prompt_id: str, strength: float) -> CellScore | None:
        return next(
            (
                c
                for c in self.cells
                if c.lora_name == lora_name and c.prompt_id == prompt_id and abs(c.strength - strength) < 1e-6
            ),
            None,
        )

    def to_dict(self) -> dict[str, Any]:
        rec = self.recommendation
        return {
            "backend": {"name": self.backend_name, "message": self.backend_message},
            "thresholds": asdict(self.thresholds),
            "rules": self.thresholds.rules(),
            "reference": {
                "images_with_face": self.reference_labels,
                "without_face": self.reference_without_face,
                "skin_textures": self.reference_textures,
            },
            "dataset": None
            if self.dataset is None
            else {
                "verdict": self.dataset.verdict,
                "findings": [f.to_dict() for f in self.dataset.findings if f.severity != "pass"],
                "backend": self.dataset.backend,
            },
            "training_runs": [run.to_dict() for run in self.training_runs],
            "likeness_by_pose": [row.to_dict() for row in self.pose_likeness],
            "settings": self.settings,
            "recommendation": {
                "strength": rec.strength,
                "lora_name": rec.lora_name,
                "passed": rec.passed,
                "beyond_design": rec.beyond_design,
                "summary": rec.summary,
                "diagnoses": [d.to_dict() for d in rec.diagnoses],
                "notes": rec.notes,
            },
            **(self.checkpoints.to_dict() if self.checkpoints is not None else {}),
            "cells": [_cell_dict(c) for c in self.cells],
            "images": [asdict(image) for image in self.images],
        }

    def write_json(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2), encoding="utf-8")
        return path

    def to_text(self) -> str:
        faces = sum(1 for image in self.images if image.face_found)
        lines = [
            f"Face backend: {self.backend_name}",
            f"Reference: {len(self.reference_labels)} images with a face"
            + (f", {len(self.reference_without_face)} without" if self.reference_without_face else ""),
            _thresholds_line(self.thresholds, self.backend_name),
            f"Faces found in {faces} of {len(self.images)} images",
        ]
        if self.plain_images:
            lines += ["", "Plain images (no sweep): scores only, no strength to recommend."]
            lines += [f"  image {i.index}: {_image_text(i)}" for i in self.images]
            return "\n".join(lines)
        lines += self._context_lines()
        lines += ["", *self._recommendation_lines(), ""]
        if self.checkpoints is not None:
            lines += [*self.checkpoints.text_lines(), ""]
        if any(row.faces for row in self.pose_likeness):
            lines += ["Likeness by head pose (each against the reference photos of the same pose):"]
            lines += [f"  {row.text()}" for row in self.pose_likeness]
            lines += [""]
        lines += ["prompt [role] @ strength: mean ± sd | faces | diversity | skin texture | signals"]
        several = len({c.lora_name for c in self.cells}) > 1
        lowest = min(self.reference_textures) if self.reference_textures else None
        lines += [_cell_text(c, several, lowest) for c in self.cells]
        lines += ["", "Thresholds and their sources:"]
        lines += [f"  {source}" for source in self.thresholds.identity_sources]
        lines += [f"  {name}: {source}" for name, source in self.thresholds.sources.items()]
        return "\n".join(lines)

    def _context_lines(self) -> list[str]:
        lines = []
        dtype = self.settings.get("model_weight_dtype")
        if dtype:
            lines.append(f"Sampled with the connected MODEL: weights {dtype}")
        lines += [f"LoRA {run.lora_name}: {run.describe()}" for run in self.training_runs]
        if self.dataset is not None:
            lines.append(f"Reference dataset: {self.dataset.summary()}")
        return lines

    def _recommendation_lines(self) -> list[str]:
        rec = self.recommendation
        lines = [rec.summary]
        lines += [f"  Note: {note}" for note in rec.notes]
        lines += [f"  {diagnosis.to_text()}" for diagnosis in rec.diagnoses]
        return lines


def _thresholds_line(t: Thresholds, backend_name: str) -> str:
    return (
        f"Identity target {t.identity_target:.2f} (style floor {t.style_floor:.2f}, same person "
        f"{t.same_person:.2f} photo to photo; to the reference centroid: resembles {t.resembles:.3f}, bleed "
        f"{t.bleed:.3f}; copy: aligned faces match {t.copy_crop_match:.3f}; {t.model or backend_name})"
    )


def _image_text(image: ImageScore) -> str:
    if not image.face_found:
        return "no face"
    return f"similarity {image.similarity:.2f} (best single {image.best_reference_similarity:.2f})"


def _cell_text(c: CellScore, several: bool, lowest_texture: float | None) -> str:
    name = f"{c.lora_name}: " if several else ""
    mean = "no face" if c.similarity_mean is None else f"{c.similarity_mean:.2f}"
    sd = f" ± {c.similarity_sd:.2f}" if c.similarity_sd is not None else ""
    div = f"{c.diversity:.2f}" if c.diversity is not None else "-"
    skin = f"{c.skin_texture / lowest_texture:.2f}x" if c.skin_texture and lowest_texture else "-"
    signals = c.overfit_reasons() + (["LEAKAGE"] if c.leakage else [])
    if c.is_control:
        mark = "control"
    elif c.role == "style":
        mark = "style ok" if c.reaches_target else "style below floor"
    else:
        mark = "ok" if c.reaches_target else "below target"
    beyond = " (beyond the design sweep)" if c.beyond_design else ""
    return (
        f"  {name}{c.prompt_id} [{c.role}] @ {c.strength:g}{beyond}: {mean}{sd} | {c.face_rate:.0%} | "
        f"{div} | {skin} | " + ", ".join([mark, *signals])
    )


def _cell_dict(cell: CellScore) -> dict[str, Any]:
    data = asdict(cell)
    data["overfit_reasons"] = cell.overfit_reasons()
    return data
