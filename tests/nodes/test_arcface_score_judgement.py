"""ArcFaceScore's judgement on real photos, through the node on the real host.

The "generated" images of each sweep are real photos (the test-only node ``TestPhotoSweep`` lays
them out as StrengthSweep lays out a LoRA's images); the reference is the checked dataset of three
photos of one person taken on three occasions (DatasetCheck on a folder in input/). Each sweep has
a right answer: the person's photos from other occasions pass, the training photos themselves are
memorisation, strangers are weak identity (not memorisation), and the person on the control prompt
is identity bleed. The offline default backend (CenterFace + dlib 128-d) measures every face.
"""

import json
import os
import shutil
from pathlib import Path

import pytest

from devkit.host import DEFAULT_PACK_NAME, REPO_ROOT, Host
from tests.fixtures.shared_faces import require_shared_faces

pytestmark = pytest.mark.host

PHOTO_NODES = "identity_lora_photo_sweep_nodes.py"
PERSON = "compreface_person_a"
REFERENCES = ("frontal_2.jpg", "frontal_3.jpg", "frontal_5.jpg")  # café, blue wall, shelf
OTHER_OCCASIONS = ("frontal_1.jpg", "frontal_4.jpg")  # studio make-up, winter night selfie
STRANGERS = ("cc0avatar_041/frontal_1.jpg", "pexels_neutral_woman/frontal_1.jpeg", "london_087/frontal_1.jpg")


@pytest.fixture(scope="module")
def judging_host():
    faces = require_shared_faces()
    host = Host(extra_args=("--whitelist-custom-nodes", DEFAULT_PACK_NAME, PHOTO_NODES))
    try:
        _prepare(host.base_dir, faces)
        yield host.start()
    finally:
        host.cleanup()


def _prepare(base: Path, faces: Path) -> None:
    """The reference folder, the other photos and the strangers in input/; the test node linked in."""
    reference = base / "input" / "reference"
    reference.mkdir(parents=True)
    for name in REFERENCES:
        shutil.copy(faces / PERSON / name, reference / name)
    for name in OTHER_OCCASIONS:
        shutil.copy(faces / PERSON / name, base / "input" / f"other_{name}")
    for index, name in enumerate(STRANGERS):
        shutil.copy(faces / name, base / "input" / f"stranger_{index}{Path(name).suffix}")
    (base / "custom_nodes").mkdir(parents=True, exist_ok=True)
    os.symlink(REPO_ROOT / "devkit" / "photo_sweep_test_nodes.py", base / "custom_nodes" / PHOTO_NODES)


def _files(kind: str) -> list[str]:
    if kind == "others":
        return [f"other_{name}" for name in OTHER_OCCASIONS]
    if kind == "training":
        return [f"reference/{name}" for name in REFERENCES]
    return [f"stranger_{i}{Path(name).suffix}" for i, name in enumerate(STRANGERS)]


def _graph(identity: str, control: str) -> dict:
    prompts = {
        p: {"role": "identity", "files": _files(identity)} for p in ("portrait", "environment", "outfit")
    }
    prompts["control"] = {"role": "control", "files": _files(control)}
    layout = {"strengths": [0.8, 1.0], "prompts": prompts}
    return {
        "1": {"class_type": "TestPhotoSweep", "inputs": {"layout": json.dumps(layout)}},
        "2": {
            "class_type": "DatasetCheck",
            "inputs": {
                "folder": "reference",
                "face_backend": "centerface",
                "insightface_pack": "auto",
                "profile": "fast",
                "min_images": 3,
                "max_images": 30,
                "max_background_share": 1.0,
                "duplicate_distance": 8,
                "min_sharpness": 0.0,
            },
        },
        "9": {
            "class_type": "ArcFaceScore",
            "inputs": {
                "backend": "centerface",
                "insightface_pack": "auto",
                "identity_target": 0.0,
                "sweep": ["1", 0],
                "reference_dataset": ["2", 0],
            },
        },
    }


def _judged(host, identity: str, control: str) -> tuple[bool, list[str], str, dict]:
    run = host.run_prompt(_graph(identity, control), timeout=900)
    assert run.status == "success", run.error
    output = run.outputs["9"]
    report = output["text"][0]
    passed = "Recommended: strength" in report and "No strength passed" not in report
    data = json.loads(_newest_json(host).read_text(encoding="utf-8"))
    issues = [d["issue"] for d in data["recommendation"]["diagnoses"]]
    assert data["recommendation"]["passed"] is passed
    return passed, issues, report, data


def _newest_json(host) -> Path:
    reports = sorted((host.output_dir).rglob("*.json"), key=lambda p: p.stat().st_mtime)
    assert reports, "ArcFaceScore wrote no JSON report"
    return reports[-1]


def test_the_persons_photos_from_other_occasions_pass(judging_host):
    passed, issues, report, data = _judged(judging_host, "others", "strangers")
    assert passed and issues == [], report
    assert "Likeness by head pose" in report and data["likeness_by_pose"][0]["pose"] == "front"
    rules = data["rules"]
    assert rules["copy"]["source"] and rules["bleed"]["source"] and rules["waxy_skin"]["source"]
    assert not any(cell["memorised"] for cell in data["cells"])


def test_the_training_photos_themselves_are_memorisation_with_their_evidence(judging_host):
    passed, issues, report, data = _judged(judging_host, "training", "strangers")
    assert not passed and "Memorisation" in issues, report
    assert "aligned face crops match" in report
    copied = [m["evidence"] for cell in data["cells"] for m in cell["memorised"]]
    assert copied and all(e["crop_match"] >= data["rules"]["copy"]["crop_match"] for e in copied)


def test_strangers_are_weak_identity_not_memorisation(judging_host):
    passed, issues, report, _ = _judged(judging_host, "strangers", "strangers")
    assert not passed and "Weak identity" in issues and "Memorisation" not in issues, report
    assert "Waxy skin" not in issues and "Identity bleed" not in issues


def test_the_person_on_the_control_prompt_is_identity_bleed(judging_host):
    passed, issues, report, _ = _judged(judging_host, "others", "others")
    assert not passed and "Identity bleed" in issues, report
