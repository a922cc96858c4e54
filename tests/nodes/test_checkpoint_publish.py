"""Publishing follows ownership, on the real host: a run trained by the stand-in engine (its
checkpoints are LoRA files of the tiny FLUX's layout), swept on the tiny FLUX and scored.

The finding: any client could load another user's run with LoadIdentityCheckpoints, sweep it
against its own reference photos and have ArcFaceScore replace that user's published LoRA with the
checkpoint its photos picked, keeping no copy; the request key stayed, so the owner's next queue
reused the replaced file without a word.
"""

from __future__ import annotations

import pytest
from PIL import Image

from devkit.hostile_host import start_hostile_host
from devkit.photos import grace_hopper
from devkit.stand_in_engine import stand_in
from devkit.train_host import train_prompt, write_photos
from sd_scripts_bridge.lora_file import read_metadata
from sd_scripts_bridge.plan.request_key import REQUEST_KEY_METADATA
from tests.fixtures.models import tiny_flux_dit_files  # noqa: F401  (pytest fixture)

pytestmark = pytest.mark.host

PROMPTS = "portrait: a photo of {token} {class_word}"


@pytest.fixture(scope="module")
def host(tmp_path_factory, tiny_flux_dit_files):  # noqa: F811
    engine = tmp_path_factory.mktemp("stand_in") / "engine"
    stand_in.build_engine(engine)
    files = tiny_flux_dit_files
    started = start_hostile_host(engine, {}, dit=files.dit, ae=files.ae)
    Image.fromarray(grace_hopper()).save(started.input_dir / "reference.png")
    yield started, files
    started.cleanup()


def _sweep_and_scores(files, checkpoints: list, scores: dict[str, dict]) -> dict:
    """StrengthSweep on the tiny FLUX over ``checkpoints`` (a link), then one ArcFaceScore per entry
    of ``scores`` (node id -> extra inputs)."""
    dit = {"unet_name": files.dit.name, "weight_dtype": "default"}
    graph = {
        "11": {"class_type": "UNETLoader", "inputs": dit},
        "12": {"class_type": "VAELoader", "inputs": {"vae_name": files.ae.name}},
        "13": {"class_type": "StandInFluxTextEncoder", "inputs": {}},
        "14": {"class_type": "LoadImage", "inputs": {"image": "reference.png"}},
        "20": {
            "class_type": "StrengthSweep",
            "inputs": {
                "model": ["11", 0], "clip": ["13", 0], "vae": ["12", 0], "lora_name": "(use lora_file)",
                "trigger_token": "ohwx", "class_word": "person", "prompts": PROMPTS, "strengths": "1.0",
                "seeds": 1, "base_seed": 3, "steps": 1, "guidance": 3.5, "sampler_name": "euler",
                "scheduler": "simple", "width": 64, "height": 64, "probe_beyond": False,
                "reference_images": ["14", 0], "face_backend": "dlib", "checkpoints": checkpoints,
            },
        },
    }  # fmt: skip
    for node_id, extra in scores.items():
        graph[node_id] = {
            "class_type": "ArcFaceScore",
            "inputs": {
                "backend": "dlib", "insightface_pack": "auto", "identity_target": 0.0, "sweep": ["20", 2],
                "reference_images": ["14", 0], **extra,
            },
        }  # fmt: skip
    return graph


def _run_name(run) -> str:
    return run.outputs["2"]["text"][0].rsplit("Run folder: train/", 1)[1].split(" ", 1)[0]


def test_another_clients_evaluation_never_replaces_a_published_lora(host, tmp_path):
    comfy, files = host
    owner = comfy.run_prompt(train_prompt(write_photos(tmp_path / "owner", 3), "owner", steps=4), timeout=300)
    assert owner.status == "success", owner.error
    published = comfy.models_dir / "loras" / "identity" / "owner.safetensors"
    before = published.read_bytes()
    run_name = _run_name(owner)

    attack = _sweep_and_scores(files, ["3", 0], {"30": {}, "31": {"publish": True}})
    attack["3"] = {"class_type": "LoadIdentityCheckpoints", "inputs": {"run": f"run: {run_name}"}}
    run = comfy.run_prompt(attack, timeout=900)
    assert run.status == "success", (run.error, comfy.log_tail(30))

    assert published.read_bytes() == before  # the owner's LoRA, untouched
    assert not (published.parent / "replaced").exists()
    assert "publish is off, so nothing was written" in run.outputs["30"]["text"][0]
    report = run.outputs["31"]["identity_report"][0]
    step = report["recommended_step"]
    new_name = f"identity/{run_name}-step{step:08d}.safetensors"
    assert report["recommended_lora"] == new_name
    assert (
        "were not trained by this prompt, so they are published under a new name"
        in run.outputs["31"]["text"][0]
    )
    copy = comfy.models_dir / "loras" / new_name
    metadata = read_metadata(copy)
    assert metadata["identity_lora_checkpoint_step"] == str(step)
    assert metadata[REQUEST_KEY_METADATA].endswith(f":step{step}")
    comfy.client.post_json("/free", {"free_memory": True})  # the owner's training node runs again
    again = comfy.run_prompt(train_prompt(write_photos(tmp_path / "owner", 3), "owner", steps=4), timeout=300)
    assert again.outputs["2"]["text"][0].startswith(
        "Reused owner.safetensors: it was trained from these exact"
    )


def test_the_owners_own_evaluation_publishes_and_keeps_the_replaced_file(host, tmp_path):
    """Trained and evaluated in one prompt: the recommended checkpoint replaces the run's LoRA, the
    replaced file is kept, and the key records the step. Evaluated again while ComfyUI serves the
    training from its cache (not this prompt's training): a new file, the run's LoRA untouched. The
    owner's re-queue says what it reuses."""
    comfy, files = host
    items = write_photos(tmp_path / "own", 3)
    graph = {
        **train_prompt(items, "own", steps=4),
        **_sweep_and_scores(files, ["2", 9], {"30": {"publish": True}}),
    }
    run = comfy.run_prompt(graph, timeout=900)
    assert run.status == "success", (run.error, comfy.log_tail(30))
    report = run.outputs["30"]["identity_report"][0]
    step = report["recommended_step"]
    assert report["recommended_lora"] == "identity/own.safetensors"
    published = comfy.models_dir / "loras" / "identity" / "own.safetensors"
    (kept,) = (published.parent / "replaced").glob("own-*.safetensors")
    assert "identity_lora_checkpoint_step" not in read_metadata(kept)  # the final LoRA training published
    assert f"The file it replaced is kept as 'identity/replaced/{kept.name}'" in run.outputs["30"]["text"][0]
    metadata = read_metadata(published)
    key = read_metadata(kept)[REQUEST_KEY_METADATA]
    assert metadata[REQUEST_KEY_METADATA] == f"{key}:step{step}" and metadata[
        "identity_lora_checkpoint_step"
    ] == str(step)
    holding = published.read_bytes()

    graph["30"]["inputs"]["identity_target"] = 0.5  # the training and the sweep come from the cache
    cached = comfy.run_prompt(graph, timeout=900)
    assert cached.status == "success", cached.error
    assert published.read_bytes() == holding
    name = cached.outputs["30"]["identity_report"][0]["recommended_lora"]
    assert (
        name.startswith(f"identity/{_run_name(run)}-step") and (comfy.models_dir / "loras" / name).is_file()
    )
    assert "published under a new name" in cached.outputs["30"]["text"][0]

    comfy.client.post_json("/free", {"free_memory": True})  # the training node runs again
    again = comfy.run_prompt(train_prompt(items, "own", steps=4), timeout=300)
    summary = again.outputs["2"]["text"][0]
    assert (
        summary.startswith("Reused own.safetensors")
        and f"holds the checkpoint of step {step} of this run" in summary
    )
    assert published.read_bytes() == holding
