"""The engine never outlives the process that started it: killing that process (as a crash of
ComfyUI would) stops the whole engine tree, through engine/guard.py (stand-in engine), on Linux
and with the platform patched to Windows (the guard then polls whether its parent is alive)."""

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
from tests.sd_scripts_bridge.windows_emulation import ON_BOTH_PLATFORMS

REPO_ROOT = Path(__file__).resolve().parents[3]
PARENT = textwrap.dedent(
    """
    import json, sys, time
    sys.path.insert(0, sys.argv[1])
    if sys.argv[3] == "windows":
        from tests.sd_scripts_bridge.windows_emulation import install_here
        install_here()
    from sd_scripts_bridge.engine.process import EngineProcess

    argv, env, cwd = json.loads(sys.argv[2])
    process = EngineProcess(argv, env, cwd)
    print(json.dumps({"group": process.pid}), flush=True)
    for _ in process.chunks(600):  # supervise (drain output) until killed
        pass
    time.sleep(600)
    """
)


def process_states() -> dict[int, tuple[str, int]]:
    """pid -> (state, process group) of every process, read from /proc by the test itself."""
    states = {}
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text() if entry.name.isdigit() else ""
        except OSError:
            continue
        if stat:
            fields = stat[stat.rfind(")") + 2 :].split()
            states[int(entry.name)] = (fields[0], int(fields[2]))
    return states


def members(group: int) -> list[int]:
    return [pid for pid, (state, pgid) in process_states().items() if pgid == group and state not in "ZX"]


def alive(pid: int) -> bool:
    return process_states().get(pid, ("X", 0))[0] not in ("Z", "X")


def _written(path: Path) -> bool:
    return path.is_file() and path.read_text().strip().isdigit()


@ON_BOTH_PLATFORMS
def test_killing_the_parent_stops_the_engine_tree(tmp_path, engine, platform_name):
    pid_file = tmp_path / "trainer.pid"
    argv = [
        *stand_in.launch_argv(engine),
        "--output_dir", str(tmp_path / "out"), "--output_name", "guarded", "--max_train_steps", "1000",
    ]  # fmt: skip
    env = {"PATH": os.environ["PATH"], "STAND_IN_SEC_PER_STEP": "0.2", "STAND_IN_PID_FILE": str(pid_file)}
    parent = subprocess.Popen(
        [
            *(sys.executable, "-c", PARENT, str(REPO_ROOT)),
            *(json.dumps([argv, env, str(engine.source_dir)]), platform_name),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    group = json.loads(parent.stdout.readline())["group"]
    deadline = time.monotonic() + 60
    while not _written(pid_file) and time.monotonic() < deadline:
        time.sleep(0.1)
    trainer = int(pid_file.read_text())
    assert alive(trainer) and len(members(group)) >= 3  # guard, launcher, trainer
    guard = Path(f"/proc/{group}/cmdline").read_bytes().split(b"\0")[1].decode()
    assert Path(guard).name == ("windows_guard.py" if platform_name == "windows" else "guard.py")

    parent.send_signal(signal.SIGKILL)  # ComfyUI crashes
    parent.wait()
    deadline = time.monotonic() + 20
    while members(group) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert members(group) == [] and not alive(trainer)
