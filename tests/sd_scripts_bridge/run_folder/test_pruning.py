"""Disk stays bounded (stand-in engine, no server): one resume state while a run goes, none after it
published, every step checkpoint kept and recorded; the report states the disk use; only what the
ledger recorded is ever deleted, links are never followed, and ``trusted_checkpoints`` lists only
recorded files that still hold the recorded bytes."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from devkit.stand_in_engine import stand_in
from sd_scripts_bridge.job import run_job
from sd_scripts_bridge.run.report import REPORT_FILE
from sd_scripts_bridge.run_folder.checkpoints import trusted_checkpoints
from sd_scripts_bridge.run_folder.ledger import LEDGER_FILE, StateLedger, file_sha256
from sd_scripts_bridge.run_folder.pruning import prune_older_states, remove_all_states
from sd_scripts_bridge.run_folder.states import read_state
from tests.sd_scripts_bridge.run_folder.test_ledger import plant_state
from tests.sd_scripts_bridge.test_job import job_request


@pytest.fixture(autouse=True)
def stand_in_speed(stand_in_pace):
    stand_in_pace(0.1)


class StateCounter:
    """``on_event``: at each checkpoint event, the run's state folders on disk."""

    def __init__(self, output_dir) -> None:
        self.output_dir = output_dir
        self.at_checkpoints: list[tuple[int, list[str], list[int]]] = []

    def __call__(self, event) -> None:
        if event.kind == "checkpoint":
            folders = sorted(self.output_dir.glob("*-state"))
            complete = [state.step for path in folders if (state := read_state(path)) is not None]
            self.at_checkpoints.append((event.step, [path.name for path in folders], complete))


def test_one_state_while_the_run_goes_and_none_after_it_published(tmp_path, engine):
    request = job_request(
        tmp_path,
        save_every_n_steps=4,
        sample_prompts=("ohwx person",),
        sample_every_n_steps=4,
        overrides={"max_train_steps": 48, "network_dim": 4, "lr_warmup_steps": 1},
    )
    counter = StateCounter(request.run_dir / "output")
    result = run_job(request, engine, on_event=counter)

    steps = [step for step, _, _ in counter.at_checkpoints]
    assert steps == list(range(4, 49, 4))  # 12 checkpoints, each reported once, in order
    for step, folders, complete in counter.at_checkpoints:
        # exactly one complete state, at or after the checkpoint; a second folder can only be the
        # next state, which the engine may be writing at that instant
        assert len(complete) == 1 and complete[0] >= step, folders
        assert len(folders) - len(complete) <= 1, folders
    output_dir = result.run_dir / "output"
    assert list(output_dir.glob("*-state")) == []
    ledger = json.loads((result.run_dir / LEDGER_FILE).read_text())
    assert not [name for name in ledger if name.endswith("-state")]
    assert [c.step for c in result.checkpoints] == steps
    assert trusted_checkpoints(result.run_dir) == result.checkpoints

    disk = result.training.disk
    checkpoint_bytes = sum(c.path.stat().st_size for c in result.checkpoints)
    sample_bytes = sum(path.stat().st_size for path in (output_dir / "sample").iterdir())
    assert (disk.checkpoint_bytes, disk.state_bytes, disk.sample_bytes) == (checkpoint_bytes, 0, sample_bytes)
    assert disk.total_bytes > checkpoint_bytes + sample_bytes
    report = json.loads((result.run_dir / REPORT_FILE).read_text())
    assert report["disk"] == {
        "total_bytes": disk.total_bytes,
        "checkpoint_bytes": checkpoint_bytes,
        "state_bytes": 0,
        "sample_bytes": sample_bytes,
    }
    assert "Disk: the run folder uses " in result.summary and "resume states 0 KB" in result.summary


def test_trusted_checkpoints_refuse_replaced_unrecorded_and_linked_files(tmp_path, engine):
    result = run_job(job_request(tmp_path, overrides={"max_train_steps": 8, "network_dim": 4}), engine)
    run_dir = result.run_dir
    listed = trusted_checkpoints(run_dir)
    assert [(c.step, c.path.name) for c in listed] == [
        (step, f"person_v1-step{step:08d}.safetensors") for step in (2, 4, 6, 8)
    ]
    two, four, six, eight = (c.path for c in listed)
    shutil.copy(six, four)  # replaced by another real LoRA file
    shutil.copy(two, two.with_name("person_v1-step00000010.safetensors"))  # never recorded
    outside = tmp_path / "elsewhere.safetensors"
    shutil.copy(eight, outside)
    eight.unlink()
    os.symlink(outside, eight)  # the same bytes, through a link
    ledger_path = run_dir / LEDGER_FILE
    ledger = json.loads(ledger_path.read_text())
    ledger["escape.safetensors"] = {  # a planted entry pointing out of the run folder
        "kind": "checkpoint",
        "global_step": 12,
        "path": "../../elsewhere.safetensors",
        "files": {"escape.safetensors": file_sha256(outside)},
    }
    ledger_path.write_text(json.dumps(ledger))
    assert [(c.step, c.path) for c in trusted_checkpoints(run_dir)] == [(2, two), (6, six)]


def test_pruning_deletes_only_recorded_real_state_folders(tmp_path, engine):
    plan = stand_in.make_plan(tmp_path, engine, steps=4)
    output_dir = plan.phases[0].output_dir
    for step in (2, 4):
        plant_state(output_dir, f"identity-step{step:08d}-state", step)
    plant_state(output_dir, "identity-step00000006-state", 6)  # not recorded: never deleted
    outside = tmp_path / "outside-state"
    plant_state(tmp_path, outside.name, 8)
    os.symlink(outside, output_dir / "identity-step00000008-state")  # a link: never followed
    plant_state(tmp_path / "elsewhere", "identity-step00000001-state", 1)  # another folder
    ledger = StateLedger.for_plan(plan)
    ledger.record_new(plan)  # records every complete real state not present at the start
    for name in ("identity-step00000006-state",):
        ledger.entries.pop(name)
    ledger.entries["identity-step00000008-state"] = {"request_key": "", "step": 8, "files": {}}
    ledger.entries["identity-step00000001-state"] = {"request_key": "", "step": 1, "files": {}}

    assert prune_older_states(plan, ledger) == [output_dir / "identity-step00000002-state"]
    assert remove_all_states(plan, ledger) == [output_dir / "identity-step00000004-state"]
    assert sorted(path.name for path in output_dir.glob("*-state")) == [
        "identity-step00000006-state",
        "identity-step00000008-state",
    ]
    assert read_state(outside) is not None
    assert (tmp_path / "elsewhere" / "identity-step00000001-state").is_dir()
    assert "identity-step00000002-state" not in json.loads((plan.run_dir / LEDGER_FILE).read_text())
