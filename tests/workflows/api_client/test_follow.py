"""Following a prompt to its end through a hostile or flaky network."""

from __future__ import annotations

import pytest

from tests.workflows.api_client.cli_runner import counter_prompt, start_cli, write_workflow
from tests.workflows.tcp_proxy import CuttableProxy


@pytest.mark.host
def test_a_dropped_connection_is_followed_to_the_real_end(probe_host, tmp_path):
    """The websocket drops twice during a long job: the client reconnects, keeps asking /history,
    and reports the job's real outcome instead of failing it while it still runs (the job lasts
    well over the 30 s a client once waited for /history after a drop)."""
    proxy = CuttableProxy(probe_host.port)
    workflow = write_workflow(tmp_path, counter_prompt(steps=200, delay=0.2, label="long", events=True))
    process = start_cli(str(workflow), "--server", proxy.url)
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
