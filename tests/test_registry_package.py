"""What a Registry or Manager install gets: comfy-cli's own packer (`comfy node pack`, the archive
`comfy node publish` uploads: git-tracked files less .comfyignore's) run on a clone of this
checkout. The archive holds the pack and none of the developer folders, `comfy node validate`
passes, and a real ComfyUI loads the six nodes, their help pages and the frontend extension from
the unpacked archive alone."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import urllib.request
import zipfile
from pathlib import Path

import pytest
import tomllib
from PIL import Image

from devkit.checkout import copy_checkout
from devkit.host import Host

REPO_ROOT = Path(__file__).resolve().parents[1]
PACK_NODES = {
    "DatasetCheck",
    "CaptionTokenizer",
    "TrainIdentityLoRA",
    "StrengthSweep",
    "ArcFaceScore",
    "LoadIdentityCheckpoints",
}
LEFT_OUT = ("tests/", "devkit/", "demo/", "scripts/", "benchmarks/", ".ci/")
SHIPPED = (
    "__init__.py",
    "pyproject.toml",
    "requirements.txt",
    "LICENSE",
    "README.md",
    "CHANGELOG.md",
    "nodes/__init__.py",
    "identity_core/__init__.py",
    "sd_scripts_bridge/__init__.py",
    "sd_scripts_bridge/engine/platform_compat.py",
    "web/identity_lora_text.js",
    "example_workflows/identity_fast.json",
    "workflows/queue_client.py",
    "workflows/api_client/cli.py",
    *(f"web/docs/{node}.md" for node in PACK_NODES),
)


def comfy(*args: str, cwd: Path, home: Path) -> subprocess.CompletedProcess[str]:
    command = Path(sys.executable).with_name("comfy")
    if not command.exists():
        pytest.fail(f"comfy-cli is not installed beside {sys.executable}: run `make setup`")
    env = {**os.environ, "DO_NOT_TRACK": "1", "HOME": str(home)}
    return subprocess.run(
        [str(command), "--skip-prompt", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def packed(tmp_path_factory) -> tuple[Path, list[str], str]:
    """(the clone, the archive's file names, comfy node validate's output)."""
    tmp = tmp_path_factory.mktemp("registry")
    checkout = copy_checkout(tmp / "flux-identity-lora")
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid", "-C", str(checkout)]
    for step in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "release"]):
        subprocess.run([*git, *step], check=True, capture_output=True)
    validated = comfy("node", "validate", cwd=checkout, home=tmp)
    assert validated.returncode == 0, validated.stdout + validated.stderr
    done = comfy("node", "pack", cwd=checkout, home=tmp)
    assert done.returncode == 0, done.stdout + done.stderr
    with zipfile.ZipFile(checkout / "node.zip") as archive:
        names = archive.namelist()
        archive.extractall(tmp / "installed" / "flux-identity-lora")
    return tmp / "installed" / "flux-identity-lora", names, validated.stdout + validated.stderr


def test_the_archive_holds_the_pack_and_no_developer_folder(packed):
    _installed, names, _ = packed
    assert [name for name in names if name.startswith(LEFT_OUT)] == []
    assert set(SHIPPED) <= set(names)
    assert not [name for name in names if name.endswith((".safetensors", ".onnx", ".log"))]


def test_every_page_the_readme_links_to_is_in_the_archive(packed):
    """An installed pack's README points at docs/ and example_workflows/: they must be there."""
    _installed, names, _ = packed
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    targets = {link.split("#", 1)[0] for link in re.findall(r"\]\(([^)\s]+)\)", readme)}
    local = sorted(t for t in targets if t and "://" not in t and not t.startswith("mailto:"))
    assert local and [t for t in local if t.startswith("docs/")]
    assert [t for t in local if t not in names] == []


def test_comfy_node_validate_passes_without_a_security_warning(packed):
    assert "All validation checks passed" in packed[2], packed[2]


def test_pyproject_is_complete_for_publishing():
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    info, comfy_fields = project["project"], project["tool"]["comfy"]
    assert info["name"] and info["description"] and info["license"] and info["version"]
    assert f"## {info['version']}" in (REPO_ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert {"Repository", "Issues"} <= set(info["urls"])
    assert comfy_fields["PublisherId"] and comfy_fields["DisplayName"] and comfy_fields["requires-comfyui"]
    icon = REPO_ROOT / comfy_fields["Icon"].split("/main/", 1)[1]  # the URL's file, in this repository
    with Image.open(icon) as image:
        assert image.format == "PNG" and image.size[0] == image.size[1] and 128 <= image.size[0] <= 800


@pytest.mark.host
def test_a_registry_install_loads_the_six_nodes_in_a_real_host(packed, tmp_path):
    installed = packed[0]
    host = Host(base_dir=tmp_path / "base", pack_source=installed)
    try:
        host.start()
        info = host.object_info()
        loaded = {name for name, node in info.items() if node["python_module"].endswith("flux-identity-lora")}
        assert loaded == PACK_NODES
        failed = [line for line in host.log_text().splitlines() if "IMPORT FAILED" in line]
        assert not [line for line in failed if host.pack_name in line], failed
        assert f"/extensions/{host.pack_name}/identity_lora_text.js" in host.get_json("/extensions")
        docs = f"{host.url}/extensions/{host.pack_name}/docs/DatasetCheck.md"
        with urllib.request.urlopen(docs, timeout=60) as answer:
            assert answer.read().decode("utf-8").startswith("# Dataset Check")
        assert host.pack_dir.resolve() == installed.resolve()  # the archive's copy, not this checkout
    finally:
        host.cleanup()
