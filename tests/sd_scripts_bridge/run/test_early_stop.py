"""A caller's clean early stop (stand-in engine, no server): the engine runs on to the first state
at or after the step, is stopped like a cancel, the kept step checkpoint is published with the
stop in its metadata, the run stays resumable, and the LoRA is reused only by callers that stop
early too; anyone else continues the run to its end."""

from __future__ import annotations

import json

import pytest
from safetensors.numpy import load_file

from devkit.stand_in_engine import stand_in
from sd_scripts_bridge.errors import BridgeError
from sd_scripts_bridge.job import JobOptions, run_job
from sd_scripts_bridge.lora_file import read_metadata
from sd_scripts_bridge.model import StopRequest
from sd_scripts_bridge.plan.request_key import REQUEST_KEY_METADATA
from sd_scripts_bridge.run.early_stop import (
    CHECKPOINT_STEP_METADATA,
    STOP_REASON_METADATA,
    STOPPED_EARLY_AT_METADATA,
)
from sd_scripts_bridge.run.report import REPORT_FILE
from sd_scripts_bridge.run.runner import run_training
from sd_scripts_bridge.run_folder.ledger import LEDGER_FILE, StateLedger
from sd_scripts_bridge.run_folder.resume import find_start
from tests.sd_scripts_bridge.test_job import Events, job_request

STOP = StopRequest(at_step=6, keep_step=4, reason="likeness flat while the loss falls")


@pytest.fixture(autouse=True)
def slow_enough_stand_in(stand_in_pace):
    stand_in_pace(0.15)


def states_in(output_dir) -> list[str]:
    return sorted(path.name for path in output_dir.glob("*-state"))


class StopAtStep:
    """``should_stop``: returns ``request`` once a step event at ``after`` or later was seen."""

    def __init__(self, events: Events, after: int, request: StopRequest) -> None:
        self.events, self.after, self.request = events, after, request

    def __call__(self) -> StopRequest | None:
        return self.request if any(step >= self.after for step in self.events.steps()) else None


def test_an_early_stop_publishes_the_kept_checkpoint_and_the_run_continues_later(tmp_path, engine):
    request = job_request(tmp_path, overrides={"max_train_steps": 12, "network_dim": 4, "lr_warmup_steps": 1})
    events = Events()
    # the rule fires during step 5: the engine must go on until the step-6 state is complete
    result = run_job(request, engine, on_event=events.append, should_stop=StopAtStep(events, 5, STOP))

    output_dir = result.run_dir / "output"
    assert result.stopped_early == STOP and result.training.stopped_early == STOP
    assert result.training.steps == 4
    assert max(events.steps()) < 8 and not (output_dir / "person_v1.safetensors").exists()
    assert states_in(output_dir) == ["person_v1-step00000006-state"]  # the newest, kept to resume
    start = find_start(result.plan, None)
    assert start.state.step == 6 and StateLedger.for_plan(result.plan).trusts(start.state)

    kept = output_dir / "person_v1-step00000004.safetensors"
    published = load_file(str(result.lora_path))
    assert published.keys() == load_file(str(kept)).keys()
    assert all((published[k] == v).all() for k, v in load_file(str(kept)).items())
    metadata = read_metadata(result.lora_path)
    assert metadata[STOPPED_EARLY_AT_METADATA] == "6" and metadata[CHECKPOINT_STEP_METADATA] == "4"
    assert metadata[STOP_REASON_METADATA] == STOP.reason and metadata[REQUEST_KEY_METADATA] == result.key
    assert metadata["ss_steps"] == "4" and metadata["identity_lora_total_steps"] == "4"
    assert "Stopped early at step 6 of 12 (likeness flat while the loss falls): published the step-4 " \
        "checkpoint (person_v1-step00000004.safetensors)" in result.summary  # fmt: skip
    report = json.loads((result.run_dir / REPORT_FILE).read_text())
    assert report["stopped_early"] == {
        "at_step": 6,
        "keep_step": 4,
        "reason": STOP.reason,
        "published_checkpoint": str(kept),
    }
    assert "stopped the engine early" in (result.run_dir / "engine.log").read_text()

    # a caller that stops early too reuses it, as it is
    again = run_job(request, None, options=JobOptions(early_stop=True))
    assert again.reused and again.stopped_early == STOP and [c.step for c in again.checkpoints] == [2, 4, 6]

    # anyone else continues the run from its newest state to the end, and replaces the file
    resumed = Events()
    full = run_job(request, engine, on_event=resumed.append)
    assert not full.reused and full.stopped_early is None and full.training.resumed_at == 6
    assert min(resumed.steps()) == 7 and full.training.steps == 12 and full.lora_path == result.lora_path
    assert STOPPED_EARLY_AT_METADATA not in read_metadata(full.lora_path)
    assert read_metadata(full.lora_path)["ss_steps"] == "12"
    assert states_in(output_dir) == []  # finished and published: nothing left to resume
    ledger = json.loads((full.run_dir / LEDGER_FILE).read_text())
    assert not [name for name in ledger if name.endswith("-state")]
    assert run_job(request, None, options=JobOptions(early_stop=True)).reused  # and reused from now on


def test_a_stop_due_at_once_stops_at_the_newest_state(tmp_path, engine):
    plan = stand_in.make_plan(tmp_path, engine, steps=12, save_every=2)
    events = Events()
    late = StopRequest(at_step=2, keep_step=2, reason="at once")
    result = run_training(plan, engine, on_event=events.append, should_stop=StopAtStep(events, 5, late))
    assert result.stopped_early == late and result.steps == 2 and max(events.steps()) < 8
    assert [p.name for p in plan.phases[0].output_dir.glob("*-state")] in (
        ["identity-step00000004-state"],
        ["identity-step00000006-state"],
    )


def test_a_missing_kept_checkpoint_is_an_error_with_the_fix(tmp_path, engine):
    plan = stand_in.make_plan(tmp_path, engine, steps=12, save_every=2)
    events = Events()
    odd = StopRequest(at_step=4, keep_step=3, reason="kept an odd step")
    with pytest.raises(BridgeError) as error:
        run_training(plan, engine, on_event=events.append, should_stop=StopAtStep(events, 1, odd))
    assert "no recorded step checkpoint exists at step 3" in str(error.value)
    assert "recorded checkpoint steps: 2, 4" in str(error.value)
    assert "run again without stopping early" in error.value.fix
    assert not (tmp_path / "loras" / "identity.safetensors").exists()
    assert find_start(plan, None).state.step == 4  # resumable all the same


def test_a_two_phase_run_stopped_in_phase_one_publishes_its_checkpoint(tmp_path, engine):
    plan = stand_in.make_plan(tmp_path, engine, steps=12, save_every=2, two_phase=True)
    events = Events()
    stop = StopRequest(at_step=4, keep_step=2, reason="phase one was enough")
    result = run_training(plan, engine, on_event=events.append, should_stop=StopAtStep(events, 3, stop))
    assert result.stopped_early == stop and result.steps == 2
    assert read_metadata(result.lora_path)["ss_output_name"] == "identity_te_phase1"
    assert any(key.startswith("lora_te1_") for key in load_file(str(result.lora_path)))
    assert [e.phase for e in events if e.kind == "step"][-1] == "te_phase1"  # phase 2 never started
