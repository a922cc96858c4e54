"""``python workflows/queue_client.py``: the script that starts the client's command line
(workflows/api_client/cli.py, tested in tests/workflows/api_client/), from any folder, the same as
``python -m workflows.api_client``."""

from __future__ import annotations

import subprocess

from devkit.host import REPO_ROOT, host_python
from tests.workflows.api_client.cli_runner import run_cli

FAST_WORKFLOW = str(REPO_ROOT / "workflows" / "api" / "identity_fast.json")


def test_the_package_runs_the_same_command_line():
    script = run_cli(FAST_WORKFLOW, "--list-keys")
    module = subprocess.run(
        [host_python(), "-m", "workflows.api_client", FAST_WORKFLOW, "--list-keys"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO_ROOT,
        check=False,
    )
    assert script.returncode == module.returncode == 0, script.stderr + module.stderr
    assert script.stdout == module.stdout and "dataset (dataset folder)" in script.stdout
    assert script.stderr == module.stderr == ""


def test_the_script_runs_from_any_folder(tmp_path):
    result = run_cli(FAST_WORKFLOW, "--list-keys", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{FAST_WORKFLOW}: valid keys: dataset (dataset folder)")


def test_a_bad_command_line_exits_with_2_and_the_usage():
    result = run_cli("--no-such-option")
    assert result.returncode == 2
    assert result.stderr.startswith("usage: python workflows/queue_client.py")
