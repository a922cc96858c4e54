"""Jobs over several servers: each job goes to a server whose queue is empty."""

from __future__ import annotations

import re

import pytest

from tests.workflows.api_client.cli_runner import counter_prompt, run_cli, write_workflow


@pytest.mark.host
def test_jobs_are_spread_over_idle_servers(probe_host, start_comfy_host, tmp_path):
    second = start_comfy_host(probe_nodes=True)
    workflow = write_workflow(tmp_path, counter_prompt(steps=10, delay=0.2, label="spread", events=False))
    result = run_cli(str(workflow), "--server", probe_host.url, "--server", second.url, "--jobs", "2")
    assert result.returncode == 0, result.stdout + result.stderr
    queued_on = re.findall(r"queued prompt \S+ on (\S+)", result.stdout)
    assert sorted(queued_on) == sorted([probe_host.url, second.url]), result.stdout
    assert result.stdout.count("spread: counted 10 steps") == 2
