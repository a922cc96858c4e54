"""TrainIdentityLoRA's live likeness in a real ComfyUI host, on real photos.

The stand-in engine (a test double of flux_train_network.py) writes its sample images from
``STAND_IN_SAMPLE_SCHEDULE``: photos of other people up to step 4, then other photos of the
subject (not the training photos) at every later step. So likeness rises and then stays flat while
the stand-in's loss keeps falling: the Fast profile's early stop (patience 2) decides once step 10's
likeness is scored and keeps step 6. The run stops at the next saved state after that decision:
step 10 when scoring keeps up with the stand-in's steps, a later one on a busy machine, which
the test accepts (the kept checkpoint is the judgement; the stop step is timing). The run stays
resumable: queued again with early stop off, it continues to the end.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from devkit.real_faces import shared_faces_dir
from devkit.stand_in_engine import stand_in
from devkit.train_host import start_train_host, train_prompt
from sd_scripts_bridge.lora_file import read_metadata

FACES = shared_faces_dir()
pytestmark = [
    pytest.mark.host,
    pytest.mark.skipif(FACES is None, reason="the real face photos (shared/faces) are not here"),
]
TRAINING = ("obama/frontal_1.jpg", "obama/frontal_3.jpg")
SUBJECT_UNSEEN = ("obama/frontal_2.jpg", "obama/frontal_4.jpg")
OTHER_PEOPLE = (
    "biden/frontal_2.jpg",
    "cc0avatar_006/frontal_1.jpg",
    "cc0avatar_014/frontal_1.jpg",
    "cc0avatar_028/frontal_1.jpg",
)


# The stand-in's step time. Scoring a checkpoint's samples takes ComfyUI's process up to a few
# seconds on a busy 2-core machine; at 0.4 s a step the stand-in once reached its last step (30)
# before step 10's likeness was scored. 1.5 s leaves 30 s between the decision and the end.
SEC_PER_STEP = "1.5"


def copy_photos(folder: Path, names) -> Path:
    folder.mkdir(parents=True)
    for index, name in enumerate(names):
        shutil.copy(FACES / name, folder / f"{index:02d}_{Path(name).name}")
    return folder


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    root = tmp_path_factory.mktemp("likeness")
    engine = root / "engine"
    stand_in.build_engine(engine)
    schedule = [
        {"until_step": 4, "folder": str(copy_photos(root / "others", OTHER_PEOPLE))},
        {"until_step": 10_000, "folder": str(copy_photos(root / "subject", SUBJECT_UNSEEN))},
    ]
    host = start_train_host(
        root, engine, STAND_IN_SAMPLE_SCHEDULE=json.dumps(schedule), STAND_IN_SEC_PER_STEP=SEC_PER_STEP
    )
    yield host
    host.cleanup()


def likeness_prompt(name: str, early_stop: str) -> dict:
    items = [[str(FACES / photo), "ohwx, a photo of a person"] for photo in TRAINING]
    prompt = train_prompt(
        items,
        name,
        steps=30,
        checkpoint_every=2,
        preview_every_n_steps=2,
        resolution=256,
        early_stop=early_stop,
        face_backend="centerface",
    )
    prompt["4"] = {"class_type": "TestCheckpointsSink", "inputs": {"checkpoints": ["2", 9]}}
    prompt["5"] = {"class_type": "SaveImage", "inputs": {"images": ["2", 10], "filename_prefix": name}}
    return prompt


def progress_events(run) -> list[dict]:
    return [m["data"] for m in run.messages if m.get("type") == "identity_lora.progress"]


def test_live_likeness_stops_early_keeps_the_best_checkpoint_and_resumes(host):
    run = host.run_prompt(likeness_prompt("likeness_run", "on"), timeout=600)
    assert run.status == "success", run.error
    events = progress_events(run)
    lines = [e["message"] for e in events if e.get("message", "").startswith("likeness at step")]
    assert lines and lines[0].startswith("likeness at step 2:"), lines
    shown = [e["likeness"] for e in events if e.get("kind") == "step" and e.get("likeness")]
    # the step-10 point decides the stop, so the engine may take no step after it: step events carry
    # the points before it
    assert shown and shown[-1]["step"] >= 8, "step events carry the latest likeness for the API client"

    checkpoints = json.loads(run.outputs["4"]["text"][0])
    likeness = {int(step): value for step, value in checkpoints["likeness"].items()}
    assert max(likeness[2], likeness[4]) < min(likeness[step] for step in (6, 8, 10)), likeness
    stopped_at, kept = checkpoints["early_stop"]
    assert kept == 6 and 10 <= stopped_at < 30, checkpoints["early_stop"]
    steps = [step for step, _ in checkpoints["files"]]
    assert steps[:5] == [2, 4, 6, 8, 10] and max(steps) < 30, steps
    assert checkpoints["lora_name"] == "identity/likeness_run.safetensors" and checkpoints["losses"] > 0

    summary = run.outputs["2"]["text"][0]
    assert f"Stopped early at step {stopped_at}" in summary and "step-6 checkpoint" in summary, summary
    published = host.models_dir / "loras" / "identity" / "likeness_run.safetensors"
    metadata = read_metadata(published)
    assert (metadata["identity_lora_stopped_early_at"], metadata["identity_lora_checkpoint_step"]) == (
        str(stopped_at),
        "6",
    )
    assert run.outputs["5"]["images"], "the likeness chart is an IMAGE output"

    resumed = host.run_prompt(likeness_prompt("likeness_run", "off"), timeout=600)
    assert resumed.status == "success", resumed.error
    assert "Resumed at step" in resumed.outputs["2"]["text"][0]
    final = read_metadata(published)
    assert "identity_lora_stopped_early_at" not in final and final["identity_lora_total_steps"] == "30"
    again = json.loads(resumed.outputs["4"]["text"][0])
    assert [step for step, _ in again["files"]][-1] == 30 and again["early_stop"] is None
