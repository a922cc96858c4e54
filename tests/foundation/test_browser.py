"""The pack's nodes in the real ComfyUI frontend, driven in headless Chromium: the host's own
frontend and the newest one (devkit.host.NEWEST_FRONTEND, served with --front-end-root)."""

from __future__ import annotations

import pytest

from devkit.browser import UI_TIMEOUT_MS, close_node_search, open_frontend, search_nodes
from devkit.host import NEWEST_FRONTEND
from devkit.node_docs import DOCS_DIR

PACK_NODES = (
    "DatasetCheck",
    "CaptionTokenizer",
    "TrainIdentityLoRA",
    "StrengthSweep",
    "ArcFaceScore",
    "LoadIdentityCheckpoints",
)
CATEGORY = "FLUX Identity LoRA"
HOST_FRONTEND = "1.32.9"  # ComfyUI 0.3.75's pin (comfyui-frontend-package in its requirements)

pytestmark = [pytest.mark.host, pytest.mark.browser]


@pytest.fixture(params=[HOST_FRONTEND, NEWEST_FRONTEND], ids=["host_frontend", "newest_frontend"])
def frontend(request) -> tuple:
    """(host, frontend version it serves): the session host, or the one serving the newest frontend."""
    name = "comfy_host" if request.param == HOST_FRONTEND else "newest_frontend_host"
    return request.getfixturevalue(name), request.param


def test_node_search_shows_every_pack_node_in_its_category(frontend, artifacts_dir):
    host, version = frontend
    info = host.object_info()
    screenshot = artifacts_dir / f"frontend_node_search_{version}.png"
    console: list[str] = []
    with open_frontend(host.url, console) as page:
        assert page.evaluate("() => window.__COMFYUI_FRONTEND_VERSION__") == version
        registered = page.evaluate(
            "(ids) => ids.filter(id => !!window.LiteGraph.registered_node_types[id])", list(PACK_NODES)
        )
        assert registered == list(PACK_NODES), f"frontend node types; console: {console[-5:]}"
        for node in PACK_NODES:
            display_name = info[node]["display_name"]
            options = search_nodes(page, display_name)
            lines = [line.strip() for line in options[0].split("\n")]
            assert lines[0] == display_name, options
            assert any(line.startswith(CATEGORY) for line in lines[1:3]), options
            if node == PACK_NODES[-1]:
                page.screenshot(path=str(screenshot))
            close_node_search(page)
    assert screenshot.stat().st_size > 10_000


# Put one node of the type on an empty graph and select it (the selection toolbox then offers Info).
ADD_AND_SELECT = """
(type) => {
  const graph = window.app.graph;
  graph.clear();
  const node = window.LiteGraph.createNode(type);
  node.pos = [240, 200];
  graph.add(node);
  window.app.canvas.selectNode(node);
  window.app.canvas.setDirty(true, true);
}
"""
# The help panel's text once it shows the page whose first heading is the node's display name.
HELP_PANEL = """
(title) => {
  const heading = [...document.querySelectorAll("h1")].find(
    (h) => h.offsetWidth && h.textContent.trim() === title);
  const panel = heading && heading.parentElement;
  return panel && panel.innerText.includes("When it fails") ? panel.innerText : null;
}
"""


def test_each_node_s_help_panel_shows_its_page(newest_frontend_host, artifacts_dir):
    """Newest frontend: select the node, press the selection toolbox's Info button."""
    host = newest_frontend_host
    info = host.object_info()
    fetched: list[str] = []
    with open_frontend(host.url) as page:
        page.on("response", lambda r: fetched.append(f"{r.status} {r.url}") if "/docs/" in r.url else None)
        for node in PACK_NODES:
            page.evaluate(ADD_AND_SELECT, node)
            info_button = page.locator("[data-testid='info-button']").first
            info_button.wait_for(state="visible", timeout=UI_TIMEOUT_MS)
            info_button.click()
            display_name = info[node]["display_name"]
            shown = page.wait_for_function(HELP_PANEL, arg=display_name, timeout=UI_TIMEOUT_MS).json_value()
            page.screenshot(path=str(artifacts_dir / f"frontend_help_{node}.png"))
            page_text = (DOCS_DIR / f"{node}.md").read_text(encoding="utf-8")
            assert info[node]["description"][:60] in shown, shown[:300]
            assert all(f"## {section}" in page_text and section in shown for section in ("Inputs", "Outputs"))
            docs_url = f"/extensions/{host.pack_name}/docs/{node}.md"
            assert any(line.startswith("200 ") and line.endswith(docs_url) for line in fetched), fetched


TEXT_RESULT_SCRIPT = """
async (texts) => {
  const shown = {};
  for (const type of ["DatasetCheck", "PreviewImage"]) {
    const node = window.LiteGraph.createNode(type);
    node.pos = [1180, 260];
    window.app.graph.add(node);
    node.onExecuted?.({ text: texts });
    const widget = (node.widgets || []).find((w) => w.name === "identity_lora_result");
    shown[type] = widget
      ? {
          value: widget.value,
          readOnly: !!widget.inputEl?.readOnly,
          serialized: node.serialize().widgets_values,
        }
      : null;
  }
  const prompt = await window.app.graphToPrompt();
  shown.promptInputs = Object.values(prompt.output).map((n) => Object.keys(n.inputs));
  return shown;
}
"""


def test_text_results_show_in_a_read_only_widget_of_pack_nodes(comfy_host, artifacts_dir):
    extension = f"/extensions/{comfy_host.pack_name}/identity_lora_text.js"
    assert extension in comfy_host.get_json("/extensions")
    console: list[str] = []
    with open_frontend(comfy_host.url, console) as page:
        shown = page.evaluate(TEXT_RESULT_SCRIPT, ["verdict: ready", "18 photos"])
        page.screenshot(path=str(artifacts_dir / "frontend_text_result.png"))
    assert shown["DatasetCheck"] is not None, console[-10:]
    assert shown["DatasetCheck"]["value"] == "verdict: ready\n\n18 photos"
    assert shown["DatasetCheck"]["readOnly"] is True
    assert "verdict: ready\n\n18 photos" not in (shown["DatasetCheck"]["serialized"] or [])
    assert shown["PreviewImage"] is None  # only this pack's nodes get the widget
    assert not any("identity_lora_result" in inputs for inputs in shown["promptInputs"])
