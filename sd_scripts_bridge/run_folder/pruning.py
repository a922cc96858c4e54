"""Keep the run folder's disk use bounded: one resume state, none once the LoRA is published.

A ``-state`` folder holds the LoRA weights and the optimizer state, several times a step
checkpoint's size, and only the newest one is ever resumed from. So while a run goes, every older
state is deleted as soon as a newer one is complete and recorded (over all phases, by global
step: phase 2's first state replaces phase 1's); after a run that finished and published, all of
them are deleted; after a cancel or an early stop the newest one stays, so the run can continue.
Step checkpoints (small LoRA files) are never deleted here.

Only folders the ledger recorded for this request are deleted, and only real folders directly in a
phase's output folder with a name the engine gives its states; links are never followed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from ..model import TrainingPlan
from .ledger import StateLedger
from .states import SavedState, belongs_to


def prune_older_states(plan: TrainingPlan, ledger: StateLedger) -> list[Path]:
    """Delete every recorded state but the newest; return the deleted folders."""
    recorded = [state for _, state in ledger.recorded_states(plan)]
    return _delete(recorded[:-1], plan, ledger)


def remove_all_states(plan: TrainingPlan, ledger: StateLedger) -> list[Path]:
    """Delete every recorded state (the run finished and its LoRA is published)."""
    return _delete([state for _, state in ledger.recorded_states(plan)], plan, ledger)


def _delete(states: list[SavedState], plan: TrainingPlan, ledger: StateLedger) -> list[Path]:
    deleted = []
    for state in states:
        if _ours_to_delete(state.path, plan):
            shutil.rmtree(state.path)  # a real folder; links inside are removed, never followed
            deleted.append(state.path)
    if deleted:
        ledger.forget([path.name for path in deleted])
    return deleted


def _ours_to_delete(path: Path, plan: TrainingPlan) -> bool:
    if path.is_symlink() or not path.is_dir():
        return False
    return any(
        path.parent == phase.output_dir
        and not phase.output_dir.is_symlink()
        and belongs_to(path, phase.output_name)
        for phase in plan.phases
    )
