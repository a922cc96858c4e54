"""ArcFaceScore publishes the recommended checkpoint of a run, when asked, following ownership.

Nothing is written unless ArcFaceScore's ``publish`` input is on. Then:

- a checkpoint set that this prompt's own TrainIdentityLoRA produced (``trained_in_prompt`` is the
  running prompt) is published over the run's LoRA (``CheckpointSet.publish_to``): the one file
  this may replace, only inside ComfyUI's loras folders, after the file it held is moved aside;
- any other set (the checkpoint loader's, or a training output ComfyUI reused from an earlier
  prompt's cache) is published under a new name, ``identity/<run>-step<N>.safetensors``, create-only:
  nobody's file is replaced, the name says what the file holds, one file per checkpoint at most;
  a checkpoint that already lies in a loras folder is named as it is.

Why a new name rather than nothing: the evaluate workflow sweeps an earlier run's checkpoints,
which lie in the private work folder; without a copy its recommendation could not be loaded.

The copy is atomic and carries the run's ``identity_lora_*`` keys, the checkpoint's step and the
recommended strength, and a request key that records the step
(``sd_scripts_bridge.publish.publish_checkpoint``), so a re-queue of the run knows what the file
holds. What happened is recorded on the report's checkpoint verdict, by LoraLoader's name of the
file (no server path).
"""

from __future__ import annotations

import re
from pathlib import Path

from .comfy_glue.events import current_prompt
from .comfy_glue.lora_folders import lies_in_lora_folders, lora_display_name, lora_root
from .train_request import LORA_SUBFOLDER


def publish_recommended(report, publish: bool) -> tuple[str, int]:
    """Publish the verdict's recommended checkpoint when ``publish``; (LoraLoader's name of the file
    that holds it, or "" when none can be loaded, and its step)."""
    verdict = report.checkpoints
    chosen = verdict.recommended
    checkpoint_set = verdict.sweep.checkpoint_set
    checkpoint = checkpoint_set.at(chosen.step)
    own_name = _own_name(checkpoint.path)
    if not publish:
        verdict.not_published = (
            f"publish is off, so nothing was written; turn it on to publish step {chosen.step} "
            f"({chosen.file})" + (f", or load {own_name} itself" if own_name else "")
        )
        return own_name, chosen.step
    if _trained_here(checkpoint_set):
        return _publish_over_run(report, checkpoint, chosen)
    if own_name:
        verdict.not_published = (
            f"the checkpoint is already a LoRA file of the loras folders ({own_name}); nothing was copied"
        )
        return own_name, chosen.step
    return _publish_new(report, checkpoint, chosen)


def _trained_here(checkpoint_set) -> bool:
    """Whether the running prompt's own TrainIdentityLoRA made the set (not ComfyUI's cache of an
    earlier prompt, not the checkpoint loader)."""
    prompt_id, _client = current_prompt()
    return checkpoint_set.trained_in_prompt is not None and checkpoint_set.trained_in_prompt == prompt_id


def _publish_over_run(report, checkpoint, chosen) -> tuple[str, int]:
    from ..identity_core.evaluation.checkpoint_verdict import PublishedCheckpoint

    verdict = report.checkpoints
    destination = verdict.sweep.checkpoint_set.publish_to
    if destination is None or not lies_in_lora_folders(str(destination)):
        shown = Path(destination).name if destination is not None else "(none)"
        verdict.not_published = (
            f"the run's LoRA {shown} is not in ComfyUI's loras folders, and nothing is written elsewhere; "
            f"load the checkpoint file {chosen.file} itself"
        )
        return _own_name(checkpoint.path), chosen.step
    strength = float(report.recommendation.strength)
    done = _publish(Path(checkpoint.path), Path(destination), chosen.step, strength, None, True)
    name = lora_display_name(str(destination))
    moved = lora_display_name(str(done.moved_aside)) if done.moved_aside is not None else ""
    verdict.published = PublishedCheckpoint(name, chosen.step, strength, done.changed, moved)
    return name, chosen.step


def _publish_new(report, checkpoint, chosen) -> tuple[str, int]:
    """A new file ``identity/<run>-step<N>.safetensors``, never over an existing one."""
    from ..identity_core.evaluation.checkpoint_verdict import PublishedCheckpoint

    verdict = report.checkpoints
    checkpoint_set = verdict.sweep.checkpoint_set
    run = re.sub(r"[^A-Za-z0-9_-]", "_", checkpoint_set.run_name)[:80] or "run"
    destination = Path(lora_root()) / LORA_SUBFOLDER / f"{run}-step{chosen.step:08d}.safetensors"
    strength = float(report.recommendation.strength)
    done = _publish(
        Path(checkpoint.path), destination, chosen.step, strength, _run_keys(checkpoint_set), False
    )
    name = lora_display_name(str(destination))
    verdict.published = PublishedCheckpoint(name, chosen.step, strength, done.changed, new_file=True)
    return name, chosen.step


def _run_keys(checkpoint_set) -> dict[str, str]:
    """The run's identity_lora_* keys from its published LoRA, and its request key."""
    from ..sd_scripts_bridge.lora_file import read_metadata
    from ..sd_scripts_bridge.plan.request_key import REQUEST_KEY_METADATA

    keys: dict[str, str] = {}
    published = checkpoint_set.publish_to
    if published is not None and Path(published).is_file():
        try:
            keys = read_metadata(Path(published))
        except (OSError, ValueError):
            keys = {}
    if checkpoint_set.request_key:
        keys[REQUEST_KEY_METADATA] = checkpoint_set.request_key
    return keys


def _publish(source: Path, destination: Path, step: int, strength: float, run_keys, replace: bool):
    from ..identity_core.evaluation import EvaluationError
    from ..sd_scripts_bridge.errors import BridgeError, OutputExistsError
    from ..sd_scripts_bridge.publish import publish_checkpoint

    try:
        return publish_checkpoint(source, destination, step, strength, run_keys, replace)
    except OutputExistsError as error:
        raise EvaluationError(
            f"Publishing step {step} as {destination.name} failed: a different file has that name",
            "rename or remove that file in the loras folder, or turn publish off; the checkpoint stays in "
            "the run's folder",
            "publish",
        ) from error
    except (BridgeError, OSError, ValueError) as error:
        reason = _reason(error, BridgeError)
        raise EvaluationError(
            f"Publishing step {step} ({source.name}) as {destination.name} failed ({reason})",
            "check that the loras folder is writable and has free space, then queue ArcFaceScore again; the "
            "checkpoint stays in the run's folder",
            "sweep",
        ) from error


def _own_name(path) -> str:
    """The checkpoint's own LoraLoader name when it lies in a loras folder, else empty."""
    return lora_display_name(str(path)) if lies_in_lora_folders(str(path)) else ""


def _reason(error: Exception, bridge_error: type) -> str:
    """The error in words without the file's server path."""
    if isinstance(error, bridge_error):
        return error.what
    if isinstance(error, OSError):
        return error.strerror or type(error).__name__
    return str(error)
