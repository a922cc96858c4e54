"""Sample images the engine writes during a run (``--sample_prompts``), noticed as they appear.

The engine logs sampling only to its log file, so the runner looks into the phases' ``sample``
folders while it runs and reports every new PNG once. The file name says which checkpoint and
prompt an image belongs to: sd-scripts names it
``<output_name>_<phase step:06d>_<prompt index:02d>_<YYYYmmddHHMMSS>[_<seed>].png``, where the
index is the prompt's position in the prompt file and the step counts within the phase (two-phase
text-encoder training has two output names, so phase 2's step N is global step phase-1 steps + N).
At a step the engine samples first and saves the step's checkpoint after.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..model import TrainingPlan

SAMPLE_FOLDER = "sample"  # the engine's sample folder inside its output folder
_PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"
_AFTER_NAME = re.compile(r"_(?P<step>\d{6,})_(?P<index>\d{2,})_\d{14}(?:_-?\d+)?\.png$")


@dataclass(frozen=True)
class PlanSample:
    """A sample image placed in the plan: its phase, global step and prompt index."""

    path: Path
    phase: str
    step: int
    index: int


def sample_identity(path: Path, output_name: str) -> tuple[int, int] | None:
    """(phase step, prompt index) from an engine sample name of ``output_name`` (None: another
    name, e.g. an epoch sample ``..._e000001_...`` or another phase's output name)."""
    name = path.name
    if not name.startswith(output_name):
        return None
    match = _AFTER_NAME.fullmatch(name[len(output_name) :])
    if match is None:
        return None
    return int(match.group("step")), int(match.group("index"))


def place_sample(path: Path, plan: TrainingPlan) -> PlanSample | None:
    """The phase and global step of a sample of ``plan`` (None: its name does not parse)."""
    steps_before = 0
    for phase in plan.phases:
        identity = sample_identity(path, phase.output_name)
        if identity is not None and identity[0] <= phase.max_train_steps:
            return PlanSample(path, phase.name, steps_before + identity[0], identity[1])
        steps_before += phase.max_train_steps
    return None


def earlier_samples(plan: TrainingPlan, through_step: int) -> list[PlanSample]:
    """The plan's samples on disk up to global step ``through_step``, by step and prompt index."""
    placed = [place_sample(path, plan) for path in sample_images(plan) if is_complete_png(path)]
    kept = [sample for sample in placed if sample is not None and sample.step <= through_step]
    return sorted(kept, key=lambda sample: (sample.step, sample.index, sample.path.name))


def sample_folders(plan: TrainingPlan) -> list[Path]:
    return list(dict.fromkeys(phase.output_dir / SAMPLE_FOLDER for phase in plan.phases))


def sample_images(plan: TrainingPlan) -> list[Path]:
    """Every sample image of the plan's own sample folders, oldest first."""
    return images_in(sample_folders(plan))


def images_in(folders: list[Path]) -> list[Path]:
    """The PNG images directly inside ``folders``, oldest first."""
    return sorted(_pngs(folders), key=_written_at)


class SampleWatcher:
    """Reports sample images written completely since the watcher was made (or last asked).

    An image still being written (no PNG end chunk yet) waits for the next look, so a listener
    never opens half a file. A file written again under the same name (a resumed run sampling a
    step again within the same second) counts as new: it is known by name and modification time.
    """

    def __init__(self, plan: TrainingPlan) -> None:
        self.folders = sample_folders(plan)
        self.seen = {path: _written_at(path) for path in _pngs(self.folders)}

    def new_samples(self) -> list[Path]:
        current = {path: _written_at(path) for path in _pngs(self.folders)}
        new = [path for path, written in current.items() if self.seen.get(path) != written]
        new = [path for path in new if is_complete_png(path)]
        self.seen.update((path, current[path]) for path in new)
        return sorted(new, key=lambda path: current[path])


def is_complete_png(path: Path) -> bool:
    """Whether ``path`` ends with a PNG's IEND chunk (written last)."""
    try:
        with path.open("rb") as handle:
            handle.seek(-len(_PNG_END), 2)
            return handle.read() == _PNG_END
    except OSError:
        return False


def _pngs(folders: list[Path]) -> list[Path]:
    return [path for folder in folders if folder.is_dir() for path in folder.glob("*.png")]


def _written_at(path: Path) -> tuple[int, str]:
    try:
        return path.stat().st_mtime_ns, path.name
    except OSError:
        return 0, path.name
