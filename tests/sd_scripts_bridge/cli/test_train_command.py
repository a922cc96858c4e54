"""``python -m sd_scripts_bridge train`` end to end against the stand-in engine (a test double of
flux_train_network.py, see stand_in_engine/): progress lines, publishing, Ctrl-C and resume."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from PIL import Image

from devkit.stand_in_engine import stand_in
from sd_scripts_bridge.lora_file import check_lora

REPO_ROOT = Path(__file__).resolve().parents[3]


def train_command(tmp_path: Path, steps: int) -> list[str]:
    photos = tmp_path / "photos"
    photos.mkdir()
    for index in range(4):
        Image.new("RGB", (64, 64), (index * 40, 90, 140)).save(photos / f"img_{index}.png")
        (photos / f"img_{index}.txt").write_text("ohwx person, smiling\n")
    models = tmp_path / "models"
    base = stand_in.write_base_model(models / "flux_tiny.safetensors")
    for name in ("clip_l", "t5xxl", "ae"):
        (models / f"{name}.safetensors").write_bytes(b"stand-in model file")
    engine = stand_in.build_engine(tmp_path / "engine")
    return [
        sys.executable, "-m", "sd_scripts_bridge", "train",
        "--engine", str(engine.root), "--allow-unpinned", "--cpu",
        "--images", str(photos), "--trigger-token", "ohwx", "--output-name", "ohwx_cli",
        "--run-dir", str(tmp_path / "run"), "--publish-dir", str(tmp_path / "loras"),
        "--flux", str(base), "--clip-l", str(models / "clip_l.safetensors"),
        "--t5xxl", str(models / "t5xxl.safetensors"), "--ae", str(models / "ae.safetensors"),
        "--set", f"max_train_steps={steps}", "--set", "network_dim=4", "--set", "network_alpha=4",
        "--set", "lr_warmup_steps=1", "--save-every", "2",
    ]  # fmt: skip


def environment(sec_per_step: str) -> dict[str, str]:
    return {**os.environ, "STAND_IN_SEC_PER_STEP": sec_per_step, "PYTHONUNBUFFERED": "1"}


def test_train_prints_progress_and_publishes(tmp_path):
    done = subprocess.run(
        train_command(tmp_path, steps=4),
        cwd=REPO_ROOT,
        env=environment("0.02"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "step 4/4" in done.stdout
    published = tmp_path / "loras" / "ohwx_cli.safetensors"
    assert f"LoRA published: {published}" in done.stdout
    check_lora(published)


def test_ctrl_c_cancels_and_the_same_command_resumes(tmp_path):
    command = train_command(tmp_path, steps=12)
    process = subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        env=environment("0.4"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    for line in process.stdout:  # wait until a state has been saved (every 2 steps)
        if "step 5/12" in line:
            break
    process.send_signal(signal.SIGINT)
    started = time.monotonic()
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stderr
    assert time.monotonic() - started < 10
    assert "cancelled" in stderr and "-state" in stderr
    assert not (tmp_path / "loras" / "ohwx_cli.safetensors").exists()

    resumed = subprocess.run(command, cwd=REPO_ROOT, env=environment("0.02"), capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    steps = [line for line in resumed.stdout.splitlines() if line.startswith("train: step")]
    assert steps and "step 12/12" in steps[-1]
    assert "Resumed at step" in resumed.stdout
    assert "step 1/12" not in resumed.stdout  # it continued from the saved step
    check_lora(tmp_path / "loras" / "ohwx_cli.safetensors")
