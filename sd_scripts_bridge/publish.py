"""Publish a trained LoRA into the user's folder atomically, with our metadata added.

The file is written under a temporary name in the destination folder (same filesystem), fsynced,
then moved into place: ``os.link`` when overwriting is not allowed (it fails if the name exists,
so a file that appeared meanwhile is never replaced), ``os.replace`` when it is. A reader never
sees a half-written LoRA, and an existing file is never replaced without ``overwrite=True``.

After evaluation, ArcFaceScore publishes the recommended checkpoint of a run
(``publish_checkpoint``): over that run's published LoRA, the one file it may replace (moved aside
first), when the prompt trained the run itself; otherwise as a new file only.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from .errors import BridgeError, OutputExistsError
from .lora_file import read_metadata, same_tensors, write_with_metadata
from .model import PlanRequest
from .plan.request_key import REQUEST_KEY_METADATA, checkpoint_key

OUR_PREFIX = "identity_lora_"
CHECKPOINT_STEP_KEY = "identity_lora_checkpoint_step"
RECOMMENDED_STRENGTH_KEY = "identity_lora_recommended_strength"
REPLACED_SUBFOLDER = "replaced"  # beside a published LoRA: the files a recommendation replaced


def publish_destination(request: PlanRequest) -> Path:
    """``<publish_dir>/<output_name>.safetensors``; without a publish dir, the run folder."""
    folder = request.publish_dir or Path(request.run_dir).resolve()
    return Path(folder) / f"{request.output_name}.safetensors"


def merged_metadata(engine_metadata: dict[str, str], ours: dict[str, str]) -> dict[str, str]:
    """The engine's ``ss_*``/``modelspec.*`` keys plus ours; ours never replace an engine key."""
    merged = dict(engine_metadata)
    for key, value in ours.items():
        if key not in merged:
            merged[key] = str(value)
    return merged


def refuse_existing(destination: Path, overwrite: bool) -> None:
    """Raise before any work starts when publishing would have to replace a file."""
    if destination.exists() and not overwrite:
        raise OutputExistsError(destination)


def publish_lora(
    source: Path,
    destination: Path,
    metadata: dict[str, str],
    overwrite: bool = False,
    keep_source_metadata: bool = True,
) -> dict[str, str]:
    """Copy ``source`` to ``destination`` with ``metadata`` added; return the metadata written.

    ``keep_source_metadata`` False writes ``metadata`` as the whole metadata (the caller merged it).
    """
    refuse_existing(destination, overwrite)
    folder = destination.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise BridgeError(
            f"The LoRA output folder cannot be created ({error.strerror})",
            "choose a folder you can write to",
            folder,
        ) from error
    merged = merged_metadata(read_metadata(source), metadata) if keep_source_metadata else dict(metadata)
    temp_path = _write_temp_copy(source, folder, destination.name, merged)
    try:
        _move_into_place(temp_path, destination, overwrite)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp_path.unlink()
    _fsync_folder(folder)
    return merged


def checkpoint_metadata(
    source: Path, destination: Path, step: int, strength: float, run_keys: dict[str, str] | None = None
) -> dict[str, str]:
    """The checkpoint's engine keys (its own ``ss_steps``...), the run's ``identity_lora_*`` keys (how
    it was trained: ``run_keys``, else the published file's), and which step and strength were
    recommended. The request key records the checkpoint (``<key>:step<N>``), so the run's own
    re-queue can tell the file from the LoRA its training published."""
    if run_keys is None:
        run_keys = read_metadata(destination) if destination.is_file() else {}
    metadata = {k: v for k, v in read_metadata(source).items() if not k.startswith(OUR_PREFIX)}
    metadata.update({k: v for k, v in run_keys.items() if k.startswith(OUR_PREFIX)})
    metadata.update({CHECKPOINT_STEP_KEY: str(step), RECOMMENDED_STRENGTH_KEY: f"{strength:g}"})
    if metadata.get(REQUEST_KEY_METADATA):
        metadata[REQUEST_KEY_METADATA] = checkpoint_key(metadata[REQUEST_KEY_METADATA], step)
    return metadata


@dataclass(frozen=True)
class CheckpointPublished:
    changed: bool  # False: the file already held this checkpoint with this recommendation
    moved_aside: Path | None = None  # where the file it replaced went


def publish_checkpoint(
    source: Path,
    destination: Path,
    step: int,
    strength: float,
    run_keys: dict[str, str] | None = None,
    replace: bool = True,
) -> CheckpointPublished:
    """Publish the checkpoint ``source`` as the LoRA ``destination`` atomically.

    ``replace`` True: ``destination`` (the run's published LoRA) is replaced, and the file it held is
    first moved aside into ``replaced/`` beside it, never destroyed. ``replace`` False: a new file
    only; an existing ``destination`` that holds anything else raises ``OutputExistsError``.
    Nothing is written when ``destination`` already holds the checkpoint's tensors with exactly
    this metadata (the same recommendation again).
    """
    metadata = checkpoint_metadata(source, destination, step, strength, run_keys)
    holds_it = destination.is_file() and same_tensors(source, destination)
    if holds_it and (not replace or read_metadata(destination) == metadata):  # a new file is never rewritten
        return CheckpointPublished(False)
    refuse_existing(destination, replace)
    moved = move_aside(destination) if destination.is_file() else None
    publish_lora(source, destination, metadata, overwrite=replace, keep_source_metadata=False)
    return CheckpointPublished(True, moved)


def move_aside(path: Path) -> Path:
    """Keep ``path``'s file under ``replaced/<stem>-<time>-<random>.safetensors`` beside it (a hard
    link where the file system has them, else a copy), so replacing ``path`` destroys nothing."""
    folder = path.parent / REPLACED_SUBFOLDER
    folder.mkdir(exist_ok=True)
    kept = folder / f"{path.stem}-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}{path.suffix}"
    try:
        os.link(path, kept)
    except OSError:
        shutil.copy2(path, kept)
    return kept


def _write_temp_copy(source: Path, folder: Path, name: str, metadata: dict[str, str]) -> Path:
    temp_path = folder / f".{name}.{secrets.token_hex(6)}.partial"
    try:
        # os.open with 0o666 honours the umask (mkstemp would leave the published file 0600).
        handle = os.open(temp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        with os.fdopen(handle, "wb") as target:
            write_with_metadata(source, target, metadata)
            target.flush()
            os.fsync(target.fileno())
    except OSError as error:
        temp_path.unlink(missing_ok=True)
        raise BridgeError(
            f"Writing the LoRA failed ({error.strerror or error})",
            "free disk space or choose another output folder, then publish again",
            folder / name,
        ) from error
    return temp_path


def _move_into_place(temp_path: Path, destination: Path, overwrite: bool) -> None:
    if overwrite:
        os.replace(temp_path, destination)
        return
    try:
        os.link(temp_path, destination)
    except FileExistsError as error:
        raise OutputExistsError(destination) from error
    except OSError:
        # Filesystems without hard links: the check above is then the guard.
        refuse_existing(destination, overwrite)
        os.replace(temp_path, destination)


def _fsync_folder(folder: Path) -> None:
    """Make the rename durable (POSIX; silently skipped where folders cannot be opened)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
