"""The pack inside a running ComfyUI server, seen over HTTP and the websocket."""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from workflows.api_client import PromptRejected

PACK_NODES = ("DatasetCheck", "CaptionTokenizer", "TrainIdentityLoRA", "StrengthSweep", "ArcFaceScore")

pytestmark = pytest.mark.host


def image_prompt(width: int = 64, prefix: str = "foundation") -> dict:
    return {
        "1": {
            "class_type": "EmptyImage",
            "inputs": {"width": width, "height": 32, "batch_size": 1, "color": 255},
        },
        "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": prefix}},
    }


def test_pack_nodes_are_in_object_info(comfy_host):
    info = comfy_host.object_info()
    for node_id in PACK_NODES:
        assert node_id in info, f"{node_id} missing from /object_info"
        assert info[node_id]["python_module"] == f"custom_nodes.{comfy_host.pack_name}"
        assert info[node_id]["category"].startswith("FLUX Identity LoRA")


def test_pack_imported_without_failure(comfy_host):
    log = comfy_host.log_text()
    assert "Import times for custom nodes" in log
    import_lines = [line for line in log.splitlines() if re.search(r"seconds.*: ", line)]
    pack_lines = [line for line in import_lines if line.rstrip().endswith(comfy_host.pack_name)]
    assert pack_lines, f"no import line for the pack in:\n{import_lines}"
    assert not any("IMPORT FAILED" in line for line in pack_lines), pack_lines


def test_core_prompt_runs_through_queue_ws_and_history(comfy_host):
    run = comfy_host.run_prompt(image_prompt(), timeout=60)
    assert run.status == "success", run.error
    types = [m["type"] for m in run.messages]
    assert "execution_start" in types and "executed" in types
    assert types[-1] == "executing"
    images = run.outputs["2"]["images"]
    assert images[0]["filename"].startswith("foundation")
    assert (comfy_host.output_dir / images[0]["subfolder"] / images[0]["filename"]).is_file()


def test_missing_required_input_gets_400_and_server_stays_up(comfy_host):
    prompt = image_prompt()
    del prompt["2"]["inputs"]["images"]
    status, body = comfy_host.post_prompt(prompt)
    assert status == 400
    assert body["error"]["type"] == "prompt_outputs_failed_validation"
    assert body["node_errors"]["2"]["errors"][0]["type"] == "required_input_missing"
    with pytest.raises(PromptRejected):
        comfy_host.run_prompt(prompt)
    assert comfy_host.running
    assert comfy_host.get_json("/system_stats")["system"]["comfyui_version"]


def test_insightface_model_folder_is_registered(comfy_host):
    assert "insightface" in comfy_host.get_json("/models")
    folders = comfy_host.get_json("/internal/folder_paths")
    expected = comfy_host.models_dir / "insightface"
    assert str(expected) in folders["insightface"], folders["insightface"]
    marker = expected / "models" / "foundation-probe" / "README.txt"
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text("registration probe; not a model\n")
    try:
        assert "models/foundation-probe/README.txt" in comfy_host.get_json("/models/insightface")
    finally:
        marker.unlink()
        marker.parent.rmdir()


def test_pack_loads_from_a_folder_named_main(start_comfy_host):
    host = start_comfy_host(pack_name="main")
    info = host.object_info()
    for node_id in PACK_NODES:
        assert info[node_id]["python_module"] == "custom_nodes.main"
    failed = [line for line in host.log_text().splitlines() if "IMPORT FAILED" in line and "main" in line]
    assert not failed, failed


def counter(steps: int, delay: float, label: str) -> dict:
    inputs = {"steps": steps, "delay": delay, "label": label, "training_events": False}
    return {"1": {"class_type": "HarnessProbeCounter", "inputs": inputs}}


def test_progress_messages_over_ws(probe_host):
    run = probe_host.run_prompt(counter(3, 0.01, "ws"))
    assert run.status == "success", run.error
    assert run.progress("1") == [(1, 3), (2, 3), (3, 3)]
    assert run.executed()["1"]["text"] == ["ws: counted 3 steps"]
    assert run.outputs["1"]["text"] == ["ws: counted 3 steps"]


def test_interrupt_stops_the_running_prompt(probe_host):
    client = probe_host.client
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(probe_host.run_prompt, counter(600, 0.1, "interrupted"), 120)
        deadline = time.monotonic() + 60
        while not client.queue_state()["queue_running"] and time.monotonic() < deadline:
            time.sleep(0.1)
        prompt_id = client.queue_state()["queue_running"][0][1]
        time.sleep(0.5)
        assert probe_host.interrupt(prompt_id) == 200
        run = future.result(timeout=60)
    assert run.prompt_id == prompt_id
    assert run.status == "interrupted"
    assert run.error["node_type"] == "HarnessProbeCounter"
    assert 0 < len(run.progress("1")) < 600
