"""Score a sweep against a reference identity: the whole evaluation in one call."""

from __future__ import annotations

from collections.abc import Callable

from ..concurrency import Cancelled, default_workers, ordered_map
from ..errors import short_module
from ..faces.model import FaceBackend
from .cells import CellKey, CellScore, score_cell
from .checkpoint_verdict import CheckpointVerdict, judge_checkpoints
from .dataset_evidence import DatasetEvidence
from .errors import EvaluationError
from .evidence import AnglePoint, SweepEvidence
from .measure import ImageMeasure, measure_image
from .model import Sweep
from .pose_likeness import likeness_by_pose
from .pose_probe import ROLE_POSE_PROBE
from .prompts import ROLE_IDENTITY
from .recommend import Recommendation, recommend
from .reference import ReferenceIdentity
from .report import EvaluationReport, ImageScore
from .thresholds import Thresholds

POSE_ROLES = (ROLE_IDENTITY, ROLE_POSE_PROBE)  # the prompts whose faces are the person, by pose


class EvaluationCancelled(RuntimeError):
    """The user cancelled while images were being analysed."""

    __module__ = short_module(__name__)  # no server path in /history's exception_type


def evaluate_sweep(
    sweep: Sweep,
    reference: ReferenceIdentity,
    backend: FaceBackend,
    thresholds: Thresholds,
    backend_message: str = "",
    should_cancel: Callable[[], bool] | None = None,
    on_image: Callable[[int, int], None] | None = None,
    dataset: DatasetEvidence | None = None,
) -> EvaluationReport:
    """Analyse every image once, summarise each (LoRA, prompt, strength) cell, recommend.

    ``dataset``: what DatasetCheck found about the reference photos (when they are the checked
    training set); its findings are named first in the diagnoses. A sweep over a run's
    checkpoints recommends one checkpoint and its strength (``checkpoint_verdict``).
    """
    if not sweep.entries:
        raise EvaluationError(
            "The sweep has no images", "connect the StrengthSweep output or an image batch", "sweep"
        )
    measures = measure_sweep(sweep, reference, backend, should_cancel, on_image)
    images = [
        _image_score(i, entry, m, reference)
        for i, (entry, m) in enumerate(zip(sweep.entries, measures, strict=True))
    ]
    cells = score_cells(sweep, measures, reference, thresholds)
    evidence = SweepEvidence(
        cells=cells,
        thresholds=thresholds,
        backend_name=backend.name,
        angle_points=_angle_points(sweep, measures),
        reference_has_side_views=reference.has_side_views(),
        reference_turned_similarity=reference.turned_similarity(thresholds.turned_yaw_degrees, backend.scale),
        reference_textures=reference.measured_textures(),
        training_runs={name: sweep.training_run(name) for name in sweep.lora_names()},
        dataset=dataset,
        settings=dict(sweep.settings),
    )
    verdict = judge_checkpoints(evidence, sweep.checkpoints) if sweep.checkpoints is not None else None
    return EvaluationReport(
        backend_name=backend.name,
        backend_message=backend_message,
        thresholds=thresholds,
        reference_labels=list(reference.labels),
        reference_without_face=list(reference.without_face),
        images=images,
        cells=cells,
        recommendation=_recommendation(sweep, images, evidence, verdict),
        settings=dict(sweep.settings),
        plain_images=sweep.plain_images,
        training_runs=[] if sweep.plain_images else list(evidence.training_runs.values()),
        dataset=dataset,
        reference_textures=evidence.reference_textures,
        identity_measured=evidence.identity_measured,
        checkpoints=verdict,
        pose_likeness=likeness_by_pose(
            [m for entry, m in zip(sweep.entries, measures, strict=True) if entry.role in POSE_ROLES],
            reference,
            backend.scale,
            thresholds.identity_target,
        ),
    )


def measure_sweep(
    sweep: Sweep,
    reference: ReferenceIdentity,
    backend: FaceBackend,
    should_cancel: Callable[[], bool] | None = None,
    on_image: Callable[[int, int], None] | None = None,
    workers: int | None = None,
) -> list[ImageMeasure]:
    """Measure every sweep image, in order, on ``workers`` threads (default: one per core, at most two).

    An image array shared by several entries (a sweep built from the same pictures, as the
    constructed sweeps of real photos are) is measured once."""
    unique = list({id(entry.image): entry.image for entry in sweep.entries}.values())
    measured: dict[int, ImageMeasure] = {}
    results = ordered_map(
        lambda image: measure_image(image, backend, reference),
        unique,
        workers or default_workers(),
        should_cancel,
        "Scoring",
    )
    try:
        for image, measure in zip(unique, results, strict=False):
            measured[id(image)] = measure
            if on_image is not None:
                on_image(len(measured), len(unique))
    except Cancelled as exc:
        raise EvaluationCancelled("Scoring was cancelled") from exc
    return [measured[id(entry.image)] for entry in sweep.entries]


def _recommendation(
    sweep: Sweep, images: list[ImageScore], evidence: SweepEvidence, verdict: CheckpointVerdict | None
) -> Recommendation:
    if sweep.plain_images:
        return Recommendation(0.0, "", False, "Plain images: scores only, no strength to recommend.")
    rec = verdict.recommended.recommendation if verdict is not None else recommend(evidence)
    if not any(image.face_found for image in images):
        rec.summary = (
            f"No face was found in any of the {len(images)} generated images, so identity cannot be "
            "measured. Check the sweep grid: if the images show no person, the LoRA or the prompts are "
            "not producing one; very small images (under about 256 px) can also hide faces from the detector."
        )
    elif not rec.passed and not evidence.identity_measured:
        rec.summary += (
            f" {evidence.backend_name} found a face in fewer than half of the seeds of every identity "
            "prompt, so the identity is not measured, not weak: check the grid by eye."
        )
    if verdict is not None:
        chosen = verdict.recommended
        rec.summary = f"Recommended checkpoint: step {chosen.step} ({chosen.file}). {rec.summary}"
    return rec


def _angle_points(sweep: Sweep, measures: list[ImageMeasure]) -> list[AnglePoint]:
    return [
        AnglePoint(m.yaw, m.similarity, entry.lora_name)
        for entry, m in zip(sweep.entries, measures, strict=True)
        if entry.role == "identity" and m.yaw is not None and m.judged_similarity is not None
    ]


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
        role=entry.role,
        skin_texture=measure.skin_texture,
    )


def score_cells(
    sweep: Sweep, measures: list[ImageMeasure], reference: ReferenceIdentity, thresholds: Thresholds
) -> list[CellScore]:
    """One score per (LoRA, prompt, strength), its seeds in generation order."""
    groups: dict[CellKey, list[int]] = {}
    for index, entry in enumerate(sweep.entries):
        key = CellKey(
            entry.lora_name, entry.prompt_id, float(entry.strength), entry.role, entry.beyond_design
        )
        groups.setdefault(key, []).append(index)
    return [
        score_cell(
            key,
            [sweep.entries[i].seed for i in indices],
            [measures[i] for i in indices],
            thresholds,
        )
        for key, indices in groups.items()
    ]
