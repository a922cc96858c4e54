"""Write the staged captions back into the user's caption files, only when asked, safely.

- Only the files whose text changes are touched, and exactly those are backed up first (any
  case of ``.txt``) into a new folder under the backup root (the pack's private work folder).
- Each file is written atomically: a temporary file in the same folder, flushed to disk, then
  renamed over the caption. A crash at any moment leaves every caption either old or new.
- A caption that is a symbolic link, or that would land outside the dataset folder, is never
  written through: it is listed as skipped.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from .model import Dataset, DatasetItem

CAPTION_SUFFIX = ".txt"
TEMPORARY_MARK = ".identity-lora-"  # temporary files: .<name>.identity-lora-<random>.tmp


@dataclass
class CaptionWrite:
    backup_folder: Path | None = None
    written: list[Path] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)  # (file, why it was not written)


def write_caption_files(dataset: Dataset, backup_root: Path) -> CaptionWrite:
    """Back up, then atomically rewrite, every caption file whose staged text differs."""
    outcome = CaptionWrite()
    changes = []
    for item in dataset.items:
        target = caption_file(item)
        problem = _refusal(target, dataset.folder)
        wanted = (item.caption or "").encode("utf-8")
        if problem:
            outcome.skipped.append((target, problem))
        elif not target.exists() or target.read_bytes() != wanted:
            changes.append((target, wanted))
    if not changes:
        return outcome
    outcome.backup_folder = _backup(dataset.folder, [target for target, _ in changes], Path(backup_root))
    for target, data in changes:
        write_atomically(target, data)
        outcome.written.append(target)
    return outcome


def caption_file(item: DatasetItem) -> Path:
    """The image's existing caption file (any case of .txt), else ``<stem>.txt`` beside it."""
    return item.caption_path or item.image_path.with_suffix(CAPTION_SUFFIX)


def write_atomically(target: Path, data: bytes) -> None:
    """Temporary file in the same folder, fsync, rename over ``target`` (never through a link)."""
    temporary = target.with_name(f".{target.name}{TEMPORARY_MARK}{secrets.token_hex(4)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    descriptor = os.open(temporary, flags, _mode_of(target))
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _sync_folder(target.parent)


def _refusal(target: Path, folder: Path) -> str:
    if target.is_symlink():
        return "it is a symbolic link (never written through)"
    if target.resolve().parent != Path(folder).resolve():
        return "it is not directly inside the dataset folder"
    if target.exists() and not target.is_file():
        return "it is not a regular file"
    return ""


def _backup(folder: Path, targets: list[Path], backup_root: Path) -> Path:
    name = re.sub(r"[^A-Za-z0-9_-]", "_", folder.name)[:60] or "dataset"
    backup = backup_root / f"{name}_captions_{time.strftime('%Y%m%d-%H%M%S')}_{secrets.token_hex(3)}"
    backup.mkdir(parents=True, mode=0o700)
    for target in targets:
        if target.exists():
            shutil.copyfile(target, backup / target.name, follow_symlinks=False)
    return backup


def _mode_of(path: Path) -> int:
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        return 0o644


def _sync_folder(folder: Path) -> None:
    """Make the rename durable (POSIX; skipped where folders cannot be opened)."""
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
