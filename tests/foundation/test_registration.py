"""The pack registered through ComfyUI's own loader (``nodes.load_custom_node``), no server.

Checks the V1 contract of every node the pack registers: ids, display names, categories, and
that INPUT_TYPES / RETURN_TYPES are shapes ComfyUI accepts. The node issues own the exact
inputs; this file only holds the pack to the contract.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from devkit.host import DEFAULT_PACK_NAME, REPO_ROOT, comfyui_dir, host_python
from devkit.registration import describe_pack

PACK_NODES = (
    *("DatasetCheck", "CaptionTokenizer", "TrainIdentityLoRA", "StrengthSweep", "ArcFaceScore"),
    "LoadIdentityCheckpoints",
)
CATEGORY_ROOT = "FLUX Identity LoRA"
INPUT_SECTIONS = {"required", "optional", "hidden"}
HEAVY_MODULES = {
    "insightface",
    "cv2",
    "matplotlib",
    "onnxruntime",
    "dlib",
    "face_recognition_models",
    "skimage",
}


@pytest.fixture(scope="module")
def registration(tmp_path_factory) -> dict:
    custom_nodes = tmp_path_factory.mktemp("custom_nodes")
    pack_path = custom_nodes / DEFAULT_PACK_NAME
    pack_path.symlink_to(REPO_ROOT, target_is_directory=True)
    return describe_pack(pack_path, comfyui_dir(), host_python())


def test_loader_accepts_the_pack(registration):
    assert registration["loaded"] is True


def test_the_pack_nodes_are_registered(registration):
    assert set(PACK_NODES) <= set(registration["nodes"]), sorted(registration["nodes"])


@pytest.mark.parametrize("node_id", PACK_NODES)
def test_node_follows_the_v1_contract(registration, node_id):
    node = registration["nodes"][node_id]
    assert node["class_name"] == node_id
    assert node["has_function"], f"{node_id}.FUNCTION does not name a method"
    assert node["DISPLAY_NAME"], f"{node_id} has no display name"
    assert node["CATEGORY"] == CATEGORY_ROOT or node["CATEGORY"].startswith(CATEGORY_ROOT + "/")
    assert_input_types_well_formed(node_id, node["INPUT_TYPES"])
    assert_return_types_well_formed(node_id, node)
    if not node["RETURN_TYPES"]:
        assert node.get("OUTPUT_NODE") is True, f"{node_id} has no outputs, so it must be an output node"


def assert_input_types_well_formed(node_id: str, input_types: dict) -> None:
    assert isinstance(input_types, dict) and "required" in input_types, input_types
    assert set(input_types) <= INPUT_SECTIONS, f"{node_id}: unknown INPUT_TYPES sections {set(input_types)}"
    for section, inputs in input_types.items():
        assert isinstance(inputs, dict), f"{node_id}.{section} is not a dict"
        for name, spec in inputs.items():
            where = f"{node_id}.{section}.{name}"
            if section == "hidden":
                assert isinstance(spec, str), where
                continue
            assert isinstance(spec, list) and 1 <= len(spec) <= 2, f"{where}: {spec!r}"
            kind = spec[0]
            assert (isinstance(kind, str) and kind) or isinstance(kind, list), f"{where} type {kind!r}"
            if len(spec) == 2:
                assert isinstance(spec[1], dict), f"{where} options {spec[1]!r}"


def assert_return_types_well_formed(node_id: str, node: dict) -> None:
    return_types = node["RETURN_TYPES"]
    assert isinstance(return_types, list), f"{node_id}.RETURN_TYPES {return_types!r}"
    # a type name, or a list of combo choices (an output a core loader's combo input can take)
    assert all((isinstance(t, str) and t) or isinstance(t, list) for t in return_types), return_types
    if "RETURN_NAMES" in node:
        assert len(node["RETURN_NAMES"]) == len(return_types), f"{node_id}.RETURN_NAMES length"


def test_pack_load_imports_nothing_heavy(registration):
    roots = {module.split(".")[0] for module in registration["new_modules"]}
    assert not roots & HEAVY_MODULES, f"imported at pack load: {sorted(roots & HEAVY_MODULES)}"


def test_web_directory_is_registered(registration):
    web_dir = Path(registration["web_dirs"][DEFAULT_PACK_NAME])
    assert web_dir.name == "web"
    assert web_dir.resolve() == (REPO_ROOT / "web").resolve()
