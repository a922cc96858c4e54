"""platform_compat: what each platform asks of its system, and that every POSIX-only call of the
pack and the dev tools goes through it. (The engine's life cycle on both platforms is tested by
the runner, job, guard and process-tree tests marked ON_BOTH_PLATFORMS.)"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sd_scripts_bridge.engine import platform_compat
from sd_scripts_bridge.engine.platform_compat import LOCK_BYTE_OFFSET, PosixPlatform, WindowsPlatform
from tests.sd_scripts_bridge.windows_emulation import EmulatedWin32

REPO_ROOT = Path(__file__).resolve().parents[3]
LAYER = REPO_ROOT / "sd_scripts_bridge" / "engine" / "platform_compat.py"
# os calls that exist only on POSIX, or mean something else on Windows (os.kill(pid, 0) ENDS the
# process there; os.getppid() never changes when the parent dies), and other POSIX-only names.
POSIX_ONLY_OS_CALLS = {"kill", "killpg", "getpgrp", "getpgid", "setsid", "getppid"}
POSIX_ONLY_KEYWORDS = {"start_new_session", "preexec_fn"}
# Test doubles that act as POSIX programs on purpose (the stand-in trainer ignores SIGTERM).
ALLOWED = {"devkit/stand_in_engine/stand_in_trainer.py"}
CHECKED_FOLDERS = ("sd_scripts_bridge", "nodes", "identity_core", "devkit", "demo", "benchmarks", "workflows")


class NoConsole(EmulatedWin32):
    """Windows without a shared console (pythonw): a CTRL_BREAK_EVENT cannot be sent."""

    def send_ctrl_break(self, group_pid: int) -> None:
        self.calls.append(("CTRL_BREAK_EVENT", group_pid))
        raise OSError("GenerateConsoleCtrlEvent: the handle is invalid")


def test_windows_keeps_the_venv_python_in_scripts():
    venv = Path("engine") / "venv"
    assert WindowsPlatform(EmulatedWin32()).venv_python(venv) == venv / "Scripts" / "python.exe"
    assert PosixPlatform().venv_python(venv) == venv / "bin" / "python"


def test_windows_asks_the_group_with_ctrl_break_then_ends_the_tree_with_taskkill():
    calls = EmulatedWin32()
    windows = WindowsPlatform(calls)
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    process = subprocess.Popen(sleeper, **windows.new_group_options())
    try:
        windows.request_stop(process.pid)
        assert process.wait(timeout=30) != 0  # the break ends a process that does not handle it
        windows.kill(process.pid)
    finally:
        process.kill()
        process.wait()
    assert calls.calls == [
        ("CREATE_NEW_PROCESS_GROUP",),
        ("CTRL_BREAK_EVENT", process.pid),
        ("taskkill", "/T", process.pid),
    ]


def test_windows_without_a_console_ends_the_tree_at_once():
    calls = NoConsole()
    WindowsPlatform(calls).request_stop(4242)
    assert calls.calls == [("CTRL_BREAK_EVENT", 4242), ("taskkill", "/T", 4242)]


def test_windows_ends_a_single_process_without_its_tree():
    calls = EmulatedWin32()
    WindowsPlatform(calls).request_stop(4242, group=False)
    assert calls.calls == [("taskkill", "", 4242)]


def test_windows_tells_the_parent_is_gone_by_asking_the_system_not_by_getppid():
    windows = WindowsPlatform(EmulatedWin32())
    assert not windows.parent_gone(os.getpid())
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    assert windows.parent_gone(gone.pid)


def test_windows_locks_a_byte_past_the_record_so_the_refused_process_can_read_it(tmp_path):
    calls = EmulatedWin32()
    windows = WindowsPlatform(calls)
    path = tmp_path / "run.lock"
    with open(path, "a+", encoding="utf-8") as held, open(path, "a+", encoding="utf-8") as other:
        assert windows.try_lock(held)
        held.write('{"holder": "ComfyUI"}')
        held.flush()
        assert not windows.try_lock(other)
        assert other.read() == '{"holder": "ComfyUI"}'  # read from the start: the lock moved nothing
        windows.unlock(held)
        assert windows.try_lock(other)
    assert ("msvcrt.locking", "LK_NBLCK", LOCK_BYTE_OFFSET) in calls.calls


def test_the_current_platform_follows_the_system():
    expected = WindowsPlatform if os.name == "nt" else PosixPlatform
    assert isinstance(platform_compat.current(), expected)


def _posix_only_uses(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.value.id == "os" and node.attr in POSIX_ONLY_OS_CALLS:
                found.append(f"os.{node.attr} (line {line})")
            elif (node.value.id, node.attr) == ("signal", "SIGKILL"):
                found.append(f"signal.SIGKILL (line {line})")
        elif isinstance(node, ast.keyword) and node.arg in POSIX_ONLY_KEYWORDS:
            found.append(f"{node.arg}= (line {node.value.lineno})")
        elif isinstance(node, ast.Import | ast.ImportFrom):
            modules = [alias.name for alias in node.names] + [getattr(node, "module", None) or ""]
            if "fcntl" in modules:
                found.append(f"import fcntl (line {line})")
        elif isinstance(node, ast.Constant) and node.value == "bin":
            found.append(f"'bin' (line {line}): a venv keeps its Python in Scripts/ on Windows")
    return found


@pytest.mark.parametrize("folder", CHECKED_FOLDERS)
def test_every_posix_only_call_goes_through_the_platform_layer(folder):
    offending = {}
    for path in sorted((REPO_ROOT / folder).rglob("*.py")):
        relative = path.relative_to(REPO_ROOT).as_posix()
        if path == LAYER or relative in ALLOWED:
            continue
        uses = _posix_only_uses(path)
        if uses:
            offending[relative] = uses
    assert offending == {}, "use sd_scripts_bridge/engine/platform_compat.py for these"
