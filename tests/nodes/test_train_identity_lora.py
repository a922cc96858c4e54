"""TrainIdentityLoRA in a real ComfyUI host.

Most tests train with the STAND-IN engine (a test double of sd-scripts' flux_train_network.py,
devkit/stand_in_engine/: it trains nothing, prints the real console format and
writes LoRA files with the real kohya key names for STAND_IN_BLOCKS = 1 double + 1 single block,
the tiny FLUX DiT's layout). The host runs the node with ``IDENTITY_LORA_FORCE_CPU=1`` (no GPU
here) and ``IDENTITY_LORA_ALLOW_UNPINNED_ENGINE=1`` (the stand-in is not the pinned commit).
The dataset comes from a test-only node that builds the pack's IDENTITY_DATASET value directly.

The last test trains the tiny random FLUX with the REAL engine on CPU (marked ``engine``;
skipped with the reason when ``IDENTITY_LORA_ENGINE`` is not set).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from safetensors import safe_open

from devkit.host import DEFAULT_PACK_NAME, Host
from devkit.stand_in_engine import stand_in
from devkit.train_host import STAND_IN_MODELS, TEST_NODES
from devkit.train_host import prepare_base as _prepare
from devkit.train_host import start_train_host as _start_host
from devkit.train_host import train_prompt as _train_prompt
from devkit.train_host import write_photos as _photos
from tests.fixtures.models import tiny_flux_dit_files, tiny_flux_files  # noqa: F401  (pytest fixtures)

pytestmark = pytest.mark.host

REPO = Path(__file__).resolve().parents[2]
NODE = "TrainIdentityLoRA"


def _training_events(run) -> list[dict]:
    return [m["data"] for m in run.messages if m.get("type") == "identity_lora.progress"]


def _engine_processes(engine_root: Path) -> list[str]:
    """Live processes whose command line names the stand-in engine folder (launcher or trainer)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if str(engine_root) in cmdline and state not in ("Z", "X"):
            found.append(f"{entry.name}: {cmdline}")
    return found


@pytest.fixture(scope="module")
def stand_in_engine(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("stand_in") / "engine"
    stand_in.build_engine(root)
    return root


@pytest.fixture(scope="module")
def host(tmp_path_factory, stand_in_engine, tiny_flux_dit_files) -> Host:  # noqa: F811
    started = _start_host(tmp_path_factory.mktemp("host"), stand_in_engine, tiny_flux_dit_files.dit)
    yield started
    started.cleanup()


def test_node_is_registered_with_all_inputs(host):
    info = host.object_info(NODE)[NODE]
    required, optional = info["input"]["required"], info["input"]["optional"]
    assert set(required) == {
        "dataset", "profile", "vram_tier", "text_encoder", "diffusion_model", "clip_l", "t5xxl", "ae",
        "output_name", "seed", "checkpoint_every", "resume", "overwrite",
    }  # fmt: skip
    assert set(optional) == {
        "regularization", "steps", "learning_rate", "rank", "alpha", "resolution",
        "preview_every_n_steps", "preview_prompt", "validation_split", "advanced_settings",
        "early_stop", "face_backend",
        "oom_fallback", "ram_check", "num_processes",
    }  # fmt: skip
    assert (
        required["dataset"][0] == "IDENTITY_DATASET" and optional["regularization"][0] == "IDENTITY_DATASET"
    )
    assert required["vram_tier"][0] == ["auto", "8gb", "10gb", "12gb", "16gb", "24gb", "48gb", "80gb"]
    assert optional["oom_fallback"][1]["default"] is True and optional["num_processes"][1]["default"] == 1
    assert required["text_encoder"][0] == ["auto", "frozen", "two_phase"]
    assert STAND_IN_MODELS["diffusion_models"] in required["diffusion_model"][0]
    assert set(STAND_IN_MODELS["text_encoders"]) <= set(required["clip_l"][0])
    assert STAND_IN_MODELS["vae"] in required["ae"][0]
    for name, spec in {**required, **optional}.items():
        assert spec[1].get("tooltip"), f"{name} has no tooltip"
    assert "Fast 1500" in optional["steps"][1]["tooltip"] and "Final 2500" in optional["steps"][1]["tooltip"]
    assert "24 training steps" in optional["preview_every_n_steps"][1]["tooltip"]
    assert "forward passes" in optional["validation_split"][1]["tooltip"]
    assert info["output_name"] == [
        *("lora_name", "lora_path", "loss_curve", "summary", "previews"),
        *("diffusion_model_name", "clip_l_name", "t5xxl_name", "ae_name"),
        *("checkpoints", "likeness_curve"),
    ]
    assert info["output"][-2:] == ["IDENTITY_CHECKPOINTS", "IMAGE"]
    # the FLUX file names typed as the core loaders' combos, so the loaders can wait for training
    loaders = {
        name: host.object_info(name)[name]["input"]["required"]
        for name in ("UNETLoader", "DualCLIPLoader", "VAELoader")
    }
    assert info["output"][5:9] == [
        loaders["UNETLoader"]["unet_name"][0],
        loaders["DualCLIPLoader"]["clip_name1"][0],
        loaders["DualCLIPLoader"]["clip_name2"][0],
        loaders["VAELoader"]["vae_name"][0],
    ]


def test_training_progress_publish_reuse_and_lora_load(host, tmp_path, tiny_flux_dit_files):  # noqa: F811
    items = _photos(tmp_path / "photos", 4)
    prompt = _train_prompt(items, "standin_person", steps=6, preview_every_n_steps=2, validation_split=0.25)
    run = host.run_prompt(prompt, timeout=300)
    assert run.status == "success", (run.error, host.log_tail(40))

    events = _training_events(run)
    steps = sorted({e["step"] for e in events if e.get("kind") == "step" and e.get("loss") is not None})
    assert steps[-1] == 6 and len(steps) >= 3, steps
    assert all(e["total_steps"] == 6 for e in events if e.get("kind") == "step")
    assert any(e.get("sec_per_step") for e in events), "s/step must reach the UI"
    assert any("unloaded" in (e.get("message") or "") for e in events), "the freed VRAM must be said"
    progress = run.progress("2")
    assert progress and progress[-1] == (6, 6), progress

    published = host.models_dir / "loras" / "identity" / "standin_person.safetensors"
    assert published.is_file()
    with safe_open(str(published), "np") as handle:
        metadata = handle.metadata()
        keys = list(handle.keys())
    assert metadata["identity_lora_profile"] == "fast" and metadata["identity_lora_trigger_token"] == "ohwx"
    assert metadata["identity_lora_dataset_hash"] and metadata["identity_lora_request_key"]
    assert metadata["identity_lora_text_encoder"] == "frozen" and "identity_lora_engine_commit" in metadata
    assert any(key.startswith("lora_unet_double_blocks_0_") for key in keys)

    summary = run.outputs["2"]["text"][0]
    assert "Trained standin_person.safetensors" in summary and "6 steps" in summary
    assert "unloaded" in summary and "Tier 24gb" in summary
    run_name = summary.rsplit("Run folder: train/", 1)[1].split(" ", 1)[0]
    assert str(host.base_dir) not in summary  # no absolute path of a private file reaches /history
    report = json.loads(
        (host.base_dir / "identity_lora_work" / "train" / run_name / "training_report.json").read_text()
    )
    assert report["lora_path"] == str(published) and report["steps"] == 6
    previews = sorted(host.output_dir.glob("standin_person_preview_*.png"))
    assert len(previews) == 3, previews  # samples at steps 2, 4, 6
    assert run.outputs["2"]["images"], "the loss curve is shown in the node"

    loras = host.object_info("LoraLoaderModelOnly")["LoraLoaderModelOnly"]["input"]["required"]["lora_name"][
        0
    ]
    assert "identity/standin_person.safetensors" in loras

    again = host.run_prompt(prompt, timeout=120)
    assert again.status == "success"
    cached = [m["data"]["nodes"] for m in again.messages if m.get("type") == "execution_cached"]
    assert cached and "2" in cached[0], again.messages
    assert not _training_events(again)

    # Same inputs but ComfyUI's cache entry is gone (another output name and back): the job finds
    # the LoRA of this exact request key and returns it without training (tests/sd_scripts_bridge/
    # test_job.py covers reuse, resume and set-aside at the job level).
    host.run_prompt(_train_prompt(items, "standin_other", steps=2), timeout=120)
    reused = host.run_prompt(prompt, timeout=120)
    assert reused.status == "success", reused.error
    assert not [e for e in _training_events(reused) if e.get("kind") == "step"]
    assert reused.outputs["2"]["text"][0].startswith("Reused standin_person.safetensors")

    load = {
        "1": {
            "class_type": "UNETLoader",
            "inputs": {"unet_name": tiny_flux_dit_files.dit.name, "weight_dtype": "default"},
        },
        "2": {
            "class_type": "LoraLoaderModelOnly",
            "inputs": {
                "model": ["1", 0],
                "lora_name": "identity/standin_person.safetensors",
                "strength_model": 1.0,
            },
        },
        "3": {"class_type": "TestModelSink", "inputs": {"model": ["2", 0]}},
    }
    loaded = host.run_prompt(load, timeout=600)
    assert loaded.status == "success", (loaded.error, host.log_tail(40))
    assert "lora key not loaded" not in host.log_text()
    assert loaded.outputs["3"]["text"] == ["patches=13"]  # 2 x 5 double-block + 3 single-block modules


def test_cancel_leaves_no_process_and_resume_continues(host, stand_in_engine, tmp_path):
    items = _photos(tmp_path / "photos", 4)
    prompt = _train_prompt(items, "standin_cancel", steps=30, checkpoint_every=5)
    cancelled_at = {}

    def cancel_after_a_checkpoint(message):
        data = message.get("data") or {}
        if message.get("type") == "identity_lora.progress" and data.get("step", 0) >= 12 and not cancelled_at:
            cancelled_at["t"] = time.monotonic()
            host.interrupt()

    run = host.client.run(prompt, on_message=cancel_after_a_checkpoint, timeout=300)
    stopped_after = time.monotonic() - cancelled_at["t"]
    assert run.status == "interrupted", (run.error, host.log_tail(30))
    assert stopped_after < 10, stopped_after
    assert _engine_processes(stand_in_engine) == []
    run_dirs = [
        p for p in (host.base_dir / "identity_lora_work" / "train").glob("standin_cancel-*") if p.is_dir()
    ]
    assert len(run_dirs) == 1
    states = sorted(p.name for p in (run_dirs[0] / "output").glob("standin_cancel-step*-state"))
    assert "standin_cancel-step00000010-state" in states, states
    saved = max(int(name.split("step")[1][:8]) for name in states)

    resumed = host.run_prompt(prompt, timeout=300)
    assert resumed.status == "success", (resumed.error, host.log_tail(30))
    steps = [e["step"] for e in _training_events(resumed) if e.get("kind") == "step" and e.get("loss")]
    assert steps and min(steps) > saved and steps[-1] == 30, steps
    assert f"Resumed at step {saved}" in resumed.outputs["2"]["text"][0]
    assert _engine_processes(stand_in_engine) == []


def test_ram_preflight_frees_comfyuis_models_then_refuses_with_the_figures(
    host,
    tmp_path,
    tiny_flux_dit_files,  # noqa: F811
):
    """The engine's estimated RAM peak cannot fit (a 2 TB sparse T5-XXL file): ComfyUI is asked to
    release its models from RAM first; the tiny FLUX the workflow's own UNETLoader holds cannot be
    let go of mid-prompt, so the refusal counts and names it, with the figures and the fix."""
    huge = host.models_dir / "text_encoders" / "t5xxl_huge_standin.safetensors"
    huge.touch()
    os.truncate(huge, 2 * 10**12)
    try:
        prompt = _train_prompt(_photos(tmp_path / "photos", 4), "standin_ram", t5xxl=huge.name)
        prompt["3"] = {
            "class_type": "UNETLoader",
            "inputs": {"unet_name": tiny_flux_dit_files.dit.name, "weight_dtype": "default"},
        }
        prompt["1"]["inputs"]["after_model"] = ["3", 0]
        prompt["4"] = {"class_type": "SaveImage", "inputs": {"images": ["2", 4], "filename_prefix": "x"}}
        run = host.run_prompt(prompt, timeout=600)
    finally:
        huge.unlink()
    assert run.status == "error" and run.error["exception_type"].endswith("RamPreflightError"), run.error
    message = run.error["exception_message"]
    assert "Not enough RAM to start the training engine: engine peak RAM about" in message
    assert "after ComfyUI released its models from RAM" in message
    assert "ComfyUI still holds" in message and "(Flux " in message, message
    assert "make the loaders wait for the training result" in message
    assert "models/text_encoders/t5xxl_huge_standin.safetensors" in message and str(huge) not in message
    events = _training_events(run)
    assert any("unloaded" in (e.get("message") or "") for e in events)
    assert not [e for e in events if e.get("kind") == "step"], "the engine never started"


def test_failed_dataset_and_missing_token_are_refused(host, tmp_path):
    items = _photos(tmp_path / "photos", 3)
    run = host.run_prompt(_train_prompt(items, "standin_refused", verdict="fail"), timeout=120)
    assert run.status == "error"
    message = run.error["exception_message"]
    assert (
        "verdict is 'fail'" in message and "only 3 images" in message and "fix the dataset first" in message
    )
    no_token = host.run_prompt(_train_prompt(items, "standin_no_token", token=""), timeout=120)
    assert "CaptionTokenizer" in no_token.error["exception_message"]


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"STAND_IN_NAN_AT_STEP": "3"}, ("TrainingNaNError", "NaN at step 3", "lower the learning rate")),
        (
            {"STAND_IN_CRASH_AT_STEP": "3"},
            ("EngineCrashedError", "exit code", "stand-in crash at step 3", "engine.log"),
        ),
        ({"IDENTITY_LORA_ALLOW_UNPINNED_ENGINE": "0"}, ("WrongEngineCommitError", "reinstall it with")),
    ],
    ids=["nan", "crash", "wrong_commit"],
)
def test_engine_failures_surface_with_their_fix(tmp_path, stand_in_engine, env, expected):
    failing = _start_host(tmp_path, stand_in_engine, **env)
    try:
        run = failing.run_prompt(_train_prompt(_photos(tmp_path / "photos", 4), "standin_fail"), timeout=300)
    finally:
        failing.cleanup()
    assert run.status == "error"
    text = run.error["exception_type"] + " " + run.error["exception_message"]
    for part in expected:
        assert part in text, text
    assert _engine_processes(stand_in_engine) == []


def test_missing_engine_says_how_to_install(tmp_path):
    host = _start_host(tmp_path, tmp_path / "no_engine_here")
    try:
        run = host.run_prompt(_train_prompt(_photos(tmp_path / "photos", 4), "standin_none"), timeout=120)
    finally:
        host.cleanup()
    message = run.error["exception_message"]
    assert "not installed" in message and "python -m sd_scripts_bridge install" in message
    assert str(tmp_path) not in message and "<engine>" in message  # no server path in /history


# ---------------------------------------------------------------------- the real engine


@pytest.mark.engine
def test_real_engine_trains_the_tiny_flux_and_reuses_it(tmp_path, tiny_flux_files):  # noqa: F811
    from devkit.demo_dataset import ensure_demo_dataset
    from devkit.tiny_training import TINY_OVERRIDES
    from sd_scripts_bridge.engine.folder import ENGINE_ENV_VAR, locate_engine

    root = os.environ.get(ENGINE_ENV_VAR)
    if not root:
        pytest.skip(f"{ENGINE_ENV_VAR} is not set: this test runs the real sd-scripts engine")
    engine = locate_engine(root)
    data = ensure_demo_dataset()
    items = [[str(i.path), i.caption] for i in data.subject[:3]]
    host = Host(
        env={ENGINE_ENV_VAR: str(engine.root), "IDENTITY_LORA_FORCE_CPU": "1"},
        extra_args=("--whitelist-custom-nodes", DEFAULT_PACK_NAME, TEST_NODES),
    )
    try:
        _prepare(host.base_dir)
        tiny_flux_files.link_into_comfy_models(host.models_dir)
        host.start()
        advanced = {k: v for k, v in TINY_OVERRIDES.items() if k not in ("network_dim", "network_alpha")}
        prompt = _train_prompt(
            items,
            "tiny_real",
            steps=2,
            rank=4,
            checkpoint_every=0,
            diffusion_model=tiny_flux_files.dit.name,
            clip_l=tiny_flux_files.clip_l.name,
            t5xxl=tiny_flux_files.t5xxl.name,
            ae=tiny_flux_files.ae.name,
            advanced_settings=json.dumps(advanced),
            token=data.trigger,
        )
        started = time.monotonic()
        run = host.run_prompt(prompt, timeout=1800)
        first_s = time.monotonic() - started
        assert run.status == "success", (run.error, host.log_tail(60))
        summary = run.outputs["2"]["text"][0]
        print(f"[real engine] first queue {first_s:.1f} s\n{summary}")
        published = host.models_dir / "loras" / "identity" / "tiny_real.safetensors"
        with safe_open(str(published), "np") as handle:
            metadata = handle.metadata()
        assert metadata["identity_lora_engine_commit"] == engine.commit and metadata["ss_network_dim"] == "4"
        started = time.monotonic()
        again = host.run_prompt(prompt, timeout=120)
        second_s = time.monotonic() - started
        print(f"[real engine] second identical queue {second_s:.1f} s")
        cached = [m["data"]["nodes"] for m in again.messages if m.get("type") == "execution_cached"]
        assert again.status == "success" and cached and "2" in cached[0]
    finally:
        host.cleanup()
