"""Check a UI-format (litegraph) workflow against a live server's /object_info, and convert it
to API format the way the frontend's graphToPrompt does for plain graphs.

Written apart from the generator (devkit/workflow_builder.py) on purpose: it judges a finished
file (links, types, widget values, /prompt conversion) without the generator's graph description.
Both read /object_info through devkit/object_info.py, whose reading of the widget layout is held
to the real frontend in tests/workflows/test_workflows_in_browser.py.

    errors = check_ui_workflow(object_info, workflow)      # [] when the server accepts the graph
    prompt = ui_to_api(object_info, workflow)              # {"<id>": {"inputs", "class_type", "_meta"}}

Covered: UI-only nodes (notes, reroutes, legacy primitive widgets), muted/bypassed nodes left
out, links followed through reroutes, widgets converted to linked inputs. Not covered:
subgraphs, bypass rewiring (none of the shipped workflows use them; they are reported).
"""

from __future__ import annotations

from typing import Any

from devkit.object_info import UI_ONLY_TYPES, InputSpec, input_specs

MUTED, BYPASSED = 2, 4
MODEL_SUFFIXES = (".safetensors", ".sft", ".ckpt", ".pt", ".pth", ".gguf", ".onnx")


def links_by_id(workflow: dict[str, Any]) -> dict[int, tuple[int, int, int, int, Any]]:
    """link id -> (origin id, origin slot, target id, target slot, type); list or dict links."""
    found = {}
    for link in workflow.get("links", []):
        if isinstance(link, dict):
            found[link["id"]] = (
                link["origin_id"],
                link["origin_slot"],
                link["target_id"],
                link["target_slot"],
                link.get("type"),
            )
        else:
            found[link[0]] = (link[1], link[2], link[3], link[4], link[5])
    return found


def types_compatible(output_type: Any, input_type: Any) -> bool:
    """The server's rule (comfy_execution.validation): equal, '*', or overlapping unions; a combo
    input takes an output typed with the same list of choices."""
    if isinstance(output_type, list):
        return output_type == input_type
    if isinstance(input_type, list):
        input_type = "COMBO"
    if output_type == input_type or "*" in (output_type, input_type):
        return True
    outputs = {t.strip() for t in str(output_type).split(",")}
    inputs = {t.strip() for t in str(input_type).split(",")}
    return bool(outputs & inputs)


def widget_values_by_name(specs: list[InputSpec], values: list[Any]) -> dict[str, Any]:
    """Map positional widgets_values onto widget names, skipping frontend-only extras."""
    named, index = {}, 0
    for spec in specs:
        if not spec.is_widget:
            continue
        if index < len(values):
            named[spec.name] = values[index]
        index += spec.stored_values
    return named


class _NodeCheck:
    def __init__(self, object_info: dict[str, Any], workflow: dict[str, Any], node: dict[str, Any]) -> None:
        self.node = node
        self.where = f"node {node['id']} ({node['type']})"
        self.info = object_info[node["type"]]
        self.specs = input_specs(self.info)
        self.by_name = {spec.name: spec for spec in self.specs}
        self.object_info = object_info
        self.nodes = {n["id"]: n for n in workflow.get("nodes", [])}
        self.links = links_by_id(workflow)

    def errors(self) -> list[str]:
        return [*self._widget_errors(), *self._input_errors()]

    def _widget_errors(self) -> list[str]:
        values = self.node.get("widgets_values")
        widgets = [s for s in self.specs if s.is_widget]
        expected = sum(s.stored_values for s in widgets)
        if not widgets and not values:
            return []
        if not isinstance(values, list):
            return [
                f"{self.where}: widgets_values is {values!r}, the server defines {expected} widget values"
            ]
        if len(values) != expected:
            names = ", ".join(s.name for s in widgets)
            return [f"{self.where}: {len(values)} widgets_values, the server expects {expected} ({names})"]
        errors = []
        linked = self._linked_inputs()
        for name, value in widget_values_by_name(self.specs, values).items():
            spec = self.by_name[name]
            if name in linked:
                continue
            problem = _value_problem(spec, value)
            if problem:
                errors.append(f"{self.where}.{name}: {problem}")
        return errors

    def _linked_inputs(self) -> dict[str, int]:
        return {i["name"]: i["link"] for i in self.node.get("inputs", []) if i.get("link") is not None}

    def _input_errors(self) -> list[str]:
        errors = []
        linked = self._linked_inputs()
        for spec in self.specs:
            if not spec.optional and not spec.is_widget and spec.name not in linked:
                errors.append(f"{self.where}: required input {spec.name!r} is not connected")
        for name, link_id in linked.items():
            spec = self.by_name.get(name)
            if spec is None:
                errors.append(f"{self.where}: input {name!r} is unknown to the server")
                continue
            link = self.links.get(link_id)
            if link is None:
                errors.append(f"{self.where}.{name}: link {link_id} is missing from links[]")
                continue
            errors += self._link_errors(name, spec, link_id, link)
        return errors

    def _link_errors(self, name: str, spec: InputSpec, link_id: int, link: tuple) -> list[str]:
        origin_id, origin_slot, target_id, target_slot, _type = link
        inputs = self.node.get("inputs", [])
        if target_id != self.node["id"] or target_slot >= len(inputs) or inputs[target_slot]["name"] != name:
            return [f"{self.where}.{name}: link {link_id} points at node {target_id} slot {target_slot}"]
        origin = self.nodes.get(origin_id)
        if origin is None:
            return [f"{self.where}.{name}: link {link_id} comes from missing node {origin_id}"]
        if origin["type"] in UI_ONLY_TYPES:
            return []
        ui_outputs = origin.get("outputs") or []
        if origin_slot >= len(ui_outputs) or link_id not in (ui_outputs[origin_slot].get("links") or []):
            return [f"{self.where}.{name}: link {link_id} is not listed on node {origin_id}'s output"]
        outputs = self.object_info[origin["type"]]["output"]
        if origin_slot >= len(outputs):
            return [f"{self.where}.{name}: {origin['type']} has no output slot {origin_slot}"]
        if not types_compatible(outputs[origin_slot], spec.type):
            return [
                f"{self.where}.{name}: {origin['type']} output {origin_slot} is {outputs[origin_slot]}, "
                f"the input takes {spec.type_name}"
            ]
        return []


def _value_problem(spec: InputSpec, value: Any) -> str | None:
    choices = spec.combo_options
    if choices is not None:
        if value in choices or (isinstance(value, str) and value.endswith(MODEL_SUFFIXES)):
            return None  # model files may be absent where the check runs; /prompt judges them
        return f"{value!r} is not one of {choices}"
    kind = spec.type_name
    if kind == "INT" and (isinstance(value, bool) or not isinstance(value, int)):
        return f"expected an integer, got {value!r}"
    if kind == "FLOAT" and (isinstance(value, bool) or not isinstance(value, (int, float))):
        return f"expected a number, got {value!r}"
    if kind == "BOOLEAN" and not isinstance(value, bool):
        return f"expected true/false, got {value!r}"
    if kind == "STRING" and not isinstance(value, str):
        return f"expected text, got {value!r}"
    for bound, compare in (("min", lambda v, b: v < b), ("max", lambda v, b: v > b)):
        limit = spec.options.get(bound)
        if kind in ("INT", "FLOAT") and limit is not None and compare(value, limit):
            return f"{value!r} is outside {bound} {limit}"
    return None


def check_ui_workflow(object_info: dict[str, Any], workflow: dict[str, Any]) -> list[str]:
    """Every problem the server would have with this UI workflow; [] when there is none."""
    errors = []
    if workflow.get("definitions", {}).get("subgraphs"):
        errors.append("workflow uses subgraphs, which this check does not cover")
    for node in workflow.get("nodes", []):
        if node["type"] in UI_ONLY_TYPES or node.get("mode", 0) in (MUTED, BYPASSED):
            continue
        if node["type"] not in object_info:
            errors.append(f"node {node['id']}: node type {node['type']!r} is not on the server")
            continue
        errors += _NodeCheck(object_info, workflow, node).errors()
    return errors


def ui_to_api(object_info: dict[str, Any], workflow: dict[str, Any]) -> dict[str, Any]:
    """API format of the active server nodes: widget values by name, links as [id, slot]."""
    nodes = {n["id"]: n for n in workflow.get("nodes", [])}
    links = links_by_id(workflow)

    def source_of(link_id: int) -> tuple[dict[str, Any], int]:
        origin_id, origin_slot = links[link_id][0], links[link_id][1]
        while nodes[origin_id]["type"] == "Reroute":
            upstream = nodes[origin_id]["inputs"][0]["link"]
            origin_id, origin_slot = links[upstream][0], links[upstream][1]
        return nodes[origin_id], origin_slot

    prompt = {}
    for node in workflow.get("nodes", []):
        if node["type"] in UI_ONLY_TYPES or node.get("mode", 0) in (MUTED, BYPASSED):
            continue
        info = object_info[node["type"]]
        specs = input_specs(info)
        widgets = widget_values_by_name(specs, node.get("widgets_values") or [])
        linked = {i["name"]: i["link"] for i in node.get("inputs", []) if i.get("link") is not None}
        inputs: dict[str, Any] = {}
        for spec in specs:
            if spec.name in linked:
                origin, slot = source_of(linked[spec.name])
                if origin.get("mode", 0) in (MUTED, BYPASSED):
                    continue  # the frontend drops it (a bypassed node here has no input to pass on)
                if origin["type"] == "PrimitiveNode":
                    inputs[spec.name] = origin["widgets_values"][0]
                else:
                    inputs[spec.name] = [str(origin["id"]), slot]
            elif spec.name in widgets:
                inputs[spec.name] = widgets[spec.name]
        title = node.get("title") or info.get("display_name") or node["type"]
        prompt[str(node["id"])] = {"inputs": inputs, "class_type": node["type"], "_meta": {"title": title}}
    return prompt
