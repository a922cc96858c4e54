"""Turn a graph description into ComfyUI's UI (litegraph 0.4) and API workflow formats.

A graph is described once: nodes by class type with the values a user sets, links by output and
input NAME, groups and notes. The node definitions come from a running server's /object_info, so
widget order, defaults and frontend-only extras (``control_after_generate`` after a seed) follow
the nodes as they are now; node and link ids follow the order of the description's lists.
The shipped graphs are described in ``devkit/shipped_workflows.py``.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from .object_info import InputSpec, frontend_inputs, input_specs, output_names

# litegraph metrics of ComfyUI's frontend (1.3x), for the smallest size that shows every widget
TITLE_HEIGHT = 30
SLOT_HEIGHT = 20
WIDGET_HEIGHT = 24
MULTILINE_HEIGHT = 80
GROUP_PADDING = 20
GROUP_TITLE_HEIGHT = 50


class WorkflowBuildError(RuntimeError):
    """A graph description does not fit the server's node definitions."""


@dataclass
class Node:
    key: str
    class_type: str
    pos: tuple[int, int]
    values: dict[str, Any] = field(default_factory=dict)
    title: str | None = None
    size: tuple[int, int] | None = None
    color: str | None = None  # "yellow" marks the nodes a user must edit
    bypassed: bool = False  # shipped off (mode 4): left out of the prompt until the user turns it on


@dataclass
class Note:
    key: str
    text: str
    pos: tuple[int, int]
    size: tuple[int, int] = (420, 260)
    title: str | None = None


@dataclass
class Link:
    source: str
    output: str | tuple[str, ...]  # output name, or candidates (the first the node has wins)
    target: str
    input: str


@dataclass
class Group:
    title: str
    members: tuple[str, ...]
    color: str = "#3f789e"


# (input-name hints, file name): the file a combo of model files gets when the graph sets none
ModelFileHints = tuple[tuple[tuple[str, ...], str], ...]


@dataclass
class Graph:
    name: str
    nodes: list[Node | Note]
    links: list[Link]
    groups: list[Group]
    model_file_hints: ModelFileHints = ()


COLORS = {"yellow": ("#432", "#653"), "green": ("#232", "#353"), "blue": ("#223", "#335")}
MODE_ALWAYS, MODE_BYPASS = 0, 4  # litegraph node modes


def socket_type(output_type: Any) -> str:
    """An output's type as the frontend draws it: a list of combo choices is a COMBO socket."""
    return "COMBO" if isinstance(output_type, list) else str(output_type)


def default_value(spec: InputSpec) -> Any:
    if "default" in spec.options:
        return spec.options["default"]
    options = spec.combo_options
    if options is not None:
        return options[0] if options else None
    return {"INT": 0, "FLOAT": 0.0, "STRING": "", "BOOLEAN": False}.get(spec.type_name)


def model_file_for(input_name: str, model_file_hints: ModelFileHints) -> str | None:
    name = input_name.lower()
    for hints, file_name in model_file_hints:
        if any(hint in name for hint in hints):
            return file_name
    return None


def widget_value(node: Node, spec: InputSpec, model_file_hints: ModelFileHints = ()) -> Any:
    """The value the graph sets, else the node's default; combos checked against the options."""
    options = spec.combo_options
    if spec.name in node.values:
        value = node.values[spec.name]
    elif options is not None and (not options or _looks_like_model_list(options)):
        value = model_file_for(spec.name, model_file_hints)
        if value is None:
            raise WorkflowBuildError(
                f"{node.class_type}.{spec.name} lists files and the graph's node '{node.key}' sets "
                "none: add a value for it to the graph's description"
            )
    else:
        value = default_value(spec)
    if options and value not in options and not str(value).endswith((".safetensors", ".sft")):
        matches = [o for o in options if str(o).lower() == str(value).lower()]
        if not matches:
            raise WorkflowBuildError(
                f"{node.class_type}.{spec.name}: {value!r} is not one of the server's options {options}"
            )
        value = matches[0]
    return value


def _looks_like_model_list(options: list[Any]) -> bool:
    return any(str(o).endswith((".safetensors", ".sft", ".ckpt", ".pt", ".pth", ".gguf")) for o in options)


@dataclass
class _ResolvedLink:
    link_id: int
    source_id: int
    source_slot: int
    target_id: int
    target_slot: int
    type: str
    input_name: str


class _Builder:
    def __init__(self, graph: Graph, object_info: dict[str, Any]) -> None:
        self.graph = graph
        self.object_info = object_info
        self.ids = {node.key: index for index, node in enumerate(graph.nodes, start=1)}
        self.by_key = {node.key: node for node in graph.nodes}
        for node in graph.nodes:
            if isinstance(node, Node) and node.class_type not in object_info:
                raise WorkflowBuildError(
                    f"graph {graph.name}: node type {node.class_type!r} is not on the server "
                    "(is the pack loaded, without import errors?)"
                )
        self.links = [self._resolve(index, link) for index, link in enumerate(graph.links, start=1)]

    def info(self, node: Node) -> dict[str, Any]:
        return self.object_info[node.class_type]

    def _resolve(self, link_id: int, link: Link) -> _ResolvedLink:
        source, target = self.by_key[link.source], self.by_key[link.target]
        if not isinstance(source, Node) or not isinstance(target, Node):
            raise WorkflowBuildError(f"graph {self.graph.name}: a note cannot be linked ({link})")
        info = self.info(source)
        names = output_names(info)
        wanted = (link.output,) if isinstance(link.output, str) else link.output
        slot = next((names.index(name) for name in wanted if name in names), None)
        if slot is None:
            raise WorkflowBuildError(
                f"graph {self.graph.name}: {source.class_type} has no output named "
                f"{' / '.join(wanted)} (it has {names}); update the link in the graph's description"
            )
        inputs = [spec.name for spec in frontend_inputs(self.info(target))]
        if link.input not in inputs:
            raise WorkflowBuildError(
                f"graph {self.graph.name}: {target.class_type} has no input {link.input!r} "
                f"(it has {inputs}); update the link in the graph's description"
            )
        return _ResolvedLink(
            link_id,
            self.ids[source.key],
            slot,
            self.ids[target.key],
            inputs.index(link.input),
            socket_type(info["output"][slot]),
            link.input,
        )

    # -- UI ----------------------------------------------------------------------------
    def ui(self) -> dict[str, Any]:
        order = self._execution_order()
        nodes = [
            self._ui_note(node) if isinstance(node, Note) else self._ui_node(node, order[node.key])
            for node in self.graph.nodes
        ]
        for index, node in enumerate(self.graph.nodes):
            if isinstance(node, Note):
                nodes[index]["order"] = order[node.key]
        return {
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"flux-identity-lora/{self.graph.name}")),
            "revision": 0,
            "last_node_id": len(self.graph.nodes),
            "last_link_id": len(self.links),
            "nodes": nodes,
            "links": [
                [x.link_id, x.source_id, x.source_slot, x.target_id, x.target_slot, x.type]
                for x in self.links
            ],
            "groups": [self._ui_group(index, group) for index, group in enumerate(self.graph.groups, 1)],
            "config": {},
            "extra": {"ds": {"scale": 0.5, "offset": [80, 120]}, "frontendVersion": "1.32.9"},
            "version": 0.4,
        }

    def _execution_order(self) -> dict[str, int]:
        """Topological order (the frontend's ``order``), notes last."""
        keys = [n.key for n in self.graph.nodes if isinstance(n, Node)]
        upstream = {key: set() for key in keys}
        for link in self.graph.links:
            upstream[link.target].add(link.source)
        order: list[str] = []
        while len(order) < len(keys):
            ready = [k for k in keys if k not in order and upstream[k] <= set(order)]
            if not ready:
                raise WorkflowBuildError(f"graph {self.graph.name} has a cycle")
            order.append(ready[0])
        order += [n.key for n in self.graph.nodes if isinstance(n, Note)]
        return {key: index for index, key in enumerate(order)}

    def _ui_node(self, node: Node, order: int) -> dict[str, Any]:
        node_id = self.ids[node.key]
        info = self.info(node)
        incoming = {x.input_name: x.link_id for x in self.links if x.target_id == node_id}
        unknown = set(node.values) - {s.name for s in input_specs(info)} - {"control_after_generate"}
        if unknown:
            raise WorkflowBuildError(
                f"graph {self.graph.name}: {node.class_type} has no input(s) {sorted(unknown)}; "
                "update its values in the graph's description"
            )
        inputs = []
        for spec in frontend_inputs(info):
            entry: dict[str, Any] = {"localized_name": spec.name, "name": spec.name, "type": spec.type_name}
            if spec.optional:
                entry["shape"] = 7
            if spec.is_widget:
                entry["widget"] = {"name": spec.name}
            entry["link"] = incoming.get(spec.name)
            inputs.append(entry)
        outputs = []
        for slot, (name, type_name) in enumerate(zip(output_names(info), info["output"], strict=True)):
            links = [x.link_id for x in self.links if x.source_id == node_id and x.source_slot == slot]
            outputs.append(
                {"localized_name": name, "name": name, "type": socket_type(type_name), "links": links}
            )
        widgets = self.widgets_values(node)
        ui: dict[str, Any] = {
            "id": node_id,
            "type": node.class_type,
            "pos": list(node.pos),
            "size": list(self._size(node, info)),
            "flags": {},
            "order": order,
            "mode": MODE_BYPASS if node.bypassed else MODE_ALWAYS,
            "inputs": inputs,
            "outputs": outputs,
            "properties": {"Node name for S&R": node.class_type},
            "widgets_values": widgets,
        }
        if node.title and node.title != info.get("display_name"):
            ui["title"] = node.title  # the frontend saves a title only when it is not the default
        if node.color:
            ui["color"], ui["bgcolor"] = COLORS[node.color]
        return ui

    def widgets_values(self, node: Node) -> list[Any]:
        values = []
        for spec in frontend_inputs(self.info(node)):
            if not spec.is_widget:
                continue
            values.append(widget_value(node, spec, self.graph.model_file_hints))
            if spec.has_control_widget:
                values.append(node.values.get("control_after_generate", "randomize"))
            if spec.has_upload_widget:
                values.append("image")
        return values

    def _size(self, node: Node, info: dict[str, Any]) -> tuple[int, int]:
        specs = frontend_inputs(info)
        sockets = sum(1 for s in specs if not s.is_widget)
        rows = max(sockets, len(info["output"]), 1)
        widgets = [s for s in specs if s.is_widget]
        height = 10 + rows * SLOT_HEIGHT + len(widgets) * WIDGET_HEIGHT
        height += sum(MULTILINE_HEIGHT for s in widgets if s.options.get("multiline"))
        height += sum(WIDGET_HEIGHT for s in widgets if s.has_control_widget)
        width, wanted_height = node.size or (320, 0)
        return width, max(height, wanted_height)

    def _ui_note(self, note: Note) -> dict[str, Any]:
        return {
            "id": self.ids[note.key],
            "type": "MarkdownNote",
            "pos": list(note.pos),
            "size": list(note.size),
            "flags": {},
            "order": 0,
            "mode": 0,
            "inputs": [],
            "outputs": [],
            "title": note.title or "Note",
            "properties": {},
            "widgets_values": [note.text],
            "color": COLORS["green"][0],
            "bgcolor": COLORS["green"][1],
        }

    def _ui_group(self, index: int, group: Group) -> dict[str, Any]:
        boxes = []
        for key in group.members:
            node = self.by_key[key]
            if isinstance(node, Note):
                width, height = node.size
            else:
                width, height = self._size(node, self.info(node))
            boxes.append((node.pos[0], node.pos[1] - TITLE_HEIGHT, width, height + TITLE_HEIGHT))
        left = min(b[0] for b in boxes) - GROUP_PADDING
        top = min(b[1] for b in boxes) - GROUP_PADDING - GROUP_TITLE_HEIGHT
        right = max(b[0] + b[2] for b in boxes) + GROUP_PADDING
        bottom = max(b[1] + b[3] for b in boxes) + GROUP_PADDING
        return {
            "id": index,
            "title": group.title,
            "bounding": [left, top, right - left, bottom - top],
            "color": group.color,
            "font_size": 24,
            "flags": {},
        }

    # -- API ---------------------------------------------------------------------------
    def api(self) -> dict[str, Any]:
        prompt = {}
        bypassed = {self.ids[n.key] for n in self.graph.nodes if isinstance(n, Node) and n.bypassed}
        for node in self.graph.nodes:
            if not isinstance(node, Node) or node.bypassed:
                continue  # the frontend leaves a bypassed node out, and its links (it has no input to pass)
            node_id = self.ids[node.key]
            incoming = {
                x.input_name: x for x in self.links if x.target_id == node_id and x.source_id not in bypassed
            }
            widgets = {}
            for spec in frontend_inputs(self.info(node)):
                if spec.is_widget:
                    widgets[spec.name] = widget_value(node, spec, self.graph.model_file_hints)
            inputs = {}
            for spec in input_specs(self.info(node)):
                if spec.name in incoming:
                    inputs[spec.name] = [str(incoming[spec.name].source_id), incoming[spec.name].source_slot]
                elif spec.name in widgets:
                    inputs[spec.name] = widgets[spec.name]
            prompt[str(node_id)] = {
                "inputs": inputs,
                "class_type": node.class_type,
                "_meta": {"title": node.title or self.info(node).get("display_name") or node.class_type},
            }
        return prompt


def build_ui(graph: Graph, object_info: dict[str, Any]) -> dict[str, Any]:
    return _Builder(graph, object_info).ui()


def build_api(graph: Graph, object_info: dict[str, Any]) -> dict[str, Any]:
    return _Builder(graph, object_info).api()


def dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
