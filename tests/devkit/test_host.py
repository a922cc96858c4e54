"""The harness host always runs THIS checkout's pack: the pack link in a reused base folder (the
demo's ``<cache>/demo_host``) is replaced when it points at another clone or at nothing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from devkit.checkout import copy_checkout
from devkit.host import HostStartError, link_pack

REPO_ROOT = Path(__file__).resolve().parents[2]

# `make demo`'s host set-up (demo/__main__.py start_host), run from a clone with stand-ins for the
# model files and the engine it would also set up; prints where the pack link points and
# whether the host loaded the pack's nodes.
DEMO_HOST_SETUP = """
import json, sys, types
from pathlib import Path
from demo.__main__ import start_host

base, scratch = Path(sys.argv[1]), Path(sys.argv[2])
files = types.SimpleNamespace(link_into_comfy_models=lambda models: {})
engine = types.SimpleNamespace(root=scratch)
host = start_host(files, engine, base, True, scratch)
try:
    loaded = "DatasetCheck" in host.object_info()
    print("RESULT " + json.dumps({"link": str(host.pack_dir.resolve()), "loaded": loaded}))
finally:
    host.stop()
"""


def demo_host_setup(checkout: Path, base: Path, scratch: Path) -> dict:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    done = subprocess.run(
        [sys.executable, "-c", DEMO_HOST_SETUP, str(base), str(scratch)],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    line = next(line for line in done.stdout.splitlines() if line.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT "))


@pytest.mark.host
def test_the_demo_host_runs_the_second_clone_after_the_first_was_deleted(tmp_path):
    base, scratch = tmp_path / "demo_host", tmp_path / "scratch"
    scratch.mkdir()
    first, second = copy_checkout(tmp_path / "first"), copy_checkout(tmp_path / "second")

    assert demo_host_setup(first, base, scratch) == {"link": str(first.resolve()), "loaded": True}
    shutil.rmtree(first)
    link = base / "custom_nodes" / "flux-identity-lora"
    assert link.is_symlink() and not link.exists()  # dangling: what broke the second clone's demo

    assert demo_host_setup(second, base, scratch) == {"link": str(second.resolve()), "loaded": True}


def test_a_link_to_another_existing_clone_is_replaced(tmp_path):
    other = tmp_path / "other-clone"
    other.mkdir()
    link = tmp_path / "custom_nodes" / "flux-identity-lora"
    link.parent.mkdir()
    link.symlink_to(other, target_is_directory=True)
    link_pack(link)
    assert link.resolve() == REPO_ROOT
    link_pack(link)  # already right: kept
    assert link.resolve() == REPO_ROOT


def test_a_real_folder_in_the_pack_s_place_is_never_deleted(tmp_path):
    folder = tmp_path / "custom_nodes" / "flux-identity-lora"
    folder.mkdir(parents=True)
    (folder / "__init__.py").write_text("# someone's copy\n")
    with pytest.raises(HostStartError, match="not a link to this checkout"):
        link_pack(folder)
    assert (folder / "__init__.py").read_text() == "# someone's copy\n"
