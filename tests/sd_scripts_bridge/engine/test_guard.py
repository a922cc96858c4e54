"""The engine never outlives the process that started it: killing that process (as a crash of
ComfyUI would) stops the whole engine tree, through engine/guard.py (stand-in engine)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from devkit.stand_in_engine import stand_in
from sd_scripts_bridge.engine.process import group_members

REPO_ROOT = Path(__file__).resolve().parents[3]
PARENT = textwrap.dedent(
    """
    import json, sys, time
    sys.path.insert(0, sys.argv[1])
    from sd_scripts_bridge.engine.process import EngineProcess

    argv, env, cwd = json.loads(sys.argv[2])
    process = EngineProcess(argv, env, cwd)
    print(json.dumps({"group": process.pid}), flush=True)
    for _ in process.chunks(600):  # supervise (drain output) until killed
        pass
    time.sleep(600)
    """
)


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def _written(path: Path) -> bool:
    return path.is_file() and path.read_text().strip().isdigit()


def test_killing_the_parent_stops_the_engine_tree(tmp_path):
    engine = stand_in.build_engine(tmp_path / "engine")
    pid_file = tmp_path / "trainer.pid"
    argv = [
        *stand_in.launch_argv(engine),
        "--output_dir", str(tmp_path / "out"), "--output_name", "guarded", "--max_train_steps", "1000",
    ]  # fmt: skip
    env = {"PATH": os.environ["PATH"], "STAND_IN_SEC_PER_STEP": "0.2", "STAND_IN_PID_FILE": str(pid_file)}
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, str(REPO_ROOT), json.dumps([argv, env, str(engine.source_dir)])],
        stdout=subprocess.PIPE,
        text=True,
    )
    group = json.loads(parent.stdout.readline())["group"]
    deadline = time.monotonic() + 30
    while not _written(pid_file) and time.monotonic() < deadline:  # the trainer writes it after creating it
        time.sleep(0.1)
    trainer = int(pid_file.read_text())
    assert alive(trainer) and len(group_members(group)) >= 3  # guard, launcher, trainer

    parent.send_signal(signal.SIGKILL)  # ComfyUI crashes
    parent.wait()
    deadline = time.monotonic() + 10
    while group_members(group) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert group_members(group) == [] and not alive(trainer)
