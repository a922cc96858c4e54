"""The shipped workflows, described once: fast and final training, and evaluating an existing LoRA.

Each part that several graphs share is one function: ``models_section`` (the FLUX loaders and their
note) and ``evaluation_section`` (strength sweep, identity score and their image outputs, placed
from an anchor position and linked to the loaders, the reference photos and, in the training
graphs, the trained LoRA). ``scripts/build_workflows.py`` turns these descriptions into
``example_workflows/<name>.json`` (UI format) and ``workflows/api/<name>.json`` (API format) with
``devkit/workflow_builder.py``; a test holds the committed files to them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .workflow_builder import Graph, Group, Link, ModelFileHints, Node, Note, build_api, build_ui, dumps

REPO_ROOT = Path(__file__).resolve().parents[1]
UI_DIR = REPO_ROOT / "example_workflows"
API_DIR = REPO_ROOT / "workflows" / "api"
BUILD_COMMAND = "python scripts/build_workflows.py"

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
MODEL_INPUT_HINTS: ModelFileHints = (
    (("t5",), T5XXL),
    (("clip_l",), CLIP_L),
    (("vae", "ae_"), FLUX_AE),
    (("ae",), FLUX_AE),
    (("unet", "diffusion", "dit", "flux_model", "flux_file", "model_name"), FLUX_DIT),
)


@dataclass
class Section:
    """The nodes, links and group of one part of a graph."""

    nodes: list[Node | Note]
    links: list[Link]
    group: Group

    def nodes_in_order(self, *keys: str) -> list[Node | Note]:
        """The section's nodes in another order (node ids follow the order of a graph's list)."""
        by_key = {node.key: node for node in self.nodes}
        return [by_key[key] for key in keys]


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
# the loaders take their file names from the training node, so they load after training
LOADER_NAME_LINKS = (
    Link("train", "diffusion_model_name", "unet", "unet_name"),
    Link("train", "clip_l_name", "clip", "clip_name1"),
    Link("train", "t5xxl_name", "clip", "clip_name2"),
    Link("train", "ae_name", "vae", "vae_name"),
)


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
`python -m sd_scripts_bridge install`). Every 250 steps it saves a checkpoint and samples a
portrait and a new place (two seeds each): each face is scored against your photos as it appears
(**likeness per checkpoint**, beside the loss). *early_stop* (auto: on for fast, off for final)
stops once likeness stops improving while the loss still falls, keeping the best checkpoint.
Cancel stops the engine; queue again with *resume* to continue. Re-queueing the same inputs does
not train again.
"""

EVAL_NOTE = """### Evaluation
The sweep samples the fixed prompts (portrait, environment, outfit, style and a **control** without
the token) at strengths 0.5 / 0.8 / 1.0 / 1.2 with the model you load (use the precision you
generate with), and probes 1.5 / 2.0 when likeness is still rising. ArcFace Identity Score compares
every face with your photos, flags overfitting, waxy skin and leakage on the control prompt, and
**recommends the strength** (`passed` is false when it is only a best effort).
With the training run's checkpoints connected, the sweep runs on the best checkpoint by likeness
(copies set aside), and the score **recommends a checkpoint and a strength**; with `publish` on,
that checkpoint becomes the run's LoRA in `models/loras/identity/` when this prompt trained it (the
file it replaces is kept in `identity/replaced/`), else a new `<run>-step<N>` file. Grid and chart
are saved under `output/identity_lora/`.
"""


def models_section(
    loaders_at: tuple[int, int], note_at: tuple[int, int], note_size: tuple[int, int], training: bool
) -> Section:
    """The FLUX loaders (keys ``unet``, ``clip``, ``vae``) and the note on where their files go."""
    note = MODELS_NOTE if training else EVALUATE_MODELS_NOTE
    color = None if training else "yellow"  # after training, their file names come from the training node
    nodes = [*_loaders(*loaders_at, color=color), Note("models", note, note_at, note_size, "Models")]
    title = (
        "2. Models: FLUX.1-dev, loaded after training"
        if training
        else "2. Models: pick your FLUX.1-dev files"
    )
    group = Group(title, ("unet", "clip", "vae", "models"), "#88A")
    return Section(nodes, list(LOADER_NAME_LINKS) if training else [], group)


def evaluation_section(
    anchor: tuple[int, int],
    output_prefix: str,
    group_title: str,
    reference: str = "check",
    sweep_inputs: Sequence[Link] = (),
    publish: bool = False,
) -> Section:
    """StrengthSweep, ArcFaceScore, the evaluation note and the grid and chart outputs.

    The sweep column (sweep, grid) starts at ``anchor``, the score column 480 px to its right. The
    sweep takes the loaders of ``models_section``; the sweep (for its probes beyond 1.2) and the
    score take the dataset output of node ``reference`` as the reference identity. ``sweep_inputs``
    are links into the sweep from the rest of the graph (the trained LoRA, token, class word);
    without them the user picks an existing LoRA in the sweep, which is then marked as a node to
    edit. ``publish``: the score publishes the recommended checkpoint (the training graphs, whose
    own training made the checkpoints).
    """
    x, y = anchor
    picks_lora = not sweep_inputs
    sweep_values = {"lora_name": EXISTING_LORA if picks_lora else TRAINED_LORA_PLACEHOLDER}
    nodes: list[Node | Note] = [
        Node(
            "sweep",
            "StrengthSweep",
            (x, y),
            sweep_values,
            size=(440, 700),
            color="yellow" if picks_lora else None,
        ),
        Node(
            "score", "ArcFaceScore", (x + 480, y), {"publish": publish}, "ArcFace Identity Score", (380, 200)
        ),
        Note("eval_note", EVAL_NOTE, (x + 480, y + 280), (380, 210), "Evaluation"),
        _save_image("grid", (x, y + 760), f"{output_prefix}_sweep_grid", "Sweep grid", (440, 400)),
        _save_image("chart", (x + 480, y + 550), f"{output_prefix}_identity_chart", "Identity score chart"),
        _save_image(
            "scored_grid", (x + 480, y + 880), f"{output_prefix}_scored_grid", "Sweep grid with scores"
        ),
    ]
    links = [
        Link("unet", "MODEL", "sweep", "model"),
        Link("clip", "CLIP", "sweep", "clip"),
        Link("vae", "VAE", "sweep", "vae"),
        *sweep_inputs,
        Link("sweep", "grid", "grid", "images"),
        Link("sweep", "sweep", "score", "sweep"),
        Link(reference, "dataset", "sweep", "reference_dataset"),
        Link(reference, "dataset", "score", "reference_dataset"),
        Link("score", "chart", "chart", "images"),
        Link("score", "annotated_grid", "scored_grid", "images"),
    ]
    members = tuple(node.key for node in nodes)
    return Section(nodes, links, Group(group_title, members, "#b58b2a"))


def _save_image(
    key: str, pos: tuple[int, int], filename_prefix: str, title: str, size: tuple[int, int] = (380, 280)
) -> Node:
    return Node(key, "SaveImage", pos, {"filename_prefix": filename_prefix}, title, size)


def training_graph(profile: str) -> Graph:
    """DatasetCheck -> CaptionTokenizer -> TrainIdentityLoRA -> StrengthSweep -> ArcFaceScore."""
    dataset_values: dict[str, Any] = {"folder": "", "profile": profile}
    if profile == "final":
        dataset_values["regularization_folder"] = ""
    models = models_section((960, 0), (1320, 0), (480, 420), training=True)
    evaluation = evaluation_section(
        (1860, 0),
        f"identity_lora/{profile}",
        "4. Evaluate: strength sweep and identity score",
        reference="captions",  # caption findings reach the diagnoses with the dataset
        publish=True,  # the checkpoints are this workflow's own training
        sweep_inputs=(
            Link("train", ("lora_path", "lora_file", "path", "lora_name"), "sweep", "lora_file"),
            Link("token", "STRING", "sweep", "trigger_token"),
            Link("class_word", "STRING", "sweep", "class_word"),
        ),
    )
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
        *models.nodes,
        Node(
            "train",
            "TrainIdentityLoRA",
            (960, 560),
            {
                "profile": profile,
                "output_name": f"identity_{profile}",
                "seed": 42,
                "control_after_generate": "fixed",
                "checkpoint_every": 250,
                "preview_every_n_steps": 250,  # every checkpoint gets its live likeness
            },
            size=(420, 0),
            color="yellow",
        ),
        Note("train_note", TRAIN_NOTE, (1420, 560), (380, 200), "Training"),
        Node("loss", "PreviewImage", (1420, 810), {}, "Loss curve", (380, 330)),
        *evaluation.nodes,
        Node("likeness", "PreviewImage", (1420, 1170), {}, "Likeness per checkpoint", (380, 330)),
    ]
    links = [
        Link("check", "dataset", "captions", "dataset"),
        Link("token", "STRING", "captions", "trigger_token"),
        Link("class_word", "STRING", "captions", "class_word"),
        Link("check", "contact_sheet", "sheet", "images"),
        Link("captions", "dataset", "train", "dataset"),
        Link("train", ("loss_curve", "loss", "loss_image"), "loss", "images"),
        Link("train", "likeness_curve", "likeness", "images"),
        Link("train", "checkpoints", "sweep", "checkpoints"),
        *models.links,
        *evaluation.links,
    ]
    groups = [
        Group(
            "1. Dataset: set your folder and token",
            ("start", "token", "class_word", "check", "captions", "sheet"),
            "#8A8",
        ),
        models.group,
        Group(f"3. Train (profile {profile})", ("train", "train_note", "loss", "likeness"), "#A88"),
        evaluation.group,
    ]
    return Graph(f"identity_{profile}", nodes, links, groups, MODEL_INPUT_HINTS)


EVALUATE_START = """## Evaluate an existing identity LoRA
Sweeps LoRA strengths over the fixed prompt set and scores identity with face embeddings.

**Set these (yellow nodes):**
1. **folder** (Dataset Check): photos of the person, the reference identity (the training set works).
2. In **LoRA Strength Sweep**: the LoRA (`lora_name`, from `models/loras`), its **trigger token**
   and **class word**. More LoRA files go in `extra_loras`, one per line.
3. The **FLUX files** in the loaders.

**An earlier training run's checkpoints** instead: turn **Load Identity Checkpoints** on (select
it, Ctrl+B) and pick the run (or a `models/loras` sub-folder of checkpoint files). The best
checkpoint by likeness is swept and the score recommends a (checkpoint, strength) pair.

Then press **Run**. The score recommends the lowest strength that holds the identity without
overfitting or leakage, or says what to fix.
"""


CHECKPOINTS_OFF_NOTE = """### Earlier run's checkpoints: off
**Load Identity Checkpoints** ships bypassed (purple), so the sweep tests the LoRA picked in it.
To sweep an earlier training run's checkpoints instead: select the node, press **Ctrl+B**, pick
the run.

*Why bypassed, not an on/off input:* a bypassed node is left out of the prompt, so while it is off
nothing checks or runs it (no run needs to exist yet) and `comfy workflow validate` has nothing to
warn about; turning it on is one key, as for any node. An on/off input would keep it in every
prompt, its run list checked even when off.
"""


def evaluate_graph() -> Graph:
    """DatasetCheck (reference photos) and an existing LoRA -> StrengthSweep -> ArcFaceScore."""
    models = models_section((0, 1100), (480, 1070), (420, 400), training=False)
    evaluation = evaluation_section(
        (960, 0), "identity_lora/evaluate", "3. Evaluate: pick the LoRA and its token"
    )
    nodes: list[Node | Note] = [
        Note("start", EVALUATE_START, (0, 0), (440, 450), "Start here"),
        Node("check", "DatasetCheck", (0, 490), {"folder": ""}, "Reference photos", (440, 360), "yellow"),
        Node("sheet", "PreviewImage", (480, 0), {}, "Reference contact sheet", (320, 400)),
        *models.nodes,
        # the ids of the shipped file put the sweep's grid right after the sweep
        *evaluation.nodes_in_order("sweep", "grid", "score", "eval_note", "chart", "scored_grid"),
        Node(
            "earlier",
            "LoadIdentityCheckpoints",
            (480, 440),
            {},
            "Or: an earlier run's checkpoints",
            (320, 100),
            bypassed=True,
        ),
        Note("earlier_note", CHECKPOINTS_OFF_NOTE, (480, 590), (320, 300), "Earlier run's checkpoints"),
    ]
    links = [
        Link("check", "contact_sheet", "sheet", "images"),
        *evaluation.links,
        Link("earlier", "checkpoints", "sweep", "checkpoints"),
    ]
    groups = [
        Group(
            "1. Reference: photos of the person",
            ("start", "check", "sheet", "earlier", "earlier_note"),
            "#8A8",
        ),
        models.group,
        evaluation.group,
    ]
    return Graph("identity_evaluate", nodes, links, groups, MODEL_INPUT_HINTS)


def all_graphs() -> list[Graph]:
    return [training_graph("fast"), training_graph("final"), evaluate_graph()]


def expected_files(object_info: dict[str, Any]) -> dict[Path, str]:
    """Every file the generator writes, with its content, built from ``object_info``."""
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


def create_model_placeholders(base_dir: Path) -> None:
    """Empty files with the model names the graphs use, so /prompt validation can pass."""
    for folder, name in MODEL_FILES:
        path = base_dir / "models" / folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
