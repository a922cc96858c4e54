"""Folders a node may read photos from: ComfyUI's input folder and the roots the owner lists.

A folder input resolves (symbolic links followed) to a place inside one of the allowed roots, or
it is refused with an error that names the roots and how to add one. A relative path is taken
inside ComfyUI's input folder, where ComfyUI's own upload puts files.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..errors import IdentityError
from .settings import ALLOWED_ROOTS_ENV, SETTINGS_FILE, WORK_FOLDER_ENV


class OutsideAllowedRootsError(IdentityError):
    pass


def allowed_roots(input_dir: Path, extra_roots: Sequence[Path] = ()) -> tuple[Path, ...]:
    """ComfyUI's input folder first, then the owner's roots; each resolved, duplicates dropped."""
    roots = [Path(input_dir), *extra_roots]
    return tuple(dict.fromkeys(root.expanduser().resolve() for root in roots))


def is_inside(path: Path, root: Path) -> bool:
    path, root = Path(path).resolve(), Path(root).resolve()
    return path == root or root in path.parents


def confine_folder(text: str, roots: Sequence[Path], source: str = "folder") -> Path:
    """The folder ``text`` names, resolved and inside one of ``roots`` (the first is ComfyUI's
    input folder, where a relative path starts); else :class:`OutsideAllowedRootsError`."""
    if not text.strip():
        raise OutsideAllowedRootsError(
            "No folder was given", "enter the folder that holds the photos", source
        )
    if any(ord(character) < 32 or ord(character) == 0x7F for character in text):
        raise OutsideAllowedRootsError(
            "The folder contains control characters", "type the folder's path as plain text", source
        )
    raw = Path(text.strip()).expanduser()
    candidate = (raw if raw.is_absolute() else Path(roots[0]) / raw).resolve()
    if any(is_inside(candidate, root) for root in roots):
        return candidate
    raise OutsideAllowedRootsError(
        "The folder is outside the folders this server allows (ComfyUI's input folder and the roots "
        "the server owner lists; which roots those are is not shown to clients)",
        f"put the photos in a folder under ComfyUI's input folder, or ask the server owner to add its "
        f"root to {ALLOWED_ROOTS_ENV} or to 'allowed_roots' in {SETTINGS_FILE} beside the pack",
        source,
    )


class RootOverlapsWorkFolderError(IdentityError):
    pass


def refuse_roots_over(work: Path, roots: Sequence[Path]) -> None:
    """Refuse roots that contain the work folder or lie inside it: a folder input there would read
    staged photos, states and caption backups, and caption write-back would write into them."""
    for root in roots:
        if is_inside(work, root) or is_inside(root, work):
            raise RootOverlapsWorkFolderError(
                "An allowed root of this server overlaps the pack's private work folder (staged photos, "
                "resume states, caption backups), so no folder input is read until that is fixed",
                f"the server owner must remove that root from 'allowed_roots' / 'writable_roots' in "
                f"{SETTINGS_FILE} or {ALLOWED_ROOTS_ENV}, or move the work folder ({WORK_FOLDER_ENV})",
                "folder",
            )
