"""A ComfyUI host that runs TrainIdentityLoRA on the stand-in engine, and the prompts it takes.

The host (``start_train_host``) runs the node with ``IDENTITY_LORA_FORCE_CPU=1`` and
``IDENTITY_LORA_ALLOW_UNPINNED_ENGINE=1`` (the stand-in engine, ``devkit/stand_in_engine``, is not
the pinned commit), small stand-in model files (the stand-in does not read them) and two test-only
custom nodes: the dataset comes from ``TestIdentityDataset``, which builds the pack's
IDENTITY_DATASET value directly, so no photo goes through DatasetCheck. Shared by the node's
tests, the API client's test on the fast workflow and ``benchmarks/node_overhead.py``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from PIL import Image

from .host import DEFAULT_PACK_NAME, Host

NODE = "TrainIdentityLoRA"
TEST_NODES = "identity_lora_train_test_nodes.py"
SEC_PER_STEP = "0.15"
STAND_IN_MODELS = {
    "diffusion_models": "flux_standin.safetensors",
    "text_encoders": ("clip_l_standin.safetensors", "t5xxl_standin.safetensors"),
    "vae": "ae_standin.safetensors",
}

# Test-only custom nodes, written into the host's custom_nodes folder:
# TestIdentityDataset builds the pack's own IDENTITY_DATASET value (identity_core.dataset.model)
# from a JSON list of [image path, caption] (after a model is loaded, when after_model is linked:
# the model is then held by the running workflow while training runs); TestModelSink is an output
# node that makes LoraLoaderModelOnly run and reports how many weight patches the LoRA put on the
# model; TestCheckpointsSink reports an IDENTITY_CHECKPOINTS value as JSON (steps, file names,
# likeness per step, early stop).
TEST_NODES_SOURCE = """
import importlib
import json
from pathlib import Path


def _dataset_model():
    from nodes import NODE_CLASS_MAPPINGS
    package = NODE_CLASS_MAPPINGS["TrainIdentityLoRA"].__module__.rsplit(".nodes.", 1)[0]
    return importlib.import_module(package + ".identity_core.dataset.model")


class TestIdentityDataset:
    CATEGORY = "identity lora tests"
    RETURN_TYPES = ("IDENTITY_DATASET",)
    FUNCTION = "make"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"items": ("STRING", {"default": "[]"}), "token": ("STRING", {"default": ""}),
                             "verdict": ("STRING", {"default": "pass"})},
                "optional": {"after_model": ("MODEL",)}}

    def make(self, items, token, verdict, after_model=None):
        model = _dataset_model()
        entries = tuple(model.DatasetItem(Path(p), c, model.CAPTION_TEMPLATE) for p, c in json.loads(items))
        findings = ()
        if verdict == "fail":
            findings = (model.Finding(check="image_count", severity="fail", measured=len(entries),
                                      threshold=">= 15", message="only %d images" % len(entries),
                                      fix="add photos until there are 15-30"),)
        dataset = model.Dataset(Path(entries[0].image_path).parent, entries, trigger_token=token or None,
                                class_word="person", verdict=verdict, findings=findings)
        return (dataset,)


class TestModelSink:
    CATEGORY = "identity lora tests"
    RETURN_TYPES = ()
    FUNCTION = "sink"
    OUTPUT_NODE = True

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"model": ("MODEL",)}}

    def sink(self, model):
        return {"ui": {"text": ["patches=%d" % len(model.patches)]}}


class TestCheckpointsSink:
    CATEGORY = "identity lora tests"
    RETURN_TYPES = ()
    FUNCTION = "sink"
    OUTPUT_NODE = True

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"checkpoints": ("IDENTITY_CHECKPOINTS",)}}

    def sink(self, checkpoints):
        curve = checkpoints.likeness
        stop = checkpoints.early_stop
        report = {
            "files": [[f.step, Path(f.path).name] for f in checkpoints.files],
            "likeness": {str(p.step): p.likeness for p in curve.points} if curve is not None else None,
            "early_stop": [stop.at_step, stop.kept_step] if stop is not None else None,
            "lora_name": checkpoints.lora_name,
            "losses": len(checkpoints.losses),
        }
        return {"ui": {"text": [json.dumps(report)]}}


NODE_CLASS_MAPPINGS = {"TestIdentityDataset": TestIdentityDataset, "TestModelSink": TestModelSink,
                       "TestCheckpointsSink": TestCheckpointsSink}
"""


def write_photos(folder: Path, count: int, token: str = "ohwx") -> list[list[str]]:
    """``count`` small flat-colour PNGs with captions: the [path, caption] items TestIdentityDataset takes."""
    folder.mkdir(parents=True, exist_ok=True)
    items = []
    for index in range(count):
        path = folder / f"photo_{index:02d}.png"
        Image.new("RGB", (64, 64), (index * 40 % 255, 90, 140)).save(path)
        items.append([str(path), f"{token}, a photo of a person, shot {index}"])
    return items


def prepare_base(base: Path, dit: Path | None = None) -> None:
    """Small stand-in model files (the stand-in does not read them), the test nodes, the tiny DiT."""
    models = base / "models"
    for folder, names in STAND_IN_MODELS.items():
        for name in (names,) if isinstance(names, str) else names:
            (models / folder).mkdir(parents=True, exist_ok=True)
            (models / folder / name).write_bytes(b"stand-in model file: " + name.encode())
    if dit is not None:
        os.symlink(dit, models / "diffusion_models" / dit.name)
    (base / "custom_nodes").mkdir(parents=True, exist_ok=True)
    (base / "custom_nodes" / TEST_NODES).write_text(TEST_NODES_SOURCE, encoding="utf-8")


def start_train_host(tmp: Path, engine_root: Path, dit: Path | None = None, **env: str) -> Host:
    """A started host on ``engine_root`` (``env`` adds or overrides variables, e.g. STAND_IN_NAN_AT_STEP).

    ``tmp`` is unused (the host makes its own base folder); the node's tests pass one.
    """
    environment = {
        "IDENTITY_LORA_ENGINE": str(engine_root),
        "IDENTITY_LORA_FORCE_CPU": "1",
        "IDENTITY_LORA_ALLOW_UNPINNED_ENGINE": "1",
        "STAND_IN_SEC_PER_STEP": SEC_PER_STEP,
        "STAND_IN_BLOCKS": "1,1",  # the tiny FLUX DiT: 1 double + 1 single block
        **env,
    }
    host = Host(env=environment, extra_args=("--whitelist-custom-nodes", DEFAULT_PACK_NAME, TEST_NODES))
    try:
        prepare_base(host.base_dir, dit)
        return host.start()
    except BaseException:
        host.cleanup()
        raise


def train_prompt(
    items: list, name: str, steps: int = 6, token: str = "ohwx", verdict: str = "pass", **inputs
) -> dict:
    """TestIdentityDataset -> TrainIdentityLoRA (node "2", stand-in models) -> SaveImage of its previews.

    ``inputs`` set or override TrainIdentityLoRA's inputs.
    """
    node_inputs = {
        "dataset": ["1", 0],
        "profile": "fast",
        "vram_tier": "auto",
        "text_encoder": "auto",
        "diffusion_model": STAND_IN_MODELS["diffusion_models"],
        "clip_l": STAND_IN_MODELS["text_encoders"][0],
        "t5xxl": STAND_IN_MODELS["text_encoders"][1],
        "ae": STAND_IN_MODELS["vae"],
        "output_name": name,
        "seed": 42,
        "checkpoint_every": 2,
        "resume": True,
        "overwrite": False,
        "steps": steps,
        "rank": 4,
        "advanced_settings": '{"lr_warmup_steps": 1}',
    }
    node_inputs.update(inputs)
    return {
        "1": {
            "class_type": "TestIdentityDataset",
            "inputs": {"items": json.dumps(items), "token": token, "verdict": verdict},
        },
        "2": {"class_type": NODE, "inputs": node_inputs},
        "3": {
            "class_type": "SaveImage",
            "inputs": {"images": ["2", 4], "filename_prefix": f"{name}_preview"},
        },
    }
