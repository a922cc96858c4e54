"""workflows/queue_client.py on the shipped fast workflow's dataset and training part, against a real host
whose TrainIdentityLoRA runs the stand-in engine (a test double of flux_train_network.py).

The evaluation part (FLUX loaders, StrengthSweep, ArcFaceScore) is cut off: on a CPU the full-size
T5-XXL it loads costs ~10 GB and about a minute per prompt; tests/nodes/test_strength_sweep.py
covers it with the tiny FLUX. What is checked here is the user's path through the API client:
named shortcuts, live training progress, the printed results, and a failing run's exit code.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from devkit.demo_dataset import ensure_demo_dataset
from devkit.host import Host
from devkit.stand_in_engine import stand_in
from devkit.train_host import STAND_IN_MODELS, start_train_host
from tests.fixtures.models import tiny_flux_dit_files  # noqa: F401  (pytest fixture)

pytestmark = pytest.mark.host
REPO_ROOT = Path(__file__).resolve().parents[2]
FAST_WORKFLOW = REPO_ROOT / "workflows" / "api" / "identity_fast.json"
EVALUATION_CLASSES = {"UNETLoader", "DualCLIPLoader", "VAELoader", "StrengthSweep", "ArcFaceScore"}


def training_part(workflow: dict) -> dict:
    """The workflow without the evaluation nodes and whatever depends on them."""
    removed = {node_id for node_id, node in workflow.items() if node["class_type"] in EVALUATION_CLASSES}
    changed = True
    while changed:
        changed = False
        for node_id, node in workflow.items():
            links = [v for v in node["inputs"].values() if isinstance(v, list) and len(v) == 2]
            if node_id not in removed and any(str(source) in removed for source, _ in links):
                removed.add(node_id)
                changed = True
    return {node_id: node for node_id, node in workflow.items() if node_id not in removed}


def node_id(workflow: dict, class_type: str) -> str:
    return next(key for key, node in workflow.items() if node["class_type"] == class_type)


@pytest.fixture(scope="module")
def training_host(tmp_path_factory, tiny_flux_dit_files) -> Host:  # noqa: F811
    engine_root = tmp_path_factory.mktemp("stand_in") / "engine"
    stand_in.build_engine(engine_root)
    # the server owner allows the demo dataset's folder, as docs/shared-server.md says
    allowed = {"IDENTITY_LORA_ALLOWED_ROOTS": str(ensure_demo_dataset().root)}
    host = start_train_host(tmp_path_factory.mktemp("host"), engine_root, tiny_flux_dit_files.dit, **allowed)
    yield host
    host.cleanup()


def queue(
    host: Host, workflow_path: Path, name: str, dit_name: str, *extra: str
) -> subprocess.CompletedProcess:
    dataset = ensure_demo_dataset()
    command = [
        sys.executable, str(REPO_ROOT / "workflows" / "queue_client.py"), str(workflow_path),
        "--server", host.url,
        "--set", f"dataset={dataset.subject_dir}", "--set", "token=zyqux", "--set", "class_word=woman",
        "--set", "steps=4", "--set", f"output_name={name}",
        "--set", f"diffusion_model={dit_name}",
        "--set", f"clip_l={STAND_IN_MODELS['text_encoders'][0]}",
        "--set", f"t5={STAND_IN_MODELS['text_encoders'][1]}",
        "--set", f"ae={STAND_IN_MODELS['vae']}",
        *extra,
    ]  # fmt: skip
    return subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)


@pytest.fixture
def workflow_file(tmp_path) -> Path:
    path = tmp_path / "identity_fast_training.json"
    path.write_text(json.dumps(training_part(json.loads(FAST_WORKFLOW.read_text()))))
    return path


def test_client_queues_the_fast_workflow_and_prints_training_results(
    training_host,
    workflow_file,
    tiny_flux_dit_files,  # noqa: F811
):
    done = queue(
        training_host, workflow_file, "client_fast", tiny_flux_dit_files.dit.name, "--set", "11.rank=4"
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert "Dataset Check (identity)" in out and "Train Identity LoRA" in out  # a bar per node
    assert "training (train) step 1/4 loss" in out  # live progress from identity_lora.progress
    assert "training (train) step 4/4 loss" in out and "published client_fast.safetensors" in out
    assert "identity/client_fast.safetensors" in out  # the LoRA name as LoraLoader lists it
    assert (training_host.models_dir / "loras" / "identity" / "client_fast.safetensors").is_file()


def test_client_exits_non_zero_with_the_fix_when_training_fails(training_host, workflow_file, tmp_path):
    dit = next((training_host.models_dir / "diffusion_models").glob("*.safetensors"))
    workflow = json.loads(workflow_file.read_text())
    workflow[node_id(workflow, "TrainIdentityLoRA")]["inputs"]["advanced_settings"] = "not json"
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(workflow))
    done = queue(training_host, broken, "client_broken", dit.name)
    assert done.returncode == 1
    assert "TrainIdentityLoRA" in done.stdout + done.stderr
    assert "What to do" in done.stdout + done.stderr
