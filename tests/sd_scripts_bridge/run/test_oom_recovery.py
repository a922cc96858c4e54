"""Out-of-memory recovery in the training job, with the stand-in engine (a test double of
flux_train_network.py) dying with the real CUDA out-of-memory text at a step, and only while fewer
blocks are swapped than ``STAND_IN_OOM_BELOW_SWAP`` (a card the larger tiers do not fit)."""

from __future__ import annotations

import json

import pytest

from devkit.stand_in_engine import stand_in
from sd_scripts_bridge.errors import OutOfMemoryError
from sd_scripts_bridge.job import JobOptions, run_job
from sd_scripts_bridge.lora_file import read_metadata
from sd_scripts_bridge.plan.request_key import request_key
from sd_scripts_bridge.run.loss_log import read_loss_csv
from sd_scripts_bridge.run.oom_recovery import RECOVERIES_METADATA, RECOVERY_PHASE
from sd_scripts_bridge.run.runner import COMMAND_FILE
from tests.sd_scripts_bridge.plan_builders import option
from tests.sd_scripts_bridge.test_job import job_request


@pytest.fixture(autouse=True)
def stand_in_runs_out_of_memory(monkeypatch):
    for name in ("NAN_AT_STEP", "CRASH_AT_STEP", "NO_OUTPUT", "BLOCKS", "PID_FILE"):
        monkeypatch.delenv(f"STAND_IN_{name}", raising=False)
    monkeypatch.setenv("STAND_IN_SEC_PER_STEP", "0.02")
    monkeypatch.setenv("STAND_IN_OOM_AT_STEP", "3")
    monkeypatch.setenv("STAND_IN_OOM_BELOW_SWAP", "8")  # fits from the 16gb tier (8 blocks) down


@pytest.fixture
def engine(tmp_path):
    return stand_in.build_engine(tmp_path / "engine")


def gpu_request(tmp_path, **changes):
    """The job tests' request on a GPU (block swap is in the plan), auto tier with the GPU memory
    unknown: tier 24gb."""
    return job_request(tmp_path, cpu=False, vram_tier="auto", **changes)


def launches(run_dir):
    return json.loads((run_dir / COMMAND_FILE).read_text())


def test_out_of_memory_continues_on_the_next_smaller_tier_from_the_saved_state(tmp_path, engine):
    request = gpu_request(tmp_path)
    events = []
    result = run_job(request, engine, on_event=events.append)

    (recovery,) = result.recoveries
    assert (recovery.tier, recovery.next_tier, recovery.resumed_step) == ("24gb", "16gb", 2)
    assert recovery.resumed_from.name == "person_v1-step00000002-state"
    assert result.plan.tier.name == "16gb" and "out of GPU memory on 24gb" in result.plan.tier.reason
    # the same request: same key, same run folder, one published file
    assert result.key == request_key(request) and result.run_dir == request.run_dir
    first, second = launches(result.run_dir)
    assert "--blocks_to_swap" not in first["argv"] and option(second["argv"], "--blocks_to_swap") == "8"
    assert option(second["argv"], "--resume") == str(recovery.resumed_from)
    assert [int(row["step"]) for row in read_loss_csv(result.run_dir / "loss.csv")] == list(range(1, 7))

    metadata = read_metadata(result.lora_path)
    assert metadata["identity_lora_vram_tier"] == "16gb" and metadata["identity_lora_blocks_to_swap"] == "8"
    assert json.loads(metadata[RECOVERIES_METADATA]) == [
        {"tier": "24gb", "next_tier": "16gb", "resumed_step": 2}
    ]
    sentence = "Out of GPU memory on tier 24gb: continued on tier 16gb from the step-2 state."
    assert sentence in result.summary
    assert [e.message for e in events if e.phase == RECOVERY_PHASE] == [sentence]
    report = json.loads(result.report_path.read_text())
    assert report["oom_recoveries"] == [{"tier": "24gb", "next_tier": "16gb", "resumed_step": 2}]


def test_without_a_saved_state_it_starts_the_smaller_tier_from_the_first_step(tmp_path, engine, monkeypatch):
    monkeypatch.setenv("STAND_IN_OOM_AT_STEP", "1")
    result = run_job(gpu_request(tmp_path), engine)
    (recovery,) = result.recoveries
    assert recovery.resumed_step is None and "from the start" in recovery.sentence()
    assert result.training.steps == 6 and "--resume" not in launches(result.run_dir)[-1]["argv"]


def test_it_walks_down_to_the_smallest_tier_and_then_stops_with_its_fix(tmp_path, engine, monkeypatch):
    monkeypatch.setenv("STAND_IN_OOM_BELOW_SWAP", "100")  # no tier fits this card
    request = gpu_request(tmp_path)
    with pytest.raises(OutOfMemoryError) as stopped:
        run_job(request, engine)
    assert stopped.value.tier == "8gb" and stopped.value.smaller_tier is None
    assert "already the smallest VRAM tier" in stopped.value.fix
    swaps = [option(launch["argv"], "--blocks_to_swap") for launch in launches(request.run_dir)[1:]]
    assert swaps == ["8", "16", "22", "28"]  # after 24gb: 16gb, 12gb, 10gb, 8gb
    assert not (tmp_path / "loras").exists()


def test_turned_off_the_first_out_of_memory_error_stops_the_job(tmp_path, engine):
    request = gpu_request(tmp_path)
    with pytest.raises(OutOfMemoryError) as stopped:
        run_job(request, engine, options=JobOptions(recover_from_oom=False))
    assert (stopped.value.tier, stopped.value.smaller_tier) == ("24gb", "16gb")
    assert "CUDA out of memory" in str(stopped.value)
    assert len(launches(request.run_dir)) == 1
