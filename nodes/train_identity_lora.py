"""TrainIdentityLoRA: train a FLUX.1 identity LoRA with the sd-scripts engine (thin adapter).

The whole job (request key, reuse of a published LoRA, resume or set-aside, the supervised engine
run, validation and loss capture, checkpoints, publishing, the run report) is
``sd_scripts_bridge.job.run_job``, the same call ``python -m sd_scripts_bridge train`` makes. This
node maps its inputs to a ``PlanRequest``, lends the job ComfyUI's memory management
(``comfy_glue.memory.ComfyMemory``: VRAM freed before the tier is chosen, RAM when the preflight needs
it), relays progress (``train_progress.py``), honours Cancel and returns the outputs.

Outputs 6-9 are the FLUX file names the LoRA was trained with, typed as the core
loaders' combos (UNETLoader, DualCLIPLoader, VAELoader): linked to those loaders they make them
wait for the training by structure, so ComfyUI never holds a second copy of FLUX while the engine
loads its own. ``RETURN_TYPES`` is read when ComfyUI asks, so the lists follow the model folders.

Re-queueing: ``IS_CHANGED`` only sees widget values (ComfyUI passes no linked inputs to it), so it
hashes the settings and the chosen model files (name, size, mtime); the dataset is covered by
ComfyUI's cache of the upstream nodes. The job then reuses the LoRA published for the same key.

Environment: ``IDENTITY_LORA_ENGINE`` names the engine folder (else the pack's ``engine/``);
``IDENTITY_LORA_FORCE_CPU=1`` trains on the CPU (tests and the tiny demo model only);
``IDENTITY_LORA_ALLOW_UNPINNED_ENGINE=1`` accepts an engine that is not the pinned sd-scripts
commit (untested; for engine test doubles).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from ..sd_scripts_bridge.plan.profiles import PROFILES
from ..sd_scripts_bridge.plan.te_policy import POLICIES as TE_POLICIES
from ..sd_scripts_bridge.plan.tiers import TIER_ORDER
from .comfy_glue.hidden_paths import hiding_private_paths
from .comfy_glue.images import arrays_to_images, save_preview_png
from .comfy_glue.memory import ComfyMemory
from .comfy_glue.model_folders import loader_combo, model_file_names
from .comfy_glue.progress import is_interrupted, raise_if_interrupted
from .comfy_glue.server_folders import work_folder
from .face_reference import BACKENDS
from .pack_names import CATEGORY_ROOT, CHECKPOINTS_TYPE, DATASET_TYPE
from .train_limits import owner_limited
from .train_previews import preview_batch, preview_index, samples_of_prompt
from .train_request import (
    FORCE_CPU_ENV,
    LORA_SUBFOLDER,
    MODEL_FOLDERS,
    RUNS_SUBFOLDER,
    likeness_prompts,
    model_paths,
    training_request,
)
from .train_tooltips import TOOLTIPS

NOT_SETTINGS = {
    "dataset",
    "regularization",
    "resume",
    "overwrite",
    "oom_fallback",
    "ram_check",
    "unique_id",
    *MODEL_FOLDERS,
}
# Outputs for the core loaders: (output name, loader class, loader input, this node's input).
LOADER_OUTPUTS = (
    ("diffusion_model_name", "UNETLoader", "unet_name", "diffusion_model"),
    ("clip_l_name", "DualCLIPLoader", "clip_name1", "clip_l"),
    ("t5xxl_name", "DualCLIPLoader", "clip_name2", "t5xxl"),
    ("ae_name", "VAELoader", "vae_name", "ae"),
)


class _ClassProperty:
    """A class attribute computed when read (ComfyUI reads RETURN_TYPES from the class)."""

    def __init__(self, compute) -> None:
        self.compute = compute

    def __get__(self, _instance, owner):
        return self.compute(owner)


def _return_types(_cls) -> tuple:
    loaders = tuple(loader_combo(loader, name) for _, loader, name, _ in LOADER_OUTPUTS)
    return ("STRING", "STRING", "IMAGE", "STRING", "IMAGE", *loaders, CHECKPOINTS_TYPE, "IMAGE")


def _early_stop_choices() -> tuple[str, ...]:
    from ..identity_core.evaluation.run_likeness import EARLY_STOP_CHOICES

    return EARLY_STOP_CHOICES


def _with_tips(inputs: dict) -> dict:
    """Each input's options with its tooltip from TOOLTIPS added."""
    return {
        name: (spec[0], {**(spec[1] if len(spec) > 1 else {}), "tooltip": TOOLTIPS[name]})
        for name, spec in inputs.items()
    }


class TrainIdentityLoRA:
    DISPLAY_NAME = "Train Identity LoRA (FLUX, sd-scripts)"
    CATEGORY = f"{CATEGORY_ROOT}/training"
    RETURN_TYPES = _ClassProperty(_return_types)
    RETURN_NAMES = (
        *("lora_name", "lora_path", "loss_curve", "summary", "previews"),
        *(name for name, *_ in LOADER_OUTPUTS),
        *("checkpoints", "likeness_curve"),
    )
    OUTPUT_TOOLTIPS = (
        "The LoRA as LoraLoader lists it (identity/<name>.safetensors).",
        "Full path of the published LoRA file.",
        "Training loss per step (validation loss on top when a validation split was used).",
        "What was trained, how long it took, the VRAM tier and its reason, RAM, warnings.",
        "Preview images the engine sampled during training (one black 64 px image when off).",
        *(
            f"The {role} file trained with, for {loader}'s {name}: linked, the loader waits for the training."
            for _, loader, name, role in LOADER_OUTPUTS
        ),
        "Every checkpoint of the run with its step and live likeness, for StrengthSweep and ArcFaceScore.",
        "Likeness per checkpoint beside the loss (empty chart when previews were off).",
    )
    FUNCTION = "run"
    OUTPUT_NODE = True
    DESCRIPTION = (
        "Trains a FLUX.1 identity LoRA with kohya-ss/sd-scripts (pinned, own venv) as a supervised "
        "subprocess: Fast or Final profile, VRAM tier, text-encoder policy. Frees ComfyUI's VRAM first, "
        "shows step/loss/ETA, Cancel stops the engine (resumable), identical inputs reuse the LoRA. "
        f"Env: IDENTITY_LORA_ENGINE (engine folder), {FORCE_CPU_ENV}=1 (CPU, tiny test models only)."
    )

    @classmethod
    def INPUT_TYPES(cls):
        encoders = model_file_names("text_encoders")
        required = {
            "dataset": (DATASET_TYPE,),
            "profile": (list(PROFILES), {"default": "fast"}),
            "vram_tier": (["auto", *TIER_ORDER], {"default": "auto"}),
            "text_encoder": (list(TE_POLICIES), {"default": "auto"}),
            "diffusion_model": (model_file_names("diffusion_models"),),
            "clip_l": (encoders,),
            "t5xxl": (encoders,),
            "ae": (model_file_names("vae"),),
            "output_name": ("STRING", {"default": "identity_lora"}),
            "seed": ("INT", {"default": 42, "min": 0, "max": 2**32 - 1}),
            "checkpoint_every": ("INT", {"default": 250, "min": 0, "max": 100000}),
            "resume": ("BOOLEAN", {"default": True}),
            "overwrite": ("BOOLEAN", {"default": False}),
        }
        optional = {
            "regularization": (DATASET_TYPE,),
            "steps": ("INT", {"default": 0, "min": 0, "max": 100000}),
            "learning_rate": (
                "FLOAT",
                {"default": 0.0, "min": 0.0, "max": 0.01, "step": 0.00001, "round": False},
            ),
            "rank": ("INT", {"default": 0, "min": 0, "max": 512}),
            "alpha": ("FLOAT", {"default": 0.0, "min": 0.0, "max": 512.0, "step": 1.0}),
            "resolution": ("INT", {"default": 0, "min": 0, "max": 2048, "step": 64}),
            "preview_every_n_steps": ("INT", {"default": 0, "min": 0, "max": 100000}),
            "preview_prompt": ("STRING", {}),
            "validation_split": ("FLOAT", {"default": 0.0, "min": 0.0, "max": 0.5, "step": 0.05}),
            "advanced_settings": ("STRING", {"default": "", "multiline": True}),
            "oom_fallback": ("BOOLEAN", {"default": True}),
            "ram_check": ("BOOLEAN", {"default": True}),
            "num_processes": ("INT", {"default": 1, "min": 1, "max": 16}),
            "early_stop": (list(_early_stop_choices()), {"default": "auto"}),
            "face_backend": (BACKENDS, {"default": "auto"}),
        }
        return {
            "required": _with_tips(required),
            "optional": _with_tips(optional),
            "hidden": {"unique_id": "UNIQUE_ID"},
        }

    @classmethod
    def IS_CHANGED(cls, **inputs):
        """Settings + model files (the dataset is covered by the upstream nodes' cache entries).

        The published file's state is left out on purpose: it changes when this node publishes,
        so including it would make every second identical queue run the node again.
        """
        try:
            models = {role: _file_identity(path) for role, path in model_paths(inputs).items()}
        except (OSError, ValueError):
            return float("nan")
        settings = {k: v for k, v in sorted(inputs.items()) if k not in NOT_SETTINGS}
        text = json.dumps({"settings": settings, "models": models}, sort_keys=True, default=str)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    @hiding_private_paths
    def run(self, dataset, output_name, unique_id=None, **inputs):
        from ..identity_core.dataset.gate import refuse_failed_dataset
        from ..sd_scripts_bridge.errors import TrainingCancelledError
        from ..sd_scripts_bridge.job import run_job
        from .train_progress import TrainingProgress

        raise_if_interrupted()
        _check_inputs(dataset, output_name, inputs)
        refuse_failed_dataset(dataset)
        inputs, limit_notes = owner_limited(
            inputs, (inputs.get("regularization") or dataset.regularization) is not None
        )
        work = work_folder()
        prompts, probe = likeness_prompts(dataset, inputs)
        request = training_request(dataset, output_name, inputs, work, prompts)
        progress = TrainingProgress(unique_id)
        for note in limit_notes:
            progress.say(note)
        relay = _relay(dataset, inputs, prompts, probe, progress, request)
        try:
            result = run_job(
                request,
                on_event=relay or progress,
                should_cancel=is_interrupted,
                options=_options(inputs, unique_id, relay),
                host=ComfyMemory(),
                should_stop=relay.should_stop if relay is not None else None,
            )
        except TrainingCancelledError:
            raise_if_interrupted()  # ComfyUI shows the node as interrupted
            raise
        return _outputs(result, inputs, relay, preview_index(prompts), limit_notes)


def _check_inputs(dataset, output_name, inputs: dict) -> None:
    """Text caps, the output name and every number, before anything is built from them (a name
    with '../' once probed for files outside the loras folder)."""
    from ..identity_core.input_limits import check_number, check_text, check_word
    from ..sd_scripts_bridge.plan.request_checks import check_output_name
    from .input_checks import require_dataset

    check_output_name(check_word("output_name", output_name).strip())
    for name in ("preview_prompt", "advanced_settings"):
        if inputs.get(name) is not None:
            check_text(name, inputs[name])
    check_number("learning_rate", inputs.get("learning_rate", 0.0), 0.0, 0.01)
    check_number("alpha", inputs.get("alpha", 0.0), 0.0, 512.0)
    check_number("validation_split", inputs.get("validation_split", 0.0), 0.0, 0.5)
    require_dataset("dataset", dataset)
    require_dataset("regularization", inputs.get("regularization"), optional=True)


def _options(inputs: dict, unique_id, relay):
    from ..identity_core.evaluation.run_likeness import early_stop_policy
    from ..sd_scripts_bridge.job import JobOptions

    policy = early_stop_policy(inputs["profile"], inputs.get("early_stop") or "auto")
    return JobOptions(
        resume=bool(inputs.get("resume")),
        overwrite=bool(inputs.get("overwrite")),
        recover_from_oom=bool(inputs.get("oom_fallback", True)),
        check_ram=bool(inputs.get("ram_check", True)),
        holder=f"ComfyUI, TrainIdentityLoRA node {unique_id}",
        early_stop=relay is not None and policy.enabled,
    )


def _relay(dataset, inputs: dict, prompts, probe, progress, request):
    from .train_likeness import LiveLikenessRelay

    if not prompts:
        return None
    title = f"{LORA_SUBFOLDER}/{request.output_name}.safetensors"
    return LiveLikenessRelay(dataset, inputs, prompts, probe, progress, Path(request.run_dir), title)


def _file_identity(path: str) -> list:
    """Name + size + mtime: notices a replaced file without reading it."""
    stat = os.stat(path)
    return [os.path.basename(path), stat.st_size, stat.st_mtime_ns]


def _outputs(result, inputs: dict, relay, preview_prompt_index: int, notes: list[str]) -> dict:
    from ..identity_core.reports.loss_chart import loss_chart, read_loss_points, read_validation_points
    from .train_likeness import checkpoint_outputs

    lora_name = f"{LORA_SUBFOLDER}/{result.lora_path.name}"
    run_folder = f"Run folder: {RUNS_SUBFOLDER}/{result.run_dir.name} in the work folder."
    summary = "\n".join([result.summary, *(f"Server limit: {note}." for note in notes), run_folder])
    chart = loss_chart(
        read_loss_points(result.run_dir / "loss.csv"),
        read_validation_points(result.run_dir / "validation.csv"),
        title=lora_name,
    )
    checkpoints, likeness = checkpoint_outputs(result, relay, lora_name)
    return {
        "ui": {
            "text": [summary],
            "images": [
                save_preview_png(chart, "identity_loss"),
                save_preview_png(likeness, "identity_likeness"),
            ],
            "identity_lora": [{"lora_name": lora_name}],  # what the API client prints as "LoRA"
        },
        "result": (
            lora_name,
            str(result.lora_path),
            arrays_to_images([chart]),
            summary,
            preview_batch(samples_of_prompt(result.samples, preview_prompt_index)),
            *(inputs[role] for *_, role in LOADER_OUTPUTS),
            checkpoints,
            arrays_to_images([likeness]),
        ),
    }
