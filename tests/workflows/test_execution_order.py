"""The shipped fast workflow on a real ComfyUI 0.3.75 host: the FLUX loaders run after the training.

They take their file names from TrainIdentityLoRA's outputs, so ComfyUI cannot schedule them
before it (on 0.3.75 the old graph happened to train first; nothing made it). The training runs the
stand-in engine (a test double of flux_train_network.py); the loaders get the tiny FLUX DiT and
stand-in text-encoder files, so the DualCLIPLoader fails once it runs: the prompt stops there,
after what this test is about, and nothing heavy is loaded.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devkit.demo_dataset import ensure_demo_dataset
from devkit.train_host import STAND_IN_MODELS
from tests.fixtures.models import tiny_flux_dit_files  # noqa: F401  (pytest fixture)
from tests.workflows.test_client_trains_with_the_fast_workflow import training_host  # noqa: F401  (fixture)
from workflows.api_client.shortcuts import apply_settings

pytestmark = pytest.mark.host
FAST_WORKFLOW = Path(__file__).resolve().parents[2] / "workflows" / "api" / "identity_fast.json"
LOADERS = {"UNETLoader", "DualCLIPLoader", "VAELoader"}


def test_the_flux_loaders_wait_for_the_training(training_host, tiny_flux_dit_files):  # noqa: F811
    host = training_host
    workflow = json.loads(FAST_WORKFLOW.read_text(encoding="utf-8"))
    settings = [
        f"dataset={ensure_demo_dataset().subject_dir}", "token=zyqux", "class_word=woman", "steps=2",
        "output_name=order_check", f"diffusion_model={tiny_flux_dit_files.dit.name}",
        f"clip_l={STAND_IN_MODELS['text_encoders'][0]}", f"t5={STAND_IN_MODELS['text_encoders'][1]}",
        f"ae={STAND_IN_MODELS['vae']}",
    ]  # fmt: skip
    prompt = apply_settings(workflow, settings)
    for node in prompt.values():  # the loaders' names are links to the training node, not values
        if node["class_type"] in LOADERS:
            names = [v for k, v in node["inputs"].items() if k.endswith("_name") or k.startswith("clip_name")]
            assert names and all(isinstance(v, list) for v in names), node

    run = host.run_prompt(prompt, timeout=900)

    classes = {node_id: node["class_type"] for node_id, node in prompt.items()}
    started = [
        classes.get(m["data"]["node"])
        for m in run.messages
        if m.get("type") == "executing" and m["data"].get("node") is not None
    ]
    assert "TrainIdentityLoRA" in started, (run.status, run.error, started)
    trained_at = started.index("TrainIdentityLoRA")
    assert not LOADERS & set(started[:trained_at]), started
    assert LOADERS & set(started[trained_at + 1 :]), started  # and then they ran
    published = host.models_dir / "loras" / "identity" / "order_check.safetensors"
    assert published.is_file()
