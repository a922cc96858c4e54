"""comfy-cli (the version pinned in scripts/setup_test_env.sh) finds every shipped workflow valid,
with no warning, against the real host: `comfy workflow validate`, as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
COMFY_CLI_VERSION = "1.23.0"
WORKFLOWS = tuple(
    f"{folder}/{name}.json"
    for folder in ("example_workflows", "workflows/api")
    for name in ("identity_fast", "identity_final", "identity_evaluate")
)

pytestmark = pytest.mark.host


def comfy_cli() -> Path:
    """The `comfy` command of the test venv (this interpreter's)."""
    command = Path(sys.executable).with_name("comfy")
    if not command.exists():
        pytest.fail(f"comfy-cli is not installed beside {sys.executable}: run `make setup`")
    return command


@pytest.mark.parametrize("workflow", WORKFLOWS)
def test_comfy_workflow_validate_finds_it_valid_without_a_warning(model_host, workflow, tmp_path):
    env = {**os.environ, "DO_NOT_TRACK": "1", "HOME": str(tmp_path)}  # no telemetry, no config in ~
    done = subprocess.run(
        [
            *(str(comfy_cli()), "--skip-prompt", "workflow", "validate", "--workflow", workflow),
            *("--host", "127.0.0.1", "--port", str(model_host.port)),
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    envelope = json.loads(done.stdout)
    assert envelope["version"] == COMFY_CLI_VERSION
    data = envelope["data"]
    assert (done.returncode, data["valid"], data["errors"], data["warnings"]) == (0, True, [], []), data
    assert data["object_info_source"]["port"] == model_host.port  # checked against the real host
