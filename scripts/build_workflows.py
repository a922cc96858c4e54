"""Build the shipped workflows from one description per graph and a live ComfyUI's /object_info.

Each graph below is described once: nodes by class type with the values a user sets, links by
output and input NAME, groups and notes. The node definitions come from a running server, so
widget order, defaults and frontend-only extras (``control_after_generate`` after a seed) follow
the nodes as they are now. Written for every graph:

* ``example_workflows/<name>.json``: UI (litegraph 0.4) format for drag and drop and the
  template browser;
* ``workflows/api/<name>.json``: API format for ``POST /prompt`` and ``workflows/queue.py``,
  with the same node ids.

Usage::

    python scripts/build_workflows.py                 # starts the test harness host (tests/harness)
    python scripts/build_workflows.py --server URL    # or asks a running ComfyUI with this pack
    python scripts/build_workflows.py --check         # exit 1 when a committed file is stale
    python scripts/build_workflows.py --thumbnails    # also screenshot each graph in the real
                                                      # frontend (headless Chromium) as <name>.jpg

Run it after changing a node's inputs or outputs; tests/workflows/test_shipped_workflows.py fails
until the committed files match.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
UI_DIR = REPO_ROOT / "example_workflows"
API_DIR = REPO_ROOT / "workflows" / "api"
COMMAND = "python scripts/build_workflows.py"

# The file names users have for FLUX.1-dev (ComfyUI's own examples use these names).
FLUX_DIT = "flux1-dev.safetensors"
CLIP_L = "clip_l.safetensors"
T5XXL = "t5xxl_fp16.safetensors"
FLUX_AE = "ae.safetensors"
EXISTING_LORA = "my_identity_lora.safetensors"
# StrengthSweep's lora_name combo when TrainIdentityLoRA's output is linked to lora_file.
TRAINED_LORA_PLACEHOLDER = "(use lora_file)"  # nodes/strength_sweep.py USE_LORA_FILE
# (folder, file name) of every model file the graphs name: a host needs them for /prompt.
MODEL_FILES = (
    ("diffusion_models", FLUX_DIT),
    ("text_encoders", CLIP_L),
    ("text_encoders", T5XXL),
    ("vae", FLUX_AE),
    ("loras", EXISTING_LORA),
)
# combo inputs that name a model file, by input-name hints (for nodes whose inputs still move)
MODEL_INPUT_HINTS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("t5",), T5XXL),
    (("clip_l",), CLIP_L),
    (("vae", "ae_"), FLUX_AE),
    (("ae",), FLUX_AE),
    (("unet", "diffusion", "dit", "flux_model", "flux_file", "model_name"), FLUX_DIT),
)

UI_ONLY_TYPES = frozenset({"Note", "MarkdownNote", "Reroute", "PrimitiveNode"})
WIDGET_TYPES = frozenset({"INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"})
SEED_NAMES = ("seed", "noise_seed")  # the frontend adds control_after_generate after these INTs
UPLOAD_KEYS = ("image_upload", "video_upload", "audio_upload", "upload")

# litegraph metrics of ComfyUI's frontend (1.3x), for the smallest size that shows every widget
TITLE_HEIGHT = 30
SLOT_HEIGHT = 20
WIDGET_HEIGHT = 24
MULTILINE_HEIGHT = 80
GROUP_PADDING = 20
GROUP_TITLE_HEIGHT = 50


class WorkflowBuildError(RuntimeError):
    """A graph description does not fit the server's node definitions."""


# --------------------------------------------------------------------------------------
# Graph descriptions
# --------------------------------------------------------------------------------------


@dataclass
class Node:
    key: str
    class_type: str
    pos: tuple[int, int]
    values: dict[str, Any] = field(default_factory=dict)
    title: str | None = None
    size: tuple[int, int] | None = None
    color: str | None = None  # "yellow" marks the nodes a user must edit


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


@dataclass
class Graph:
    name: str
    nodes: list[Node | Note]
    links: list[Link]
    groups: list[Group]


COLORS = {"yellow": ("#432", "#653"), "green": ("#232", "#353"), "blue": ("#223", "#335")}


def _loaders(x: int, y: int, color: str | None = "yellow") -> list[Node]:
    """The core FLUX loaders; yellow where the user picks the files in them."""
    return [
        Node("unet", "UNETLoader", (x, y), {"unet_name": FLUX_DIT}, "FLUX model", color=color),
        Node(
            "clip",
            "DualCLIPLoader",
            (x, y + 140),
            {"clip_name1": CLIP_L, "clip_name2": T5XXL, "type": "flux"},
            "FLUX text encoders (CLIP-L + T5-XXL)",
            color=color,
        ),
        Node("vae", "VAELoader", (x, y + 330), {"vae_name": FLUX_AE}, "FLUX VAE (ae)", color=color),
    ]


MODEL_TABLE = """| file | folder |
|---|---|
| `flux1-dev.safetensors` | `models/diffusion_models` |
| `clip_l.safetensors` | `models/text_encoders` |
| `t5xxl_fp16.safetensors` (or fp8) | `models/text_encoders` |
| `ae.safetensors` | `models/vae` |
"""
MODELS_NOTE = f"""### Models (used by training and by the sweep)
Put the FLUX.1-dev files in ComfyUI's model folders and pick them in the training node: these
loaders take the same file names from it, so they load FLUX only after training has finished
(never two copies in memory at once):

{MODEL_TABLE}"""
EVALUATE_MODELS_NOTE = f"""### Models (used by training and by the sweep)
Put the FLUX.1-dev files in ComfyUI's model folders and pick them here:

{MODEL_TABLE}"""


def _start_note(profile: str) -> str:
    timing = (
        "The **fast** profile (512 px, 1500 steps, rank 32) checks the dataset and shows early "
        "overfitting in under an hour on a 24 GB GPU."
        if profile == "fast"
        else "The **final** profile (768 px, rank 64, cosine schedule, regularization photos) is the "
        "high-fidelity run; do a fast run first."
    )
    reg = (
        "\n3. **Regularization folder** (Dataset Check): 20-50 photos of *other* people "
        "(captions `a person`, never the token)."
        if profile == "final"
        else ""
    )
    return f"""## Train an identity LoRA ({profile})
{timing}

**Set these (yellow nodes):**
1. **folder** (Dataset Check): 15-30 photos of one person; optional `.txt` captions beside them.
2. **Trigger token**: a rare made-up word such as `zyqux`, and the **class word** (man, woman, person).{reg}
{4 if profile == "final" else 3}. The **FLUX files** in the training node (the loaders take them from it).

Then press **Run**. Read the dataset report first: *if identity realism degrades, fix the dataset
first, not the optimizer.* Your photo folder is never written to (captions are staged in memory).
"""


TRAIN_NOTE = """### Training
Runs kohya-ss/sd-scripts in its own environment (install it once:
`python -m sd_scripts_bridge install`). The LoRA lands in `models/loras/identity/`, and its
file goes straight to the sweep. Cancel stops the engine; queue again with *resume* to continue.
Re-queueing the same inputs does not train again.
"""

EVAL_NOTE = """### Evaluation
The sweep samples the fixed prompts (portrait, environment, outfit, style and a **control** without
the token) at strengths 0.5 / 0.8 / 1.0 / 1.2. ArcFace Identity Score compares every face with
your photos, flags overfitting and leakage on the control prompt, and **recommends the strength**.
Grid and chart are saved under `output/identity_lora/`.
"""


def training_graph(profile: str) -> Graph:
    """DatasetCheck -> CaptionTokenizer -> TrainIdentityLoRA -> StrengthSweep -> ArcFaceScore."""
    prefix = f"identity_lora/{profile}"
    dataset_values: dict[str, Any] = {"folder": "", "profile": profile}
    if profile == "final":
        dataset_values["regularization_folder"] = ""
    nodes: list[Node | Note] = [
        Note("start", _start_note(profile), (0, 0), (440, 330), "Start here"),
        Node(
            "token",
            "PrimitiveString",
            (480, 0),
            {"value": "zyqux"},
            "Trigger token (rare made-up word)",
            (320, 60),
            "yellow",
        ),
        Node(
            "class_word",
            "PrimitiveString",
            (480, 110),
            {"value": "person"},
            "Class word (man, woman, person)",
            (320, 60),
            "yellow",
        ),
        Node("check", "DatasetCheck", (0, 380), dataset_values, size=(440, 360), color="yellow"),
        Node("captions", "CaptionTokenizer", (480, 210), {}, size=(320, 180)),
        Node("sheet", "PreviewImage", (480, 440), {}, "Dataset contact sheet", (320, 300)),
        *_loaders(960, 0, color=None),  # their file names come from the training node
        Note("models", MODELS_NOTE, (1320, 0), (480, 420), "Models"),
        Node(
            "train",
            "TrainIdentityLoRA",
            (960, 560),
            {
                "profile": profile,
                "output_name": f"identity_{profile}",
                "seed": 42,
                "control_after_generate": "fixed",
            },
            size=(420, 0),
            color="yellow",
        ),
        Note("train_note", TRAIN_NOTE, (1420, 560), (380, 200), "Training"),
        Node("loss", "PreviewImage", (1420, 810), {}, "Loss curve", (380, 330)),
        Node(
            "sweep",
            "StrengthSweep",
            (1860, 0),
            {"lora_name": TRAINED_LORA_PLACEHOLDER},
            size=(440, 700),
        ),
        Node("score", "ArcFaceScore", (2340, 0), {}, "ArcFace Identity Score", (380, 200)),
        Note("eval_note", EVAL_NOTE, (2340, 250), (380, 250), "Evaluation"),
        Node(
            "grid",
            "SaveImage",
            (1860, 760),
            {"filename_prefix": f"{prefix}_sweep_grid"},
            "Sweep grid",
            (440, 400),
        ),
        Node(
            "chart",
            "SaveImage",
            (2340, 550),
            {"filename_prefix": f"{prefix}_identity_chart"},
            "Identity score chart",
            (380, 280),
        ),
        Node(
            "scored_grid",
            "SaveImage",
            (2340, 880),
            {"filename_prefix": f"{prefix}_scored_grid"},
            "Sweep grid with scores",
            (380, 280),
        ),
    ]
    links = [
        Link("check", "dataset", "captions", "dataset"),
        Link("token", "STRING", "captions", "trigger_token"),
        Link("class_word", "STRING", "captions", "class_word"),
        Link("check", "contact_sheet", "sheet", "images"),
        Link("captions", "dataset", "train", "dataset"),
        Link("train", ("loss_curve", "loss", "loss_image"), "loss", "images"),
        Link("unet", "MODEL", "sweep", "model"),
        Link("clip", "CLIP", "sweep", "clip"),
        Link("vae", "VAE", "sweep", "vae"),
        Link("train", ("lora_path", "lora_file", "path", "lora_name"), "sweep", "lora_file"),
        # the loaders take their file names from the training node, so they load after training
        Link("train", "diffusion_model_name", "unet", "unet_name"),
        Link("train", "clip_l_name", "clip", "clip_name1"),
        Link("train", "t5xxl_name", "clip", "clip_name2"),
        Link("train", "ae_name", "vae", "vae_name"),
        Link("token", "STRING", "sweep", "trigger_token"),
        Link("class_word", "STRING", "sweep", "class_word"),
        Link("sweep", "grid", "grid", "images"),
        Link("sweep", "sweep", "score", "sweep"),
        Link("check", "dataset", "score", "reference_dataset"),
        Link("score", "chart", "chart", "images"),
        Link("score", "annotated_grid", "scored_grid", "images"),
    ]
    groups = [
        Group(
            "1. Dataset: set your folder and token",
            ("start", "token", "class_word", "check", "captions", "sheet"),
            "#8A8",
        ),
        Group("2. Models: FLUX.1-dev, loaded after training", ("unet", "clip", "vae", "models"), "#88A"),
        Group(f"3. Train (profile {profile})", ("train", "train_note", "loss"), "#A88"),
        Group(
            "4. Evaluate: strength sweep and identity score",
            ("sweep", "score", "eval_note", "grid", "chart", "scored_grid"),
            "#b58b2a",
        ),
    ]
    return Graph(f"identity_{profile}", nodes, links, groups)


EVALUATE_START = """## Evaluate an existing identity LoRA
Sweeps LoRA strengths over the fixed prompt set and scores identity with face embeddings.

**Set these (yellow nodes):**
1. **folder** (Dataset Check): photos of the person, the reference identity (the training set works).
2. In **LoRA Strength Sweep**: the LoRA (`lora_name`, from `models/loras`), its **trigger token**
   and **class word**. More checkpoints of the same run go in `extra_loras`, one per line.
3. The **FLUX files** in the loaders.

Then press **Run**. The score recommends the lowest strength that holds the identity without
overfitting or leakage, or says what to fix.
"""


def evaluate_graph() -> Graph:
    prefix = "identity_lora/evaluate"
    nodes: list[Node | Note] = [
        Note("start", EVALUATE_START, (0, 0), (440, 380), "Start here"),
        Node("check", "DatasetCheck", (0, 430), {"folder": ""}, "Reference photos", (440, 360), "yellow"),
        Node("sheet", "PreviewImage", (480, 0), {}, "Reference contact sheet", (320, 400)),
        *_loaders(0, 960),
        Note(
            "models",
            EVALUATE_MODELS_NOTE,
            (480, 930),
            (420, 400),
            "Models",
        ),
        Node(
            "sweep",
            "StrengthSweep",
            (960, 0),
            {"lora_name": EXISTING_LORA},
            size=(440, 700),
            color="yellow",
        ),
        Node(
            "grid",
            "SaveImage",
            (960, 760),
            {"filename_prefix": f"{prefix}_sweep_grid"},
            "Sweep grid",
            (440, 400),
        ),
        Node("score", "ArcFaceScore", (1440, 0), {}, "ArcFace Identity Score", (380, 200)),
        Note("eval_note", EVAL_NOTE, (1440, 250), (380, 250), "Evaluation"),
        Node(
            "chart",
            "SaveImage",
            (1440, 550),
            {"filename_prefix": f"{prefix}_identity_chart"},
            "Identity score chart",
            (380, 280),
        ),
        Node(
            "scored_grid",
            "SaveImage",
            (1440, 880),
            {"filename_prefix": f"{prefix}_scored_grid"},
            "Sweep grid with scores",
            (380, 280),
        ),
    ]
    links = [
        Link("check", "contact_sheet", "sheet", "images"),
        Link("unet", "MODEL", "sweep", "model"),
        Link("clip", "CLIP", "sweep", "clip"),
        Link("vae", "VAE", "sweep", "vae"),
        Link("sweep", "grid", "grid", "images"),
        Link("sweep", "sweep", "score", "sweep"),
        Link("check", "dataset", "score", "reference_dataset"),
        Link("score", "chart", "chart", "images"),
        Link("score", "annotated_grid", "scored_grid", "images"),
    ]
    groups = [
        Group("1. Reference: photos of the person", ("start", "check", "sheet"), "#8A8"),
        Group("2. Models: pick your FLUX.1-dev files", ("unet", "clip", "vae", "models"), "#88A"),
        Group(
            "3. Evaluate: pick the LoRA and its token",
            ("sweep", "grid", "score", "eval_note", "chart", "scored_grid"),
            "#b58b2a",
        ),
    ]
    return Graph("identity_evaluate", nodes, links, groups)


def all_graphs() -> list[Graph]:
    return [training_graph("fast"), training_graph("final"), evaluate_graph()]


# --------------------------------------------------------------------------------------
# Node definitions from /object_info, laid out as the frontend lays them out
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InputSpec:
    name: str
    type: Any  # a type name, or a list of combo options
    options: dict[str, Any]
    optional: bool

    @property
    def type_name(self) -> str:
        return "COMBO" if isinstance(self.type, list) else str(self.type)

    @property
    def is_widget(self) -> bool:
        return not self.options.get("forceInput") and (
            isinstance(self.type, list) or self.type in WIDGET_TYPES
        )

    @property
    def combo_options(self) -> list[Any] | None:
        if isinstance(self.type, list):
            return self.type
        return self.options.get("options") if self.type == "COMBO" else None

    @property
    def has_control_widget(self) -> bool:
        """The frontend stores one more value after this widget (control_after_generate)."""
        control = self.options.get("control_after_generate")
        if self.type_name == "INT":
            return bool(control) if control is not None else self.name in SEED_NAMES
        return bool(control) and self.type_name == "COMBO"

    @property
    def has_upload_widget(self) -> bool:
        return any(self.options.get(key) for key in UPLOAD_KEYS)


def socket_type(output_type: Any) -> str:
    """An output's type as the frontend draws it: a list of combo choices is a COMBO socket."""
    return "COMBO" if isinstance(output_type, list) else str(output_type)


def input_specs(info: dict[str, Any]) -> list[InputSpec]:
    """Required then optional inputs, in the server's input_order."""
    order = info.get("input_order") or {k: list(v) for k, v in info.get("input", {}).items()}
    specs = []
    for section in ("required", "optional"):
        for name in order.get(section, []):
            raw = info["input"][section][name]
            options = raw[1] if len(raw) > 1 and isinstance(raw[1], dict) else {}
            specs.append(InputSpec(name, raw[0], options, section == "optional"))
    return specs


def frontend_inputs(info: dict[str, Any]) -> list[InputSpec]:
    """The node's input slots in the frontend's order: socket-only inputs, then widget inputs."""
    specs = input_specs(info)
    return [s for s in specs if not s.is_widget] + [s for s in specs if s.is_widget]


def default_value(spec: InputSpec) -> Any:
    if "default" in spec.options:
        return spec.options["default"]
    options = spec.combo_options
    if options is not None:
        return options[0] if options else None
    return {"INT": 0, "FLOAT": 0.0, "STRING": "", "BOOLEAN": False}.get(spec.type_name)


def model_file_for(input_name: str) -> str | None:
    name = input_name.lower()
    for hints, file_name in MODEL_INPUT_HINTS:
        if any(hint in name for hint in hints):
            return file_name
    return None


def widget_value(node: Node, spec: InputSpec) -> Any:
    """The value the graph sets, else the node's default; combos checked against the options."""
    options = spec.combo_options
    if spec.name in node.values:
        value = node.values[spec.name]
    elif options is not None and (not options or _looks_like_model_list(options)):
        value = model_file_for(spec.name)
        if value is None:
            raise WorkflowBuildError(
                f"{node.class_type}.{spec.name} lists files and the graph '{node.key}' sets none: "
                f"add a value for it in scripts/build_workflows.py"
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


# --------------------------------------------------------------------------------------
# UI and API format
# --------------------------------------------------------------------------------------


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
        names = list(info.get("output_name") or info["output"])
        wanted = (link.output,) if isinstance(link.output, str) else link.output
        slot = next((names.index(name) for name in wanted if name in names), None)
        if slot is None:
            raise WorkflowBuildError(
                f"graph {self.graph.name}: {source.class_type} has no output named "
                f"{' / '.join(wanted)} (it has {names}); update the link in scripts/build_workflows.py"
            )
        inputs = [spec.name for spec in frontend_inputs(self.info(target))]
        if link.input not in inputs:
            raise WorkflowBuildError(
                f"graph {self.graph.name}: {target.class_type} has no input {link.input!r} "
                f"(it has {inputs}); update the link in scripts/build_workflows.py"
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
                "update its values in scripts/build_workflows.py"
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
        output_names = list(info.get("output_name") or info["output"])
        outputs = []
        for slot, (name, type_name) in enumerate(zip(output_names, info["output"], strict=True)):
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
            "mode": 0,
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
            values.append(widget_value(node, spec))
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
        for node in self.graph.nodes:
            if not isinstance(node, Node):
                continue
            node_id = self.ids[node.key]
            incoming = {x.input_name: x for x in self.links if x.target_id == node_id}
            widgets = {}
            for spec in frontend_inputs(self.info(node)):
                if spec.is_widget:
                    widgets[spec.name] = widget_value(node, spec)
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


def expected_files(object_info: dict[str, Any]) -> dict[Path, str]:
    """Every file this script writes, with its content, built from ``object_info``."""
    files = {}
    for graph in all_graphs():
        files[UI_DIR / f"{graph.name}.json"] = dumps(build_ui(graph, object_info))
        files[API_DIR / f"{graph.name}.json"] = dumps(build_api(graph, object_info))
    return files


def stale_files(object_info: dict[str, Any]) -> list[Path]:
    """Committed files that differ from what the live node definitions give (or are missing)."""
    stale = []
    for path, text in expected_files(object_info).items():
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            stale.append(path)
    return stale


# --------------------------------------------------------------------------------------
# Server, thumbnails, command line
# --------------------------------------------------------------------------------------


def create_model_placeholders(base_dir: Path) -> None:
    """Empty files with the model names the graphs use, so /prompt validation can pass."""
    for folder, name in MODEL_FILES:
        path = base_dir / "models" / folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()


def _harness_host() -> Iterator[str]:
    sys.path.insert(0, str(REPO_ROOT))
    from tests.harness.host import Host

    host = Host()
    try:
        create_model_placeholders(host.base_dir)
        host.start()
        yield host.url
    finally:
        host.cleanup()


def _given_server(url: str) -> Iterator[str]:
    yield url


def object_info_from(url: str) -> dict[str, Any]:
    sys.path.insert(0, str(REPO_ROOT))
    from workflows.queue import ComfyClient

    return ComfyClient(url, timeout=120).object_info()


def render_thumbnails(url: str, names: Sequence[str]) -> list[Path]:
    """Screenshot each UI workflow in the real frontend (headless Chromium), cropped to its groups."""
    from PIL import Image

    from tests.harness.browser import open_frontend

    settings = {"Comfy.TutorialCompleted": True, "Comfy.Minimap.Visible": False}
    written = []
    with open_frontend(url, settings=settings) as page:
        page.set_viewport_size({"width": 2560, "height": 1440})
        for name in names:
            workflow = json.loads((UI_DIR / f"{name}.json").read_text(encoding="utf-8"))
            page.evaluate("async (wf) => { await window.app.loadGraphData(wf); }", workflow)
            groups_on_screen = page.evaluate(FIT_VIEW_SCRIPT, list(THUMBNAIL_MARGINS))
            page.wait_for_timeout(800)
            png = UI_DIR / f".{name}.png"
            page.screenshot(path=str(png))
            thumbnail = UI_DIR / f"{name}.jpg"
            with Image.open(png) as image:
                canvas_only = image.convert("RGB").crop(tuple(round(v) for v in groups_on_screen))
                canvas_only.thumbnail((1024, 1024), Image.LANCZOS)
                canvas_only.save(thumbnail, quality=85, optimize=True)
            png.unlink()
            written.append(thumbnail)
    return written


THUMBNAIL_MARGINS = (100, 140)  # left, top: keep the groups clear of the sidebar and menus

FIT_VIEW_SCRIPT = """
([leftMargin, topMargin]) => {
  const canvas = window.app.canvas, element = canvas.canvas;
  const boxes = (window.app.graph.groups || window.app.graph._groups).map((g) => g._bounding);
  const left = Math.min(...boxes.map((b) => b[0])), top = Math.min(...boxes.map((b) => b[1]));
  const right = Math.max(...boxes.map((b) => b[0] + b[2]));
  const bottom = Math.max(...boxes.map((b) => b[1] + b[3]));
  const scale = Math.min((element.clientWidth - leftMargin - 20) / (right - left),
                         (element.clientHeight - topMargin - 20) / (bottom - top));
  canvas.ds.scale = scale;
  canvas.ds.offset[0] = leftMargin / scale - left;
  canvas.ds.offset[1] = topMargin / scale - top;
  canvas.setDirty(true, true);
  const pad = 12;
  return [leftMargin - pad, topMargin - pad,
          leftMargin + (right - left) * scale + pad, topMargin + (bottom - top) * scale + pad];
}
"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", help="a running ComfyUI with this pack (default: start the test host)")
    parser.add_argument("--check", action="store_true", help="only report stale files (exit 1)")
    parser.add_argument("--thumbnails", action="store_true", help="also render <name>.jpg thumbnails")
    args = parser.parse_args(argv)
    servers: Callable[[], Iterator[str]] = (
        (lambda: _given_server(args.server)) if args.server else _harness_host
    )
    for url in servers():
        try:
            object_info = object_info_from(url)
            if args.check:
                stale = stale_files(object_info)
                for path in stale:
                    print(f"stale: {path.relative_to(REPO_ROOT)}")
                if stale:
                    print(f"run `{COMMAND}` to regenerate them")
                return 1 if stale else 0
            for path, text in expected_files(object_info).items():
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
                print(f"wrote {path.relative_to(REPO_ROOT)}")
            if args.thumbnails:
                for path in render_thumbnails(url, [g.name for g in all_graphs()]):
                    print(f"wrote {path.relative_to(REPO_ROOT)}")
        except WorkflowBuildError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
