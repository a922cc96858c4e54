"""LoadIdentityCheckpoints in a real ComfyUI host: it lists the run folders that hold recorded
checkpoints and the loras sub-folders with LoRA files, never a free path; a run folder gives only
what the pack recorded (a checkpoint planted in it is left out), with the run's published LoRA as
the recommendation's target."""

from __future__ import annotations

import json
import shutil

import pytest

from devkit.stand_in_engine import stand_in
from devkit.train_host import start_train_host, train_prompt
from devkit.train_host import write_photos as photos
from workflows.api_client import PromptRejected

pytestmark = pytest.mark.host
NODE = "LoadIdentityCheckpoints"


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    root = tmp_path_factory.mktemp("loader")
    stand_in.build_engine(root / "engine")
    host = start_train_host(root, root / "engine")
    yield host
    host.cleanup()


def choices(host) -> list[str]:
    return host.object_info(NODE)[NODE]["input"]["required"]["run"][0]


def sink(run_choice: str) -> dict:
    return {
        "1": {"class_type": NODE, "inputs": {"run": run_choice}},
        "2": {"class_type": "TestCheckpointsSink", "inputs": {"checkpoints": ["1", 0]}},
    }


def test_runs_and_lora_folders_are_listed_and_loaded(host, tmp_path):
    trained = host.run_prompt(
        train_prompt(photos(tmp_path / "photos", 3), "loader_run", steps=6), timeout=300
    )
    assert trained.status == "success", trained.error
    runs = [c for c in choices(host) if c.startswith("run: loader_run-")]
    assert len(runs) == 1, choices(host)
    run_dir = next(
        p for p in (host.base_dir / "identity_lora_work" / "train").glob("loader_run-*") if p.is_dir()
    )
    planted = next(run_dir.rglob("loader_run-step00000002.safetensors"))
    shutil.copy(planted, planted.with_name("loader_run-step00000003.safetensors"))  # not recorded

    loaded = host.run_prompt(sink(runs[0]), timeout=120)
    assert loaded.status == "success", loaded.error
    report = json.loads(loaded.outputs["2"]["text"][0])
    assert [step for step, _ in report["files"]] == [2, 4, 6]
    assert report["lora_name"] == "identity/loader_run.safetensors" and report["losses"] > 0

    folder = host.models_dir / "loras" / "earlier_run"
    folder.mkdir()
    for step in (2, 4):
        shutil.copy(planted, folder / f"earlier-step{step:08d}.safetensors")
    assert "loras: earlier_run" in choices(host)
    from_loras = host.run_prompt(sink("loras: earlier_run"), timeout=120)
    report = json.loads(from_loras.outputs["2"]["text"][0])
    assert [step for step, _ in report["files"]] == [2, 4] and report["lora_name"] == ""

    with pytest.raises(PromptRejected, match="Value not in list"):  # ComfyUI checks the combo first
        host.run_prompt(sink("run: ../../etc"), timeout=60)
