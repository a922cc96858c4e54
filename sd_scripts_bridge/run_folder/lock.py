"""One training run per run folder at a time, across processes and ComfyUI servers.

Two servers that share a work folder (or a node and the CLI) could otherwise start two engines in
one run folder, and each would resume, overwrite and publish the other's states. The lock is an
exclusive OS lock (flock; msvcrt on Windows: ``platform_compat.try_lock``) on ``<run folder>.lock``
beside the folder (so setting the folder aside keeps it), held for the whole job and released by
the OS if the process dies. The file also says who holds it, so the refusal can name the other run.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import IO

from ..engine import platform_compat
from ..errors import BridgeError

LOCK_SUFFIX = ".lock"


class RunFolderBusyError(BridgeError):
    def __init__(self, run_dir: Path, holder: str) -> None:
        super().__init__(
            what=f"Another training run is using this run folder ({holder})",
            fix="wait for that run to finish or cancel it, then queue again; the same inputs then resume it",
            path=run_dir,
        )


class RunLock:
    """``with RunLock(run_dir, "ComfyUI prompt 12"):`` holds the run folder or raises busy."""

    def __init__(self, run_dir: Path, holder: str = "") -> None:
        self.run_dir = Path(run_dir)
        self.path = self.run_dir.with_name(self.run_dir.name + LOCK_SUFFIX)
        self.holder = holder or f"{Path(sys.argv[0]).name or 'python'}"
        self._handle: IO[str] | None = None

    def __enter__(self) -> RunLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+", encoding="utf-8")
        if not platform_compat.try_lock(handle):
            holder = _read_holder(handle)
            handle.close()
            raise RunFolderBusyError(self.run_dir, _describe(holder))
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(self._record()))
        handle.flush()
        self._handle = handle
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._handle is not None:
            self._handle.seek(0)
            self._handle.truncate()
            platform_compat.unlock(self._handle)
            self._handle.close()
            self._handle = None

    def _record(self) -> dict[str, object]:
        return {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": time.strftime("%Y-%m-%d %H:%M:%S"),
            "holder": self.holder,
        }


def _read_holder(handle: IO[str]) -> str:
    """The holder's record; unreadable while locked on Windows, where the lock covers the record."""
    try:
        handle.seek(0)
        return handle.read().strip() or "holder unknown"
    except OSError:
        return "holder unknown"


def _describe(text: str) -> str:
    try:
        record = json.loads(text)
        return f"{record['holder']}, process {record['pid']} on {record['host']}, since {record['since']}"
    except (ValueError, KeyError, TypeError):
        return text[:200]
