"""Out of GPU memory: run again on the next smaller VRAM tier, from the newest saved state.

A saved state holds only the LoRA weights, the optimizer, the scheduler and the RNG, none of which
depends on the base model's precision, checkpointing or block swap, so a run that ran out of
memory on one tier continues on the next smaller one at its last saved step (or from the start
when nothing was saved). The request, its key and its run folder stay the same; only the plan
changes. Each fallback is recorded in the published LoRA's metadata
(``identity_lora_oom_recoveries``, with ``identity_lora_vram_tier`` the tier that finished) and in
the summary. Off (``JobOptions.recover_from_oom``), the first out-of-memory error is raised as it is.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import OutOfMemoryError
from ..model import Engine, ProgressEvent, StopRequest, TrainingPlan, TrainingResult
from ..run_folder.resume import StartPoint, find_start
from .runner import run_training

RECOVERIES_METADATA = "identity_lora_oom_recoveries"
RECOVERY_PHASE = "oom_recovery"


@dataclass(frozen=True)
class Recovery:
    tier: str  # the tier that ran out of memory
    next_tier: str  # the tier the run continued on
    resumed_step: int | None  # the saved step it continued from (None: from the start)
    resumed_from: Path | None

    def sentence(self) -> str:
        where = (
            f"from the step-{self.resumed_step} state" if self.resumed_step is not None else "from the start"
        )
        return f"Out of GPU memory on tier {self.tier}: continued on tier {self.next_tier} {where}."

    def record(self) -> dict:
        return {"tier": self.tier, "next_tier": self.next_tier, "resumed_step": self.resumed_step}


@dataclass(frozen=True)
class RecoveredRun:
    result: TrainingResult
    plan: TrainingPlan  # the plan that finished
    recoveries: tuple[Recovery, ...] = ()


def train_with_recovery(
    plan: TrainingPlan,
    engine: Engine,
    replan: Callable[[str], TrainingPlan],
    start: StartPoint,
    on_event: Callable[[ProgressEvent], None],
    should_cancel: Callable[[], bool] | None = None,
    overwrite: bool = False,
    enabled: bool = True,
    should_stop: Callable[[], StopRequest | None] | None = None,
) -> RecoveredRun:
    """``run_training``; on an out-of-memory error, ``replan(smaller tier)`` and continue, down to the
    smallest tier. ``replan`` builds (and checks) the plan of the same request on that tier."""
    recoveries: list[Recovery] = []
    while True:
        try:
            result = run_training(
                plan,
                engine,
                on_event=on_event,
                should_cancel=should_cancel,
                overwrite=overwrite,
                start=start,
                should_stop=should_stop,
            )
            return RecoveredRun(result, plan, tuple(recoveries))
        except OutOfMemoryError as error:
            if not enabled or error.smaller_tier is None:
                raise
            failed = error.tier or plan.tier.name
            plan = _with_history(replan(error.smaller_tier), failed, recoveries)
            start = find_start(plan, None)
            state = start.state
            recovery = Recovery(
                tier=failed,
                next_tier=plan.tier.name,
                resumed_step=state.step if state is not None else None,
                resumed_from=state.path if state is not None else None,
            )
            recoveries.append(recovery)
            plan = _with_metadata(plan, recoveries)
            on_event(ProgressEvent(kind="log", phase=RECOVERY_PHASE, message=recovery.sentence()))


def _with_history(plan: TrainingPlan, failed_tier: str, earlier: list[Recovery]) -> TrainingPlan:
    """The fallback plan, its tier reason saying why it was chosen."""
    tiers = [r.tier for r in earlier] + [failed_tier]
    why = f"tier {plan.tier.name} after running out of GPU memory on {', then '.join(tiers)}"
    details = plan.tier.reason.split(";", 1)[1] if ";" in plan.tier.reason else ""
    tier = dataclasses.replace(plan.tier, reason=f"{why};{details}" if details else why)
    return dataclasses.replace(plan, tier=tier)


def _with_metadata(plan: TrainingPlan, recoveries: list[Recovery]) -> TrainingPlan:
    history = json.dumps([r.record() for r in recoveries])
    return dataclasses.replace(plan, metadata={**plan.metadata, RECOVERIES_METADATA: history})
