"""Sample images the engine writes during a run (``--sample_prompts``), noticed as they appear.

The engine logs sampling only to its log file, so the runner looks into the phases' ``sample``
folders after each step and reports every new PNG once, oldest first.
"""

from __future__ import annotations

from pathlib import Path

from .model import TrainingPlan

SAMPLE_FOLDER = "sample"  # the engine's sample folder inside its output folder


def sample_folders(plan: TrainingPlan) -> list[Path]:
    return list(dict.fromkeys(phase.output_dir / SAMPLE_FOLDER for phase in plan.phases))


def sample_images(plan: TrainingPlan) -> list[Path]:
    """Every sample image of the plan's own sample folders, oldest first."""
    return images_in(sample_folders(plan))


def images_in(folders: list[Path]) -> list[Path]:
    """The PNG images directly inside ``folders``, oldest first."""
    found = [path for folder in folders if folder.is_dir() for path in folder.glob("*.png")]
    return sorted(found, key=_written_at)


class SampleWatcher:
    """Reports sample images that appeared since the watcher was made (or last asked)."""

    def __init__(self, plan: TrainingPlan) -> None:
        self.plan = plan
        self.seen = set(sample_images(plan))

    def new_samples(self) -> list[Path]:
        new = [path for path in sample_images(self.plan) if path not in self.seen]
        self.seen.update(new)
        return new


def _written_at(path: Path) -> tuple[int, str]:
    try:
        return path.stat().st_mtime_ns, path.name
    except OSError:
        return 0, path.name
