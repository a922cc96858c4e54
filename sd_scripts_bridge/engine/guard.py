"""Keeps the engine from outliving the process that started it (ComfyUI or the ``train`` CLI).

The runner starts ``python guard.py <parent pid> -- <engine argv>`` as the leader of a new
process group, and the guard starts the engine in that group. When the parent ends for any
reason (exit, crash, SIGKILL) the guard notices, through Linux's parent-death signal at once or by
polling whether its parent is alive elsewhere (Windows included), and stops the whole group: a
stop request (SIGTERM; Windows: CTRL_BREAK_EVENT), then the kill after a grace period (SIGKILL;
Windows: ``taskkill /T /F``), as the runner's own Cancel does; ``platform_compat.py`` holds those
calls. It runs with the standard library only and prints nothing, so the engine's output reaches
the runner unchanged. Its exit code is the engine's.

Run as a script (never imported by the engine): ``python guard.py PARENT_PID -- ARGV...``.
The workers of a several-process run (torchrun) sit in sessions of their own, so the guard also
stops every process below it, found by parent links (``process_tree.py``).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys

POLL_S = 0.5
GRACE_S = 5.0

if __package__:
    from . import platform_compat
    from .process_tree import descendants, stop_processes
else:  # run as a script by path: its folder is first on sys.path; both modules are stdlib-only
    import platform_compat
    from process_tree import descendants, stop_processes


def main(argv: list[str]) -> int:
    parent, command = _parse(argv)
    platform_compat.signal_when_parent_dies()
    engine = subprocess.Popen(command)
    platform_compat.on_stop_request(lambda _signum, _frame: _on_stop_request(parent, engine))
    while True:
        try:
            return _exit_code(engine.wait(timeout=POLL_S))
        except subprocess.TimeoutExpired:
            if platform_compat.parent_gone(parent):
                _stop_engine(engine)


def _on_stop_request(parent: int, engine: subprocess.Popen) -> None:
    """The runner's Cancel (it reaches the whole group, and the runner escalates to the kill
    itself): wait for the engine. From the parent's death: stop the engine here."""
    if platform_compat.parent_gone(parent):
        _stop_engine(engine)


def _parse(argv: list[str]) -> tuple[int, list[str]]:
    if len(argv) < 3 or argv[1] != "--":
        raise SystemExit("usage: guard.py PARENT_PID -- ENGINE_ARGV...")
    return int(argv[0]), argv[2:]


def _stop_engine(engine: subprocess.Popen) -> None:
    """Ask every process of the group to stop, end what is left after the grace period.

    Nobody waits for this process any more, so it simply gives the engine the whole grace period
    to save and exit (the launcher may exit at once while its trainer still writes).
    """
    platform_compat.ignore_stop_requests()  # the group's stop request reaches this process too
    below = descendants(os.getpid())  # torchrun's workers run in sessions of their own (Linux)
    group = platform_compat.own_group()
    platform_compat.request_stop(group)
    stop_processes(below, GRACE_S, GRACE_S)
    with contextlib.suppress(subprocess.TimeoutExpired):
        engine.wait(timeout=GRACE_S)  # Windows lists no descendants: wait for the engine itself
    platform_compat.kill(group)  # this process included: nothing is left to do
    os._exit(1)


def _exit_code(returncode: int) -> int:
    return 128 - returncode if returncode < 0 else returncode  # killed by signal N: 128 + N


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
