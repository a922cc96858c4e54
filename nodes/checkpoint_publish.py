"""ArcFaceScore publishes the recommended checkpoint of a run as that run's LoRA.

The file written is the run's published LoRA (``CheckpointSet.publish_to``), the one file this
may replace, and only inside ComfyUI's loras folders; the copy is atomic and keeps the published
file's ``identity_lora_*`` keys, adding the checkpoint's step and the recommended strength
(``sd_scripts_bridge.publish.publish_checkpoint``). What happened is recorded on the report's
checkpoint verdict, by LoraLoader's name of the file (no server path).
"""

from __future__ import annotations

from pathlib import Path

from . import comfy_glue as glue


def publish_recommended(report) -> tuple[str, int]:
    """Publish the verdict's recommended checkpoint; (LoraLoader's name of the file that holds it, step)."""
    from ..identity_core.evaluation.checkpoint_verdict import PublishedCheckpoint

    verdict = report.checkpoints
    chosen = verdict.recommended
    checkpoint = verdict.sweep.checkpoint_set.at(chosen.step)
    destination = verdict.sweep.checkpoint_set.publish_to
    if destination is None:
        verdict.not_published = (
            "the checkpoint set names no published LoRA of the run; load the checkpoint file "
            f"{chosen.file} itself"
        )
        return _own_name(checkpoint.path), chosen.step
    if not glue.lies_in_lora_folders(str(destination)):
        verdict.not_published = (
            f"the run's LoRA {Path(destination).name} is not in ComfyUI's loras folders, and nothing is "
            f"written elsewhere; load the checkpoint file {chosen.file} itself"
        )
        return _own_name(checkpoint.path), chosen.step
    strength = float(report.recommendation.strength)
    changed = _publish(Path(checkpoint.path), Path(destination), chosen.step, strength)
    name = glue.lora_display_name(str(destination))
    verdict.published = PublishedCheckpoint(name, chosen.step, strength, changed)
    return name, chosen.step


def _publish(source: Path, destination: Path, step: int, strength: float) -> bool:
    from ..identity_core.evaluation import EvaluationError
    from ..sd_scripts_bridge.errors import BridgeError
    from ..sd_scripts_bridge.publish import publish_checkpoint

    try:
        return publish_checkpoint(source, destination, step, strength)
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
    return glue.lora_display_name(str(path)) if glue.lies_in_lora_folders(str(path)) else ""


def _reason(error: Exception, bridge_error: type) -> str:
    """The error in words without the file's server path."""
    if isinstance(error, bridge_error):
        return error.what
    if isinstance(error, OSError):
        return error.strerror or type(error).__name__
    return str(error)
