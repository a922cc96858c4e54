"""Everything the recommendation and the diagnoses read about one evaluated sweep."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .cells import CellScore
from .dataset_evidence import DatasetEvidence
from .thresholds import Thresholds
from .training_run import TrainingRun


@dataclass(frozen=True)
class AnglePoint:
    """One generated face with a known yaw (identity prompts only)."""

    yaw: float
    similarity: float
    lora_name: str = ""


@dataclass
class SweepEvidence:
    cells: list[CellScore]
    thresholds: Thresholds
    backend_name: str = ""
    angle_points: list[AnglePoint] = field(default_factory=list)
    reference_has_side_views: bool | None = None
    reference_turned_similarity: float | None = None  # real turned photos, leave-one-out
    reference_textures: list[float] = field(default_factory=list)  # the training photos' skin texture
    training_runs: dict[str, TrainingRun] = field(default_factory=dict)
    dataset: DatasetEvidence | None = None
    settings: dict[str, Any] = field(default_factory=dict)  # the sweep's sampling settings

    def run(self, lora_name: str) -> TrainingRun:
        return self.training_runs.get(lora_name) or TrainingRun.unknown(lora_name)

    def loras(self) -> list[str]:
        return list(dict.fromkeys(cell.lora_name for cell in self.cells))

    def settings_groups(self) -> dict[tuple[str, float], list[CellScore]]:
        groups: dict[tuple[str, float], list[CellScore]] = {}
        for cell in self.cells:
            groups.setdefault((cell.lora_name, cell.strength), []).append(cell)
        return groups

    def dataset_causes(self, mode) -> list[str]:
        return self.dataset.causes_for(mode) if self.dataset is not None else []

    def design_strengths(self) -> list[float]:
        return sorted({c.strength for c in self.cells if not c.beyond_design})

    @property
    def lowest_reference_texture(self) -> float | None:
        """The smoothest training photo's skin texture: real photos vary by camera, so a generated
        face is only called smooth against the lowest of them (``texture``)."""
        return min(self.reference_textures) if self.reference_textures else None

    @property
    def identity_measured(self) -> bool:
        """Whether some identity prompt had a judged face in at least half of its seeds."""
        return any(c.face_rate >= self.thresholds.min_face_rate for c in identity_cells(self.cells))


def identity_cells(cells: list[CellScore]) -> list[CellScore]:
    return [c for c in cells if c.judges_identity]


def identity_mean(cells: list[CellScore]) -> float | None:
    values = [c.similarity_mean for c in identity_cells(cells) if c.similarity_mean is not None]
    return float(np.mean(values)) if values else None


def identity_diversity(cells: list[CellScore]) -> float | None:
    """Median seed diversity over the identity prompts of one setting."""
    values = [c.diversity for c in identity_cells(cells) if c.diversity is not None]
    return float(np.median(values)) if values else None


def seeds_barely_differ(cells: list[CellScore], thresholds: Thresholds) -> float | None:
    """The setting's identity diversity when its seeds barely differ, else None.

    Whole pictures that hash alike are not enough: one studio's backdrop and framing hash alike
    for different photos of a person. The seeds barely differ when the pictures hash alike and
    their faces match like one session's shots too (or no face was found to tell), over at least
    ``min_seeds_for_spread`` seeds: two real photos of one studio session already read alike (the
    shared London set's neutral and smiling shots), so two seeds cannot tell chance from a LoRA
    that draws one picture.
    """
    if max((len(c.seeds) for c in identity_cells(cells)), default=0) < thresholds.min_seeds_for_spread:
        return None
    value = identity_diversity(cells)
    if value is None or value >= thresholds.min_diversity:
        return None
    alike = [c.faces_alike for c in identity_cells(cells) if c.faces_alike is not None]
    return value if not alike or any(alike) else None


def identity_texture(cells: list[CellScore]) -> float | None:
    values = [c.skin_texture for c in identity_cells(cells) if c.skin_texture is not None]
    return float(np.median(values)) if values else None
