"""``--set KEY=VALUE``: named shortcuts and explicit ``NODE_ID.INPUT`` values applied to a workflow."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .errors import SetError
from .workflow import is_link, node_sort_key


@dataclass(frozen=True)
class Shortcut:
    """A user-facing name for one input of every node of some classes in the workflow."""

    class_types: tuple[str, ...]
    inputs: tuple[str, ...]
    help: str


# A shortcut sets, on every node of its classes, the first of its candidate input names that
# the node has (so `token` keeps CaptionTokenizer and StrengthSweep in step, and the table
# survives small input renames). Linked inputs ([node id, slot]) are never overwritten; when a
# core Primitive* node feeds one, the shortcut sets that primitive's value instead.
SHORTCUTS: dict[str, Shortcut] = {
    "dataset": Shortcut(("DatasetCheck",), ("folder", "dataset_folder"), "dataset folder"),
    "regularization": Shortcut(("DatasetCheck",), ("regularization_folder",), "regularization photos"),
    "token": Shortcut(("CaptionTokenizer", "StrengthSweep"), ("trigger_token", "token"), "trigger token"),
    "class_word": Shortcut(("CaptionTokenizer", "StrengthSweep"), ("class_word",), "class word, e.g. woman"),
    "profile": Shortcut(("DatasetCheck", "TrainIdentityLoRA"), ("profile",), "profile: fast or final"),
    "steps": Shortcut(("TrainIdentityLoRA",), ("steps", "max_train_steps"), "training steps (0 = profile)"),
    "output_name": Shortcut(("TrainIdentityLoRA",), ("output_name", "lora_name"), "name of the trained LoRA"),
    "vram": Shortcut(("TrainIdentityLoRA",), ("vram_tier",), "VRAM tier"),
    # The model files go to the training node and to the core loaders of the evaluation part.
    "diffusion_model": Shortcut(
        ("TrainIdentityLoRA", "UNETLoader"), ("diffusion_model", "unet_name"), "FLUX model file"
    ),
    "t5": Shortcut(("TrainIdentityLoRA", "DualCLIPLoader"), ("t5xxl", "clip_name2"), "T5-XXL file"),
    "clip_l": Shortcut(("TrainIdentityLoRA", "DualCLIPLoader"), ("clip_l", "clip_name1"), "CLIP-L file"),
    "ae": Shortcut(("TrainIdentityLoRA", "VAELoader"), ("ae", "vae_name"), "FLUX autoencoder file"),
    "seed": Shortcut(("TrainIdentityLoRA",), ("seed",), "training seed"),
    "lora": Shortcut(("StrengthSweep",), ("lora_name", "lora"), "LoRA to sweep (models/loras)"),
    "strengths": Shortcut(("StrengthSweep",), ("strengths",), "strengths to sweep"),
    "sweep_seed": Shortcut(("StrengthSweep",), ("base_seed",), "first seed of the sweep"),
}


def parse_value(text: str) -> Any:
    """JSON when it parses (``12``, ``0.5``, ``true``, ``[1, 2]``), else the text itself.

    A JSON object stays text: no node input takes an object, and STRING inputs such as
    TrainIdentityLoRA's ``advanced_settings`` hold JSON text.
    """
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return text if isinstance(value, dict) else value


def available_shortcuts(workflow: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    """Shortcut name -> every (node id, input name) it sets, for the shortcuts this workflow takes."""
    found: dict[str, list[tuple[str, str]]] = {}
    for name, shortcut in SHORTCUTS.items():
        targets = _shortcut_targets(workflow, shortcut)
        if targets:
            found[name] = targets
    return found


def _shortcut_targets(workflow: dict[str, Any], shortcut: Shortcut) -> list[tuple[str, str]]:
    targets = []
    for node_id in sorted(workflow, key=node_sort_key):
        node = workflow[node_id]
        if node.get("class_type") not in shortcut.class_types:
            continue
        inputs = node.get("inputs", {})
        name = next((name for name in shortcut.inputs if name in inputs), None)
        if name is None:
            continue
        if not is_link(inputs[name]):
            targets.append((node_id, name))
            continue
        source_id = inputs[name][0]  # a core primitive node (PrimitiveString...) feeding it: set that
        source_is_primitive = workflow.get(source_id, {}).get("class_type", "").startswith("Primitive")
        if source_is_primitive and (source_id, "value") not in targets:
            targets.append((source_id, "value"))
    return targets


def valid_keys_text(workflow: dict[str, Any]) -> str:
    shortcuts = available_shortcuts(workflow)
    parts = [f"{name} ({SHORTCUTS[name].help})" for name in shortcuts]
    example_node = next(iter(sorted(workflow, key=node_sort_key)), "1")
    example_input = next(iter(workflow.get(example_node, {}).get("inputs", {})), "name")
    parts.append(f"NODE_ID.INPUT for any input, e.g. {example_node}.{example_input}")
    return "valid keys: " + ", ".join(parts)


def apply_settings(workflow: dict[str, Any], settings: Sequence[str]) -> dict[str, Any]:
    """A copy of ``workflow`` with every ``KEY=VALUE`` applied; raises SetError with the valid keys."""
    result = json.loads(json.dumps(workflow))
    shortcuts = available_shortcuts(result)
    for setting in settings:
        key, sep, raw = setting.partition("=")
        key = key.strip()
        if not sep or not key:
            raise SetError(f"--set {setting!r} is not KEY=VALUE; {valid_keys_text(result)}")
        if key in shortcuts:
            targets = shortcuts[key]
        elif "." in key and key.split(".", 1)[0] in result:
            targets = [tuple(key.split(".", 1))]
        elif key in SHORTCUTS:
            raise SetError(
                f"--set {key}: this workflow has no {'/'.join(SHORTCUTS[key].class_types)} node with an "
                f"input named {'/'.join(SHORTCUTS[key].inputs)}; {valid_keys_text(result)}"
            )
        else:
            raise SetError(f"--set {key}: unknown key; {valid_keys_text(result)}")
        for node_id, input_name in targets:
            result[node_id].setdefault("inputs", {})[input_name] = parse_value(raw)
    return result
