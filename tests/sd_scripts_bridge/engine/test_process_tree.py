"""Stopping an engine whose launcher puts its workers in their own sessions, as accelerate's
multi-process launcher (torch.distributed.run) does: Cancel must leave no worker behind. On
Linux and with the platform patched to Windows (no /proc: the system's process list)."""

from __future__ import annotations

import os
import sys
import time

from sd_scripts_bridge.engine.process import EngineProcess
from sd_scripts_bridge.engine.process_tree import alive, descendants
from tests.sd_scripts_bridge.windows_emulation import ON_BOTH_PLATFORMS

# A stand-in for torchrun: two workers with start_new_session=True that ignore SIGTERM.
LAUNCHER = """
import signal, subprocess, sys, time
worker = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"
children = [subprocess.Popen([sys.executable, "-c", worker], start_new_session=True) for _ in range(2)]
open(sys.argv[1], "w").write(" ".join(str(child.pid) for child in children))
time.sleep(600)
"""


@ON_BOTH_PLATFORMS
def test_workers_in_their_own_sessions_are_found_and_stopped(tmp_path, platform_name):
    pid_file = tmp_path / "workers.pid"
    process = EngineProcess([sys.executable, "-c", LAUNCHER, str(pid_file)], dict(os.environ), cwd=tmp_path)
    deadline = time.monotonic() + 60
    while not (pid_file.is_file() and pid_file.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.1)
    workers = [int(pid) for pid in pid_file.read_text().split()]
    assert set(workers) <= set(descendants(process.pid))
    assert all(os.getpgid(pid) != process.pid for pid in workers)  # outside the launcher's group

    process.stop_tree()

    assert process.poll() is not None
    assert alive(workers) == []
