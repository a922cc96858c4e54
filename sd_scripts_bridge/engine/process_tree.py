"""The processes below a process, read from ``/proc`` (Linux), for stopping and measuring them.

accelerate's ``--multi_gpu`` launcher runs torch.distributed.run, which starts every worker with
``start_new_session=True``: the workers leave the launcher's process group, so signalling that
group alone reaches only the launcher (which forwards SIGTERM and waits up to 30 s before
SIGKILL). ``descendants`` finds them by parent links instead, whatever group they are in.

Without ``/proc`` the parent links come from ``platform_compat`` (Windows: a Toolhelp32 snapshot);
on macOS they are empty and only the process group is signalled. Signals and liveness probes go
through ``platform_compat.py``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path

if __package__:
    from . import platform_compat
else:  # imported by guard.py run as a script: its folder is first on sys.path
    import platform_compat

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
    """pid -> parent pid of every live (non-zombie) process (Windows: from the system's list)."""
    if not PROC.is_dir():
        return platform_compat.parent_links()
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
    if PROC.is_dir():
        links = parent_links()
        return [pid for pid in pids if pid in links]
    return [pid for pid in pids if platform_compat.process_alive(pid)]


def stop_processes(pids: Iterable[int], grace_s: float, kill_wait_s: float) -> list[int]:
    """Ask each process to stop (SIGTERM), end what is left after ``grace_s`` (SIGKILL); return the
    pids still alive."""
    pids = alive(pids)
    for pid in pids:
        platform_compat.request_stop(pid, group=False)
    left = _wait_gone(pids, grace_s)
    for pid in left:
        platform_compat.kill(pid, group=False)
    return _wait_gone(left, kill_wait_s)


def _wait_gone(pids: list[int], seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    left = alive(pids)
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = alive(left)
    return left
