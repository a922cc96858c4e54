"""The calls that differ between POSIX and Windows, in one place: process groups, stopping a
process tree, parent checks, file locks and where a virtual environment keeps its Python.

POSIX: a new session (``start_new_session``) makes the engine a process group; SIGTERM asks the
group to stop, SIGKILL ends it; ``fcntl.flock`` locks files; ``<venv>/bin/python``.
Windows: ``CREATE_NEW_PROCESS_GROUP`` makes the group; ``CTRL_BREAK_EVENT`` asks it to stop (the
console delivers it to every process of the group); ``taskkill /T /F`` ends the process tree;
``msvcrt.locking`` locks files; ``<venv>\\Scripts\\python.exe``. ``os.kill(pid, 0)``, the POSIX
liveness probe, would END the process on Windows, so liveness goes through this module too.

Callers use the module functions, which ask the platform chosen at import (``current()``). Tests
swap it (``use(...)``) for ``WindowsPlatform`` over stand-in Windows calls, so the Windows path of
every caller runs on Linux too. Standard library only: ``guard.py`` runs this module as a
sibling script.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

StopHandler = Callable[[int, Any], None]
_PR_SET_PDEATHSIG = 1  # linux/prctl.h
_STILL_ACTIVE = 259  # GetExitCodeProcess of a running process
LOCK_BYTE_OFFSET = 0x7FFF0000  # Windows: the byte a lock file's lock covers (past any record)


class PosixPlatform:
    """Linux and macOS."""

    name = "posix"

    def venv_python(self, venv_dir: Path) -> Path:
        return venv_dir / "bin" / "python"

    def new_group_options(self) -> dict[str, Any]:
        """Popen keyword arguments that make the child the leader of a new process group."""
        return {"start_new_session": True}

    def own_group(self) -> int:
        return os.getpgrp()

    def parent_links(self) -> dict[int, int]:
        """Linux reads /proc itself (process_tree.py); other POSIX systems list nothing."""
        return {}

    def request_stop(self, pid: int, group: bool = True) -> None:
        """Ask the process (or its whole group) to stop: SIGTERM."""
        self._send(pid, signal.SIGTERM, group)

    def kill(self, pid: int, group: bool = True) -> None:
        """End the process (or its whole group) now: SIGKILL."""
        self._send(pid, signal.SIGKILL, group)

    def group_alive(self, pgid: int) -> bool:
        """Whether any process of the group exists (a zombie leader counts until reaped)."""
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return False
        return True

    def process_alive(self, pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def parent_gone(self, parent_pid: int) -> bool:
        """The parent ended: this process was handed to init (or a subreaper)."""
        return os.getppid() != parent_pid

    def signal_when_parent_dies(self) -> None:
        """Linux: SIGTERM to this process the moment its parent dies (elsewhere polling covers it)."""
        if not sys.platform.startswith("linux"):
            return
        with contextlib.suppress(OSError, AttributeError):
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)

    def on_stop_request(self, handler: StopHandler) -> None:
        signal.signal(signal.SIGTERM, handler)

    def ignore_stop_requests(self) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)

    def try_lock(self, handle: IO[Any]) -> bool:
        import fcntl

        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False
        return True

    def unlock(self, handle: IO[Any]) -> None:
        import fcntl

        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    @staticmethod
    def _send(pid: int, signum: int, group: bool) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            (os.killpg if group else os.kill)(pid, signum)


class Win32Calls:
    """The Windows system calls the platform needs; only constructed on Windows (tests pass a
    stand-in with the same methods)."""

    def group_popen_options(self) -> dict[str, Any]:
        return {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}  # type: ignore[attr-defined]

    def parent_links(self) -> dict[int, int]:
        """pid -> parent pid of every process, from a Toolhelp32 snapshot."""
        import ctypes
        from ctypes import wintypes

        class Entry(ctypes.Structure):  # PROCESSENTRY32
            _fields_ = [
                *(("dwSize", wintypes.DWORD), ("cntUsage", wintypes.DWORD)),
                *(("th32ProcessID", wintypes.DWORD), ("th32DefaultHeapID", ctypes.c_size_t)),
                *(("th32ModuleID", wintypes.DWORD), ("cntThreads", wintypes.DWORD)),
                *(("th32ParentProcessID", wintypes.DWORD), ("pcPriClassBase", ctypes.c_long)),
                *(("dwFlags", wintypes.DWORD), ("szExeFile", ctypes.c_char * 260)),
            ]

        kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
        kernel32.CreateToolhelp32Snapshot.restype = wintypes.HANDLE
        snapshot = kernel32.CreateToolhelp32Snapshot(0x2, 0)  # TH32CS_SNAPPROCESS
        if snapshot in (None, ctypes.c_void_p(-1).value):
            return {}
        entry = Entry(dwSize=ctypes.sizeof(Entry))
        links: dict[int, int] = {}
        try:
            more = kernel32.Process32First(snapshot, ctypes.byref(entry))
            while more:
                links[int(entry.th32ProcessID)] = int(entry.th32ParentProcessID)
                more = kernel32.Process32Next(snapshot, ctypes.byref(entry))
        finally:
            kernel32.CloseHandle(snapshot)
        return links

    def send_ctrl_break(self, group_pid: int) -> None:
        os.kill(group_pid, signal.CTRL_BREAK_EVENT)  # type: ignore[attr-defined]

    def on_ctrl_break(self, handler: StopHandler | int) -> None:
        signal.signal(signal.SIGBREAK, handler)  # type: ignore[attr-defined]

    def taskkill(self, pid: int, tree: bool) -> None:
        argv = ["taskkill", *(["/T"] if tree else []), "/F", "/PID", str(pid)]
        subprocess.run(argv, capture_output=True, check=False)

    def process_alive(self, pid: int) -> bool:
        import ctypes

        kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return False
        try:
            code = ctypes.c_ulong()
            return bool(kernel32.GetExitCodeProcess(handle, ctypes.byref(code))) and (
                code.value == _STILL_ACTIVE
            )
        finally:
            kernel32.CloseHandle(handle)

    def lock_byte(self, fd: int, offset: int, lock: bool) -> None:
        """msvcrt's lock of one byte at ``offset``; OSError when another handle holds it."""
        import msvcrt

        os.lseek(fd, offset, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_NBLCK if lock else msvcrt.LK_UNLCK, 1)  # type: ignore[attr-defined]


class WindowsPlatform:
    """Windows: console process groups, ``taskkill`` for trees, ``msvcrt`` locks."""

    name = "windows"

    def __init__(self, calls: Any | None = None) -> None:
        self.calls = calls if calls is not None else Win32Calls()

    def venv_python(self, venv_dir: Path) -> Path:
        return venv_dir / "Scripts" / "python.exe"

    def new_group_options(self) -> dict[str, Any]:
        return self.calls.group_popen_options()

    def parent_links(self) -> dict[int, int]:
        return self.calls.parent_links()

    def own_group(self) -> int:
        return os.getpid()  # a CREATE_NEW_PROCESS_GROUP child's group id is its own pid

    def request_stop(self, pid: int, group: bool = True) -> None:
        """CTRL_BREAK_EVENT to the group; a single process outside a group can only be ended."""
        if not group:
            self.kill(pid, group=False)
            return
        try:
            self.calls.send_ctrl_break(pid)
        except OSError:  # no shared console (pythonw): nothing can ask, so end the tree
            self.kill(pid, group=True)

    def kill(self, pid: int, group: bool = True) -> None:
        """``taskkill /F``, with ``/T`` for the whole tree below ``pid``."""
        self.calls.taskkill(pid, tree=group)

    def group_alive(self, pgid: int) -> bool:
        return self.calls.process_alive(pgid)  # the leader (the guard) waits for its engine

    def process_alive(self, pid: int) -> bool:
        return self.calls.process_alive(pid)

    def parent_gone(self, parent_pid: int) -> bool:
        return not self.calls.process_alive(parent_pid)  # os.getppid() never changes on Windows

    def signal_when_parent_dies(self) -> None:
        """No such signal on Windows: the guard polls ``parent_gone``."""

    def on_stop_request(self, handler: StopHandler) -> None:
        self.calls.on_ctrl_break(handler)

    def ignore_stop_requests(self) -> None:
        self.calls.on_ctrl_break(signal.SIG_IGN)

    def try_lock(self, handle: IO[Any]) -> bool:
        """Locks one byte far past the end: Windows locks are mandatory, so a locked byte 0
        would hide the holder's record (which names the run) from the process refused."""
        handle.flush()
        try:
            self.calls.lock_byte(handle.fileno(), LOCK_BYTE_OFFSET, True)
        except OSError:
            return False
        finally:
            handle.seek(0)
        return True

    def unlock(self, handle: IO[Any]) -> None:
        handle.flush()
        self.calls.lock_byte(handle.fileno(), LOCK_BYTE_OFFSET, False)
        handle.seek(0)


Platform = PosixPlatform | WindowsPlatform
_current: Platform = WindowsPlatform() if os.name == "nt" else PosixPlatform()


def current() -> Platform:
    return _current


def use(platform: Platform) -> Platform:
    """Make ``platform`` the current one (tests); returns the one it replaces."""
    global _current
    previous, _current = _current, platform
    return previous


def venv_python(venv_dir: Path) -> Path:
    """The interpreter inside a virtual environment."""
    return _current.venv_python(Path(venv_dir))


def new_group_options() -> dict[str, Any]:
    return _current.new_group_options()


def own_group() -> int:
    return _current.own_group()


def parent_links() -> dict[int, int]:
    """pid -> parent pid where the system lists them without /proc (Windows); else empty."""
    return _current.parent_links()


def request_stop(pid: int, group: bool = True) -> None:
    _current.request_stop(pid, group)


def kill(pid: int, group: bool = True) -> None:
    _current.kill(pid, group)


def group_alive(pgid: int) -> bool:
    return _current.group_alive(pgid)


def process_alive(pid: int) -> bool:
    return _current.process_alive(pid)


def parent_gone(parent_pid: int) -> bool:
    return _current.parent_gone(parent_pid)


def signal_when_parent_dies() -> None:
    _current.signal_when_parent_dies()


def on_stop_request(handler: StopHandler) -> None:
    _current.on_stop_request(handler)


def ignore_stop_requests() -> None:
    _current.ignore_stop_requests()


def try_lock(handle: IO[Any]) -> bool:
    """An exclusive lock on the open file, without waiting; False when another holder has it.
    Released by the OS when the process dies."""
    return _current.try_lock(handle)


def unlock(handle: IO[Any]) -> None:
    _current.unlock(handle)
