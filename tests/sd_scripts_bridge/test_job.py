"""The training job (``run_job``) that the node and the ``train`` CLI both run, against the stand-in
engine (a test double of flux_train_network.py, see stand_in_engine/), without a ComfyUI server:
resolution overrides, validation capture, resume and set-aside, reuse, the checkpoint list."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from devkit.stand_in_engine import stand_in
from sd_scripts_bridge.cli.main import build_parser
from sd_scripts_bridge.cli.plan_command import request_from_args
from sd_scripts_bridge.errors import TrainingCancelledError
from sd_scripts_bridge.job import JOB_PHASE, JobOptions, place_run, run_job
from sd_scripts_bridge.lora_file import read_metadata
from sd_scripts_bridge.plan.build import build_plan
from sd_scripts_bridge.plan.overrides import from_fields, parse_key_values, parse_settings_json
from sd_scripts_bridge.plan.request_key import REQUEST_KEY_METADATA, request_key
from sd_scripts_bridge.run.loss_log import read_loss_csv
from sd_scripts_bridge.run.report import REPORT_FILE
from sd_scripts_bridge.run.validation_log import read_validation_csv
from tests.sd_scripts_bridge.plan_builders import make_images, make_request
from tests.sd_scripts_bridge.windows_emulation import ON_BOTH_PLATFORMS

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def fast_stand_in(stand_in_pace):
    stand_in_pace(0.02)


def job_request(tmp_path: Path, **changes):
    """A request the way the node makes one: run folder named after the key under a runs root."""
    values = dict(
        images=make_images(tmp_path / "photos", 8),
        cpu=True,
        save_every_n_steps=2,
        publish_dir=tmp_path / "loras",
        overrides={"max_train_steps": 6, "network_dim": 4, "network_alpha": 4.0, "lr_warmup_steps": 1},
    )
    values.update(changes)
    return place_run(make_request(tmp_path, **values), tmp_path / "runs")


class Events(list):
    def steps(self) -> list[int]:
        return [e.step for e in self if e.kind == "step" and e.loss is not None]


def test_node_and_cli_inputs_resolve_to_the_same_settings(tmp_path, engine):
    node = {**from_fields(steps=6, rank=4, resolution=1024), **parse_settings_json('{"lr_warmup_steps": 1}')}
    cli = parse_key_values(["max_train_steps=6", "network_dim=4", "network_alpha=4", "resolution=1024"])
    cli.update(parse_key_values(["lr_warmup_steps=1"]))
    assert node == cli
    plan = build_plan(make_request(tmp_path, overrides=node), engine)
    # the resolution override widens the Fast profile's buckets (256-768) to contain it
    assert (plan.settings["min_bucket_reso"], plan.settings["max_bucket_reso"]) == (256, 1024)
    assert "max_bucket_reso = 1024" in plan.dataset_toml


def test_cli_and_job_share_one_request_key_and_run_folder(tmp_path):
    photos = tmp_path / "photos"
    make_images(photos, 4, caption=None)
    (photos / "img0.txt").write_text("ohwx person, smiling\n")
    models = tmp_path / "models"
    base = stand_in.write_base_model(models / "flux.safetensors")
    for name in ("clip_l", "t5xxl", "ae"):
        (models / f"{name}.safetensors").write_bytes(b"stand-in model file")
    args = build_parser().parse_args(
        [
            "train", "--engine", str(tmp_path / "engine"), "--no-engine-check", "--allow-unpinned", "--cpu",
            "--images", str(photos), "--trigger-token", "ohwx", "--output-name", "same",
            "--runs-root", str(tmp_path / "runs"), "--flux", str(base),
            "--clip-l", str(models / "clip_l.safetensors"), "--t5xxl", str(models / "t5xxl.safetensors"),
            "--ae", str(models / "ae.safetensors"), "--set", "max_train_steps=6", "--save-every", "2",
        ]
    )  # fmt: skip
    request, _ = request_from_args(args)
    key = request_key(request)
    assert request.run_dir == tmp_path / "runs" / f"same-{key[:12]}"
    assert request.images[0].caption == "ohwx person, smiling" and request.images[1].caption is None
    # the key follows what is trained, not how it was written: an explicit profile value is the profile
    assert (
        request_key(dataclasses.replace(request, overrides={"max_train_steps": 6, "network_dim": 32})) == key
    )
    recaptioned = dataclasses.replace(
        request, images=(dataclasses.replace(request.images[0], caption="ohwx person, frowning"),)
    )
    assert request_key(recaptioned) != key


def test_the_job_trains_captures_validation_and_lists_checkpoints(tmp_path, engine):
    request = job_request(tmp_path, validation_split=0.25, sample_prompts=("ohwx",), sample_every_n_steps=2)
    events = Events()
    result = run_job(request, engine, on_event=events.append)

    assert not result.reused and result.training.steps == 6 and events.steps()[-1] == 6
    assert result.lora_path == tmp_path / "loras" / "person_v1.safetensors"
    assert read_metadata(result.lora_path)[REQUEST_KEY_METADATA] == result.key
    assert [(c.step, c.path.name) for c in result.checkpoints] == [
        (2, "person_v1-step00000002.safetensors"),
        (4, "person_v1-step00000004.safetensors"),
        (6, "person_v1-step00000006.safetensors"),
    ]
    assert sorted(read_validation_csv(result.run_dir / "validation.csv")) == [2, 4, 6]
    assert [int(row["step"]) for row in read_loss_csv(result.run_dir / "loss.csv")] == [1, 2, 3, 4, 5, 6]
    assert len(result.samples) == 3 and [e.kind for e in events].count("sample") == 3
    report = json.loads((result.run_dir / REPORT_FILE).read_text())
    assert report["request_key"] == result.key and [c["step"] for c in report["checkpoints"]] == [2, 4, 6]
    assert result.summary.startswith("Trained person_v1.safetensors (fast profile, 6 steps")
    assert "s/step (engine's average over the run)" in result.summary


def test_an_identical_request_reuses_the_published_lora(tmp_path, engine):
    request = job_request(tmp_path)
    first = run_job(request, engine)
    events = Events()
    again = run_job(request, None, on_event=events.append)  # no engine is needed to reuse
    assert again.reused and again.lora_path == first.lora_path and again.key == first.key
    assert again.summary.startswith("Reused person_v1.safetensors") and "Trained" in again.summary
    assert events.steps() == [] and [e.phase for e in events] == [JOB_PHASE]


def test_a_job_another_server_publishes_meanwhile_is_reused_not_trained_again(tmp_path, engine, monkeypatch):
    """Two servers sharing an output folder queue the same job: the second takes the run lock only
    after the first has published, and must reuse that LoRA, not train and clash with it."""
    request = job_request(tmp_path)
    first = run_job(request, engine)
    held_back = tmp_path / "published-by-the-other-server.safetensors"
    first.lora_path.rename(held_back)

    class LockTakenAfterTheOtherServerPublished:
        def __init__(self, run_dir: Path, holder: str = "") -> None:
            pass

        def __enter__(self):
            held_back.rename(first.lora_path)
            return self

        def __exit__(self, *exc_info) -> None:
            pass

    monkeypatch.setattr("sd_scripts_bridge.job.RunLock", LockTakenAfterTheOtherServerPublished)
    events = Events()
    again = run_job(request, engine, on_event=events.append)
    assert again.reused and again.lora_path == first.lora_path
    assert events.steps() == []


@ON_BOTH_PLATFORMS
def test_a_cancelled_job_resumes_at_its_saved_step(tmp_path, engine, monkeypatch):
    monkeypatch.setenv("STAND_IN_SEC_PER_STEP", "0.2")
    request = job_request(tmp_path, overrides={"max_train_steps": 12, "network_dim": 4, "lr_warmup_steps": 1})
    events = Events()
    with pytest.raises(TrainingCancelledError) as cancelled:
        run_job(request, engine, on_event=events.append, should_cancel=lambda: 5 in events.steps())
    assert cancelled.value.resume_state is not None
    monkeypatch.setenv("STAND_IN_SEC_PER_STEP", "0.02")
    resumed_events = Events()
    result = run_job(request, engine, on_event=resumed_events.append)
    saved = result.training.resumed_at
    assert saved in (2, 4) and min(resumed_events.steps()) == saved + 1
    assert f"Resumed at step {saved}." in result.summary
    assert [int(row["step"]) for row in read_loss_csv(result.run_dir / "loss.csv")] == list(range(1, 13))


def test_resume_off_sets_the_earlier_run_aside(tmp_path, engine, monkeypatch):
    request = job_request(tmp_path)
    events = Events()
    with pytest.raises(TrainingCancelledError):
        run_job(request, engine, on_event=events.append, should_cancel=lambda: 3 in events.steps())
    result = run_job(request, engine, options=JobOptions(resume=False))
    assert result.set_aside is not None and result.set_aside.name.startswith(
        result.run_dir.name + ".set-aside-"
    )
    assert result.training.resumed_at is None and result.training.steps == 6


def test_the_cli_trains_what_the_job_then_reuses(tmp_path, engine):
    """``python -m sd_scripts_bridge train --runs-root`` runs the job: the same request afterwards is
    the same run (same key and folder), so the job reuses the CLI's LoRA."""
    request = job_request(tmp_path)
    for image in request.images:  # the CLI reads the captions the node holds in memory from files
        image.image_path.with_suffix(".txt").write_text(image.caption + "\n")
    argv = [
        sys.executable, "-m", "sd_scripts_bridge", "train", "--engine", str(engine.root),
        "--allow-unpinned", "--cpu", "--images", str(tmp_path / "photos"), "--trigger-token", "ohwx",
        "--output-name", "person_v1",
        "--runs-root", str(tmp_path / "runs"), "--publish-dir", str(tmp_path / "loras"),
        "--flux", str(request.models.diffusion_model), "--clip-l", str(request.models.clip_l),
        "--t5xxl", str(request.models.t5xxl), "--ae", str(request.models.ae), "--tier", "24gb",
        "--set", "max_train_steps=6", "--set", "network_dim=4", "--set", "network_alpha=4",
        "--set", "lr_warmup_steps=1", "--save-every", "2", "--json",
    ]  # fmt: skip
    env = {"PATH": "/usr/bin:/bin", "STAND_IN_SEC_PER_STEP": "0.02", "PYTHONUNBUFFERED": "1"}
    done = subprocess.run(argv, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout[done.stdout.index("{") :])
    assert printed["run_dir"] == str(request.run_dir)
    assert [c["step"] for c in printed["checkpoints"]] == [2, 4, 6]
    assert run_job(request, engine).reused


HOLD_THE_LOCK = """
import pathlib, sys, time
sys.path.insert(0, sys.argv[1])
if sys.argv[3] == "windows":
    from tests.sd_scripts_bridge.windows_emulation import install_here
    install_here()
from sd_scripts_bridge.run_folder.lock import RunLock
lock = RunLock(pathlib.Path(sys.argv[2]), "ComfyUI on the other server").__enter__()
print("held", flush=True)
time.sleep(60)
"""


@ON_BOTH_PLATFORMS
def test_a_second_run_in_the_same_run_folder_is_refused_and_named(tmp_path, engine, platform_name):
    from sd_scripts_bridge.run_folder.lock import RunFolderBusyError, RunLock

    request = job_request(tmp_path)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_THE_LOCK, str(REPO_ROOT), str(request.run_dir), platform_name],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(RunFolderBusyError) as busy:
            run_job(request, engine)
        assert f"process {holder.pid}" in str(busy.value) and "ComfyUI on the other server" in str(busy.value)
        assert not (tmp_path / "loras" / "person_v1.safetensors").exists()
    finally:
        holder.kill()
        holder.wait()
    with RunLock(request.run_dir):  # the OS released the dead holder's lock
        pass
    assert run_job(request, engine).training.steps == 6
