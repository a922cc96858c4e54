"""Free VRAM for the auto tier: the engine's torch is asked once per engine install and GPU state,
nvidia-smi every run (stand-in commands: no GPU on the test machines)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from sd_scripts_bridge.engine.device import CACHE_FILE, SMI_SEES, TORCH_SEES, detect_device
from sd_scripts_bridge.model import Engine

UUID = "GPU-5d1c8f2a-0000-4000-8000-00000000abcd"
GIB_IN_MIB = 1024
PROBE_ANSWER = {
    "free": 70 * 2**30,
    "total": 80 * 2**30,
    "name": "NVIDIA H100 80GB HBM3",
    "count": 1,
    "uuid": UUID.removeprefix("GPU-"),  # torch writes the UUID without nvidia-smi's prefix
}


class Commands:
    """Stands in for the engine's Python (the torch probe) and nvidia-smi; counts the probes."""

    def __init__(self, probe: dict | None = PROBE_ANSWER, smi_rows: list[str] | None = None) -> None:
        self.probe = probe
        self.smi_rows = [f"{UUID}, NVIDIA H100 80GB HBM3, {80 * GIB_IN_MIB}, {60 * GIB_IN_MIB}"]
        if smi_rows is not None:
            self.smi_rows = smi_rows
        self.probes = 0

    def __call__(self, command: list[str], timeout: float, cwd: Path | None) -> str | None:
        if command[0].endswith("nvidia-smi"):
            return "".join(row + "\n" for row in self.smi_rows)
        self.probes += 1
        return None if self.probe is None else "some engine warning\nDEVICE_PROBE " + json.dumps(self.probe)


def executable(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.fixture
def engine(tmp_path) -> Engine:
    root = tmp_path / "engine"
    (root / "sd-scripts").mkdir(parents=True)
    (root / "engine.json").write_text(json.dumps({"installed_at": "2026-01-01T00:00:00"}), encoding="utf-8")
    python = executable(root / "venv" / "bin" / "python", "#!/bin/sh\nexit 1\n")
    return Engine(root=root, source_dir=root / "sd-scripts", python=python)


@pytest.fixture
def with_smi(tmp_path) -> dict[str, str]:
    folder = tmp_path / "driver"
    executable(folder / "nvidia-smi", "#!/bin/sh\nexit 1\n")  # found on PATH; Commands answers for it
    return {"PATH": str(folder)}


def test_the_engine_is_asked_once_then_nvidia_smi_reads_the_free_vram(engine, with_smi):
    commands = Commands()
    first = detect_device(engine, with_smi, commands)
    assert (first.free_vram_gib, first.measured_by, commands.probes) == (70.0, TORCH_SEES, 1)
    again = detect_device(engine, with_smi, commands)
    assert (again.free_vram_gib, again.measured_by, commands.probes) == (60.0, SMI_SEES, 1)
    assert (again.total_vram_gib, again.gpu_name, again.gpu_count) == (80.0, "NVIDIA H100 80GB HBM3", 1)


@pytest.mark.parametrize(
    "change",
    [
        {"CUDA_VISIBLE_DEVICES": "1"},
        {"CUDA_DEVICE_ORDER": "PCI_BUS_ID"},
    ],
)
def test_another_gpu_state_asks_the_engine_again(engine, with_smi, change):
    commands = Commands()
    detect_device(engine, with_smi, commands)
    detect_device(engine, {**with_smi, **change}, commands)
    assert commands.probes == 2


def test_another_gpu_set_or_engine_install_asks_the_engine_again(engine, with_smi):
    commands = Commands()
    detect_device(engine, with_smi, commands)
    commands.smi_rows.append(f"GPU-other, NVIDIA H100 80GB HBM3, {80 * GIB_IN_MIB}, {80 * GIB_IN_MIB}")
    detect_device(engine, with_smi, commands)
    (engine.root / "engine.json").write_text(json.dumps({"installed_at": "later"}), encoding="utf-8")
    detect_device(engine, with_smi, commands)
    assert commands.probes == 3


def test_without_nvidia_smi_the_engine_is_asked_every_run(engine, tmp_path):
    commands = Commands()
    no_driver = {"PATH": str(tmp_path / "empty")}
    for _ in range(2):
        assert detect_device(engine, no_driver, commands).measured_by == TORCH_SEES
    assert commands.probes == 2


def test_a_gpu_nvidia_smi_does_not_list_is_asked_every_run(engine, with_smi):
    """A MIG slice: torch names the slice, nvidia-smi lists the whole GPU."""
    commands = Commands(probe={**PROBE_ANSWER, "uuid": "MIG-1234"})
    for _ in range(2):
        assert detect_device(engine, with_smi, commands).measured_by == TORCH_SEES
    assert commands.probes == 2 and not (engine.root / CACHE_FILE).exists()


def test_no_cuda_is_remembered_too(engine, with_smi, tmp_path):
    for environ in (with_smi, {"PATH": str(tmp_path / "empty")}):
        commands = Commands(probe={})
        assert detect_device(engine, environ, commands) is None
        assert detect_device(engine, environ, commands) is None
        assert commands.probes == 1


def test_no_answer_is_not_remembered(engine, with_smi):
    commands = Commands(probe=None)
    assert detect_device(engine, with_smi, commands) is None
    assert detect_device(engine, with_smi, commands) is None
    assert commands.probes == 2


def test_an_engine_folder_that_cannot_keep_the_answer_still_answers(engine, with_smi):
    (engine.root / CACHE_FILE).mkdir()  # neither readable nor replaceable as a file
    commands = Commands()
    assert detect_device(engine, with_smi, commands).free_vram_gib == 70.0
    assert detect_device(engine, with_smi, commands).free_vram_gib == 70.0
    assert commands.probes == 2


def test_real_commands_end_to_end(engine, tmp_path):
    """The subprocess plumbing: an engine Python and an nvidia-smi that print what the real ones do."""
    probes = tmp_path / "probes.txt"
    line = "DEVICE_PROBE " + json.dumps(PROBE_ANSWER)
    executable(engine.python, f"#!/bin/sh\necho probe >> '{probes}'\necho '{line}'\n")
    row = f"{UUID}, NVIDIA H100 80GB HBM3, {80 * GIB_IN_MIB}, {50 * GIB_IN_MIB}"
    driver = tmp_path / "driver"
    executable(driver / "nvidia-smi", f"#!/bin/sh\necho '{row}'\n")
    environ = {"PATH": f"{driver}:/usr/bin:/bin"}
    assert detect_device(engine, environ).free_vram_gib == 70.0
    assert detect_device(engine, environ).free_vram_gib == 50.0
    assert probes.read_text().split() == ["probe"]
