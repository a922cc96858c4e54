"""run_training against the stand-in engine (a test double of flux_train_network.py, see
stand_in_engine/): success and publishing, NaN, crash, out of memory, cancel, resume, overwrite,
missing or broken output. The real engine is covered by the engine-marked tests."""

import json
import math
from pathlib import Path

import pytest

from devkit.stand_in_engine import stand_in
from sd_scripts_bridge.engine import platform_compat
from sd_scripts_bridge.engine import process as engine_process
from sd_scripts_bridge.engine.process import KILL_WAIT_S, TERMINATE_GRACE_S, group_members
from sd_scripts_bridge.errors import (
    BadLoRAFileError,
    BridgeError,
    EngineCrashedError,
    EngineNotInstalledError,
    MissingOutputError,
    OutOfMemoryError,
    OutputExistsError,
    TrainingCancelledError,
    TrainingNaNError,
)
from sd_scripts_bridge.lora_file import check_lora, differing_tensors, read_metadata
from sd_scripts_bridge.run.loss_log import read_loss_csv
from sd_scripts_bridge.run.runner import engine_environment, run_training
from sd_scripts_bridge.run_folder.resume import find_start
from sd_scripts_bridge.run_folder.states import read_state
from tests.sd_scripts_bridge.windows_emulation import ON_BOTH_PLATFORMS


@pytest.fixture(autouse=True)
def fast_stand_in(stand_in_pace, monkeypatch, tmp_path):
    stand_in_pace(0.02)
    monkeypatch.setenv("STAND_IN_PID_FILE", str(tmp_path / "trainer.pid"))


class Recorder:
    """on_event + should_cancel: records events, cancels once a condition on them holds."""

    def __init__(self, cancel_when=None, pid_file=None):
        self.events = []
        self.cancel_when = cancel_when
        self.pid_file = pid_file
        self.trainer_pid = None
        self.group = None

    def __call__(self, event):
        self.events.append(event)

    def should_cancel(self):
        if self.cancel_when is None or not any(self.cancel_when(e) for e in self.events):
            return False
        self.trainer_pid = int(self.pid_file.read_text())
        try:
            self.group = process_group(self.trainer_pid)
        except OSError:  # that trainer already exited (the cancel came at the end of a phase)
            self.group = None
        return True

    def steps(self):
        return [e.step for e in self.events if e.kind == "step" and e.loss is not None]


def process_group(pid):
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat[stat.rfind(")") + 2 :].split()[2])


def alive(pid):
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2 :].split()[0] not in ("Z", "X")


def checkpoint_at(step):
    return lambda e: e.kind == "checkpoint" and e.step >= step


@ON_BOTH_PLATFORMS
def test_success_publishes_atomically_with_metadata(tmp_path, engine):
    plan = stand_in.make_plan(tmp_path, engine, steps=4, save_every=2)
    recorder = Recorder()
    result = run_training(plan, engine, on_event=recorder)

    destination = tmp_path / "loras" / "identity.safetensors"
    assert result.lora_path == destination and result.steps == 4
    assert [p.name for p in (tmp_path / "loras").iterdir()] == ["identity.safetensors"]
    check_lora(destination)
    metadata = read_metadata(destination)
    assert metadata["ss_network_dim"] == "4" and metadata["ss_steps"] == "4"
    assert metadata["identity_lora_profile"] == "fast"
    assert metadata["identity_lora_vram_tier"] == "24gb"
    assert metadata["identity_lora_engine_commit"] == stand_in.PINNED_COMMIT
    assert json.loads(metadata["identity_lora_phases"]) == [{"name": "train", "max_train_steps": 4}]
    assert result.metadata == metadata

    assert recorder.steps()[-1] == 4 and {e.total for e in recorder.events} == {4}
    assert [(c.step, c.path.name) for c in result.checkpoints] == [
        (2, "identity-step00000002.safetensors"),
        (4, "identity-step00000004.safetensors"),
    ]
    rows = read_loss_csv(result.loss_csv)
    assert [int(r["step"]) for r in rows] == [1, 2, 3, 4]
    assert all(r["phase"] == "train" and float(r["loss"]) > 0 for r in rows)
    assert math.isclose(float(rows[-1]["loss"]), result.final_loss)
    launches = json.loads((plan.run_dir / "command.json").read_text())
    assert launches[0]["argv"] == list(plan.phases[0].argv)
    assert (plan.run_dir / "dataset.toml").read_text() == plan.dataset_toml
    assert "saving checkpoint:" in result.log_path.read_text()


def test_engine_gets_an_offline_environment(tmp_path):
    env = engine_environment(tmp_path, {"PATH": "/bin", "PYTHONPATH": "/comfy", "VIRTUAL_ENV": "/v"})
    assert env == {
        "PATH": "/bin",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_HOME": str(tmp_path / "hf_home"),
        "PYTHONUNBUFFERED": "1",
    }


def test_two_phases_continue_the_count_and_keep_phase_one_text_encoder(tmp_path, engine):
    plan = stand_in.make_plan(tmp_path, engine, steps=6, save_every=None, two_phase=True)
    recorder = Recorder()
    result = run_training(plan, engine, on_event=recorder)
    phase1_file, published = plan.phases[0].output_file, result.lora_path
    assert differing_tensors(phase1_file, published, "lora_te1_") == []
    assert differing_tensors(phase1_file, published, "lora_unet_") != []
    steps_by_phase = {}
    for event in recorder.events:
        if event.kind == "step" and event.loss is not None:
            steps_by_phase.setdefault(event.phase, []).append(event.step)
    assert steps_by_phase["te_phase1"][-1] == 3 and steps_by_phase["te_phase2"][0] == 4
    assert result.steps == 6
    assert [r["phase"] for r in read_loss_csv(result.loss_csv)] == ["te_phase1"] * 3 + ["te_phase2"] * 3


def test_nan_stops_the_run_publishes_nothing_and_names_the_fix(tmp_path, engine, monkeypatch):
    monkeypatch.setenv("STAND_IN_NAN_AT_STEP", "3")
    monkeypatch.setenv("STAND_IN_SEC_PER_STEP", "0.1")
    plan = stand_in.make_plan(tmp_path, engine, steps=40, save_every=2)
    with pytest.raises(TrainingNaNError) as caught:
        run_training(plan, engine)
    error = caught.value
    assert error.step == 3
    assert "learning rate" in error.fix and "bf16" in error.fix
    assert error.log_path == plan.run_dir / "engine.log" and error.log_tail
    assert not (tmp_path / "loras").exists()
    output = plan.phases[0].output_dir
    assert (output / "identity-step00000002.safetensors").exists()  # nothing deleted
    assert not plan.phases[0].output_file.exists()  # stopped long before the end
    trainer = int((tmp_path / "trainer.pid").read_text())
    assert not alive(trainer)
    assert "loss is NaN" in error.log_path.read_text()


def test_crash_carries_the_log_tail(tmp_path, engine, monkeypatch):
    monkeypatch.setenv("STAND_IN_CRASH_AT_STEP", "2")
    plan = stand_in.make_plan(tmp_path, engine, steps=4)
    with pytest.raises(EngineCrashedError) as caught:
        run_training(plan, engine)
    message = str(caught.value)
    assert caught.value.returncode == 1
    assert "RuntimeError: stand-in crash at step 2" in message
    assert str(plan.run_dir / "engine.log") in message
    assert not (tmp_path / "loras").exists()


def test_out_of_memory_names_the_next_smaller_tier(tmp_path, engine, monkeypatch):
    monkeypatch.setenv("STAND_IN_OOM_AT_STEP", "2")
    plan = stand_in.make_plan(tmp_path, engine, steps=4, tier="24gb")
    with pytest.raises(OutOfMemoryError) as caught:
        run_training(plan, engine)
    assert caught.value.tier == "24gb" and caught.value.smaller_tier == "16gb"
    assert "16gb" in caught.value.fix
    assert "CUDA out of memory" in str(caught.value)


def test_out_of_memory_on_the_smallest_tier_says_so(tmp_path, engine, monkeypatch):
    monkeypatch.setenv("STAND_IN_OOM_AT_STEP", "1")
    plan = stand_in.make_plan(tmp_path, engine, steps=2, tier="8gb")
    with pytest.raises(OutOfMemoryError) as caught:
        run_training(plan, engine)
    assert caught.value.smaller_tier is None and "smallest VRAM tier" in caught.value.fix


def cancelled_run(tmp_path, engine, monkeypatch, steps=30, cancel_after=4):
    monkeypatch.setenv("STAND_IN_SEC_PER_STEP", "0.1")
    plan = stand_in.make_plan(tmp_path, engine, steps=steps, save_every=2)
    recorder = Recorder(cancel_when=checkpoint_at(cancel_after), pid_file=tmp_path / "trainer.pid")
    with pytest.raises(TrainingCancelledError) as caught:
        run_training(plan, engine, on_event=recorder, should_cancel=recorder.should_cancel)
    return plan, recorder, caught.value


@ON_BOTH_PLATFORMS
def test_cancel_stops_the_whole_tree_and_keeps_the_state(tmp_path, engine, monkeypatch):
    plan, recorder, error = cancelled_run(tmp_path, engine, monkeypatch)
    assert recorder.group is not None and recorder.group != recorder.trainer_pid  # launcher + trainer
    assert group_members(recorder.group) == []
    assert not alive(recorder.trainer_pid) and not alive(recorder.group)
    state = read_state(error.resume_state)
    # The newest complete state. The cancel is asked for at the step-4 checkpoint; on a loaded
    # machine the engine may save one or two more states before SIGTERM lands, or be cut off
    # while writing one, so the step is any saved one short of the end.
    assert state is not None and state.step % 2 == 0 and 2 <= state.step < 30
    later = plan.phases[0].output_dir.glob("identity-step*-state")
    assert all(read_state(path) is None for path in later if path.name > error.resume_state.name)
    assert error.resume_state.name == f"identity-step{state.step:08d}-state"
    assert (plan.phases[0].output_dir / f"identity-step{state.step:08d}.safetensors").exists()
    assert "resume_from=" in error.fix and str(error.resume_state) in str(error)
    assert not (tmp_path / "loras").exists()
    assert "cancelled by the user" in (plan.run_dir / "engine.log").read_text()


def test_stop_deadlines_fit_in_ten_seconds():
    assert TERMINATE_GRACE_S + KILL_WAIT_S < 10


@ON_BOTH_PLATFORMS
def test_cancel_kills_an_engine_that_ignores_sigterm(tmp_path, engine, monkeypatch, platform_name):
    monkeypatch.setenv("STAND_IN_IGNORE_SIGTERM", "1")  # with Windows patched in: ignores the break
    monkeypatch.setattr(engine_process, "TERMINATE_GRACE_S", 1.0)
    _plan, recorder, error = cancelled_run(tmp_path, engine, monkeypatch, cancel_after=2)
    assert group_members(recorder.group) == [] and not alive(recorder.trainer_pid)
    assert error.resume_state is not None
    if platform_name == "windows":  # asked with CTRL_BREAK_EVENT, then ended with taskkill /T /F
        asked = [call[0] for call in platform_compat.current().calls.calls]
        assert asked[:3] == ["CREATE_NEW_PROCESS_GROUP", "CTRL_BREAK_EVENT", "taskkill"]


def test_cancel_between_phases_resumes_with_phase_two(tmp_path, engine):
    plan = stand_in.make_plan(tmp_path, engine, steps=4, save_every=2, two_phase=True)
    recorder = Recorder(  # phase 1's file was checked: the cancel lands before phase 2 starts
        cancel_when=lambda e: e.kind == "phase" and e.path and e.path.name.endswith("phase1.safetensors")
    )
    recorder.pid_file = tmp_path / "trainer.pid"
    with pytest.raises(TrainingCancelledError) as caught:
        run_training(plan, engine, on_event=recorder, should_cancel=recorder.should_cancel)
    state = caught.value.resume_state
    # phase 1's end state; its step-2 state at the same step was pruned
    assert state is not None and state.name == "identity_te_phase1-state"
    assert [p.name for p in plan.phases[0].output_dir.glob("*-state")] == [state.name]
    result = run_training(plan, engine, resume_from=state)
    launches = json.loads((plan.run_dir / "command.json").read_text())
    assert [launch["phase"] for launch in launches] == ["te_phase1", "te_phase2"]
    assert "--resume" not in launches[-1]["argv"]
    assert result.steps == 4
    assert differing_tensors(plan.phases[0].output_file, result.lora_path, "lora_te1_") == []


def test_phase_cut_off_while_writing_its_final_file_is_trained_again(tmp_path, engine):
    plan = stand_in.make_plan(tmp_path, engine, steps=4, save_every=2, two_phase=True)
    recorder = Recorder(cancel_when=lambda e: e.kind == "phase" and e.path is not None)  # after phase 1
    recorder.pid_file = tmp_path / "trainer.pid"
    with pytest.raises(TrainingCancelledError):
        run_training(plan, engine, on_event=recorder, should_cancel=recorder.should_cancel)
    phase1 = plan.phases[0]
    data = phase1.output_file.read_bytes()
    phase1.output_file.write_bytes(data[: len(data) // 2])  # as if killed mid-write
    final_state = phase1.output_dir / "identity_te_phase1-state"
    start = find_start(plan, final_state)
    assert start.phase_index == 0 and start.state is None  # no earlier state below step 2
    run_training(plan, engine, resume_from=final_state)
    check_lora(phase1.output_file)


@ON_BOTH_PLATFORMS
def test_resume_continues_the_global_step_count(tmp_path, engine, monkeypatch):
    plan, _, error = cancelled_run(tmp_path, engine, monkeypatch, steps=12)
    saved_step = read_state(error.resume_state).step
    monkeypatch.setenv("STAND_IN_SEC_PER_STEP", "0.02")
    recorder = Recorder()
    result = run_training(plan, engine, on_event=recorder, resume_from=error.resume_state)
    assert recorder.steps()[0] == saved_step + 1 and recorder.steps()[-1] == 12
    assert result.steps == 12
    launches = json.loads((plan.run_dir / "command.json").read_text())
    assert len(launches) == 2
    assert launches[1]["argv"][-3:] == ["--resume", str(error.resume_state), "--skip_until_initial_step"]
    steps = [int(r["step"]) for r in read_loss_csv(result.loss_csv)]
    assert steps == sorted(set(steps)) and steps[-1] == 12  # one row per step, no restart at 1
    check_lora(result.lora_path)


def test_resume_is_found_automatically(tmp_path, engine, monkeypatch):
    plan, _, error = cancelled_run(tmp_path, engine, monkeypatch, steps=12)
    assert find_start(plan, None).state.path == error.resume_state
    saved_step = read_state(error.resume_state).step
    monkeypatch.setenv("STAND_IN_SEC_PER_STEP", "0.02")
    recorder = Recorder()
    run_training(plan, engine, on_event=recorder)
    assert recorder.steps()[0] == saved_step + 1


def test_existing_lora_is_kept_unless_overwrite(tmp_path, engine):
    plan = stand_in.make_plan(tmp_path, engine, steps=2)
    destination = tmp_path / "loras" / "identity.safetensors"
    destination.parent.mkdir()
    destination.write_bytes(b"an earlier LoRA")
    with pytest.raises(OutputExistsError):
        run_training(plan, engine)
    assert destination.read_bytes() == b"an earlier LoRA"
    assert not (plan.run_dir / "engine.log").exists()  # refused before any process started
    run_training(plan, engine, overwrite=True)
    check_lora(destination)


def test_finished_without_a_file_is_an_error(tmp_path, engine, monkeypatch):
    monkeypatch.setenv("STAND_IN_NO_OUTPUT", "1")
    plan = stand_in.make_plan(tmp_path, engine, steps=2, save_every=None)
    with pytest.raises(MissingOutputError) as caught:
        run_training(plan, engine)
    assert caught.value.path == plan.phases[0].output_file
    assert "model saved." in str(caught.value)  # the log tail
    assert not (tmp_path / "loras").exists()


def test_lora_with_missing_keys_is_an_error(tmp_path, engine, monkeypatch):
    monkeypatch.setenv("STAND_IN_MISSING_KEYS", "1")
    plan = stand_in.make_plan(tmp_path, engine, steps=2, save_every=None)
    with pytest.raises(BadLoRAFileError) as caught:
        run_training(plan, engine)
    assert "missing" in caught.value.problem and caught.value.log_tail
    assert not (tmp_path / "loras").exists()


def test_block_count_is_checked_against_the_base_model(tmp_path, engine, monkeypatch):
    monkeypatch.setenv("STAND_IN_BLOCKS", "1,0")  # the engine "forgot" the single blocks
    plan = stand_in.make_plan(tmp_path, engine, steps=2, save_every=None)
    with pytest.raises(BadLoRAFileError, match="lora_unet_single_blocks_0"):
        run_training(plan, engine)


def test_missing_engine_is_reported_before_anything_runs(tmp_path, engine):
    plan = stand_in.make_plan(tmp_path, engine, steps=2)
    engine.python.unlink()
    with pytest.raises(EngineNotInstalledError) as caught:
        run_training(plan, engine)
    assert "python -m sd_scripts_bridge install --engine DIR" in str(caught.value)


def test_resume_from_a_wrong_or_incomplete_state_is_refused_before_launch(tmp_path, engine):
    plan = stand_in.make_plan(tmp_path, engine, steps=2)
    incomplete = plan.phases[0].output_dir / "identity-step00000002-state"
    incomplete.mkdir(parents=True)
    (incomplete / "train_state.json").write_text('{"current_step": 2}')  # no random_states: cut off
    with pytest.raises(BridgeError, match="missing or incomplete"):
        run_training(plan, engine, resume_from=incomplete)
    foreign = tmp_path / "elsewhere" / "other-step00000002-state"
    foreign.mkdir(parents=True)
    (foreign / "train_state.json").write_text('{"current_step": 2}')
    (foreign / "random_states_0.pkl").write_bytes(b"x")
    with pytest.raises(BridgeError, match="does not belong to this training plan"):
        run_training(plan, engine, resume_from=foreign)
    assert not (plan.run_dir / "engine.log").exists()
    assert find_start(plan, None).state is None  # the incomplete state is never picked
