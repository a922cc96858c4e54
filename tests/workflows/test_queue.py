"""``workflows/queue.py``: the API client's old name still works for one release.

As a script it runs ``workflows/queue_client.py`` with the same arguments and says so on stderr;
as a module it hands out the client's public names with a DeprecationWarning.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from workflows import queue_client

REPO_ROOT = Path(__file__).resolve().parents[2]
OLD_SCRIPT = REPO_ROOT / "workflows" / "queue.py"
NEW_SCRIPT = REPO_ROOT / "workflows" / "queue_client.py"
FAST_WORKFLOW = REPO_ROOT / "workflows" / "api" / "identity_fast.json"


def run_script(script: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(script), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO_ROOT,
        check=False,
    )


def test_old_module_name_gives_the_client_with_a_deprecation_warning(monkeypatch):
    monkeypatch.delitem(sys.modules, "workflows.queue", raising=False)
    with pytest.deprecated_call(match="workflows.queue_client"):
        old = importlib.import_module("workflows.queue")
    for name in ("ComfyClient", "PromptRun", "PromptRejected", "ServerUnreachable", "apply_settings", "main"):
        assert getattr(old, name) is getattr(queue_client, name), name


def test_old_script_name_runs_the_client_and_says_the_new_name():
    old = run_script(OLD_SCRIPT, str(FAST_WORKFLOW), "--list-keys")
    new = run_script(NEW_SCRIPT, str(FAST_WORKFLOW), "--list-keys")
    assert old.returncode == new.returncode == 0, old.stderr + new.stderr
    assert old.stdout == new.stdout and "dataset (dataset folder)" in old.stdout
    assert "workflows/queue_client.py" in old.stderr and "next release" in old.stderr
    assert new.stderr == ""


@pytest.mark.host
def test_old_script_name_queues_a_prompt(comfy_host, tmp_path):
    prompt = {
        "1": {"class_type": "EmptyImage", "inputs": {"width": 32, "height": 32, "batch_size": 1, "color": 0}},
        "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "old_name"}},
    }
    workflow = tmp_path / "workflow.json"
    workflow.write_text(json.dumps(prompt), encoding="utf-8")
    done = run_script(OLD_SCRIPT, str(workflow), "--server", comfy_host.url, "--download", str(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "succeeded" in done.stdout and sorted(tmp_path.glob("old_name_*.png"))
