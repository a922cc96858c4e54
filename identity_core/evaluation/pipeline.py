"""Score a sweep against a reference identity: the whole evaluation in one call."""

from __future__ import annotations

from collections.abc import Callable

from ..faces.model import FaceBackend
from .cells import CellScore, score_cell
from .errors import EvaluationError
from .measure import ImageMeasure, measure_image
from .model import Sweep
from .recommend import AnglePoint, Recommendation, recommend
from .reference import ReferenceIdentity
from .report import EvaluationReport, ImageScore
from .thresholds import Thresholds


class EvaluationCancelled(RuntimeError):
    """The user cancelled while images were being analysed."""


def evaluate_sweep(
    sweep: Sweep,
    reference: ReferenceIdentity,
    backend: FaceBackend,
    thresholds: Thresholds,
    backend_message: str = "",
    should_cancel: Callable[[], bool] | None = None,
    on_image: Callable[[int, int], None] | None = None,
) -> EvaluationReport:
    """Analyse every image once, summarise each (LoRA, prompt, strength) cell, recommend."""
    if not sweep.entries:
        raise EvaluationError(
            "The sweep has no images", "connect the StrengthSweep output or an image batch", "sweep"
        )
    measures: list[ImageMeasure] = []
    for index, entry in enumerate(sweep.entries):
        if should_cancel is not None and should_cancel():
            raise EvaluationCancelled("Scoring was cancelled")
        measures.append(measure_image(entry.image, backend, reference))
        if on_image is not None:
            on_image(index + 1, len(sweep.entries))
    images = [
        _image_score(i, entry, m, reference)
        for i, (entry, m) in enumerate(zip(sweep.entries, measures, strict=True))
    ]
    cells = _score_cells(sweep, measures, reference, thresholds)
    if sweep.plain_images:
        rec = Recommendation(0.0, "", False, "Plain images: scores only, no strength to recommend.")
    elif not any(image.face_found for image in images):
        rec = recommend(cells, thresholds)
        rec.summary = (
            f"No face was found in any of the {len(images)} generated images, so identity cannot be "
            "measured. Check the sweep grid: if the images show no person, the LoRA or the prompts are "
            "not producing one; very small images (under about 256 px) can also hide faces from the detector."
        )
    else:
        angle_points = [
            AnglePoint(m.yaw, m.similarity)
            for entry, m in zip(sweep.entries, measures, strict=True)
            if not entry.is_control and m.face_found and m.yaw is not None and m.similarity is not None
        ]
        rec = recommend(cells, thresholds, angle_points, reference.has_side_views())
    return EvaluationReport(
        backend_name=backend.name,
        backend_message=backend_message,
        thresholds=thresholds,
        reference_labels=list(reference.labels),
        reference_without_face=list(reference.without_face),
        images=images,
        cells=cells,
        recommendation=rec,
        settings=dict(sweep.settings),
        plain_images=sweep.plain_images,
    )


def _image_score(index, entry, measure: ImageMeasure, reference: ReferenceIdentity) -> ImageScore:
    best = measure.best_reference_index
    return ImageScore(
        index=index,
        lora_name=entry.lora_name,
        prompt_id=entry.prompt_id,
        strength=float(entry.strength),
        seed=int(entry.seed),
        is_control=entry.is_control,
        face_count=measure.face_count,
        similarity=measure.similarity,
        best_reference_similarity=measure.best_reference_similarity,
        best_reference=reference.labels[best] if best is not None else None,
        yaw=measure.yaw,
    )


def _score_cells(
    sweep: Sweep, measures: list[ImageMeasure], reference: ReferenceIdentity, thresholds: Thresholds
) -> list[CellScore]:
    groups: dict[tuple[str, str, float, bool], list[int]] = {}
    for index, entry in enumerate(sweep.entries):
        key = (entry.lora_name, entry.prompt_id, float(entry.strength), entry.is_control)
        groups.setdefault(key, []).append(index)
    return [
        score_cell(
            key,
            [sweep.entries[i].seed for i in indices],
            [measures[i] for i in indices],
            reference.labels,
            thresholds,
        )
        for key, indices in groups.items()
    ]
