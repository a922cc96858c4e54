"""Keeps the engine from outliving the process that started it (ComfyUI or the ``train`` CLI).

The runner starts ``python guard.py <parent pid> -- <engine argv>`` as the leader of a new
process group, and the guard starts the engine in that group. When the parent ends for any
reason (exit, crash, SIGKILL) the guard notices, through Linux's parent-death signal at once or by
polling its parent id elsewhere, and stops the whole group: SIGTERM, then SIGKILL after a grace
period, as the runner's own Cancel does. It runs with the standard library only and prints
nothing, so the engine's output reaches the runner unchanged. Its exit code is the engine's.

Run as a script (never imported by the engine): ``python guard.py PARENT_PID -- ARGV...``.
The workers of a several-process run (torchrun) sit in sessions of their own, so the guard also
stops every process below it, found by parent links (``process_tree.py``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys

POLL_S = 0.5
GRACE_S = 5.0
_PR_SET_PDEATHSIG = 1

if __package__:
    from .process_tree import descendants, stop_processes
else:  # run as a script by path: its folder is first on sys.path, and process_tree is stdlib-only
    from process_tree import descendants, stop_processes


def main(argv: list[str]) -> int:
    parent, command = _parse(argv)
    _ask_for_a_signal_when_the_parent_dies()
    engine = subprocess.Popen(command)
    signal.signal(signal.SIGTERM, lambda _signum, _frame: _on_sigterm(parent, engine))
    while True:
        try:
            return _exit_code(engine.wait(timeout=POLL_S))
        except subprocess.TimeoutExpired:
            if os.getppid() != parent:  # the parent is gone: this process was handed to init
                _stop_engine(engine)


def _on_sigterm(parent: int, engine: subprocess.Popen) -> None:
    """SIGTERM from the runner's Cancel (it reaches the whole group, and the runner escalates to
    SIGKILL itself): wait for the engine. From the parent's death: stop the engine here."""
    if os.getppid() != parent:
        _stop_engine(engine)


def _parse(argv: list[str]) -> tuple[int, list[str]]:
    if len(argv) < 3 or argv[1] != "--":
        raise SystemExit("usage: guard.py PARENT_PID -- ENGINE_ARGV...")
    return int(argv[0]), argv[2:]


def _ask_for_a_signal_when_the_parent_dies() -> None:
    """Linux: SIGTERM to this process the moment its parent dies (else polling covers it)."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def _stop_engine(engine: subprocess.Popen) -> None:
    """SIGTERM every process of the group, SIGKILL what is left after the grace period.

    Nobody waits for this process any more, so it simply gives the engine the whole grace period
    to save and exit (the launcher may exit at once while its trainer still writes).
    """
    if os.name != "posix":  # no process groups: end the engine's process tree
        subprocess.run(["taskkill", "/T", "/F", "/PID", str(engine.pid)], check=False, capture_output=True)
        os._exit(1)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # the group signal reaches this process too
    below = descendants(os.getpid())  # torchrun's workers run in sessions of their own
    group = os.getpgrp()
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signal.SIGTERM)
    stop_processes(below, GRACE_S, GRACE_S)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signal.SIGKILL)  # this process included: nothing is left to do


def _exit_code(returncode: int) -> int:
    return 128 - returncode if returncode < 0 else returncode  # killed by signal N: 128 + N


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
