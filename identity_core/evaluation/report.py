"""The evaluation result: per-image scores, per-cell scores, the recommendation; as JSON and text."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .cells import CellScore
from .recommend import Recommendation
from .thresholds import Thresholds


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
            "reference": {
                "images_with_face": self.reference_labels,
                "without_face": self.reference_without_face,
            },
            "settings": self.settings,
            "recommendation": {
                "strength": rec.strength,
                "lora_name": rec.lora_name,
                "passed": rec.passed,
                "summary": rec.summary,
                "diagnoses": [
                    {"issue": d.mode.issue, "cause": d.mode.cause, "fix": d.mode.fix, "evidence": d.evidence}
                    for d in rec.diagnoses
                ],
                "notes": rec.notes,
            },
            "cells": [_cell_dict(c) for c in self.cells],
            "images": [asdict(image) for image in self.images],
        }

    def write_json(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2), encoding="utf-8")
        return path

    def to_text(self) -> str:
        rec = self.recommendation
        faces = sum(1 for image in self.images if image.face_found)
        lines = [
            f"Face backend: {self.backend_name}",
            f"Reference: {len(self.reference_labels)} images with a face"
            + (f", {len(self.reference_without_face)} without" if self.reference_without_face else ""),
            f"Identity target {self.thresholds.identity_target:.2f} "
            f"(same-person cosine of this backend: {self.thresholds.same_person:.2f})",
            f"Faces found in {faces} of {len(self.images)} images",
            "",
        ]
        if self.plain_images:
            lines.append("Plain images (no sweep): scores only, no strength to recommend.")
            lines += [
                f"  image {i.index}: "
                + (
                    f"similarity {i.similarity:.2f} (best single {i.best_reference_similarity:.2f})"
                    if i.face_found
                    else "no face"
                )
                for i in self.images
            ]
            return "\n".join(lines)
        lines.append(rec.summary)
        lines += [f"  Note: {note}" for note in rec.notes]
        for diagnosis in rec.diagnoses:
            lines.append(
                f"  {diagnosis.mode.issue} (cause: {diagnosis.mode.cause}) -> {diagnosis.mode.fix}. "
                f"{diagnosis.evidence}"
            )
        lines += ["", "prompt @ strength: mean ± sd | faces | diversity | signals"]
        several = len({c.lora_name for c in self.cells}) > 1
        for c in self.cells:
            name = f"{c.lora_name}: " if several else ""
            mean = "no face" if c.similarity_mean is None else f"{c.similarity_mean:.2f}"
            sd = f" ± {c.similarity_sd:.2f}" if c.similarity_sd is not None else ""
            div = f"{c.diversity:.2f}" if c.diversity is not None else "-"
            signals = c.overfit_reasons() + (["LEAKAGE"] if c.leakage else [])
            mark = "control" if c.is_control else ("ok" if c.reaches_target else "below target")
            lines.append(
                f"  {name}{c.prompt_id} @ {c.strength:g}: {mean}{sd} | {c.face_rate:.0%} | {div} | "
                + ", ".join([mark, *signals])
            )
        return "\n".join(lines)


def _cell_dict(cell: CellScore) -> dict[str, Any]:
    data = asdict(cell)
    data["overfit_reasons"] = cell.overfit_reasons()
    return data
