"""What the runner notices in the run folder while the engine writes it.

Each look records the states the engine completed and the step checkpoints it finished (in the
ledger, with digests), deletes the states a newer one replaced (``run_folder/pruning.py``), and turns
new sample images and finished checkpoints into progress events. A ``checkpoint`` event therefore
names a whole, recorded file at its exact global step: a listener may load it at once.

A checkpoint counts as finished when its file is a complete safetensors file and the engine is
past it: its step's state is recorded (the engine saves the checkpoint before the state), the
progress bar moved on, or the engine is gone. Sample images of a step come before its checkpoint
(the engine samples first), so their events are sent first.
"""

from __future__ import annotations

from ..lora_file import is_complete_file
from ..model import EARLIER_SAMPLE_PREFIX, Checkpoint, Phase, ProgressEvent, TrainingPlan
from ..run_folder.checkpoints import phase_checkpoints
from ..run_folder.ledger import StateLedger
from ..run_folder.pruning import prune_older_states
from ..run_folder.states import STATE_SUFFIX
from .progress import ProgressTracker
from .samples import SampleWatcher, earlier_samples, place_sample


class RunFolderWatch:
    def __init__(self, plan: TrainingPlan, ledger: StateLedger) -> None:
        self.plan = plan
        self.ledger = ledger
        self.samples = SampleWatcher(plan) if plan.sample_prompts_path is not None else None
        self.recorded: set[str] = set()  # checkpoints recorded by this call of the runner

    def earlier_sample_events(self, through_step: int) -> list[ProgressEvent]:
        """``sample`` events for the images an earlier call of the run wrote up to the resumed step,
        so a listener can rebuild what it had seen (messages start with ``EARLIER_SAMPLE_PREFIX``)."""
        if self.samples is None:
            return []
        return [
            ProgressEvent(
                kind="sample",
                phase=sample.phase,
                step=sample.step,
                total=self.plan.total_steps,
                path=sample.path,
                message=f"{EARLIER_SAMPLE_PREFIX} {sample.path.name}",
                sample_index=sample.index,
            )
            for sample in earlier_samples(self.plan, through_step)
        ]

    def look(self, phase: Phase, tracker: ProgressTracker, settled: bool = False) -> list[ProgressEvent]:
        """Record, prune and report what changed; ``settled``: the phase's engine is gone."""
        new_states = self.ledger.record_new(self.plan)
        finished = self._finished_checkpoints(phase, tracker, settled)
        for checkpoint in finished:
            self.ledger.record_checkpoint(checkpoint)
            self.recorded.add(checkpoint.path.name)
        if new_states:
            prune_older_states(self.plan, self.ledger)
        return [*self._sample_events(tracker), *(_checkpoint_event(c, tracker) for c in finished)]

    def newest_state_step(self) -> int | None:
        """The global step of the newest recorded state still on disk."""
        recorded = self.ledger.recorded_states(self.plan)
        return recorded[-1][0] if recorded else None

    def _finished_checkpoints(
        self, phase: Phase, tracker: ProgressTracker, settled: bool
    ) -> list[Checkpoint]:
        started_at = tracker.steps_before + tracker.initial_step  # earlier ones: an earlier call's
        finished = []
        for checkpoint in phase_checkpoints(phase, tracker.steps_before):
            if checkpoint.step <= started_at or checkpoint.path.name in self.recorded:
                continue
            state_name = checkpoint.path.name.removesuffix(".safetensors") + STATE_SUFFIX
            past = (
                checkpoint.step < tracker.global_step
                or (settled and checkpoint.step <= tracker.global_step)
                or state_name in self.ledger.entries
            )
            if past and is_complete_file(checkpoint.path):
                finished.append(checkpoint)
        return sorted(finished, key=lambda checkpoint: checkpoint.step)

    def _sample_events(self, tracker: ProgressTracker) -> list[ProgressEvent]:
        if self.samples is None:
            return []
        events = []
        for path in self.samples.new_samples():
            placed = place_sample(path, self.plan)
            events.append(
                ProgressEvent(
                    kind="sample",
                    phase=placed.phase if placed else tracker.phase,
                    step=placed.step if placed else tracker.global_step,
                    total=tracker.total,
                    path=path,
                    message=f"sample {path.name}",
                    sample_index=placed.index if placed else None,
                )
            )
        return events


def _checkpoint_event(checkpoint: Checkpoint, tracker: ProgressTracker) -> ProgressEvent:
    return ProgressEvent(
        kind="checkpoint",
        phase=tracker.phase,
        step=checkpoint.step,
        total=tracker.total,
        path=checkpoint.path,
        message=f"saved {checkpoint.path.name}",
    )
