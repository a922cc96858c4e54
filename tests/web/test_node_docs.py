"""The node help pages (web/docs/<NodeClass>.md): one per node, current with the nodes' own texts,
nothing left undescribed, and served by the real host where the frontend's help panel fetches
them (/extensions/<pack>/docs/<NodeClass>.md). The help panel itself is tested in the browser
(tests/foundation/test_browser.py)."""

from __future__ import annotations

import urllib.request

import pytest

from devkit.node_docs import BUILD_COMMAND, DOC_TEXT, DOCS_DIR, missing_descriptions, stale_pages

PACK_NODES = (
    "DatasetCheck",
    "CaptionTokenizer",
    "TrainIdentityLoRA",
    "StrengthSweep",
    "ArcFaceScore",
    "LoadIdentityCheckpoints",
)

pytestmark = pytest.mark.host


@pytest.fixture(scope="module")
def object_info(comfy_host) -> dict:
    return comfy_host.object_info()


def test_every_pack_node_has_a_page(object_info):
    pack = {name for name, info in object_info.items() if info["python_module"].endswith("identity-lora")}
    assert pack == set(PACK_NODES) == set(DOC_TEXT)
    assert sorted(path.stem for path in DOCS_DIR.glob("*.md")) == sorted(PACK_NODES)


def test_pages_are_current_with_the_nodes(object_info):
    stale = [path.name for path in stale_pages(object_info)]
    assert stale == [], f"out of date with the nodes: {stale}; run `{BUILD_COMMAND}` and commit the result"


@pytest.mark.parametrize("node", PACK_NODES)
def test_every_input_and_output_is_described(object_info, node):
    assert missing_descriptions(node, object_info[node]) == []


@pytest.mark.parametrize("node", PACK_NODES)
def test_the_host_serves_each_page_and_its_picture_where_the_help_panel_looks(comfy_host, node):
    page = (DOCS_DIR / f"{node}.md").read_text(encoding="utf-8")
    base = f"{comfy_host.url}/extensions/{comfy_host.pack_name}/docs/"
    with urllib.request.urlopen(f"{base}{node}.md", timeout=60) as answer:
        assert answer.status == 200
        assert "text/html" not in answer.headers.get("Content-Type", "")  # the panel refuses HTML
        assert answer.read().decode("utf-8") == page
    for section in ("## Inputs", "## Outputs", "## When it fails"):
        assert section in page
    picture = DOC_TEXT[node].picture
    if picture:
        with urllib.request.urlopen(base + picture[0], timeout=60) as answer:
            assert answer.status == 200 and answer.read(3) == b"\xff\xd8\xff"  # a JPEG
