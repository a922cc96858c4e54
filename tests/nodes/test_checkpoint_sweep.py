"""StrengthSweep over a training run's checkpoints and ArcFaceScore publishing the recommended one,
in a real ComfyUI host on the tiny random-weight FLUX (CPU).

The run has three checkpoints (different random LoRAs with sd-scripts' key layout) in a private
run folder and a published LoRA in a loras subfolder; a test-only node makes their
IDENTITY_CHECKPOINTS value. One sweep has no likeness from training, so it samples every
checkpoint (the coarse pass); the other carries the curve training measured, so it samples none
and sweeps the best checkpoint. The tiny FLUX draws no faces: the full pass cannot pass, and the
recommendation is a best effort, which is still published.
"""

import json

import pytest

from devkit.host import DEFAULT_PACK_NAME, Host
from devkit.sweep_host import (
    CHECKPOINT_NODES,
    RUN_METADATA,
    STANDIN_MODULE,
    checkpoint_file,
    prepare_checkpoint_host,
    sweep_nodes,
)
from sd_scripts_bridge.lora_file import read_metadata, same_tensors
from tests.fixtures.models import tiny_flux_dit_files  # noqa: F401  (pytest fixture)

pytestmark = pytest.mark.host

STEPS, SIZE = 2, 64
PROMPTS = "portrait: a photo of {token} {class_word}\ncontrol: a photo of a {class_word}"
SAMPLED, TRAINED = "identity/sampled.safetensors", "identity/trained.safetensors"
TRAINING_LIKENESS = {"1": 0.90, "2": 0.97, "3": 0.95}  # dlib scale: step 2 is best, no tie within 0.005
TIED_LIKENESS = {"1": 0.90, "2": 0.97, "3": 0.968}  # step 3 ties with step 2


@pytest.fixture(scope="module")
def host(tiny_flux_dit_files):  # noqa: F811
    files = tiny_flux_dit_files
    started = Host(
        extra_args=("--whitelist-custom-nodes", DEFAULT_PACK_NAME, STANDIN_MODULE, CHECKPOINT_NODES)
    )
    try:
        prepare_checkpoint_host(started.base_dir, files.dit, files.ae, (SAMPLED, TRAINED))
        started.start()
        from PIL import Image

        from devkit.photos import grace_hopper

        Image.fromarray(grace_hopper()).save(started.input_dir / "reference.png")
        yield started, files
    finally:
        started.cleanup()


def _sweep(node_id: str, checkpoints: str | dict, files) -> dict:
    node = sweep_nodes(
        files.dit.name, files.ae.name, PROMPTS, "1.0", seeds=1, base_seed=7, steps=STEPS, size=SIZE
    )
    sweep = node["4"]
    sweep["inputs"].update(
        checkpoints=[checkpoints, 0] if isinstance(checkpoints, str) else checkpoints,
        probe_beyond=False,
        reference_images=["14", 0],
        face_backend="dlib",
        lora_name="(use lora_file)",  # ignored with checkpoints connected
    )
    return {**{k: v for k, v in node.items() if k != "4"}, node_id: sweep}


def _score(sweep_id: str) -> dict:
    return {
        "class_type": "ArcFaceScore",
        "inputs": {
            "backend": "dlib",
            "insightface_pack": "auto",
            "identity_target": 0.0,
            "sweep": [sweep_id, 2],
            "reference_images": ["14", 0],
            "publish": True,
        },
    }


def _checkpoint_set(publish_name: str, likeness: str = "") -> dict:
    """As TrainIdentityLoRA's checkpoints output in the prompt that trained the run."""
    return {
        "class_type": "TestCheckpointSet",
        "inputs": {
            "run": "tiny", "publish_name": publish_name, "likeness": likeness,
            "measured_by": "dlib 128-d (not ArcFace)", "trained_here": True,
        },
    }  # fmt: skip


def test_checkpoint_sweep_and_the_recommended_checkpoint_published(host):
    comfy, files = host
    graph = {
        **_sweep("4", "20", files),
        **_sweep("5", "21", files),
        **_sweep("6", "22", files),
        "14": {"class_type": "LoadImage", "inputs": {"image": "reference.png"}},
        "20": _checkpoint_set(SAMPLED),
        "21": _checkpoint_set(TRAINED, json.dumps(TRAINING_LIKENESS)),
        "22": _checkpoint_set(TRAINED, json.dumps(TIED_LIKENESS)),
        "30": _score("4"),
        "31": _score("5"),
        "40": {"class_type": "PreviewAny", "inputs": {"source": ["31", 5]}},
        "41": {"class_type": "PreviewAny", "inputs": {"source": ["31", 6]}},
    }
    run = comfy.run_prompt(graph, timeout=900)
    assert run.status == "success", (run.error, comfy.log_tail(40))

    # no likeness from training: every checkpoint sampled (3 x portrait x 2 seeds), then the full pass
    sampled = run.outputs["4"]["text"][0]
    assert "Coarse pass over 3 checkpoints (sampled in ComfyUI, dlib" in sampled
    assert "Full pass on step 3: no face was found in any coarse sample" in sampled
    assert "lora_name, lora_file and extra_loras are ignored" in sampled
    assert run.progress("4")[-1] == ((6 + 2) * STEPS, (6 + 2) * STEPS)
    # training's likeness: nothing sampled for the coarse pass, the full pass on the best checkpoint
    trained = run.outputs["5"]["text"][0]
    assert "Coarse pass over 3 checkpoints (training samples, dlib" in trained
    assert "Full pass on step 2: step 2 has the best likeness (0.970)" in trained
    assert run.progress("5")[-1] == (2 * STEPS, 2 * STEPS)
    # a tie is reported, but only the earlier checkpoint gets the full sweep (sweep_tied_checkpoint off)
    tied = run.outputs["6"]["text"][0]
    assert "step 3 is not swept (sweep_tied_checkpoint is off)" in tied and "Full pass on step 2" in tied
    assert run.progress("6")[-1] == (2 * STEPS, 2 * STEPS)

    published = comfy.models_dir / "loras" / TRAINED
    assert same_tensors(published, checkpoint_file(comfy.base_dir, 2))  # the recommended checkpoint's bytes
    metadata = read_metadata(published)
    assert {k: metadata[k] for k in RUN_METADATA} == RUN_METADATA  # the run's own keys are kept
    assert metadata["identity_lora_checkpoint_step"] == "2" and metadata["ss_steps"] == "2"
    assert metadata["identity_lora_recommended_strength"] == "1"
    assert run.outputs["40"]["text"] == [TRAINED] and run.outputs["41"]["text"] == ["2"]

    score = run.outputs["31"]
    text = score["text"][0]
    assert "Recommended checkpoint: step 2 (tiny_identity-step00000002.safetensors)" in text
    assert f"The LoRA '{TRAINED}' now holds the checkpoint of step 2 (recommended strength 1)." in text
    report = score["identity_report"][0]
    assert (report["recommended_lora"], report["recommended_step"]) == (TRAINED, 2)
    with open(comfy.output_dir / report["path"], encoding="utf-8") as json_file:
        data = json.load(json_file)
    assert data["recommended"]["checkpoint"] == {"step": 2, "file": "tiny_identity-step00000002.safetensors"}
    assert data["recommended"]["passed"] is False and data["recommended"]["strength"] == 1.0
    assert [row["step"] for row in data["by_checkpoint"]] == [1, 2, 3]
    assert data["by_checkpoint"][1]["best"] and data["by_checkpoint"][1]["recommended"]
    assert {c["lora_name"] for c in data["cells"]} == {"step 2"}
    assert data["published"]["lora_name"] == TRAINED and data["published"]["changed"] is True
    served = json.dumps(data) + json.dumps(score) + trained
    assert str(comfy.base_dir) not in served and "/runs/" not in served

    # the sampled sweep's best effort is the final checkpoint: the published file gets its step recorded
    assert same_tensors(comfy.models_dir / "loras" / SAMPLED, checkpoint_file(comfy.base_dir, 3))
    assert read_metadata(comfy.models_dir / "loras" / SAMPLED)["identity_lora_checkpoint_step"] == "3"
    assert "now holds the checkpoint of step 3" in run.outputs["30"]["text"][0]


REFUSED_CHECKPOINTS = {"files": [[1, "/etc/passwd"]], "publish_to": "/tmp/x"}
REFUSED_SWEEP = {"entries": [], "checkpoints": {"publish_to": "/tmp/x"}}
REFERENCE = {"14": {"class_type": "LoadImage", "inputs": {"image": "reference.png"}}}


def _literal_checkpoints(files) -> dict:
    return {**_sweep("4", REFUSED_CHECKPOINTS, files), **REFERENCE}


def _no_reference(files) -> dict:
    graph = {**_sweep("4", "20", files), "20": _checkpoint_set(SAMPLED)}
    del graph["4"]["inputs"]["reference_images"]
    return graph


def _literal_sweep(_files) -> dict:
    score = _score("4")
    score["inputs"]["sweep"] = REFUSED_SWEEP
    return {**REFERENCE, "30": score}


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        (_literal_checkpoints, "The checkpoints input got a dict"),
        (_no_reference, "The checkpoints carry no likeness measured while training, and no reference"),
        (_literal_sweep, "The sweep input got a dict"),
    ],
)
def test_refused_inputs_say_what_to_do(host, graph, expected):
    """JSON an API client writes for a checkpoint set or a sweep, and a coarse pass without a reference."""
    comfy, files = host
    run = comfy.run_prompt(graph(files), timeout=300)
    assert run.status == "error", run.outputs
    message = run.error["exception_message"]
    assert expected in message and "What to do" in message
    assert comfy.get_json("/system_stats")
