"""Start the engine as a supervised subprocess in its own process group, and stop the whole tree.

``accelerate launch`` starts the training script as a child process, so stopping the launcher
alone would orphan the trainer: the process group is asked to stop instead (SIGTERM; Windows:
CTRL_BREAK_EVENT) and ended after a grace period (SIGKILL; Windows: ``taskkill /T /F``), through
``platform_compat.py``. The group's leader is
``guard.py``, which stops the group when this process ends without stopping it (ComfyUI
exits or crashes), so the engine never outlives it. stdout and stderr are read by two
threads with ``os.read`` (tqdm output has no newlines) into a queue, so the supervising loop
never blocks on the engine and can poll for cancellation.
"""

from __future__ import annotations

import codecs
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from . import platform_compat
from .process_tree import PROC, descendants, process_table, stop_processes

GUARD_SCRIPT = Path(__file__).with_name("guard.py")
TERMINATE_GRACE_S = 5.0
KILL_WAIT_S = 3.0
_READ_SIZE = 65536


class EngineProcess:
    """A running engine command whose output arrives as ``(stream_name, text)`` chunks."""

    def __init__(self, argv: Sequence[str], env: Mapping[str, str], cwd: Path) -> None:
        self.process = subprocess.Popen(
            guarded(argv),
            cwd=str(cwd),
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            bufsize=0,
            **platform_compat.new_group_options(),
        )
        self.pid = self.process.pid
        self._chunks: queue.Queue[tuple[str, str | None]] = queue.Queue()
        self._open_streams = 2
        for name, stream in (("stdout", self.process.stdout), ("stderr", self.process.stderr)):
            thread = threading.Thread(
                target=_pump, args=(name, stream, self._chunks), name=f"engine-{name}", daemon=True
            )
            thread.start()

    @property
    def output_closed(self) -> bool:
        return self._open_streams == 0

    def chunks(self, timeout: float) -> Iterator[tuple[str, str]]:
        """Output that arrived within ``timeout`` seconds (waits at most that long for the first)."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                if remaining > 0:
                    name, text = self._chunks.get(timeout=remaining)
                else:
                    name, text = self._chunks.get_nowait()
            except queue.Empty:
                return
            if text is None:
                self._open_streams -= 1
                continue
            yield name, text

    def poll(self) -> int | None:
        return self.process.poll()

    def stop_tree(self) -> None:
        """Ask the process group to stop, end what is left after the grace period, reap the child;
        then the same for any descendant outside the group (process_tree.py; Windows ends the
        whole tree at once)."""
        below = descendants(self.pid)
        platform_compat.request_stop(self.pid)
        if not _wait_group_gone(self.process, TERMINATE_GRACE_S):
            platform_compat.kill(self.pid)
            _wait_group_gone(self.process, KILL_WAIT_S)
        try:
            self.process.wait(timeout=KILL_WAIT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        stop_processes(below, TERMINATE_GRACE_S, KILL_WAIT_S)


def guarded(argv: Sequence[str]) -> list[str]:
    """``argv`` run under the engine guard, which watches this process (see guard.py)."""
    return [sys.executable, str(GUARD_SCRIPT), str(os.getpid()), "--", *argv]


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes of a process group, from /proc (Linux), else a probe of the
    group (its leader, on Windows)."""
    if not PROC.is_dir():
        return [pgid] if platform_compat.group_alive(pgid) else []
    return [pid for pid, (_parent, group) in process_table().items() if group == pgid]


def _pump(name: str, stream, chunks: queue.Queue) -> None:
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    descriptor = stream.fileno()
    try:
        while True:
            data = os.read(descriptor, _READ_SIZE)
            if not data:
                break
            text = decoder.decode(data)
            if text:
                chunks.put((name, text))
        rest = decoder.decode(b"", final=True)
        if rest:
            chunks.put((name, rest))
    except OSError:
        pass
    finally:
        stream.close()
        chunks.put((name, None))


def _wait_group_gone(process: subprocess.Popen, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        process.poll()  # reap the direct child so it does not count as a member
        if not group_members(process.pid):
            return True
        time.sleep(0.05)
    process.poll()
    return not group_members(process.pid)
