"""``python workflows/queue_client.py``: the API queue client, run as a user runs it, against real hosts.

Slow prompts with progress come from the harness's probe nodes (``probe_host``); core-node
prompts (EmptyImage -> SaveImage) run on any host.
"""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from devkit.host import REPO_ROOT, free_port, host_python
from workflows.queue_client import (
    ProgressPrinter,
    PromptRun,
    SetError,
    WholeLines,
    apply_settings,
    available_shortcuts,
    parse_value,
    print_results,
    result_fields,
)

CLI = REPO_ROOT / "workflows" / "queue_client.py"


def counter_prompt(steps: int = 5, delay: float = 0.05, label: str = "cli", events: bool = True) -> dict:
    return {
        "1": {
            "class_type": "HarnessProbeCounter",
            "inputs": {"steps": steps, "delay": delay, "label": label, "training_events": events},
        }
    }


def image_prompt(prefix: str = "queue_cli") -> dict:
    return {
        "1": {
            "class_type": "EmptyImage",
            "inputs": {"width": 48, "height": 32, "batch_size": 1, "color": 0x3366FF},
        },
        "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": prefix}},
    }


def write_workflow(tmp_path: Path, prompt: dict, name: str = "workflow.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(prompt), encoding="utf-8")
    return path


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [host_python(), str(CLI), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO_ROOT,
        check=False,
    )


# -- against a real host ---------------------------------------------------------------


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
    process = subprocess.Popen(
        [host_python(), str(CLI), str(workflow), "--server", probe_host.url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
    )
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


@pytest.mark.host
def test_jobs_are_spread_over_idle_servers(probe_host, start_comfy_host, tmp_path):
    second = start_comfy_host(probe_nodes=True)
    workflow = write_workflow(tmp_path, counter_prompt(steps=10, delay=0.2, label="spread", events=False))
    result = run_cli(str(workflow), "--server", probe_host.url, "--server", second.url, "--jobs", "2")
    assert result.returncode == 0, result.stdout + result.stderr
    queued_on = re.findall(r"queued prompt \S+ on (\S+)", result.stdout)
    assert sorted(queued_on) == sorted([probe_host.url, second.url]), result.stdout
    assert result.stdout.count("spread: counted 10 steps") == 2


# -- command-line refusals -------------------------------------------------------------


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


def test_ui_format_workflow_is_refused_with_what_to_do(tmp_path):
    workflow = write_workflow(tmp_path, {"nodes": [], "links": [], "version": 0.4})
    result = run_cli(str(workflow))
    assert result.returncode == 2
    assert "UI-format workflow" in result.stderr and "workflows/api/" in result.stderr


# -- shortcut table ----------------------------------------------------------------------

PACK_WORKFLOW = {
    "1": {"class_type": "DatasetCheck", "inputs": {"folder": "", "profile": "fast"}},
    "2": {"class_type": "CaptionTokenizer", "inputs": {"dataset": ["1", 0], "trigger_token": "ohwx"}},
    "3": {"class_type": "TrainIdentityLoRA", "inputs": {"dataset": ["2", 0], "steps": 0, "profile": "fast"}},
    "4": {"class_type": "StrengthSweep", "inputs": {"trigger_token": "ohwx", "steps": 20}},
    "5": {"class_type": "StrengthSweep", "inputs": {"trigger_token": ["9", 0]}},
}


def test_shortcuts_map_to_every_node_the_workflow_has():
    shortcuts = available_shortcuts(PACK_WORKFLOW)
    assert shortcuts["dataset"] == [("1", "folder")]
    assert shortcuts["token"] == [("2", "trigger_token"), ("4", "trigger_token")]  # not the linked one
    assert shortcuts["profile"] == [("1", "profile"), ("3", "profile")]
    assert shortcuts["steps"] == [("3", "steps")]  # training steps, not the sweep's sampling steps
    assert "lora" not in shortcuts  # no StrengthSweep with a lora_name input here
    updated = apply_settings(
        PACK_WORKFLOW, ["dataset=/photos/anna", "steps=1200", "profile=final", "token=zkw"]
    )
    assert updated["1"]["inputs"] == {"folder": "/photos/anna", "profile": "final"}
    assert updated["3"]["inputs"] == {"dataset": ["2", 0], "steps": 1200, "profile": "final"}
    assert updated["2"]["inputs"]["trigger_token"] == updated["4"]["inputs"]["trigger_token"] == "zkw"
    assert updated["5"]["inputs"]["trigger_token"] == ["9", 0]
    assert updated["4"]["inputs"]["steps"] == 20
    assert PACK_WORKFLOW["3"]["inputs"]["steps"] == 0  # the loaded workflow is not changed


def test_shortcut_without_its_node_is_refused_with_the_valid_keys():
    with pytest.raises(SetError) as refusal:
        apply_settings(PACK_WORKFLOW, ["lora=anna.safetensors"])
    message = str(refusal.value)
    assert "no StrengthSweep node with an input named lora_name/lora" in message
    assert "dataset (dataset folder)" in message and "token (trigger token)" in message


def test_values_are_json_when_they_parse():
    assert parse_value("12") == 12
    assert parse_value("0.8") == 0.8
    assert parse_value("true") is True
    assert parse_value("[0.5, 1.0]") == [0.5, 1.0]
    assert parse_value('{"lr_warmup_steps": 1}') == '{"lr_warmup_steps": 1}'  # JSON text for a STRING
    assert parse_value("ohwx") == "ohwx"
    assert parse_value("/photos/anna") == "/photos/anna"


# -- progress output -------------------------------------------------------------------


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def progress_messages(steps: int) -> list[dict]:
    messages = [{"type": "executing", "data": {"node": "3", "prompt_id": "p"}}]
    for step in range(1, steps + 1):
        messages.append({"type": "progress", "data": {"node": "3", "value": step, "max": steps}})
        event = {"step": step * 10, "total_steps": steps * 10, "loss": 0.5, "eta_s": 65}
        messages.append({"type": "identity_lora.progress", "data": event})
    return messages


def test_terminal_progress_redraws_one_line_with_the_training_status():
    out = Terminal()
    printer = ProgressPrinter(PACK_WORKFLOW, out, in_place=True)
    for message in progress_messages(4):
        printer(message)
    printer.finish()
    lines = out.getvalue().split("\n")
    assert lines[0] == "running #3 TrainIdentityLoRA"
    assert lines[1].count("\r") == 8  # every progress and training message redraws the same line
    assert lines[1].endswith("training step 40/40 loss 0.5000 ETA 1m05s")
    assert "[########################] 4/4 100% #3 TrainIdentityLoRA" in lines[1]
    assert lines[2:] == [""]


def test_piped_progress_prints_lines():
    out = io.StringIO()
    printer = ProgressPrinter(PACK_WORKFLOW, out)
    for message in progress_messages(40):
        printer(message)
    lines = out.getvalue().splitlines()
    bars = [line for line in lines if line.startswith("[")]
    assert 1 < len(bars) <= 21 and bars[-1].startswith("[########################] 40/40 100%")
    assert "\r" not in out.getvalue()
    assert lines.count("training step 400/400 loss 0.5000 ETA 1m05s") == 1


class SlowStream(io.StringIO):
    """A stream slow enough to write that two unsynchronised printers interleave on it."""

    def write(self, text: str) -> int:
        time.sleep(0.0005)
        return super().write(text)


def test_lines_from_several_jobs_never_run_together():
    out = SlowStream()
    shared = WholeLines(out)

    def job(label: str) -> None:
        for number in range(40):
            line = f"[{label}] queued prompt {number} on http://server-{label}"
            print(line, file=shared, flush=number % 2 == 0)

    threads = [threading.Thread(target=job, args=(label,)) for label in ("1", "2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lines = out.getvalue().split("\n")
    assert lines[-1] == ""
    assert all(re.fullmatch(r"\[(\d)\] queued prompt \d+ on http://server-\1", line) for line in lines[:-1])
    assert len(lines) == 81


def test_a_redraw_is_written_whole_on_flush():
    out = io.StringIO()
    shared = WholeLines(out)
    shared.write("\r\033[K[1] 3/10")
    assert out.getvalue() == ""
    shared.flush()
    assert out.getvalue() == "\r\033[K[1] 3/10"


def test_results_print_texts_and_the_recommendation():
    run = PromptRun("p")
    run.history = {
        "outputs": {
            "5": {
                "text": ["identity kept up to strength 1.0"],
                "images": [{"filename": "grid.png", "subfolder": "", "type": "temp"}],
                "identity_report": [
                    {"path": "/out/report.json", "strength": 0.8, "lora_name": "anna.safetensors"}
                ],
            }
        }
    }
    out = io.StringIO()
    print_results(run, {"5": {"class_type": "ArcFaceScore"}}, out)
    assert out.getvalue().splitlines() == [
        "#5 ArcFaceScore: identity kept up to strength 1.0",
        "#5 ArcFaceScore: LoRA = anna.safetensors",
        "#5 ArcFaceScore: recommended strength = 0.8",
        "#5 ArcFaceScore: report = /out/report.json",
    ]


def test_result_fields_name_a_best_effort_strength():
    passed = {"identity_report": [{"strength": 0.8, "passed": True, "path": "/r.json"}]}
    failed = {"identity_report": [{"strength": 0.5, "passed": False, "path": "/r.json"}]}
    assert ("recommended strength", 0.8) in result_fields(passed)
    labels = dict((value, label) for label, value in result_fields(failed))
    assert labels[0.5].startswith("best-effort strength") and labels["/r.json"] == "report"


# -- a hostile or flaky network ----------------------------------------------------------


@pytest.mark.host
def test_a_dropped_connection_is_followed_to_the_real_end(probe_host, tmp_path):
    """The websocket drops twice during a long job: the client reconnects, keeps asking /history,
    and reports the job's real outcome instead of failing it while it still runs (the job lasts
    well over the 30 s a client once waited for /history after a drop)."""
    from tests.workflows.tcp_proxy import CuttableProxy

    proxy = CuttableProxy(probe_host.port)
    workflow = write_workflow(tmp_path, counter_prompt(steps=200, delay=0.2, label="long", events=True))
    process = subprocess.Popen(
        [host_python(), str(CLI), str(workflow), "--server", proxy.url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
    )
    try:
        lines = []
        for line in process.stdout:
            lines.append(line)
            if len([x for x in lines if "training step" in x]) in (3, 30) and proxy.cuts < 2:
                proxy.cut()  # mid-run: the client's websocket and any HTTP call in flight die
            if proxy.cuts == 2:
                break
        stdout, stderr = process.communicate(timeout=120)
    finally:
        proxy.close()
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, "".join(lines) + stdout + stderr
    assert "long: counted 200 steps" in stdout and "succeeded" in stdout


def test_server_text_is_printed_without_terminal_controls():
    from workflows.queue_client import clean, describe_rejection

    hostile = "ok\x1b[2J\x1b]0;owned\x07 then\x08\x00 done\nnext\tline\x9b"
    assert clean(hostile) == "ok then done\nnext\tline"
    assert "\x1b" not in describe_rejection(400, {"error": {"message": "bad\x1b[31m"}, "node_errors": {}})


def test_downloads_stay_in_their_folder_and_never_overwrite(tmp_path):
    from workflows.queue_client import PromptRun, download_images, download_name

    assert download_name({"filename": "../../etc/passwd", "subfolder": ""}) == "etc_passwd"
    assert download_name({"filename": "/abs/x.png", "subfolder": "../.."}) == "abs_x.png"
    assert download_name({"filename": "..", "subfolder": ""}) == "image"

    class FakeClient:
        def view(self, filename, subfolder, folder_type):
            return f"{subfolder}/{filename}".encode()

    run = PromptRun("p", history={"outputs": {"1": {"images": [
        {"filename": "../../escape.png", "subfolder": "", "type": "output"},
        {"filename": "grid.png", "subfolder": "a/b", "type": "temp"},
    ]}}})  # fmt: skip
    folder = tmp_path / "downloads"
    folder.mkdir()
    (folder / "escape.png").write_text("mine")
    (tmp_path / "victim").write_text("outside")
    (folder / "a_b_grid.png").symlink_to(tmp_path / "victim")
    written = download_images(FakeClient(), run, str(folder))
    assert [os.path.basename(p) for p in written] == ["escape_1.png", "a_b_grid_1.png"]
    assert (folder / "escape.png").read_text() == "mine" and (tmp_path / "victim").read_text() == "outside"
    assert not list(tmp_path.glob("escape*"))


@pytest.mark.host
def test_a_failed_download_exits_non_zero(probe_host, tmp_path):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("a file where the download folder should go")
    workflow = write_workflow(tmp_path, image_prompt("queue_cli_fail"))
    result = run_cli(str(workflow), "--server", probe_host.url, "--download", str(not_a_folder))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "download failed" in result.stderr


def test_redirects_to_another_server_and_huge_answers_are_refused():
    import http.server
    import threading

    from workflows.queue_client import ComfyClient, ResponseTooLarge

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path.startswith("/away"):
                self.send_response(302)
                self.send_header("Location", "http://198.51.100.7/steal")
                self.end_headers()
            else:
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"[" + b"0," * 2000 + b"0]")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = ComfyClient(f"http://127.0.0.1:{server.server_address[1]}", timeout=5)
        with pytest.raises(RuntimeError, match="HTTP 302"):
            client.get_json("/away")
        with pytest.raises(ResponseTooLarge):
            client._request("GET", "/big", limit=1000)
        assert len(client.get_json("/big")) == 2001
    finally:
        server.shutdown()
