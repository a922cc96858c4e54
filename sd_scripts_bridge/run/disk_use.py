"""How much disk a run folder uses, and on what: step checkpoints, resume states, sample images.

Sizes are the files' own (``lstat``): links are neither followed nor counted, so a link out of the
run folder cannot make it look larger than it is.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ..model import DiskUse, TrainingPlan
from ..run_folder.checkpoints import saved_checkpoints
from ..run_folder.states import STATE_SUFFIX, belongs_to
from .samples import sample_folders


def measure_disk(plan: TrainingPlan) -> DiskUse:
    states = [
        path
        for phase in plan.phases
        if phase.output_dir.is_dir()
        for path in phase.output_dir.glob(f"{phase.output_name}*{STATE_SUFFIX}")
        if belongs_to(path, phase.output_name) and not path.is_symlink()
    ]
    return DiskUse(
        total_bytes=tree_bytes(plan.run_dir),
        checkpoint_bytes=sum(_file_bytes(checkpoint.path) for checkpoint in saved_checkpoints(plan)),
        state_bytes=sum(tree_bytes(path) for path in set(states)),
        sample_bytes=sum(tree_bytes(folder) for folder in sample_folders(plan)),
    )


def disk_sentence(disk: DiskUse) -> str:
    return (
        f"Disk: the run folder uses {human_bytes(disk.total_bytes)} (step checkpoints "
        f"{human_bytes(disk.checkpoint_bytes)}, resume states {human_bytes(disk.state_bytes)}, "
        f"samples {human_bytes(disk.sample_bytes)})."
    )


def disk_record(disk: DiskUse) -> dict[str, int]:
    return {
        "total_bytes": disk.total_bytes,
        "checkpoint_bytes": disk.checkpoint_bytes,
        "state_bytes": disk.state_bytes,
        "sample_bytes": disk.sample_bytes,
    }


def human_bytes(count: int) -> str:
    """``812 KB``, ``41.3 MB``, ``1.27 GB`` (powers of 1000, as disk sizes are sold)."""
    if count >= 1e9:
        return f"{count / 1e9:.2f} GB"
    if count >= 1e6:
        return f"{count / 1e6:.1f} MB"
    return f"{max(count, 0) / 1e3:.0f} KB"


def tree_bytes(root: Path) -> int:
    """The bytes of the regular files under ``root`` (0 when it is missing or a link)."""
    if not root.is_dir() or root.is_symlink():
        return 0
    total = 0
    for folder, _dirs, files in os.walk(root):  # os.walk does not follow links to folders
        total += sum(_file_bytes(Path(folder) / name) for name in files)
    return total


def _file_bytes(path: Path) -> int:
    try:
        info = path.lstat()
    except OSError:
        return 0
    return info.st_size if stat.S_ISREG(info.st_mode) else 0
