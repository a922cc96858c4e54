"""A copy of this checkout as git sees it (tracked and untracked files, ignored ones left out): a
second clone for tests that need one (the demo's host set-up, the Registry archive)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def copy_checkout(destination: Path, source: Path = REPO_ROOT) -> Path:
    """Copy every file git would see in ``source`` (uncommitted changes included) to ``destination``."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=source,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        origin = source / name
        if origin.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, target)
    return destination
