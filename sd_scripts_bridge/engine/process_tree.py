"""The processes below a process, read from ``/proc`` (Linux), for stopping and measuring them.

accelerate's ``--multi_gpu`` launcher runs torch.distributed.run, which starts every worker with
``start_new_session=True``: the workers leave the launcher's process group, so signalling that
group alone reaches only the launcher (which forwards SIGTERM and waits up to 30 s before
SIGKILL). ``descendants`` finds them by parent links instead, whatever group they are in.

Without ``/proc`` (Windows, macOS) the lists are empty: Windows stops the tree with
``taskkill /T``, and on macOS only the process group is signalled.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterable
from pathlib import Path

PROC = Path("/proc")


def process_table() -> dict[int, tuple[int, int]]:
    """pid -> (parent pid, process group) of every live (non-zombie) process."""
    table: dict[int, tuple[int, int]] = {}
    if not PROC.is_dir():
        return table
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()  # state ppid pgrp ... after the command name
        if len(fields) >= 3 and fields[0] not in ("Z", "X"):
            table[int(entry.name)] = (int(fields[1]), int(fields[2]))
    return table


def parent_links() -> dict[int, int]:
    """pid -> parent pid of every live (non-zombie) process."""
    return {pid: parent for pid, (parent, _group) in process_table().items()}


def descendants(root: int) -> list[int]:
    """Every live process below ``root`` (children, grandchildren, ...), parents first."""
    children: dict[int, list[int]] = {}
    for pid, parent in parent_links().items():
        children.setdefault(parent, []).append(pid)
    found: list[int] = []
    frontier = [root]
    while frontier:
        below = [child for pid in frontier for child in children.get(pid, ())]
        found += below
        frontier = below
    return found


def alive(pids: Iterable[int]) -> list[int]:
    """The ones still running (a zombie counts as gone)."""
    links = parent_links() if PROC.is_dir() else None
    if links is not None:
        return [pid for pid in pids if pid in links]
    living = []
    for pid in pids:
        try:
            os.kill(pid, 0)
        except (ProcessLookupError, PermissionError):
            continue
        living.append(pid)
    return living


def stop_processes(pids: Iterable[int], grace_s: float, kill_wait_s: float) -> list[int]:
    """SIGTERM each process, SIGKILL what is left after ``grace_s``; return the pids still alive."""
    pids = alive(pids)
    for pid in pids:
        _signal(pid, signal.SIGTERM)
    left = _wait_gone(pids, grace_s)
    for pid in left:
        _signal(pid, signal.SIGKILL)
    return _wait_gone(left, kill_wait_s)


def _wait_gone(pids: list[int], seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    left = alive(pids)
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = alive(left)
    return left


def _signal(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signum)
