"""ArcFaceScore in the real host: plain images against reference photos, and bad inputs.

Every bad input must come back as an execution error whose message says what happened and
what to do; the server keeps running.
"""

import numpy as np
import pytest
from PIL import Image

from devkit.photos import astronaut, grace_hopper, resized, rotated

pytestmark = pytest.mark.host


@pytest.fixture(scope="module")
def photos(comfy_host):
    files = {
        "grace.png": grace_hopper(),
        "grace_turned.png": rotated(resized(grace_hopper(), 0.8), 8),
        "astronaut.png": astronaut(),
        "flat.png": np.full((256, 256, 3), 128, np.uint8),
    }
    for name, image in files.items():
        Image.fromarray(image).save(comfy_host.input_dir / name)
    return files


def _graph(images: str | None, reference: str | None, backend: str = "dlib") -> dict:
    graph = {
        "9": {
            "class_type": "ArcFaceScore",
            "inputs": {"backend": backend, "insightface_pack": "auto", "identity_target": 0.0},
        }
    }
    for node_id, name, slot in (("1", images, "images"), ("2", reference, "reference_images")):
        if name:
            graph[node_id] = {"class_type": "LoadImage", "inputs": {"image": name}}
            graph["9"]["inputs"][slot] = [node_id, 0]
    return graph


def _error(run) -> str:
    assert run.status == "error", run.outputs
    return run.error["exception_message"]


def test_plain_images_are_scored_against_reference_photos(comfy_host, photos):
    same = comfy_host.run_prompt(_graph("grace_turned.png", "grace.png"), timeout=300)
    other = comfy_host.run_prompt(_graph("astronaut.png", "grace.png"), timeout=300)
    assert same.status == other.status == "success", (same.error, other.error)
    same_text, other_text = same.outputs["9"]["text"][0], other.outputs["9"]["text"][0]
    assert "Face backend: dlib" in same_text and "no strength to recommend" in same_text

    def similarity(text):
        return float(text.split("image 0: similarity ")[1].split()[0])

    target = float(same_text.split("Identity target ")[1].split()[0])  # dlib's same-person cosine
    assert similarity(same_text) >= target > similarity(other_text)
    assert len(same.outputs["9"]["images"]) == 2  # chart and annotated grid previews


def test_outputs_keep_their_order_new_ones_appended(comfy_host, photos):
    info = comfy_host.get_json("/object_info/ArcFaceScore")["ArcFaceScore"]
    assert info["output"] == ["FLOAT", "STRING", "IMAGE", "IMAGE", "BOOLEAN", "STRING", "INT"]
    assert info["output_name"] == [
        "recommended_strength", "report", "chart", "annotated_grid", "passed", "recommended_lora",
        "recommended_step",
    ]  # fmt: skip
    graph = _graph("grace_turned.png", "grace.png")
    graph["20"] = {"class_type": "PreviewAny", "inputs": {"source": ["9", 4]}}
    graph["21"] = {"class_type": "PreviewAny", "inputs": {"source": ["9", 6]}}
    run = comfy_host.run_prompt(graph, timeout=300)
    assert run.status == "success", run.error
    assert run.outputs["20"]["text"] == ["False"]  # plain images: no recommendation, so not passed
    assert run.outputs["21"]["text"] == ["0"]  # not from a run's checkpoints: no step


def test_no_face_in_the_images_is_a_verdict(comfy_host, photos):
    run = comfy_host.run_prompt(_graph("flat.png", "grace.png"), timeout=300)
    assert run.status == "success", run.error
    assert "image 0: no face" in run.outputs["9"]["text"][0]


@pytest.mark.parametrize(
    ("images", "reference", "backend", "expected"),
    [
        ("grace.png", "flat.png", "dlib", "No face was found in any of the 1 reference images"),
        ("grace.png", None, "dlib", "No reference identity was given"),
        (None, "grace.png", "dlib", "Nothing to score"),
        ("grace.png", "grace.png", "insightface", "No insightface model pack found"),
    ],
)
def test_bad_inputs_are_clear_messages(comfy_host, photos, images, reference, backend, expected):
    message = _error(comfy_host.run_prompt(_graph(images, reference, backend), timeout=300))
    assert expected in message and "What to do" in message
    assert comfy_host.get_json("/system_stats")  # the server is still up


def test_reference_from_the_checked_dataset(comfy_host, photos, tmp_path):
    """The shipped workflows take the reference identity from DatasetCheck's dataset output."""
    folder = comfy_host.input_dir / "reference photos"
    folder.mkdir()
    Image.fromarray(grace_hopper()).save(folder / "grace.png")
    Image.fromarray(resized(grace_hopper(), 0.9)).save(folder / "grace_small.png")
    graph = _graph("grace_turned.png", None)
    graph["3"] = {
        "class_type": "DatasetCheck",
        "inputs": {
            "folder": str(folder), "face_backend": "dlib", "insightface_pack": "auto", "profile": "fast",
            "min_images": 1, "max_images": 30, "max_background_share": 1.0, "duplicate_distance": 0,
            "min_sharpness": 0.0,
        },
    }  # fmt: skip
    graph["9"]["inputs"]["reference_dataset"] = ["3", 0]
    run = comfy_host.run_prompt(graph, timeout=300)
    assert run.status == "success", run.error
    text = run.outputs["9"]["text"][0]
    target = float(text.split("Identity target ")[1].split()[0])
    assert float(text.split("image 0: similarity ")[1].split()[0]) >= target
