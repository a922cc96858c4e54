// FLUX Identity LoRA: show the text results of this pack's nodes inside the node.
//
// The nodes return {"ui": {"text": [...]}} (dataset verdicts, training summary, recommended
// strength...). The stock frontend renders images but not text, so this extension adds one
// read-only multiline widget per node and fills it from every "executed" message. The widget
// is never serialized: saved workflows keep the same widgets_values with or without it.
import { app } from "../../scripts/app.js";
import { ComfyWidgets } from "../../scripts/widgets.js";

const PACK_NODES = new Set([
  "DatasetCheck",
  "CaptionTokenizer",
  "TrainIdentityLoRA",
  "StrengthSweep",
  "ArcFaceScore",
]);
const WIDGET_NAME = "identity_lora_result";

function resultWidget(node) {
  let widget = node.widgets?.find((w) => w.name === WIDGET_NAME);
  if (widget) return widget;
  widget = ComfyWidgets.STRING(node, WIDGET_NAME, ["STRING", { multiline: true }], app).widget;
  widget.serialize = false; // not in widgets_values (UI workflow files)
  widget.options = { ...(widget.options ?? {}), serialize: false }; // not in the API prompt
  if (widget.inputEl) {
    widget.inputEl.readOnly = true;
    widget.inputEl.style.opacity = "0.85";
    widget.inputEl.placeholder = "results appear here after a run";
  }
  return widget;
}

function showText(node, texts) {
  const widget = resultWidget(node);
  widget.value = texts.join("\n\n");
  if (widget.inputEl) widget.inputEl.value = widget.value;
  const [width, height] = node.computeSize();
  node.setSize([Math.max(node.size[0], width), Math.max(node.size[1], height)]);
  node.setDirtyCanvas?.(true, true);
}

app.registerExtension({
  name: "flux-identity-lora.TextResults",
  async beforeRegisterNodeDef(nodeType, nodeData) {
    if (!PACK_NODES.has(nodeData.name)) return;
    const onExecuted = nodeType.prototype.onExecuted;
    nodeType.prototype.onExecuted = function (message) {
      onExecuted?.apply(this, arguments);
      const texts = message?.text;
      if (Array.isArray(texts) && texts.length) showText(this, texts.map(String));
    };
  },
});
