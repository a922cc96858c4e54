"""The pack's nodes in the real ComfyUI frontend, driven in headless Chromium."""

from __future__ import annotations

import pytest

from tests.harness.browser import close_node_search, open_frontend, search_nodes

PACK_NODES = ("DatasetCheck", "CaptionTokenizer", "TrainIdentityLoRA", "StrengthSweep", "ArcFaceScore")
CATEGORY = "FLUX Identity LoRA"

pytestmark = [pytest.mark.host, pytest.mark.browser]


def test_node_search_shows_every_pack_node_in_its_category(comfy_host, artifacts_dir):
    info = comfy_host.object_info()
    screenshot = artifacts_dir / "frontend_node_search.png"
    console: list[str] = []
    with open_frontend(comfy_host.url, console) as page:
        registered = page.evaluate(
            "(ids) => ids.filter(id => !!window.LiteGraph.registered_node_types[id])", list(PACK_NODES)
        )
        assert registered == list(PACK_NODES), f"frontend node types; console: {console[-5:]}"
        for node in PACK_NODES:
            display_name = info[node]["display_name"]
            options = search_nodes(page, display_name)
            first_line, category_line = options[0].split("\n")[:2]
            assert first_line.strip() == display_name, options
            assert category_line.strip().startswith(CATEGORY), options
            if node == PACK_NODES[-1]:
                page.screenshot(path=str(screenshot))
            close_node_search(page)
    assert screenshot.stat().st_size > 10_000
