"""The shipped workflows against a real host: node definitions, /prompt validation, sync, templates.

The host gets empty placeholder files with the model names the workflows use (flux1-dev,
clip_l, t5xxl_fp16, ae, the example LoRA), so /prompt validation passes in full; each accepted
prompt is removed from the queue and interrupted at once, so nothing runs.
"""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

import pytest
from PIL import Image

from devkit.host import Host
from devkit.object_info import UI_ONLY_TYPES
from devkit.shipped_workflows import BUILD_COMMAND, expected_files, stale_files
from tests.workflows.workflow_check import BYPASSED, check_ui_workflow, ui_to_api

REPO_ROOT = Path(__file__).resolve().parents[2]
NAMES = ("identity_fast", "identity_final", "identity_evaluate")
PACK_NODES = {
    *("DatasetCheck", "CaptionTokenizer", "TrainIdentityLoRA", "StrengthSweep", "ArcFaceScore"),
    "LoadIdentityCheckpoints",
}

pytestmark = pytest.mark.host


def ui_workflow(name: str) -> dict:
    return json.loads((REPO_ROOT / "example_workflows" / f"{name}.json").read_text(encoding="utf-8"))


def api_workflow(name: str) -> dict:
    return json.loads((REPO_ROOT / "workflows" / "api" / f"{name}.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def object_info(model_host: Host) -> dict:
    return model_host.object_info()


@pytest.mark.parametrize("name", NAMES)
def test_ui_workflow_fits_the_live_node_definitions(object_info, name):
    assert check_ui_workflow(object_info, ui_workflow(name)) == []


@pytest.mark.parametrize("name", NAMES)
def test_api_workflow_is_the_conversion_of_the_ui_workflow(object_info, name):
    assert ui_to_api(object_info, ui_workflow(name)) == api_workflow(name)


def test_workflow_files_are_current_with_the_nodes(object_info):
    stale = [str(path.relative_to(REPO_ROOT)) for path in stale_files(object_info)]
    assert stale == [], f"out of date with the nodes: {stale}; run `{BUILD_COMMAND}` and commit the result"


@pytest.mark.parametrize("name", NAMES)
def test_only_core_and_pack_nodes_are_used(object_info, name):
    for node in ui_workflow(name)["nodes"]:
        if node["type"] in UI_ONLY_TYPES:
            continue
        module = object_info[node["type"]]["python_module"]
        if node["type"] in PACK_NODES:
            assert module.startswith("custom_nodes."), (node["type"], module)
        else:
            assert module == "nodes" or module.startswith("comfy_extras."), (node["type"], module)


@pytest.mark.parametrize("name", NAMES)
def test_ui_workflow_is_grouped_and_explained(name):
    workflow = ui_workflow(name)
    titles = [group["title"] for group in workflow["groups"]]
    assert titles[0].startswith("1. ") and titles[-1].split(". ", 1)[1].startswith("Evaluate"), titles
    assert [int(title.split(".")[0]) for title in titles] == list(range(1, len(titles) + 1))
    notes = [n["widgets_values"][0] for n in workflow["nodes"] if n["type"] == "MarkdownNote"]
    start = notes[0]
    for what in ("folder", "token", "FLUX files"):
        assert what in start, f"the start note of {name} does not say what to set: {what}"
    ids = [n["id"] for n in workflow["nodes"]]
    assert workflow["last_node_id"] == max(ids) and len(set(ids)) == len(ids)
    assert set(api_workflow(name)) == {
        str(n["id"]) for n in workflow["nodes"] if n["type"] not in UI_ONLY_TYPES and n["mode"] != BYPASSED
    }


def test_the_evaluate_workflow_ships_the_checkpoint_loader_linked_but_bypassed_with_its_note():
    """Set and turned on (Ctrl+B) it feeds the sweep; off, nothing validates or runs it, so
    comfy-cli has no 'feeds no output' warning (test_comfy_cli.py)."""
    workflow = ui_workflow("identity_evaluate")
    nodes = {n["id"]: n for n in workflow["nodes"]}
    loader = next(n for n in nodes.values() if n["type"] == "LoadIdentityCheckpoints")
    assert loader["mode"] == BYPASSED
    (link,) = [link for link in workflow["links"] if link[1] == loader["id"]]
    assert nodes[link[3]]["type"] == "StrengthSweep"
    assert nodes[link[3]]["inputs"][link[4]]["name"] == "checkpoints"
    notes = [n["widgets_values"][0] for n in nodes.values() if n["type"] == "MarkdownNote"]
    assert any("Ctrl+B" in note and "Why bypassed" in note for note in notes)
    api_types = {node["class_type"] for node in api_workflow("identity_evaluate").values()}
    assert "LoadIdentityCheckpoints" not in api_types


def test_generator_writes_exactly_the_shipped_set(object_info):
    written = {str(path.relative_to(REPO_ROOT)) for path in expected_files(object_info)}
    assert written == {
        f"{folder}/{name}.json" for folder in ("example_workflows", "workflows/api") for name in NAMES
    }


def post_without_running(host: Host, prompt: dict) -> tuple[int, dict]:
    """POST /prompt; an accepted prompt is taken off the queue and interrupted at once."""
    status, answer = host.client.post_prompt(prompt)
    if status == 200:
        host.client.delete_from_queue([answer["prompt_id"]])
        host.client.interrupt(answer["prompt_id"])
        wait_until_idle(host)
    return status, answer


def wait_until_idle(host: Host, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not host.client.is_idle():
        assert time.monotonic() < deadline, f"the queue did not empty: {host.client.queue_state()}"
        time.sleep(0.2)


@pytest.mark.parametrize("name", NAMES)
def test_api_workflow_passes_prompt_validation(model_host, name):
    status, answer = post_without_running(model_host, api_workflow(name))
    assert status == 200, answer
    assert answer["node_errors"] == {}


def test_prompt_validation_names_a_missing_model_file(model_host):
    """The validation above is real: a file name the host does not have is refused.

    ComfyUI still queues the outputs that do not depend on the bad node (the reference
    contact sheet here), so the refusal shows in node_errors, with or without a 400.
    """
    prompt = api_workflow("identity_evaluate")
    loader = next(node for node in prompt.values() if node["class_type"] == "UNETLoader")
    loader["inputs"]["unet_name"] = "not-a-model.safetensors"
    _status, answer = post_without_running(model_host, prompt)
    errors = [e for node in answer["node_errors"].values() for e in node["errors"]]
    assert [e["type"] for e in errors] == ["value_not_in_list"], errors
    assert "not-a-model.safetensors" in errors[0]["details"]


def test_template_browser_lists_the_workflows_with_thumbnails(model_host):
    templates = model_host.get_json("/workflow_templates")
    assert sorted(templates.get(model_host.pack_name, [])) == sorted(NAMES), templates
    for name in NAMES:
        base = f"/api/workflow_templates/{model_host.pack_name}/{name}"
        assert model_host.get_json(f"{base}.json") == ui_workflow(name)
        with urllib.request.urlopen(f"{model_host.url}{base}.jpg", timeout=30) as response:
            payload = response.read()
        thumbnail = REPO_ROOT / "example_workflows" / f"{name}.jpg"
        assert payload == thumbnail.read_bytes()
        with Image.open(thumbnail) as image:
            assert image.format == "JPEG" and image.width >= 400 and image.height >= 250
