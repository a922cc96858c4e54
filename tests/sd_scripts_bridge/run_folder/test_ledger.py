"""Only what the runner watched the engine write is resumed from: planted or changed states and
phase outputs are ignored, and every launch gets an empty HF_HOME (stand-in engine, no server)."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from devkit.stand_in_engine import stand_in
from sd_scripts_bridge.errors import TrainingCancelledError
from sd_scripts_bridge.job import run_job
from sd_scripts_bridge.run.runner import HF_HOME_DIR, run_training
from sd_scripts_bridge.run_folder.ledger import LEDGER_FILE
from sd_scripts_bridge.run_folder.resume import find_start
from tests.sd_scripts_bridge.plan_builders import make_images, make_request
from tests.sd_scripts_bridge.test_job import Events, job_request

POISON = 1000.0


@pytest.fixture(autouse=True)
def fast_stand_in(stand_in_pace):
    stand_in_pace(0.02)


def plant_state(folder, name: str, step: int, like=None) -> None:
    """A complete-looking state folder with poisoned weights, as a hostile writer would leave it."""
    folder.mkdir(parents=True, exist_ok=True)
    state = folder / name
    state.mkdir()
    weights = {
        "lora_unet_double_blocks_0_img_attn_qkv.lora_up.weight": np.full((9216, 4), POISON, np.float32)
    }
    if like is not None:
        weights = {key: np.full_like(value, POISON) for key, value in load_file(str(like)).items()}
    save_file(weights, str(state / "model.safetensors"))
    (state / "train_state.json").write_text(json.dumps({"current_epoch": 1, "current_step": step}))
    (state / "random_states_0.pkl").write_bytes(pickle.dumps({"step": step}))


def poisoned(path) -> bool:
    return any(np.abs(value).max() >= POISON for value in load_file(str(path)).values())


def test_a_planted_state_is_never_resumed(tmp_path, engine):
    request = job_request(tmp_path)
    output_dir = request.run_dir / "output"
    plant_state(output_dir, "person_v1-step00000004-state", 4)
    events = Events()
    result = run_job(request, engine, on_event=events.append)
    assert result.training.resumed_at is None and min(events.steps()) == 1
    assert not poisoned(result.lora_path)
    ledger = json.loads((request.run_dir / LEDGER_FILE).read_text())
    assert "person_v1-step00000004-state" not in ledger
    assert {f"person_v1-step0000000{step}.safetensors" for step in (2, 4, 6)} <= set(ledger)
    # the run's own states were deleted once it published; the planted folder was never recorded,
    # so it is not the pack's to delete
    assert [path.name for path in output_dir.glob("*-state")] == ["person_v1-step00000004-state"]


def test_a_recorded_state_whose_files_changed_is_not_trusted(tmp_path, engine, monkeypatch):
    monkeypatch.setenv("STAND_IN_SEC_PER_STEP", "0.2")
    request = job_request(tmp_path, overrides={"max_train_steps": 12, "network_dim": 4, "lr_warmup_steps": 1})
    events = Events()
    with pytest.raises(TrainingCancelledError) as cancelled:
        run_job(request, engine, on_event=events.append, should_cancel=lambda: 7 in events.steps())
    newest = cancelled.value.resume_state
    assert newest is not None and newest.name in {
        "person_v1-step00000004-state",
        "person_v1-step00000006-state",
    }
    tampered = newest / "model.safetensors"
    save_file({k: np.full_like(v, POISON) for k, v in load_file(str(tampered)).items()}, str(tampered))
    assert [path.name for path in newest.parent.glob("*-state")] == [newest.name]  # older ones pruned
    monkeypatch.setenv("STAND_IN_SEC_PER_STEP", "0.02")
    result = run_job(request, engine)
    assert result.training.resumed_at is None  # the only state changed: the run starts again
    assert not poisoned(result.lora_path)


def test_a_planted_phase_one_output_is_not_handed_to_phase_two(tmp_path, engine):
    plan = stand_in.make_plan(tmp_path, engine, steps=4, save_every=2, two_phase=True)
    events = []
    phase1_done = lambda: any(e.kind == "phase" and e.path is not None for e in events)  # noqa: E731
    with pytest.raises(TrainingCancelledError):  # cut off before phase 2 saved anything
        run_training(plan, engine, on_event=events.append, should_cancel=phase1_done)
    phase1 = plan.phases[0]
    assert find_start(plan, None).phase_index == 1  # phase 1 finished: phase 2 starts from its file
    # a hostile writer replaces phase 1's output: it is no longer handed to phase 2
    weights = {k: np.full_like(v, POISON) for k, v in load_file(str(phase1.output_file)).items()}
    save_file(weights, str(phase1.output_file))
    assert find_start(plan, None).phase_index == 0


def test_every_launch_gets_an_empty_hf_home(tmp_path, engine):
    request = make_request(
        tmp_path,
        images=make_images(tmp_path / "photos", 4),
        cpu=True,
        publish_dir=tmp_path / "loras",
        overrides={"max_train_steps": 2, "network_dim": 4, "lr_warmup_steps": 1},
    )
    planted = request.run_dir / HF_HOME_DIR / "accelerate" / "default_config.yaml"
    planted.parent.mkdir(parents=True)
    planted.write_text("num_processes: 8\nmain_training_function: evil\n")
    run_job(request, engine)
    assert (request.run_dir / HF_HOME_DIR).is_dir() and not planted.exists()
