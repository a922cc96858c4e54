"""The step checkpoints a plan's phases saved, numbered by global step over all phases.

sd-scripts saves ``<output_name>-step%08d.safetensors`` every ``--save_every_n_steps`` steps of a
phase (the step counts within that phase). Two-phase text-encoder training has two output names,
so phase 2's step N is global step ``phase 1 steps + N``. The folder is read, not the console, so
checkpoints saved by an earlier, cancelled call of the same run are listed too.

:func:`trusted_checkpoints` lists only the checkpoints the runner recorded in the run folder's
ledger as the engine finished them, whose files still hold the recorded bytes: a file put there or
replaced by anyone else is never offered as this pack's checkpoint.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

from ..model import Checkpoint, Phase, TrainingPlan
from .ledger import CHECKPOINT_KIND, file_sha256, load_entries

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
        found += phase_checkpoints(phase, steps_before)
        steps_before += phase.max_train_steps
    return tuple(sorted(found, key=lambda checkpoint: checkpoint.step))


def phase_checkpoints(phase: Phase, steps_before: int) -> list[Checkpoint]:
    """One phase's step checkpoints on disk (global steps), in no particular order."""
    if not phase.output_dir.is_dir():
        return []
    found = []
    for path in phase.output_dir.glob(f"{phase.output_name}-step*.safetensors"):
        step = checkpoint_step(path, phase.output_name)
        if step is not None and step <= phase.max_train_steps and not path.is_symlink():
            found.append(Checkpoint(steps_before + step, path))
    return found


def trusted_checkpoints(run_dir: Path) -> tuple[Checkpoint, ...]:
    """The step checkpoints the ledger of ``run_dir`` recorded whose files still have the recorded
    sha256, oldest global step first (every file is read: a replaced file is refused)."""
    run_dir = Path(run_dir)
    found = []
    for name, step, entry in _recorded_checkpoints(run_dir):
        path = _file_inside(run_dir, entry.get("path"))
        if path is not None and path.name == name and entry.get("files") == {name: file_sha256(path)}:
            found.append(Checkpoint(step, path))
    return tuple(sorted(found, key=lambda checkpoint: checkpoint.step))


def has_recorded_checkpoints(run_dir: Path) -> bool:
    """Whether the ledger of ``run_dir`` records a step checkpoint (no file is read: for listing runs;
    :func:`trusted_checkpoints` checks the files when a run is used)."""
    return any(True for _ in _recorded_checkpoints(Path(run_dir)))


def _recorded_checkpoints(run_dir: Path):
    """(file name, global step, ledger entry) of each step checkpoint the ledger records."""
    for name, entry in load_entries(run_dir).items():
        step = entry.get("global_step")
        if entry.get("kind") == CHECKPOINT_KIND and isinstance(step, int) and _STEP_SUFFIX.search(name):
            yield name, step, entry


def _file_inside(run_dir: Path, relative: object) -> Path | None:
    """``run_dir / relative`` when that is a regular file reached without a link or a way out."""
    if not isinstance(relative, str):
        return None
    parts = PurePosixPath(relative).parts
    if not parts or PurePosixPath(relative).is_absolute() or ".." in parts:
        return None
    path = run_dir
    for part in parts:
        path = path / part
        if path.is_symlink():
            return None
    return path if path.is_file() else None
