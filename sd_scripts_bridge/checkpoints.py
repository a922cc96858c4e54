"""The step checkpoints a plan's phases saved, numbered by global step over all phases.

sd-scripts saves ``<output_name>-step%08d.safetensors`` every ``--save_every_n_steps`` steps of a
phase (the step counts within that phase). Two-phase text-encoder training has two output names,
so phase 2's step N is global step ``phase 1 steps + N``. The folder is read, not the console, so
checkpoints saved by an earlier, cancelled call of the same run are listed too.
"""

from __future__ import annotations

import re
from pathlib import Path

from .model import Checkpoint, TrainingPlan

_STEP_SUFFIX = re.compile(r"-step(?P<step>\d{8})\.safetensors$")


def checkpoint_step(path: Path, output_name: str) -> int | None:
    """The phase step in a ``<output_name>-stepNNNNNNNN.safetensors`` name (None: another file)."""
    if not path.name.startswith(output_name + "-step"):
        return None
    match = _STEP_SUFFIX.search(path.name)
    if match is None or path.name[: match.start()] != output_name:
        return None
    return int(match.group("step"))


def saved_checkpoints(plan: TrainingPlan) -> tuple[Checkpoint, ...]:
    """Every step checkpoint of the plan on disk, oldest global step first."""
    found: list[Checkpoint] = []
    steps_before = 0
    for phase in plan.phases:
        if phase.output_dir.is_dir():
            for path in phase.output_dir.glob(f"{phase.output_name}-step*.safetensors"):
                step = checkpoint_step(path, phase.output_name)
                if step is not None and step <= phase.max_train_steps:
                    found.append(Checkpoint(steps_before + step, path))
        steps_before += phase.max_train_steps
    return tuple(sorted(found, key=lambda checkpoint: checkpoint.step))
