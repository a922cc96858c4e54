"""The LoRA files StrengthSweep's full pass samples, and how each was trained.

Either the files named by lora_name (or the connected lora_file) and extra_loras, from ComfyUI's
loras folders only; or, with a training run's checkpoints connected, the best checkpoint (and a
tie) after the coarse pass over them (``checkpoint_pass``), labelled ``step N``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .comfy_glue.lora_folders import lora_display_name, lora_full_path
from .comfy_glue.progress import progress_bar
from .face_reference import References
from .sweep_inputs import SweepInputs, check_sweep_size
from .sweep_sampling import LoraFile, SweepPlan

USE_LORA_FILE = "(use lora_file)"


@dataclass(frozen=True)
class SweptFiles:
    """The LoRA files of the full pass, the progress bar sized for them, and what the report says."""

    loras: tuple[LoraFile, ...]
    progress: Any  # ComfyUI's ProgressBar over every image the node samples
    title: str
    summary_lines: tuple[str, ...] = ()
    checkpoint_sweep: Any = None  # the coarse pass and the pick (CheckpointSweep), with checkpoints only
    run_metadata: dict[str, str] = field(default_factory=dict)  # the run's identity_lora_* keys

    @property
    def names(self) -> list[str]:
        return [lora.name for lora in self.loras]


def swept_files(inputs: SweepInputs, plan: SweepPlan, references: References) -> SweptFiles:
    if inputs.checkpoints is None:
        return _lora_files(inputs, plan)
    return _checkpoint_files(inputs, plan, references)


def training_runs(files: SweptFiles) -> dict:
    """LoRA name -> how the file was trained (``TrainingRun``), from its metadata and keys.

    A checkpoint lacks the identity_lora_* keys that publishing adds: the run's keys hold for every
    checkpoint of it; the file's own keys win.
    """
    return {lora.name: _training_run(lora, files.run_metadata) for lora in files.loras}


def _lora_files(inputs: SweepInputs, plan: SweepPlan) -> SweptFiles:
    """lora_name (or the connected lora_file) and extra_loras, from ComfyUI's loras folders."""
    from ..identity_core.evaluation.prompts import parse_name_list

    names = [_chosen_lora(inputs.lora_name, inputs.lora_file)]
    names += [name for name in parse_name_list(inputs.extra_loras) if name not in names]
    check_sweep_size(plan, len(names), inputs.probe_beyond)
    paths = [_resolve_lora(name) for name in names]
    # named as LoraLoader lists them: no server path in the sweep
    loras = tuple(LoraFile(lora_display_name(path), path) for path in paths)
    progress = progress_bar(len(loras) * plan.images_per_lora * plan.steps)
    return SweptFiles(loras, progress, title=", ".join(lora.name for lora in loras))


def _checkpoint_files(inputs: SweepInputs, plan: SweepPlan, references: References) -> SweptFiles:
    """The coarse pass over the run's checkpoints, then the best one (and a tie with
    ``sweep_tied_checkpoint``), labelled ``step N``."""
    from .checkpoint_pass import checkpoint_set_of, coarse_image_count, run_coarse_pass

    check_sweep_size(plan, 2 if inputs.sweep_tied_checkpoint else 1, inputs.probe_beyond)
    checkpoint_set = checkpoint_set_of(inputs.checkpoints)
    coarse = coarse_image_count(checkpoint_set, plan, references.dataset, inputs.face_backend)
    progress = progress_bar((coarse + plan.images_per_lora) * plan.steps)
    checkpoint_sweep = run_coarse_pass(
        checkpoint_set, plan, inputs.models, references, inputs.face_backend, progress
    )
    if not inputs.sweep_tied_checkpoint and checkpoint_sweep.pick.tie is not None:
        checkpoint_sweep = _without_tie(checkpoint_sweep)
    swept = checkpoint_sweep.swept
    extra = (len(swept) - 1) * plan.images_per_lora * plan.steps
    progress.update_absolute(progress.current, progress.total + extra)
    return SweptFiles(
        loras=tuple(LoraFile(file.label, str(file.path)) for file in swept),
        progress=progress,
        title=f"{checkpoint_set.run_name or 'run'}: {', '.join(file.label for file in swept)}",
        summary_lines=(
            *checkpoint_sweep.summary_lines(),
            "The checkpoints input decides the LoRA files: lora_name, lora_file and extra_loras are ignored.",
        ),
        checkpoint_sweep=checkpoint_sweep,
        run_metadata=_run_metadata(checkpoint_set),
    )


def _without_tie(checkpoint_sweep):
    """The tie stays in the report but is not swept: a second full sweep doubles the sweep's time."""
    pick = checkpoint_sweep.pick
    reason = f"{pick.reason}; step {pick.tie} is not swept (sweep_tied_checkpoint is off)"
    return dataclasses.replace(checkpoint_sweep, pick=dataclasses.replace(pick, tie=None, reason=reason))


def _run_metadata(checkpoint_set) -> dict[str, str]:
    """The published LoRA's identity_lora_* keys: how the run was trained, true for every checkpoint."""
    from ..sd_scripts_bridge.lora_file import read_metadata
    from ..sd_scripts_bridge.publish import OUR_PREFIX

    published = checkpoint_set.publish_to
    if published is None or not Path(published).is_file():
        return {}
    try:
        metadata = read_metadata(Path(published))
    except (OSError, ValueError):
        return {}
    return {key: value for key, value in metadata.items() if key.startswith(OUR_PREFIX)}


def _training_run(lora: LoraFile, run_metadata: dict[str, str]):
    """How the LoRA file was trained, from its metadata and whether it holds text-encoder keys."""
    from ..identity_core.evaluation import TrainingRun
    from ..sd_scripts_bridge.lora_file import inspect_lora

    report = inspect_lora(Path(lora.path), check_values=False)
    has_text_encoder = any(module.startswith(("lora_te", "text_encoder")) for module in report.modules)
    metadata = {**run_metadata, **report.metadata}
    return TrainingRun.from_file(lora.name, metadata, has_text_encoder if report.modules else None)


def _resolve_lora(name: str) -> str:
    from ..identity_core.evaluation import EvaluationError

    path = lora_full_path(name)
    if path is None:
        raise EvaluationError(
            f"The LoRA '{name}' is not in ComfyUI's loras folders",
            "pick a file from the list, or put the .safetensors file into models/loras (a LoRA is never "
            "loaded from elsewhere)",
            "lora_name",
        )
    return path


def _chosen_lora(lora_name: str, lora_file: str | None) -> str:
    """The connected lora_file wins; the placeholder choice without a connection is an error."""
    if lora_file and lora_file.strip():
        return lora_file.strip()
    if lora_name == USE_LORA_FILE:
        from ..identity_core.evaluation import EvaluationError

        raise EvaluationError(
            "lora_name is '(use lora_file)' but nothing is connected to lora_file",
            "pick a LoRA from models/loras in lora_name, or connect TrainIdentityLoRA's lora_path to "
            "lora_file",
            "lora_name",
        )
    return lora_name
