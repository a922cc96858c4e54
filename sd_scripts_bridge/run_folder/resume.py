"""Where a run starts in its folder: resume the saved state, or set an earlier run aside.

A run folder is named after the request key, so a folder that already holds saved states belongs
to an earlier call of the same request (a cancelled run, a crash). With ``resume`` the run
continues from the newest complete state; without it the folder is renamed (never deleted) and
the run starts from the first step.

Only states the runner recorded while the engine wrote them, for this request, count
(``ledger.py``); anything else in the folder is never resumed. A resumed run continues with
``--resume <state> --skip_until_initial_step`` and keeps its step numbering.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import BridgeError
from ..model import TrainingPlan
from .ledger import StateLedger
from .states import SavedState, belongs_to, newest_state, read_state, states_for


@dataclass(frozen=True)
class StartPoint:
    """Where a run begins: the first phase to launch and the state it resumes from (if any)."""

    phase_index: int
    state: SavedState | None = None


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


def find_start(plan: TrainingPlan, resume_from: Path | None) -> StartPoint:
    """The phase to launch first and the state to resume, from ``resume_from`` or the run folder."""
    ledger = StateLedger.for_plan(plan)
    if resume_from is not None:
        return _start_from(plan, Path(resume_from), ledger)
    for index in reversed(range(len(plan.phases))):
        phase = plan.phases[index]
        state = newest_state(phase.output_dir, phase.output_name, ledger.trusts)
        if state is not None:
            return _start_at(plan, index, state, ledger)
    return StartPoint(0, None)


def resumed_global_step(plan: TrainingPlan, start: StartPoint) -> int | None:
    """The global step a resumed run continues from (None: a fresh run)."""
    if start.state is None and start.phase_index == 0:
        return None
    steps_before = sum(phase.max_train_steps for phase in plan.phases[: start.phase_index])
    return steps_before + (start.state.step if start.state is not None else 0)


def newest_resumable_state(plan: TrainingPlan, ledger: StateLedger) -> Path | None:
    """The state a cancelled or failed run would resume from: the newest recorded one of the last
    phase that has one (None: nothing to resume)."""
    for phase in reversed(plan.phases):
        state = newest_state(phase.output_dir, phase.output_name, ledger.trusts)
        if state is not None:
            return state.path
    return None


def resume_arguments(state: SavedState) -> list[str]:
    """The engine options that continue a run from ``state`` at its step."""
    return ["--resume", str(state.path), "--skip_until_initial_step"]


def _start_from(plan: TrainingPlan, resume_from: Path, ledger: StateLedger) -> StartPoint:
    state = read_state(resume_from)
    if state is None:
        raise BridgeError(
            "The training state to resume from is missing or incomplete",
            "pick a '*-state' folder that holds train_state.json and random_states_0.pkl",
            resume_from,
        )
    for index, phase in enumerate(plan.phases):
        same_folder = resume_from.resolve().parent == phase.output_dir.resolve()
        if same_folder and belongs_to(resume_from, phase.output_name):
            if not ledger.trusts(state):
                raise BridgeError(
                    "The training state was not saved by this pack for this request (or changed since)",
                    "resume from a state this run saved, or start the run again",
                    resume_from,
                )
            return _start_at(plan, index, state, ledger)
    raise BridgeError(
        "The training state does not belong to this training plan",
        f"resume from a '{plan.phases[0].output_name}-*-state' folder of this run folder",
        resume_from,
    )


def _start_at(plan: TrainingPlan, index: int, state: SavedState, ledger: StateLedger) -> StartPoint:
    """Resume phase ``index`` from ``state``; a finished phase (state at its last step and a
    complete output file) hands over to the next phase. A run cut off while writing its final
    file resumes from its newest earlier state (or restarts that phase)."""
    phase = plan.phases[index]
    if state.step < phase.max_train_steps:
        return StartPoint(index, state)
    if ledger.trusts_output(phase.output_file):
        return StartPoint(index + 1, None)
    earlier = [
        s
        for s in states_for(phase.output_dir, phase.output_name, ledger.trusts)
        if s.step < phase.max_train_steps
    ]
    return StartPoint(index, earlier[-1] if earlier else None)
