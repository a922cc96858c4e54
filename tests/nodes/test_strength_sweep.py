"""StrengthSweep in a real ComfyUI host on the tiny random-weight FLUX (CPU).

The LoRA has sd-scripts' real key layout; text conditioning comes from the test-only
stand-in text encoder (see standin_flux_text_encoder.py for why). In the same prompt a plain
core graph (UNETLoader, CLIPTextEncode, FluxGuidance, KSampler, VAEDecode) makes the base
model's image, which the sweep's strength-0 image must equal.
"""

import json

import numpy as np
import pytest

from devkit.host import DEFAULT_PACK_NAME
from devkit.sweep_host import LORA_NAME, STANDIN_MODULE, prepare_sweep_host, read_png, sweep_nodes
from tests.fixtures.models import tiny_flux_dit_files  # noqa: F401  (pytest fixture)

pytestmark = pytest.mark.host

SEED, STEPS, SIZE = 7, 2, 64
PROMPTS = "portrait: a photo of {token} {class_word}\ncontrol: a photo of a {class_word}"


def _graph(dit_name: str, ae_name: str) -> dict:
    nodes = sweep_nodes(dit_name, ae_name, PROMPTS, "0, 1.0", seeds=2, base_seed=SEED, steps=STEPS, size=SIZE)
    nodes["4"]["inputs"].update(probe_beyond=True, reference_images=["14", 0], face_backend="dlib")
    return {
        **nodes,
        "5": {"class_type": "SaveImage", "inputs": {"images": ["4", 0], "filename_prefix": "sweep"}},
        "6": {"class_type": "CLIPTextEncode", "inputs": {"clip": ["3", 0], "text": "a photo of ohwx person"}},
        "7": {"class_type": "FluxGuidance", "inputs": {"conditioning": ["6", 0], "guidance": 3.5}},
        "8": {"class_type": "ConditioningZeroOut", "inputs": {"conditioning": ["7", 0]}},
        "9": {
            "class_type": "EmptySD3LatentImage",
            "inputs": {"width": SIZE, "height": SIZE, "batch_size": 1},
        },
        "10": {
            "class_type": "KSampler",
            "inputs": {
                "model": ["1", 0],
                "seed": SEED,
                "steps": STEPS,
                "cfg": 1.0,
                "sampler_name": "euler",
                "scheduler": "simple",
                "positive": ["7", 0],
                "negative": ["8", 0],
                "latent_image": ["9", 0],
                "denoise": 1.0,
            },
        },
        "11": {"class_type": "VAEDecode", "inputs": {"samples": ["10", 0], "vae": ["2", 0]}},
        "12": {"class_type": "SaveImage", "inputs": {"images": ["11", 0], "filename_prefix": "core_base"}},
        "13": {"class_type": "SaveImage", "inputs": {"images": ["4", 1], "filename_prefix": "sweep_grid"}},
        "14": {"class_type": "LoadImage", "inputs": {"image": "reference.png"}},
        "15": {
            "class_type": "ArcFaceScore",
            "inputs": {
                "backend": "dlib",
                "insightface_pack": "auto",
                "identity_target": 0.0,
                "sweep": ["4", 2],
                "reference_images": ["14", 0],
            },
        },
        "16": {"class_type": "PreviewAny", "inputs": {"source": ["15", 4]}},
    }


def test_sweep_on_tiny_flux_with_a_kohya_lora(start_comfy_host, tiny_flux_dit_files):  # noqa: F811
    from PIL import Image

    from devkit.photos import grace_hopper

    files = tiny_flux_dit_files
    host = start_comfy_host(
        extra_args=("--whitelist-custom-nodes", DEFAULT_PACK_NAME, STANDIN_MODULE),
        prepare=lambda base: prepare_sweep_host(base, files.dit, files.ae),
    )
    Image.fromarray(grace_hopper()).save(host.input_dir / "reference.png")
    run = host.run_prompt(_graph(files.dit.name, files.ae.name), timeout=900)
    assert run.status == "success", (run.error, host.log_tail(40))

    log = host.log_text()
    assert "lora key not loaded" not in log and "NOT LOADED" not in log

    sweep = [read_png(host.output_dir / f"sweep_{i:05d}_.png") for i in range(1, 9)]
    base = read_png(host.output_dir / "core_base_00001_.png")
    assert all(image.shape == (SIZE, SIZE, 3) for image in sweep)
    # order: strength 0 then 1.0; prompts portrait, control; seeds 7, 8
    assert np.array_equal(sweep[0], base), "strength 0 must equal the plain core graph's image"
    assert not np.array_equal(sweep[0], sweep[4]), "strength 1.0 must change the image"
    assert not np.array_equal(sweep[2], sweep[6])
    assert not np.array_equal(sweep[0], sweep[1]), "two seeds must differ"
    assert not np.array_equal(sweep[0], sweep[2]), "the control prompt must differ from the portrait"

    grid = read_png(host.output_dir / "sweep_grid_00001_.png")
    assert grid.shape[0] > 2 * SIZE and grid.shape[1] > 2 * 2 * SIZE  # 2 prompts x (2 strengths x 2 seeds)
    progress = run.progress("4")
    assert progress and progress[-1] == (8 * STEPS, 8 * STEPS)
    summary = run.outputs["4"]["text"][0]
    assert "sampled with the connected MODEL (float32)" in summary
    # strengths 0 and 1.0 leave one strength above 0: no trend, so nothing is probed
    assert "Probe (dlib 128-d (not ArcFace)): fewer than two strengths above 0" in summary

    score = run.outputs["15"]
    text = score["text"][0]
    assert "Face backend: dlib" in text and "No face was found in any of the 8 generated images" in text
    assert "Sampled with the connected MODEL: weights float32" in text
    # the test LoRA has no lora_te keys: its text encoder was not trained; its metadata gives the rank
    assert f"LoRA {LORA_NAME}: text encoder frozen, rank 4" in text
    report = score["identity_report"][0]
    assert report["passed"] is False and isinstance(report["strength"], float)
    assert report["path"].startswith("identity_lora/") and str(host.base_dir) not in json.dumps(score)
    with open(host.output_dir / report["path"], encoding="utf-8") as json_file:
        data = json.load(json_file)
    assert len(data["images"]) == 8 and {c["strength"] for c in data["cells"]} == {0.0, 1.0}
    assert {c["role"] for c in data["cells"]} == {"identity", "control"}
    assert data["training_runs"][0]["text_encoder"] == "frozen" and data["training_runs"][0]["rank"] == 4
    assert run.outputs["16"]["text"] == ["False"]  # ArcFaceScore's 'passed': a best effort, not a pass
