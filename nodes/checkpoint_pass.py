"""StrengthSweep's pass over a training run's checkpoints: the coarse likeness, then the pick.

The value comes from TrainIdentityLoRA or the checkpoint loader (IDENTITY_CHECKPOINTS); anything
else, such as JSON an API client sent for the input, is refused. When training measured every
checkpoint's likeness from the engine's own samples, that curve is used as it is (nothing is
sampled twice); otherwise each checkpoint is sampled here at strength 1.0 on the identity prompts
with two seeds (and the pose probe when the dataset's poses are known) and scored against the
reference. The decisions live in ``identity_core.evaluation`` (coarse_likeness, checkpoint_pick,
checkpoint_sweep).
"""

from __future__ import annotations

from pathlib import Path

from .face_reference import References, load_face_backend
from .sweep_sampling import LoraFile, Models, SweepPlan, sample_lora

INPUT = "checkpoints"


def checkpoint_set_of(value):
    """The pack's own CheckpointSet with every file present; a clear error otherwise."""
    from ..identity_core.evaluation import EvaluationError
    from ..identity_core.evaluation.checkpoints import CheckpointSet

    if not isinstance(value, CheckpointSet):
        raise EvaluationError(
            f"The checkpoints input got a {type(value).__name__}, not a training run's checkpoints",
            "connect TrainIdentityLoRA's checkpoints output or the checkpoint loader's (a checkpoint set "
            "cannot be written as a value in the workflow or the API prompt)",
            INPUT,
        )
    if not value.files:
        raise EvaluationError(
            "The training run's checkpoint set holds no checkpoint file",
            "train with checkpoint_every above 0, or load a run that saved checkpoints",
            INPUT,
        )
    for file in value.files:
        if not Path(file.path).is_file():
            raise EvaluationError(
                f"The checkpoint of step {file.step} ({Path(file.path).name}) is missing",
                "load the run's checkpoints again (the file was moved or deleted), or train again",
                INPUT,
            )
    return value


def coarse_image_count(checkpoint_set, plan: SweepPlan, dataset, backend_name: str) -> int:
    """Images the coarse pass samples here (0 when training measured every checkpoint with this
    face backend)."""
    from ..identity_core.evaluation.checkpoint_sweep import training_curve
    from ..identity_core.evaluation.coarse_likeness import COARSE_SEEDS

    backend = load_face_backend(backend_name, "auto").backend
    if training_curve(checkpoint_set, backend.name) is not None:
        return 0
    per_checkpoint = len(_identity_specs(plan)) * COARSE_SEEDS + (1 if _pose_probe(dataset) else 0)
    return per_checkpoint * len(checkpoint_set.files)


def run_coarse_pass(
    checkpoint_set, plan: SweepPlan, models: Models, references: References, backend_name: str, progress
):
    """The coarse likeness of every checkpoint and the pick (``CheckpointSweep``)."""
    from ..identity_core.evaluation import Thresholds
    from ..identity_core.evaluation.checkpoint_pick import pick_checkpoints
    from ..identity_core.evaluation.checkpoint_sweep import (
        SOURCE_SWEEP,
        SOURCE_TRAINING,
        CheckpointSweep,
        attach_run_losses,
        training_curve,
    )

    backend = load_face_backend(backend_name, "auto").backend
    thresholds = Thresholds.from_scale(backend.scale)
    curve, source = training_curve(checkpoint_set, backend.name), SOURCE_TRAINING
    if curve is None:
        sampler = _CoarseSampler(plan, models, references.dataset, progress)
        curve, source = sampler.measure(checkpoint_set, backend, thresholds, references), SOURCE_SWEEP
    attach_run_losses(curve, checkpoint_set)
    pick = pick_checkpoints(curve, thresholds.checkpoint_margin, checkpoint_set.steps)
    return CheckpointSweep(checkpoint_set, curve, source, pick)


def _identity_specs(plan: SweepPlan) -> list:
    from ..identity_core.evaluation.prompts import ROLE_IDENTITY

    return [spec for spec in plan.specs if spec.role == ROLE_IDENTITY]


def _pose_probe(dataset):
    """The probe for the dataset's rarest pose, when DatasetCheck measured poses (else None)."""
    from ..identity_core.evaluation.pose_probe import probe_for_measured_poses

    notes = getattr(dataset, "extra", {}).get("image_notes") if dataset is not None else None
    return probe_for_measured_poses(notes)


class _CoarseSampler:
    """Samples each checkpoint at strength 1.0 (identity prompts x 2 seeds, the pose probe) and scores it."""

    def __init__(self, plan: SweepPlan, models: Models, dataset, progress):
        from ..identity_core.evaluation import EvaluationError
        from ..identity_core.evaluation.coarse_likeness import COARSE_SEEDS, COARSE_STRENGTH

        specs = _identity_specs(plan)
        if not specs:
            raise EvaluationError(
                "The prompts have no identity prompt to measure the checkpoints with",
                "add an identity prompt (e.g. 'portrait: a photo of {token} {class_word}')",
                "prompts",
            )
        seeds = [plan.seeds[0] + offset for offset in range(COARSE_SEEDS)]
        self.identity_plan = plan.narrowed(specs, [COARSE_STRENGTH], seeds)
        self.probe = _pose_probe(dataset)
        self.probe_plan = (
            plan.narrowed([self.probe.spec], [COARSE_STRENGTH], seeds[:1]) if self.probe else None
        )
        self.models, self.progress = models, progress

    def measure(self, checkpoint_set, backend, thresholds, references: References):
        """Every checkpoint's point on the coarse likeness curve."""
        from ..identity_core.evaluation import EvaluationError
        from ..identity_core.evaluation.coarse_likeness import CoarseLikeness

        if not references.photos():
            raise EvaluationError(
                "The checkpoints carry no likeness measured while training, and no reference is connected",
                "connect reference_dataset (DatasetCheck) or reference_images: each checkpoint is then "
                "sampled at strength 1.0 and scored against them",
                "reference_dataset / reference_images",
            )
        reference = references.identity(backend)
        coarse = CoarseLikeness(thresholds, backend.name)
        for file in checkpoint_set.files:
            self._measure_one(file, coarse, backend, reference)
        return coarse.curve

    def _measure_one(self, file, coarse, backend, reference) -> None:
        from ..identity_core.evaluation.measure import measure_image

        for entry in self._sample(self.identity_plan, file):
            coarse.add_identity(
                file.step, entry.prompt_id, entry.seed, measure_image(entry.image, backend, reference)
            )
        if self.probe_plan is not None:
            (entry,) = self._sample(self.probe_plan, file)
            coarse.add_pose_probe(file.step, self.probe, measure_image(entry.image, backend, reference))

    def _sample(self, plan: SweepPlan, file) -> list:
        return sample_lora(plan, self.models, LoraFile(file.label, str(file.path)), self.progress)
