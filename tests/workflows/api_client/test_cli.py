"""The command line against real hosts: progress, results, downloads, the server's messages, Ctrl-C,
and the refusals that exit with 2 before anything is queued."""

from __future__ import annotations

import json
import re
import signal
import time

import pytest

from devkit.host import free_port
from tests.workflows.api_client.cli_runner import (
    counter_prompt,
    image_prompt,
    run_cli,
    start_cli,
    write_workflow,
)


@pytest.mark.host
def test_progress_training_events_and_results_are_printed(probe_host, tmp_path):
    workflow = write_workflow(tmp_path, counter_prompt(steps=5))
    result = run_cli(str(workflow), "--server", probe_host.url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"\[#+\] 5/5 100% #1 HarnessProbeCounter", result.stdout), result.stdout
    assert "training step 5/5 loss 0.2000 ETA 0m00s" in result.stdout
    assert "#1 HarnessProbeCounter: cli: counted 5 steps" in result.stdout
    assert "succeeded" in result.stdout


@pytest.mark.host
def test_set_changes_any_node_input(probe_host, tmp_path):
    workflow = write_workflow(tmp_path, counter_prompt(steps=2))
    result = run_cli(
        str(workflow), "--server", probe_host.url, "--set", "1.steps=3", "--set", "1.label=renamed"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "renamed: counted 3 steps" in result.stdout


@pytest.mark.host
def test_download_saves_output_images(probe_host, tmp_path):
    workflow = write_workflow(tmp_path, image_prompt())
    download = tmp_path / "downloads"
    result = run_cli(str(workflow), "--server", probe_host.url, "--download", str(download))
    assert result.returncode == 0, result.stdout + result.stderr
    images = sorted(download.glob("queue_cli_*.png"))
    assert len(images) == 1, result.stdout
    assert images[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.host
def test_execution_error_exits_non_zero_with_the_server_message(probe_host, tmp_path):
    prompt = {"1": {"class_type": "HarnessProbeFail", "inputs": {"message": "the probe broke on purpose"}}}
    result = run_cli(str(write_workflow(tmp_path, prompt)), "--server", probe_host.url)
    assert result.returncode == 1
    assert "failed at node 1 (HarnessProbeFail): ValueError: the probe broke on purpose" in result.stderr


@pytest.mark.host
def test_validation_error_exits_non_zero_with_the_server_message(probe_host, tmp_path):
    prompt = {
        "1": {"class_type": "LoadImage", "inputs": {"image": "no_such_photo.png"}},
        "2": {"class_type": "PreviewImage", "inputs": {"images": ["1", 0]}},
    }
    result = run_cli(str(write_workflow(tmp_path, prompt)), "--server", probe_host.url)
    assert result.returncode == 1
    assert "server refused the prompt (HTTP 400)" in result.stderr
    assert "node 1 (LoadImage)" in result.stderr and "no_such_photo.png" in result.stderr


@pytest.mark.host
def test_ctrl_c_interrupts_and_removes_the_prompt(probe_host, tmp_path):
    workflow = write_workflow(tmp_path, counter_prompt(steps=600, delay=0.1, label="slow", events=False))
    process = start_cli(str(workflow), "--server", probe_host.url)
    lines = []
    try:
        for line in process.stdout:  # wait until the counter reports progress
            lines.append(line)
            if "HarnessProbeCounter" in line and "/600" in line:
                break
        prompt_id = re.search(r"queued prompt (\S+)", "".join(lines)).group(1)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, "".join(lines) + stdout + stderr
    assert f"cancelled prompt {prompt_id}" in stdout
    history = wait_for_history(probe_host, prompt_id)
    kinds = [kind for kind, _ in history["status"]["messages"]]
    assert "execution_interrupted" in kinds, kinds
    queue = probe_host.get_json("/queue")
    assert prompt_id not in json.dumps(queue)


def wait_for_history(host, prompt_id: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        entry = host.client.history(prompt_id)
        if entry:
            return entry
        time.sleep(0.2)
    raise AssertionError(f"no history for {prompt_id}")


# -- refusals before anything is queued -----------------------------------------------


def test_unknown_set_key_is_refused_with_the_valid_keys(tmp_path):
    workflow = write_workflow(tmp_path, image_prompt())
    result = run_cli(str(workflow), "--server", "http://127.0.0.1:9", "--set", "colour=red")
    assert result.returncode == 2
    assert "--set colour: unknown key" in result.stderr
    assert "valid keys:" in result.stderr and "NODE_ID.INPUT" in result.stderr


def test_unreachable_server_is_a_one_line_error(tmp_path):
    workflow = write_workflow(tmp_path, image_prompt())
    url = f"http://127.0.0.1:{free_port()}"
    result = run_cli(str(workflow), "--server", url)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(f"error: cannot reach ComfyUI at {url}")
    assert "Traceback" not in result.stderr


@pytest.mark.host
def test_a_failed_download_exits_non_zero(probe_host, tmp_path):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("a file where the download folder should go")
    workflow = write_workflow(tmp_path, image_prompt("queue_cli_fail"))
    result = run_cli(str(workflow), "--server", probe_host.url, "--download", str(not_a_folder))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "download failed" in result.stderr
