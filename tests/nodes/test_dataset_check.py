"""DatasetCheck (and CaptionTokenizer after it) in the real ComfyUI host, offline default backend."""

import json

import pytest

from devkit.photos import (
    astronaut,
    collage,
    folder_snapshot,
    grace_hopper,
    subject_variants,
    write_image,
)

pytestmark = pytest.mark.host


@pytest.fixture(scope="module")
def dataset_folder(comfy_host):
    folder = comfy_host.input_dir / "Grace – photos"  # ComfyUI's input folder: an allowed root
    for index, image in enumerate(subject_variants(grace_hopper(), 15, canvas=640)):
        write_image(image, folder / f"photo {index:02d}.jpg", quality=90)
    write_image(collage([grace_hopper(), astronaut()], tile=512), folder / "with a friend.jpg")
    (folder / "photo 00.txt").write_text("a woman in uniform", encoding="utf-8")
    return folder


def _check_node(folder: str, **overrides) -> dict:
    inputs = {
        "folder": folder,
        "face_backend": "auto",
        "insightface_pack": "auto",
        "profile": "fast",
        "min_images": 15,
        "max_images": 30,
        "max_background_share": 0.4,
        "duplicate_distance": 8,
        "min_sharpness": 100.0,
    }
    inputs.update(overrides)
    return {"class_type": "DatasetCheck", "inputs": inputs}


def test_check_then_captions(comfy_host, dataset_folder):
    before = folder_snapshot(dataset_folder)
    prompt = {
        "1": _check_node(str(dataset_folder)),
        "2": {
            "class_type": "CaptionTokenizer",
            "inputs": {
                "dataset": ["1", 0],
                "trigger_token": "zyqux",
                "class_word": "woman",
                "mode": "keep captions, enforce token",
                "write_captions": False,
            },
        },
    }
    run = comfy_host.run_prompt(prompt, timeout=600)
    assert run.status == "success", run.error
    report = run.outputs["1"]["text"][0]
    assert report.startswith("Dataset check: FAIL")  # the two-person photo fails
    assert "Faces measured with: CenterFace + dlib 128-d" in report
    assert "sees faces from the front to near-profile" in report and "it cannot see" in report
    assert "No insightface model pack found" in report and "insightface" in report
    assert "with a friend.jpg" in report and "identity bleed" in report
    assert len(run.outputs["1"]["images"]) == 1
    progress = run.progress("1")
    assert progress and progress[-1] == (16, 16)
    reports = list((comfy_host.output_dir / "identity_lora" / "dataset_check").glob("dataset_check_*.json"))
    assert reports, "no JSON report in the output folder"
    payload = json.loads(max(reports, key=lambda p: p.stat().st_mtime).read_text(encoding="utf-8"))
    assert payload["folder"] == dataset_folder.name and payload["verdict"] == "fail"
    assert str(comfy_host.input_dir) not in json.dumps(payload)  # the photos' server path is not served
    captions = run.outputs["2"]["text"][0]
    assert "photo 00.jpg: zyqux, a woman in uniform" in captions
    assert "photo 01.jpg: zyqux, a woman" in captions
    assert "Caption files untouched" in captions
    assert folder_snapshot(dataset_folder) == before


def test_missing_folder_is_a_clear_error(comfy_host):
    run = comfy_host.run_prompt({"1": _check_node("nowhere")}, timeout=120)  # relative: in input/
    assert run.status == "error"
    assert "does not exist" in run.error["exception_message"]
    message = run.error["exception_message"]
    assert "File: input/nowhere." in message and str(comfy_host.base_dir) not in message  # no server path


def test_insightface_required_without_pack_names_the_folder(comfy_host, dataset_folder):
    run = comfy_host.run_prompt(
        {"1": _check_node(str(dataset_folder), face_backend="insightface")}, timeout=120
    )
    assert run.status == "error"
    message = run.error["exception_message"]
    assert "models/insightface/models/antelopev2" in message and str(comfy_host.base_dir) not in message


def test_empty_folder_fails_on_count(comfy_host):
    empty = comfy_host.input_dir / "empty"
    empty.mkdir()
    run = comfy_host.run_prompt({"1": _check_node(str(empty))}, timeout=120)
    assert run.status == "success", run.error
    assert "Only 0 usable images" in run.outputs["1"]["text"][0]
    assert len(run.outputs["1"]["images"]) == 1


def test_a_folder_outside_the_allowed_roots_is_refused(comfy_host, tmp_path):
    """A hostile client points DatasetCheck at a server folder: nothing of it is read or shown."""
    private = tmp_path / "someone else's photos"
    write_image(grace_hopper(), private / "secret.jpg")
    (private / "secret.txt").write_text("a private caption")
    escape = comfy_host.input_dir / "escape"
    escape.symlink_to(private, target_is_directory=True)  # a link inside input/ to the outside
    for folder in (str(private), "escape", "../../" + private.name, "/"):
        run = comfy_host.run_prompt({"1": _check_node(folder)}, timeout=120)
        assert run.status == "error", folder
        message = run.error["exception_message"]
        assert (
            "outside the folders this server allows" in message and "IDENTITY_LORA_ALLOWED_ROOTS" in message
        )
        assert "secret" not in json.dumps(run.history)
