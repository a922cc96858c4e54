"""TEST DOUBLE of the Windows system calls, so ``platform_compat.WindowsPlatform`` runs on Linux.

Only the calls in ``platform_compat.Win32Calls`` are stood in for; everything above them (the
Windows platform's choices and every caller of ``platform_compat``) is the shipped code. Each
stand-in does what the Windows call does, with the nearest Linux means:

* ``CREATE_NEW_PROCESS_GROUP``: a new process group whose id is the child's pid (a new session);
* ``CTRL_BREAK_EVENT`` to a group: a signal every member gets and, unhandled, dies of (SIGTERM),
  and ``signal(SIGBREAK, handler)`` handles that signal;
* ``taskkill /F [/T]``: SIGKILL to the process [and every process below it by parent links,
  whatever their group];
* the Toolhelp32 snapshot and ``OpenProcess``/``GetExitCodeProcess``: /proc, read here directly;
* ``msvcrt.locking`` of one byte past the record: an exclusive non-blocking flock (refused to
  a second handle of the same process too, as on Windows; the record stays readable).

``install(monkeypatch)`` also hides /proc from the bridge (Windows has none), so the code under
test lists processes only through ``platform_compat``, and runs the engine guard under the same
stand-in (``windows_guard.py``). ``install_here()`` does the same in a child process.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
from pathlib import Path
from typing import Any

import pytest

from sd_scripts_bridge.engine import platform_compat, process_tree
from sd_scripts_bridge.engine import process as engine_process

REAL_PROC = Path("/proc")
NO_PROC = Path("/nonexistent-proc-on-windows")
GUARD_WRAPPER = Path(__file__).with_name("windows_guard.py")
CTRL_BREAK_STAND_IN = signal.SIGTERM
# A test marked so runs as [posix] and as [windows] (conftest.py's ``platform_name`` fixture).
ON_BOTH_PLATFORMS = pytest.mark.parametrize("platform_name", ["posix", "windows"], indirect=True)


class EmulatedWin32:
    """``platform_compat.Win32Calls`` on Linux (see the module docstring)."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []  # what was asked of "Windows", for assertions

    def group_popen_options(self) -> dict[str, Any]:
        self.calls.append(("CREATE_NEW_PROCESS_GROUP",))
        return {"start_new_session": True}

    def send_ctrl_break(self, group_pid: int) -> None:
        self.calls.append(("CTRL_BREAK_EVENT", group_pid))
        try:
            os.killpg(group_pid, CTRL_BREAK_STAND_IN)
        except ProcessLookupError as error:
            raise OSError(f"no console process group {group_pid}") from error

    def on_ctrl_break(self, handler: Any) -> None:
        signal.signal(CTRL_BREAK_STAND_IN, handler)

    def taskkill(self, pid: int, tree: bool) -> None:
        self.calls.append(("taskkill", "/T" if tree else "", pid))
        below = _descendants(pid) if tree else []
        for target in [pid, *below]:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(target, signal.SIGKILL)

    def parent_links(self) -> dict[int, int]:
        return {pid: parent for pid, parent in _proc_parent_links().items()}

    def process_alive(self, pid: int) -> bool:
        return pid in _proc_parent_links()

    def lock_byte(self, fd: int, offset: int, lock: bool) -> None:
        self.calls.append(("msvcrt.locking", "LK_NBLCK" if lock else "LK_UNLCK", offset))
        os.lseek(fd, offset, os.SEEK_SET)  # as the real call does, so the caller must seek back
        fcntl.flock(fd, (fcntl.LOCK_EX | fcntl.LOCK_NB) if lock else fcntl.LOCK_UN)


def _proc_parent_links() -> dict[int, int]:
    """pid -> parent pid of every live (non-zombie) process, from the real /proc."""
    links = {}
    for entry in REAL_PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        if fields and fields[0] not in ("Z", "X"):
            links[int(entry.name)] = int(fields[1])
    return links


def _descendants(root: int) -> list[int]:
    links = _proc_parent_links()
    found, frontier = [], [root]
    while frontier:
        frontier = [pid for pid, parent in links.items() if parent in frontier]
        found += frontier
    return found


def install(monkeypatch: Any) -> EmulatedWin32:
    """Windows for the rest of the test: the platform, no /proc, the guard under the stand-in."""
    calls = EmulatedWin32()
    monkeypatch.setattr(platform_compat, "_current", platform_compat.WindowsPlatform(calls))
    monkeypatch.setattr(process_tree, "PROC", NO_PROC)
    monkeypatch.setattr(engine_process, "PROC", NO_PROC)
    monkeypatch.setattr(engine_process, "GUARD_SCRIPT", GUARD_WRAPPER)
    return calls


def install_here() -> EmulatedWin32:
    """The same in a child process, for good (its own interpreter ends with it)."""
    calls = EmulatedWin32()
    platform_compat.use(platform_compat.WindowsPlatform(calls))
    process_tree.PROC = NO_PROC
    engine_process.PROC = NO_PROC
    engine_process.GUARD_SCRIPT = GUARD_WRAPPER
    return calls
