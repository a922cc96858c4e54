"""Where a run starts in its folder: resume the saved state, or set an earlier run aside.

A run folder is named after the request key, so a folder that already holds saved states belongs
to an earlier call of the same request (a cancelled run, a crash). With ``resume`` the run
continues from the newest complete state; without it the folder is renamed (never deleted) and
the run starts from the first step.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from ..model import TrainingPlan
from ..run.runner import StartPoint, find_start


@dataclass(frozen=True)
class RunStart:
    """Where the run begins, and the earlier run folder that was set aside (if any)."""

    start: StartPoint
    set_aside: Path | None = None

    @property
    def resumes(self) -> bool:
        return self.start.state is not None or self.start.phase_index > 0


def choose_start(plan: TrainingPlan, resume: bool, resume_from: Path | None = None) -> RunStart:
    """Resume ``resume_from`` or the newest saved state of the plan, or set the folder aside when
    ``resume`` is off."""
    if resume_from is not None:
        return RunStart(find_start(plan, resume_from))
    if not plan.run_dir.exists():
        return RunStart(StartPoint(0))
    start = RunStart(find_start(plan, None))
    if resume or not start.resumes:
        return start
    stamp = time.strftime("%Y%m%d-%H%M%S")
    aside = plan.run_dir.with_name(f"{plan.run_dir.name}.set-aside-{stamp}")
    plan.run_dir.rename(aside)
    return RunStart(StartPoint(0), set_aside=aside)
