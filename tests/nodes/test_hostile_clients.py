"""Hostile clients, round two, on the real host: each finding of the second review, replayed.

A client anywhere on the network queues prompts with any value in any input and reads /history,
/view and the websocket. None of it may freeze the server, write outside the pack's bounds, hold
memory without bound, show another user's paths or progress, or lift the server owner's limits.
The stand-in engine trains; StrengthSweep runs on inert models (``devkit/fuzz_nodes.py``), which
fail readably at ``lora_file`` once every text input has been checked. Publishing is tested in
test_checkpoint_publish.py (it needs the tiny FLUX).
"""

from __future__ import annotations

import json
import shutil
import threading
import time
import uuid
from pathlib import Path

import pytest
import websocket
from PIL import Image

from devkit.hostile_host import Responsiveness, inert_models, start_hostile_host, sweep_inputs, write_settings
from devkit.stand_in_engine import stand_in
from devkit.train_host import train_prompt, write_photos
from workflows.api_client import ComfyClient

pytestmark = pytest.mark.host

DEFAULT_SETTINGS: dict = {}


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    engine = tmp_path_factory.mktemp("stand_in") / "engine"
    stand_in.build_engine(engine)
    started = start_hostile_host(engine, DEFAULT_SETTINGS)
    yield started
    started.cleanup()


@pytest.fixture
def owner_settings(host):
    """Lets a test write the owner's settings file; the defaults come back afterwards."""
    yield lambda settings: write_settings(host, settings)
    write_settings(host, DEFAULT_SETTINGS)


def _error_text(run) -> str:
    """What /history shows of a failed prompt, without ComfyUI's own traceback (its code's paths)."""
    assert run.status == "error", run.outputs
    shown = {key: value for key, value in run.error.items() if key != "traceback"}
    return json.dumps(shown)


def _dataset(items, token: str = "ohwx") -> dict:
    return {
        "class_type": "TestIdentityDataset",
        "inputs": {"items": json.dumps(items), "token": token, "verdict": "pass"},
    }


def _readable(run) -> str:
    message = run.error["exception_message"]
    assert "What to do" in message, message
    return message


# ----------------------------------------------------------------------------- one prompt froze all


def _run_watched(host, prompt: dict):
    """The prompt's run and the /system_stats latencies while it ran; a run that was late is run once
    more (a value that holds the server holds it every time, the shared machine's load does not)."""
    for _attempt in range(2):
        with Responsiveness(host.url) as watch:
            run = host.run_prompt(prompt)
        if not watch.frozen:
            break
    return run, watch


def test_a_pathological_prompt_list_never_freezes_the_server(host):
    """60,000 spaces after 'a: x' took the line pattern 15 s, holding Python's lock: /system_stats,
    the websocket and /interrupt all stopped. Now the text is refused by its cap at once, and a
    prompt set within the caps is parsed in linear time."""
    hostile = "a: x" + " " * 60_000 + "y"
    sweep = {"class_type": "StrengthSweep", "inputs": sweep_inputs(prompts=hostile)}
    run, watch = _run_watched(host, {**inert_models(), "1": sweep})
    assert not watch.frozen, f"/system_stats latencies: {sorted(watch.latencies)[-5:]}"
    assert "over this server's limit" in _readable(run) and "Input: prompts" in run.error["exception_message"]
    within = "\n".join(["a: x" + " " * 1000 + "y"] * 15 + ["p: {token}"])  # long lines, inside every cap
    sweep = {"class_type": "StrengthSweep", "inputs": sweep_inputs(prompts=within)}
    run, watch = _run_watched(host, {**inert_models(), "1": sweep})
    assert not watch.frozen and "used twice" in _readable(run)


# ----------------------------------------------------------------------------- nothing private shown


def test_failing_nodes_keep_photo_paths_captions_and_run_folders_out_of_history(host, tmp_path):
    """ComfyUI stores a failing node's inputs as their str(): a dataset's repr held every photo's path
    and caption, a checkpoint set's the run's private folder."""
    photos = host.input_dir / "private_set"
    items = write_photos(photos, 2)
    items[0][1] = "ohwx, a secret caption"
    dataset = _dataset(items)
    sweep = {"class_type": "StrengthSweep", "inputs": sweep_inputs(reference_dataset=["2", 0])}
    run = host.run_prompt({**inert_models(), "2": dataset, "1": sweep})
    shown = _error_text(run)
    assert "reference_dataset" in run.error["current_inputs"], run.error
    assert "Dataset(folder 'private_set', 2 images" in shown
    assert str(photos) not in shown and "secret caption" not in shown and str(host.base_dir) not in shown

    trained = host.run_prompt(train_prompt(items, "private_run", steps=2))
    assert trained.status == "success", trained.error
    run_name = trained.outputs["2"]["text"][0].rsplit("Run folder: train/", 1)[1].split(" ", 1)[0]
    loaded = {"class_type": "LoadIdentityCheckpoints", "inputs": {"run": f"run: {run_name}"}}
    sweep = {"class_type": "StrengthSweep", "inputs": sweep_inputs(checkpoints=["3", 0], prompts="x")}
    run = host.run_prompt({**inert_models(), "3": loaded, "1": sweep})
    shown = _error_text(run)
    assert f"CheckpointSet(run '{run_name}', 1 checkpoints" in shown, shown
    assert "identity_lora_work" not in shown and str(host.base_dir) not in shown


def test_messages_name_places_never_server_paths_or_the_roots(host, owner_settings, tmp_path):
    root = tmp_path / "owner photo root"
    write_photos(root / "set", 2)
    owner_settings({"allowed_roots": [str(root)]})
    check = {
        "face_backend": "dlib", "insightface_pack": "auto", "profile": "fast", "min_images": 1,
        "max_images": 30, "max_background_share": 0.4, "duplicate_distance": 8, "min_sharpness": 100.0,
    }  # fmt: skip
    outside = host.run_prompt({"1": {"class_type": "DatasetCheck", "inputs": {**check, "folder": "/"}}})
    message = _readable(outside)
    assert "outside the folders this server allows" in message
    assert (
        str(root) not in message and str(host.input_dir) not in message and "owner photo root" not in message
    )
    missing = host.run_prompt(
        {"1": {"class_type": "DatasetCheck", "inputs": {**check, "folder": "no_such_set"}}}
    )
    message = _readable(missing)
    assert "input/no_such_set" in message and str(host.base_dir) not in message
    in_root = host.run_prompt(
        {
            "1": {
                "class_type": "DatasetCheck",
                "inputs": {**check, "folder": str(root / "set"), "face_backend": "insightface"},
            }
        }
    )
    message = _readable(in_root)
    assert "models/insightface/models" in message and str(host.base_dir) not in message

    items = write_photos(tmp_path / "photos", 2)
    assert host.run_prompt(train_prompt(items, "taken_name", steps=2)).status == "success"
    other = host.run_prompt(train_prompt(items, "taken_name", steps=3))  # another request, same name
    message = _readable(other)
    assert "models/loras/identity/taken_name.safetensors" in message and str(host.base_dir) not in message


def test_output_name_is_checked_before_anything_is_built_from_it(host, tmp_path):
    """'../' repeated, then a path: the answer told whether a *.safetensors file existed anywhere on
    the server (and its header was read). Now the name is refused first, the same way either way."""
    (host.models_dir / "loras" / "identity").mkdir(parents=True, exist_ok=True)  # someone trained before
    planted = tmp_path / "secret_dir"
    planted.mkdir()
    (planted / "present.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}      ")
    items = write_photos(tmp_path / "photos", 2)
    escape = "../" * 12 + str(planted).lstrip("/")
    answers = []
    for name in (f"{escape}/present", f"{escape}/absent"):
        run = host.run_prompt(train_prompt(items, name, steps=2))
        message = _readable(run)
        assert "contains a path separator" in message and "exists" not in message
        answers.append(message.replace("present", "NAME").replace("absent", "NAME"))
    assert answers[0] == answers[1]
    assert not list((host.base_dir / "identity_lora_work" / "train").glob("*secret_dir*"))


# ----------------------------------------------------------------------------- events for their owner


def _listen(url: str, client_id: str, stop: threading.Event, heard: list) -> None:
    ws = websocket.create_connection(f"ws://{url.split('://', 1)[1]}/ws?clientId={client_id}", timeout=60)
    ws.settimeout(0.2)
    try:
        while not stop.is_set():
            try:
                frame = ws.recv()
            except websocket.WebSocketTimeoutException:
                continue
            if isinstance(frame, str):
                heard.append(json.loads(frame))
    finally:
        ws.close()


def test_training_progress_goes_only_to_the_client_that_queued_it(host, tmp_path):
    """Progress events went to every websocket client, without a prompt id."""
    stop, heard = threading.Event(), []
    bystander = threading.Thread(target=_listen, args=(host.url, uuid.uuid4().hex, stop, heard))
    bystander.start()
    try:
        time.sleep(0.5)  # connected before the prompt is queued
        run = host.run_prompt(train_prompt(write_photos(tmp_path / "photos", 3), "own_events", steps=4))
    finally:
        stop.set()
        bystander.join()
    assert run.status == "success", run.error
    own = [m for m in run.messages if m.get("type") == "identity_lora.progress"]
    assert own and all(m["data"].get("prompt_id") == run.prompt_id for m in own)
    assert not [m for m in heard if m.get("type") == "identity_lora.progress"]


def test_the_api_client_takes_only_its_own_prompts_events(start_comfy_host):
    """The API client adopted events without a prompt id: another user's progress in its own output.
    A probe prompt broadcasts events the old way while the client's own prompt waits in the queue."""
    probe = start_comfy_host(probe_nodes=True)
    other = ComfyClient(probe.url)
    counter = {"steps": 20, "delay": 0.1, "label": "other", "training_events": True, "broadcast_events": True}
    status, answer = other.post_prompt({"1": {"class_type": "HarnessProbeCounter", "inputs": counter}})
    assert status == 200, answer
    own = {
        "1": {
            "class_type": "HarnessProbeCounter",
            "inputs": {**counter, "steps": 2, "label": "mine", "broadcast_events": False},
        }
    }
    run = ComfyClient(probe.url).run(own, timeout=120)
    assert run.status == "success"
    events = [m for m in run.messages if m.get("type") == "identity_lora.progress"]
    assert len(events) == 2 and {m["data"]["total_steps"] for m in events} == {2}


# ----------------------------------------------------------------------------- owner limits


def test_node_inputs_cannot_raise_the_owners_limits(host, owner_settings, tmp_path):
    """ram_check, num_processes and checkpoint_every were the client's to set."""
    owner_settings({"max_kept_checkpoints": 3})
    items = write_photos(tmp_path / "photos", 3)
    prompt = train_prompt(items, "limited", steps=12, checkpoint_every=1, ram_check=False, num_processes=4)
    run = host.run_prompt(prompt, timeout=300)
    assert run.status == "success", run.error
    summary = run.outputs["2"]["text"][0]
    assert "RAM check turned off" not in summary and "the server owner requires the RAM check" in summary
    assert "num_processes 4 was lowered to 1 (a CPU run)" in summary
    assert "checkpoint_every 1 was raised to 4" in summary
    run_name = summary.rsplit("Run folder: train/", 1)[1].split(" ", 1)[0]
    run_dir = host.base_dir / "identity_lora_work" / "train" / run_name
    command = json.loads((run_dir / "command.json").read_text())
    argv = json.dumps(command)
    assert '"--num_processes", "1"' in argv and '"--save_every_n_steps", "4"' in argv, argv
    assert len(list(run_dir.rglob("*-step0000*.safetensors"))) <= 3


def test_an_allowed_root_over_the_work_folder_is_refused(host, owner_settings):
    """A root that holds the work folder would let DatasetCheck read staged photos and backups."""
    owner_settings({"allowed_roots": [str(host.base_dir)]})
    work = host.base_dir / "identity_lora_work"
    check = {
        "folder": str(work / "train"), "face_backend": "dlib", "insightface_pack": "auto", "profile": "fast",
        "min_images": 1, "max_images": 30, "max_background_share": 0.4, "duplicate_distance": 8,
        "min_sharpness": 100.0,
    }  # fmt: skip
    run = host.run_prompt({"1": {"class_type": "DatasetCheck", "inputs": check}})
    message = _readable(run)
    assert "overlaps the pack's private work folder" in message and str(host.base_dir) not in message


# ----------------------------------------------------------------------------- bounded writes


def _caption_prompt(items, captions: list[str], write: bool = True) -> dict:
    """TestIdentityDataset -> CaptionTokenizer, the captions as one text with a caption per line."""
    return {
        "1": _dataset(items, token=""),
        "3": {"class_type": "PrimitiveStringMultiline", "inputs": {"value": "\n".join(captions)}},
        "2": {
            "class_type": "CaptionTokenizer",
            "inputs": {
                "dataset": ["1", 0], "trigger_token": "ohwx", "class_word": "person",
                "mode": "keep captions, enforce token", "write_captions": write, "captions": ["3", 0],
            },
        },
    }  # fmt: skip


def test_caption_write_back_is_bounded(host, owner_settings, tmp_path):
    """Two 4 MB caption lines became the owner's caption files, and every prompt added an 8 MB
    backup; a folder under a read-only allowed root was written too."""
    folder = host.input_dir / "captioned"
    items = write_photos(folder, 2)
    for path, _ in items:
        Path(path).with_suffix(".txt").write_text("a person", encoding="utf-8")
    before = {p.name: p.read_bytes() for p in folder.glob("*.txt")}
    huge = ["ohwx, " + "x" * 4_000_000] * 2
    run = host.run_prompt(_caption_prompt(items, huge))
    assert "characters long, over this server's limit" in _readable(run)
    assert {p.name: p.read_bytes() for p in folder.glob("*.txt")} == before
    backups = host.base_dir / "identity_lora_work" / "caption_backups"
    assert not any(backups.rglob("*.txt")) if backups.exists() else True

    read_only = tmp_path / "read only root"
    outside_items = write_photos(read_only / "set", 2)
    owner_settings({"allowed_roots": [str(read_only)]})
    run = host.run_prompt(_caption_prompt(outside_items, ["ohwx, a person in a park", "ohwx, a person"]))
    assert "written back only inside ComfyUI's input folder" in _readable(run)
    assert not list((read_only / "set").glob("*.txt"))
    owner_settings({"writable_roots": [str(read_only)]})
    run = host.run_prompt(_caption_prompt(outside_items, ["ohwx, a person in a park", "ohwx, a person"]))
    assert run.status == "success", run.error
    assert (read_only / "set" / "photo_00.txt").read_text(encoding="utf-8") == "ohwx, a person in a park"
    for round_number in range(12):  # bounded backups: at most 10 for one folder
        captions = [f"ohwx, a person, take {round_number}", "ohwx, a person"]
        assert host.run_prompt(_caption_prompt(items, captions)).status == "success"
    (per_folder,) = [p for p in backups.iterdir() if p.name.startswith("captioned-")]
    assert len(list(per_folder.iterdir())) == 10


# ----------------------------------------------------------------------------- bounded memory


def test_a_sweep_too_large_to_hold_is_refused_before_sampling(host):
    """16 seeds x 32 prompts x 8 strengths at 4096 px: every image was kept as float32, without a cap."""
    prompts = "\n".join(f"p{index}: a photo of {{token}} {index}" for index in range(32))
    strengths = ", ".join(f"{0.1 * index:.1f}" for index in range(1, 9))
    huge = sweep_inputs(
        prompts=prompts, strengths=strengths, seeds=16, width=4096, height=4096, lora_file="any.safetensors"
    )
    run = host.run_prompt({**inert_models(), "1": {"class_type": "StrengthSweep", "inputs": huge}})
    message = _readable(run)
    assert "The sweep would hold 4,096 images, over this server's limit of 512" in message, message


def _peak_rss_reset(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # resets VmHWM, the peak resident size


def _peak_rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def _score_prompt(items) -> dict:
    return {
        "1": _dataset(items),
        "2": {"class_type": "LoadImage", "inputs": {"image": "small.png"}},
        "3": {
            "class_type": "ArcFaceScore",
            "inputs": {
                "backend": "dlib", "insightface_pack": "auto", "identity_target": 0.0,
                "images": ["2", 0], "reference_dataset": ["1", 0],
            },
        },
    }  # fmt: skip


def test_reference_photos_are_held_at_a_bounded_size(host, tmp_path):
    """A 10,000 x 10,000 JPEG is 2 MB on disk and was held as 300 MB of pixels: four copies as the
    reference dataset held 1.2 GB in ComfyUI's process. Now each is draft-decoded to 1024 px."""
    from devkit.photos import grace_hopper

    Image.fromarray(grace_hopper()).resize((64, 64)).save(host.input_dir / "small.png")
    small = host.input_dir / "warm.jpg"
    Image.fromarray(grace_hopper()).save(small)
    warm = host.run_prompt(_score_prompt([[str(small), "ohwx"]]), timeout=300)  # loads the face backend
    assert warm.status in ("success", "error")
    huge = tmp_path / "huge_0.jpg"
    Image.fromarray(grace_hopper()).resize((10_000, 10_000)).save(huge, quality=60)
    copies = [huge] + [shutil.copy(huge, tmp_path / f"huge_{index}.jpg") for index in range(1, 4)]
    pid = host.pid
    _peak_rss_reset(pid)
    baseline = _peak_rss_bytes(pid)
    run = host.run_prompt(_score_prompt([[str(path), "ohwx"] for path in copies]), timeout=300)
    assert run.status in ("success", "error"), run.messages[-3:]
    grown = _peak_rss_bytes(pid) - baseline
    assert grown < 400e6, f"peak RSS grew by {grown / 1e6:.0f} MB for four 10,000 px reference photos"
