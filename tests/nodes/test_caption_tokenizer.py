"""CaptionTokenizer in the real host: write_captions backs up, then rewrites the .txt files."""

import pytest

from devkit.photos import grace_hopper, subject_variants, write_image

pytestmark = pytest.mark.host


def _prompt(folder: str, token: str, write: bool) -> dict:
    return {
        "1": {
            "class_type": "DatasetCheck",
            "inputs": {
                "folder": folder, "face_backend": "dlib", "insightface_pack": "auto", "profile": "fast",
                "min_images": 2, "max_images": 30, "max_background_share": 0.4, "duplicate_distance": 8,
                "min_sharpness": 100.0,
            },
        },
        "2": {
            "class_type": "CaptionTokenizer",
            "inputs": {
                "dataset": ["1", 0], "trigger_token": token, "class_word": "woman",
                "mode": "keep captions, enforce token", "write_captions": write,
            },
        },
    }  # fmt: skip


def test_write_captions_backs_up_first(comfy_host, tmp_path):
    folder = comfy_host.input_dir / "few"
    for index, image in enumerate(subject_variants(grace_hopper(), 3, canvas=512)):
        write_image(image, folder / f"p{index}.jpg", quality=90)
    (folder / "p0.txt").write_bytes("a woman, café".encode("cp1252"))
    run = comfy_host.run_prompt(_prompt(str(folder), "zyqux", True), timeout=300)
    assert run.status == "success", run.error
    report = run.outputs["2"]["text"][0]
    assert "p0.txt" in report and "wrong encoding" in report
    backups = list((comfy_host.base_dir / "identity_lora_work" / "caption_backups").glob("few-*/*"))
    shown = f"caption_backups/{backups[0].parent.name}/{backups[0].name}" if backups else None
    assert len(backups) == 1 and shown in report and str(comfy_host.base_dir) not in report
    assert not list(comfy_host.output_dir.rglob("*.txt"))  # nothing of the captions in a served folder
    assert (backups[0] / "p0.txt").read_bytes() == "a woman, café".encode("cp1252")
    assert (folder / "p0.txt").read_text(encoding="utf-8") == "zyqux, a woman, café"
    assert (folder / "p1.txt").read_text(encoding="utf-8").startswith("zyqux, a woman")


def test_ambiguous_token_is_reported_with_alternatives(comfy_host, tmp_path):
    folder = comfy_host.input_dir / "token"
    for index, image in enumerate(subject_variants(grace_hopper(), 2, canvas=512)):
        write_image(image, folder / f"p{index}.jpg", quality=90)
    run = comfy_host.run_prompt(_prompt(str(folder), "emma", False), timeout=300)
    assert run.status == "success", run.error
    report = run.outputs["2"]["text"][0]
    assert "single CLIP token" in report and "alternatives:" in report
    assert sorted(p.name for p in folder.iterdir()) == ["p0.jpg", "p1.jpg"]


def test_empty_token_is_a_clear_error(comfy_host, tmp_path):
    folder = comfy_host.input_dir / "t"
    write_image(grace_hopper(), folder / "a.jpg")
    run = comfy_host.run_prompt(_prompt(str(folder), "  ", False), timeout=300)
    assert run.status == "error" and "trigger token is empty" in run.error["exception_message"]


def _three_captioned_photos(folder):
    for index, image in enumerate(subject_variants(grace_hopper(), 3, canvas=512)):
        write_image(image, folder / f"p{index}.jpg", quality=90)
        (folder / f"p{index}.txt").write_text(f"a woman in place {index}", encoding="utf-8")


def test_captions_from_a_list_output_replace_the_files(comfy_host):
    folder = comfy_host.input_dir / "captioned_set"
    _three_captioned_photos(folder)
    prompt = _prompt(str(folder), "zyqux", False)
    prompt["3"] = {"class_type": "LoadImageTextDataSetFromFolder", "inputs": {"folder": "captioned_set"}}
    prompt["2"]["inputs"]["captions"] = ["3", 1]  # the texts output: a list, one string per image
    run = comfy_host.run_prompt(prompt, timeout=300)
    assert run.status == "success", run.error
    report = run.outputs["2"]["text"][0]
    assert "Captions from the connected captioning node: 3 (token enforced)" in report
    assert all(f"zyqux, a woman in place {index}" in report for index in range(3))


def test_captions_from_a_multiline_text_must_match_the_image_count(comfy_host, tmp_path):
    folder = comfy_host.input_dir / "three lines"
    _three_captioned_photos(folder)
    prompt = _prompt(str(folder), "zyqux", False)
    prompt["3"] = {
        "class_type": "PrimitiveStringMultiline",
        "inputs": {"value": "a woman, park\na woman, bus"},
    }
    prompt["2"]["inputs"]["captions"] = ["3", 0]
    run = comfy_host.run_prompt(prompt, timeout=300)
    assert run.status == "error"
    message = run.error["exception_message"]
    assert "one text with 2 caption lines for 3 subject images" in message and "What to do" in message
    prompt["3"]["inputs"]["value"] = "a woman, park\na woman, bus\na woman, beach"
    run = comfy_host.run_prompt(prompt, timeout=300)
    assert run.status == "success", run.error
    assert "zyqux, a woman, beach" in run.outputs["2"]["text"][0]
