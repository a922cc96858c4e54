"""The client run as a user runs it, ``python workflows/queue_client.py ...`` in a subprocess, and the
small prompts its tests queue: a slow counter with progress from the harness's probe nodes
(``probe_host``) and a core-node image prompt (EmptyImage -> SaveImage) that runs on any host."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from devkit.host import REPO_ROOT, host_python

CLI = REPO_ROOT / "workflows" / "queue_client.py"


def counter_prompt(steps: int = 5, delay: float = 0.05, label: str = "cli", events: bool = True) -> dict:
    return {
        "1": {
            "class_type": "HarnessProbeCounter",
            "inputs": {"steps": steps, "delay": delay, "label": label, "training_events": events},
        }
    }


def image_prompt(prefix: str = "queue_cli") -> dict:
    return {
        "1": {
            "class_type": "EmptyImage",
            "inputs": {"width": 48, "height": 32, "batch_size": 1, "color": 0x3366FF},
        },
        "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": prefix}},
    }


def write_workflow(tmp_path: Path, prompt: dict, name: str = "workflow.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(prompt), encoding="utf-8")
    return path


def run_cli(*args: str, timeout: float = 120, cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [host_python(), str(CLI), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        check=False,
    )


def start_cli(*args: str) -> subprocess.Popen:
    """The client started in the background, its output read line by line as it comes."""
    return subprocess.Popen(
        [host_python(), str(CLI), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
    )
