"""The pack's nodes in the real ComfyUI frontend, driven in headless Chromium."""

from __future__ import annotations

import pytest

from devkit.browser import close_node_search, open_frontend, search_nodes

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
