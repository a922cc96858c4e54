"""A networked ComfyUI, tested as a hostile client would act (stand-in engine, real host).

Anyone who can reach the server can POST /prompt, upload into input/, output/ and temp/ (with
``overwrite``) and read them back with /view. The run folders (staged photos, states, logs,
reports) live in the pack's private work folder, so none of that reaches a user's photos or a
training run; DatasetCheck's folder confinement is tested in test_dataset_check.py.
"""

from __future__ import annotations

import io
import json
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from devkit.stand_in_engine import stand_in
from devkit.train_host import start_train_host, train_prompt, write_photos

pytestmark = pytest.mark.host


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    engine = tmp_path_factory.mktemp("stand_in") / "engine"
    stand_in.build_engine(engine)
    started = start_train_host(tmp_path_factory.mktemp("host"), engine)
    yield started
    started.cleanup()


def upload(host, subfolder: str, name: str, data: bytes, folder_type: str = "output") -> int:
    """POST /upload/image as a browser's form does, with overwrite=true; returns the HTTP status."""
    boundary = uuid.uuid4().hex
    fields = {"subfolder": subfolder, "type": folder_type, "overwrite": "true"}
    body = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
        for key, value in fields.items()
    )
    body += (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(
        host.url + "/upload/image",
        data=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def view(host, subfolder: str, name: str, folder_type: str = "output") -> tuple[int, bytes]:
    query = urllib.parse.urlencode({"filename": name, "subfolder": subfolder, "type": folder_type})
    try:
        with urllib.request.urlopen(f"{host.url}/view?{query}", timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, b""


def run_name_of(run) -> str:
    summary = run.outputs["2"]["text"][0]
    return summary.rsplit("Run folder: train/", 1)[1].split(" ", 1)[0]


def png(colour: tuple[int, int, int], size: int = 32) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def test_an_upload_into_the_run_path_never_reaches_the_photos(host, tmp_path):
    items = write_photos(tmp_path / "photos", 4)
    originals = {path: Path(path).read_bytes() for path, _ in items}
    run = host.run_prompt(train_prompt(items, "shared_upload", steps=2), timeout=300)
    assert run.status == "success", run.error
    name = run_name_of(run)
    staged = host.base_dir / "identity_lora_work" / "train" / name / "dataset" / "subject"
    staged_before = {p.name: p.read_bytes() for p in staged.iterdir()}
    for folder_type in ("output", "input", "temp"):  # where the run folder used to be, and elsewhere
        subfolder = f"identity_lora/train/{name}/dataset/subject"
        assert upload(host, subfolder, "0001_photo_00.png", png((255, 0, 0)), folder_type) == 200
    for escape in ("../identity_lora_work/train", "../../identity_lora_work"):
        assert upload(host, f"{escape}/{name}/dataset/subject", "0001_photo_00.png", b"x") == 400
    assert {path: Path(path).read_bytes() for path, _ in items} == originals
    assert {p.name: p.read_bytes() for p in staged.iterdir()} == staged_before
    assert all(Path(path).stat().st_nlink == 1 for path, _ in items)  # staged as copies, not links


def test_private_files_are_not_served(host, tmp_path):
    items = write_photos(tmp_path / "photos", 4)
    run = host.run_prompt(train_prompt(items, "shared_view", steps=2), timeout=300)
    assert run.status == "success", run.error
    name = run_name_of(run)
    private = host.base_dir / "identity_lora_work" / "train" / name
    for file in ("engine.log", "training_report.json", "states.json", "command.json"):
        assert (private / file).is_file()
        for subfolder, folder_type in (
            (f"identity_lora/train/{name}", "output"),
            (f"../identity_lora_work/train/{name}", "output"),
            (f"../identity_lora_work/train/{name}", "input"),
        ):
            status, content = view(host, subfolder, file, folder_type)
            assert status != 200 and not content, (file, subfolder, folder_type, status)
    history = json.dumps(run.history)
    assert str(private) not in history and "identity_lora_work/train" not in history
    assert not any((host.output_dir / "identity_lora").rglob("*.log"))


def test_a_planted_state_and_report_are_never_used(host, tmp_path):
    """A client plants a complete-looking state and a report pointing at a server file where run
    folders used to be: a fresh run starts at step 1, and a reused run shows only its own samples."""
    secret = tmp_path / "secret.png"
    secret.write_bytes(png((250, 10, 10), 48))
    items = write_photos(tmp_path / "photos", 4)
    prompt = train_prompt(items, "shared_planted", steps=4)
    for run_folder in ("shared_planted", "shared_planted-" + "0" * 12):
        base = f"identity_lora/train/{run_folder}"
        state = f"{base}/output/shared_planted-step00000002-state"
        weights = np.full((4, 3072), 1000.0, np.float32).tobytes()
        for file, data in (
            ("train_state.json", b'{"current_epoch": 1, "current_step": 2}'),
            ("random_states_0.pkl", b"planted"),
            ("model.safetensors", weights),
        ):
            assert upload(host, state, file, data) == 200
        report = {"summary": "planted", "samples": [str(secret)], "request_key": "x"}
        assert upload(host, base, "training_report.json", json.dumps(report).encode()) == 200
    first = host.run_prompt(prompt, timeout=300)
    assert first.status == "success", first.error
    steps = [m["data"]["step"] for m in first.messages if m.get("type") == "identity_lora.progress"
             and m["data"].get("kind") == "step" and m["data"].get("loss") is not None]  # fmt: skip
    assert min(steps) == 1, steps  # nothing was resumed
    prompt["3"]["inputs"]["filename_prefix"] = "shared_planted_again"
    host.run_prompt(train_prompt(items, "shared_planted_other", steps=2), timeout=300)
    again = host.run_prompt(prompt, timeout=300)  # a new cache entry: the job reuses the LoRA
    assert again.outputs["2"]["text"][0].startswith("Reused shared_planted.safetensors")
    (saved,) = host.output_dir.glob("shared_planted_again_*.png")
    with Image.open(saved) as preview:
        assert preview.size == (64, 64) and preview.getpixel((5, 5)) == (0, 0, 0)  # not the secret
