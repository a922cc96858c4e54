"""The IDENTITY_CHECKPOINTS value: every LoRA checkpoint of one training run, with its step.

TrainIdentityLoRA passes it downstream (with the likeness curve it measured while training,
when previews were on); the checkpoint-folder loader makes it from an earlier run's files.
StrengthSweep and ArcFaceScore use it to pick (checkpoint, strength).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from .likeness_curve import LikenessCurve

_STEP_IN_NAME = re.compile(r"-step(\d{8})\.safetensors$")


@dataclass(frozen=True)
class CheckpointFile:
    step: int
    path: Path

    @property
    def label(self) -> str:
        return f"step {self.step}"


@dataclass(frozen=True)
class EarlyStop:
    """Training stopped at ``at_step`` because likeness saturated; ``kept_step`` was published."""

    at_step: int
    kept_step: int
    reason: str


@dataclass(frozen=True, repr=False)
class CheckpointSet:
    """Every checkpoint of one run. Only the pack makes this value (never from a workflow's text),
    so its paths are files the pack chose: the run's own checkpoints or LoRA files from ComfyUI's
    loras folders."""

    files: tuple[CheckpointFile, ...]  # oldest step first; the final LoRA is the last step
    run_name: str = ""
    lora_name: str = ""  # the published LoRA (LoraLoader's name), which the recommendation replaces
    publish_to: Path | None = None  # the published file the recommended checkpoint is copied to
    likeness: LikenessCurve | None = field(default=None, compare=False)  # measured while training
    losses: tuple[tuple[int, float], ...] = field(default=(), compare=False)  # (step, loss) of the run
    early_stop: EarlyStop | None = None
    # The prompt whose TrainIdentityLoRA made this value (None: loaded from disk). Only that prompt's
    # ArcFaceScore may publish over the run's LoRA; ComfyUI may hand a cached value to other prompts.
    trained_in_prompt: str | None = None
    request_key: str = ""  # the run's request key (sd_scripts_bridge.request_key), when known

    def __repr__(self) -> str:
        """Names and counts only (``Dataset.__repr__`` says why): the files lie in a private run folder."""
        steps = f"steps {self.files[0].step}..{self.files[-1].step}" if self.files else "no steps"
        likeness = "likeness from training" if self.likeness is not None else "no likeness"
        return f"CheckpointSet(run {self.run_name!r}, {len(self.files)} checkpoints, {steps}, {likeness})"

    def at(self, step: int) -> CheckpointFile | None:
        return next((f for f in self.files if f.step == step), None)

    @property
    def steps(self) -> list[int]:
        return [f.step for f in self.files]


def checkpoints_in_folder(folder: Path) -> CheckpointSet:
    """The LoRA files of a folder (an earlier run's checkpoints), oldest first.

    ``<name>-stepNNNNNNNN.safetensors`` carries its step in the name; any other LoRA file takes
    the step its metadata records (``ss_steps``, as the engine writes it), or comes last.
    """
    files, unnumbered = [], []
    for path in sorted(Path(folder).glob("*.safetensors")):
        if path.is_symlink():
            continue
        match = _STEP_IN_NAME.search(path.name)
        step = int(match.group(1)) if match else _steps_in_metadata(path)
        (files if step is not None else unnumbered).append((step, path))
    last = max((step for step, _ in files), default=0)
    files += [(last + index, path) for index, (_, path) in enumerate(unnumbered, start=1)]
    by_step = {step: CheckpointFile(step, path) for step, path in sorted(files, key=lambda item: item[0])}
    return CheckpointSet(tuple(by_step.values()), run_name=Path(folder).name)


def _steps_in_metadata(path: Path) -> int | None:
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="np") as handle:
            text = (handle.metadata() or {}).get("ss_steps", "")
    except (OSError, ValueError, RuntimeError):
        return None
    return int(text) if text.isdigit() else None
