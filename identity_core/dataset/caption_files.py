"""Write the staged captions back into the user's caption files, only when asked, safely.

- Only inside the folders the server lets captions be written: ComfyUI's input folder and the
  roots the owner marks writable (``writable_roots`` in the settings file). Anywhere else is refused.
- Only the files whose text changes are touched, and exactly those are backed up first (any
  case of ``.txt``) into a new folder under the backup root (the pack's private work folder).
  Backups are bounded: at most ``BACKUPS_PER_FOLDER`` per dataset folder and ``BACKUP_BYTES`` in
  all, the oldest removed first.
- A written caption is one line of at most ``WRITTEN_CAPTION_BYTES`` (UTF-8); a longer one, or a
  caption file larger than the pack reads, is listed as not written (it still trains as staged).
- Each file is written atomically: a temporary file in the same folder, flushed to disk, then
  renamed over the caption. A crash at any moment leaves every caption either old or new.
- A caption that is a symbolic link, or that would land outside the dataset folder, is never
  written through: it is listed as skipped.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..access.roots import is_inside
from ..errors import IdentityError
from ..input_limits import WRITTEN_CAPTION_BYTES
from .model import Dataset, DatasetItem
from .scan import MAX_CAPTION_BYTES

CAPTION_SUFFIX = ".txt"
TEMPORARY_MARK = ".identity-lora-"  # temporary files: .<name>.identity-lora-<random>.tmp


BACKUPS_PER_FOLDER = 10  # backups kept per dataset folder, newest first
BACKUP_BYTES = 64 * 1024 * 1024  # all caption backups together (a backup of 30 captions is a few KB)


class CaptionWriteRefused(IdentityError):
    pass


@dataclass
class CaptionWrite:
    backup_folder: Path | None = None  # <backup root>/<dataset folder>-<hash>/<time>
    written: list[Path] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)  # (file, why it was not written)
    removed_backups: int = 0  # older backups removed to stay within the bounds

    @property
    def backup_name(self) -> str:
        """The backup folder relative to the backup root (no server path)."""
        return (
            ""
            if self.backup_folder is None
            else f"{self.backup_folder.parent.name}/{self.backup_folder.name}"
        )


def write_caption_files(
    dataset: Dataset, backup_root: Path, writable_roots: Sequence[Path] | None = None
) -> CaptionWrite:
    """Back up, then atomically rewrite, every caption file whose staged text differs.

    ``writable_roots`` (None: not checked, for callers that are not a server): the dataset folder
    must lie inside one of them, else nothing is written.
    """
    if writable_roots is not None and not any(is_inside(dataset.folder, root) for root in writable_roots):
        raise CaptionWriteRefused(
            "Caption files are written back only inside ComfyUI's input folder or a root the server owner "
            "marks writable, and the dataset folder is in neither",
            "turn write_captions off (the captions are staged for training anyway), move the photos under "
            "ComfyUI's input folder, or ask the server owner to add the folder's root to 'writable_roots' "
            "in identity_lora_server.json",
            "write_captions",
        )
    outcome = CaptionWrite()
    changes = []
    for item in dataset.items:
        target = caption_file(item)
        wanted = (item.caption or "").encode("utf-8")
        problem = _refusal(target, dataset.folder) or _too_long(wanted) or _too_large(target)
        if problem:
            outcome.skipped.append((target, problem))
        elif not target.exists() or target.read_bytes() != wanted:
            changes.append((target, wanted))
    if not changes:
        return outcome
    outcome.backup_folder = _backup(dataset.folder, [target for target, _ in changes], Path(backup_root))
    outcome.removed_backups = prune_backups(Path(backup_root), outcome.backup_folder)
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


def _too_long(data: bytes) -> str:
    if len(data) > WRITTEN_CAPTION_BYTES or b"\n" in data or b"\r" in data:
        return (
            f"the caption is longer than {WRITTEN_CAPTION_BYTES} bytes or spans several lines, more than "
            "the pack writes into a caption file (it is still staged for training)"
        )
    return ""


def _too_large(target: Path) -> str:
    try:
        size = target.stat().st_size if target.is_file() else 0
    except OSError:
        return "it cannot be read"
    if size > MAX_CAPTION_BYTES:
        return f"the file is larger than {MAX_CAPTION_BYTES // 1024} KB, more than the pack reads or backs up"
    return ""


def _backup(folder: Path, targets: list[Path], backup_root: Path) -> Path:
    """A new backup folder ``<name>-<hash of the folder's path>/<time>-<ns>-<random>`` with the targets."""
    resolved = str(Path(folder).resolve())
    name = re.sub(r"[^A-Za-z0-9_-]", "_", Path(folder).name)[:60] or "dataset"
    digest = hashlib.sha256(resolved.encode("utf-8", "surrogateescape")).hexdigest()[:10]
    now = time.time_ns()
    stamp = f"{time.strftime('%Y%m%d-%H%M%S', time.localtime(now / 1e9))}-{now % 10**9:09d}"  # sorts by time
    backup = backup_root / f"{name}-{digest}" / f"{stamp}-{secrets.token_hex(3)}"
    backup.mkdir(parents=True, mode=0o700)
    for target in targets:
        if target.exists():
            shutil.copyfile(target, backup / target.name, follow_symlinks=False)
    return backup


def prune_backups(backup_root: Path, keep: Path) -> int:
    """Remove the oldest backups beyond ``BACKUPS_PER_FOLDER`` per dataset folder, then the oldest of
    all while they hold more than ``BACKUP_BYTES``; ``keep`` (the backup just made) always stays.
    Only the folders this module makes are looked at, and links are never followed."""
    backups = [
        (entry, sorted(_folders(entry), key=lambda path: path.name)) for entry in _folders(backup_root)
    ]
    removed = []
    for _, kept in backups:
        removed += [backup for backup in kept[:-BACKUPS_PER_FOLDER] if backup != keep]
    left = sorted(
        (backup for _, kept in backups for backup in kept if backup not in removed),
        key=lambda path: path.name,
    )
    total = sum(_size(backup) for backup in left)
    for backup in left:
        if total <= BACKUP_BYTES:
            break
        if backup != keep:
            total -= _size(backup)
            removed.append(backup)
    for backup in removed:
        shutil.rmtree(backup, ignore_errors=True)
    for folder, _ in backups:
        with contextlib.suppress(OSError):
            folder.rmdir()  # only when empty
    return len(removed)


def _folders(parent: Path) -> list[Path]:
    try:
        return [entry for entry in parent.iterdir() if entry.is_dir() and not entry.is_symlink()]
    except OSError:
        return []


def _size(folder: Path) -> int:
    return sum(
        entry.stat().st_size for entry in folder.iterdir() if entry.is_file() and not entry.is_symlink()
    )


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
