"""Queue the shipped fast workflow on the demo host through the API client (``workflows/queue_client.py``).

The values a user changes go through the client's named shortcuts (dataset, token, class word,
steps); the model file choices go through ``NODE_ID.INPUT`` settings found by looking at the
workflow's own loader inputs, so no node id is hard-coded here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from devkit.demo_dataset import DemoDataset
from devkit.tiny_flux import TinyFluxFiles

REPO_ROOT = Path(__file__).resolve().parents[1]
FAST_WORKFLOW = REPO_ROOT / "workflows" / "api" / "identity_fast.json"
QUEUE_SCRIPT = REPO_ROOT / "workflows" / "queue_client.py"

# input-name hints -> model part, for any node input that takes a model file name
MODEL_INPUT_HINTS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("t5",), "t5xxl"),
    (("clip_l", "clip_name1"), "clip_l"),
    (("clip_name2",), "t5xxl"),
    (("vae", "ae"), "ae"),
    (("unet", "diffusion", "dit", "flux_model"), "dit"),
)


# Inputs (by node class) set for a CPU demo run: the smallest training and sweep that still run
# every node. Only inputs the workflow has are set.
CPU_DEMO_INPUTS: dict[str, dict[str, Any]] = {
    "TrainIdentityLoRA": {
        "resolution": 64,
        "rank": 4,
        "alpha": 4.0,
        "checkpoint_every": 2,  # two checkpoints in the demo's 4 steps, for the checkpoint pass
        "preview_every_n_steps": 0,  # the engine's own sampling costs minutes per image on a CPU
        "overwrite": True,  # the demo host's own LoRA folder: a rerun with other inputs replaces it
        "advanced_settings": json.dumps(
            {
                "t5xxl_max_token_length": 16,
                "max_data_loader_n_workers": 0,
                "num_repeats": 1,
                "lr_warmup_steps": 1,
                # every CPU step costs minutes: run the steps as given, without doubling them to
                # give the subject its full count beside the regularization half
                "keep_subject_steps": False,
            }
        ),
    },
    "StrengthSweep": {"width": 64, "height": 64, "steps": 2, "seeds": 1, "strengths": "0.5, 1.0"},
}


class WorkflowNotReady(RuntimeError):
    """The fast workflow or its client is not in the repository yet."""


def model_part_for(input_name: str) -> str | None:
    name = input_name.lower()
    for hints, part in MODEL_INPUT_HINTS:
        if any(hint in name for hint in hints):
            return part
    return None


def model_settings(workflow: dict[str, Any], files: TinyFluxFiles) -> list[str]:
    """``NODE_ID.INPUT=<file name>`` for every input of the workflow that names a model file."""
    settings = []
    for node_id, node in workflow.items():
        for input_name, value in node.get("inputs", {}).items():
            if not (isinstance(value, str) and value.endswith((".safetensors", ".sft"))):
                continue
            part = model_part_for(input_name)
            path = getattr(files, part) if part else None
            if path is not None:
                settings.append(f"{node_id}.{input_name}={path.name}")
    return settings


def cpu_demo_settings(workflow: dict[str, Any]) -> list[str]:
    """``NODE_ID.INPUT=VALUE`` for the CPU_DEMO_INPUTS the workflow's nodes take."""
    settings = []
    for node_id, node in workflow.items():
        for input_name, value in CPU_DEMO_INPUTS.get(node.get("class_type", ""), {}).items():
            if input_name in node.get("inputs", {}):
                settings.append(f"{node_id}.{input_name}={value}")
    return settings


def regularization_settings(workflow: dict[str, Any], dataset: DemoDataset) -> list[str]:
    return [
        f"{node_id}.regularization_folder={dataset.reg_dir}"
        for node_id, node in workflow.items()
        if "regularization_folder" in node.get("inputs", {})
    ]


def queue_command(
    server: str, dataset: DemoDataset, files: TinyFluxFiles, steps: int, download: Path, cpu: bool = True
) -> list[str]:
    if not FAST_WORKFLOW.is_file() or not QUEUE_SCRIPT.is_file():
        raise WorkflowNotReady(f"{FAST_WORKFLOW.relative_to(REPO_ROOT)} is not in the repository yet")
    workflow = json.loads(FAST_WORKFLOW.read_text(encoding="utf-8"))
    shortcuts = {
        "dataset": str(dataset.subject_dir),
        "token": dataset.trigger,
        "class_word": dataset.class_word,
        "steps": str(steps),
    }
    argv = [sys.executable, str(QUEUE_SCRIPT), str(FAST_WORKFLOW), "--server", server]
    for key, value in shortcuts.items():
        argv += ["--set", f"{key}={value}"]
    settings = model_settings(workflow, files) + regularization_settings(workflow, dataset)
    if cpu:
        settings += cpu_demo_settings(workflow)
    for setting in settings:
        argv += ["--set", setting]
    return [*argv, "--download", str(download)]


def queue_fast_workflow(
    server: str, dataset: DemoDataset, files: TinyFluxFiles, steps: int, download: Path, cpu: bool = True
) -> None:
    """Run the client in the foreground (its live progress goes to this terminal)."""
    argv = queue_command(server, dataset, files, steps, download, cpu)
    print("queueing: " + " ".join(argv[1:]), flush=True)
    done = subprocess.run(argv, cwd=REPO_ROOT, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"queue_client.py exited with {done.returncode}; its messages are above")
