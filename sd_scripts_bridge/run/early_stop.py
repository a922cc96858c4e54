"""A caller's clean early stop: when to stop the engine, and which checkpoint is published.

The caller (the node's likeness rule) returns a :class:`StopRequest` from ``should_stop``: the
global step at which its rule fired and the checkpoint it wants to keep. The runner lets the
engine go on until a complete, recorded state at or after both steps exists, so the run stays
resumable from there, stops it the way a cancel does, and publishes the kept step checkpoint with
the stop written into its metadata. A LoRA published that way is reused only by a caller that
stops early too (``JobOptions.early_stop``); anyone else continues the run to its end.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from ..errors import BridgeError
from ..model import Checkpoint, StopRequest
from ..publish import CHECKPOINT_STEP_KEY

STOPPED_EARLY_AT_METADATA = "identity_lora_stopped_early_at"
CHECKPOINT_STEP_METADATA = CHECKPOINT_STEP_KEY  # the checkpoint a published LoRA holds
STOP_REASON_METADATA = "identity_lora_stop_reason"


class EarlyStop:
    """Polls ``should_stop`` until it returns a request, then holds that first request."""

    def __init__(self, should_stop: Callable[[], StopRequest | None] | None) -> None:
        self.should_stop = should_stop
        self.request: StopRequest | None = None

    def poll(self) -> StopRequest | None:
        if self.request is None and self.should_stop is not None:
            self.request = self.should_stop()
        return self.request

    def due(self, newest_state_step: int | None) -> bool:
        """Whether a stop was asked for and a saved state at or after its steps exists."""
        request = self.poll()
        if request is None or newest_state_step is None:
            return False
        return newest_state_step >= max(request.at_step, request.keep_step)


def stop_metadata(request: StopRequest) -> dict[str, str]:
    return {
        STOPPED_EARLY_AT_METADATA: str(request.at_step),
        CHECKPOINT_STEP_METADATA: str(request.keep_step),
        STOP_REASON_METADATA: request.reason,
    }


def stop_from_metadata(metadata: Mapping[str, str]) -> StopRequest | None:
    """The stop a published LoRA records (None: it was trained to the end)."""
    at_step, keep_step = metadata.get(STOPPED_EARLY_AT_METADATA), metadata.get(CHECKPOINT_STEP_METADATA)
    if at_step is None or keep_step is None or not at_step.isdigit() or not keep_step.isdigit():
        return None
    return StopRequest(int(at_step), int(keep_step), metadata.get(STOP_REASON_METADATA, ""))


def stop_sentence(request: StopRequest, published: Path | None, total_steps: int) -> str:
    kept = f"the step-{request.keep_step} checkpoint" + (f" ({published.name})" if published else "")
    return (
        f"Stopped early at step {request.at_step} of {total_steps} ({request.reason}): published {kept}. "
        "The newest state is kept: train again with early stop off to continue to the end."
    )


def kept_checkpoint(checkpoints: tuple[Checkpoint, ...], request: StopRequest, run_dir: Path) -> Checkpoint:
    """The recorded checkpoint at ``keep_step``; a :class:`BridgeError` naming the saved steps if
    there is none."""
    for checkpoint in checkpoints:
        if checkpoint.step == request.keep_step:
            return checkpoint
    saved = ", ".join(str(checkpoint.step) for checkpoint in checkpoints) or "none"
    raise BridgeError(
        f"The run stopped early at step {request.at_step}, but no recorded step checkpoint exists at "
        f"step {request.keep_step} to publish (recorded checkpoint steps: {saved})",
        "keep one of the recorded checkpoint steps (a multiple of save_every_n_steps), or run again "
        "without stopping early: the run continues from its newest saved state",
        run_dir,
    )
