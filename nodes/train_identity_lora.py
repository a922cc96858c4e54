"""TrainIdentityLoRA: train a FLUX.1 identity LoRA with the sd-scripts engine (thin adapter).

The whole job (request key, reuse of a published LoRA, resume or set-aside, the supervised engine
run, validation and loss capture, checkpoints, publishing, the run report) is
``sd_scripts_bridge.job.run_job``, the same call ``python -m sd_scripts_bridge train`` makes. This
node maps its inputs to a ``PlanRequest``, lends the job ComfyUI's memory management
(``comfy_glue.ComfyMemory``: VRAM freed before the tier is chosen, RAM when the preflight needs
it), relays progress (``train_progress.py``), honours Cancel and returns the outputs.

The last four outputs are the FLUX file names the LoRA was trained with, typed as the core
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
import re
from pathlib import Path

from ..sd_scripts_bridge.profiles import PROFILES
from ..sd_scripts_bridge.te_policy import POLICIES as TE_POLICIES
from ..sd_scripts_bridge.tiers import TIER_ORDER
from . import comfy_glue
from .comfy_glue import CATEGORY_ROOT, CHECKPOINTS_TYPE, DATASET_TYPE
from .face_reference import BACKENDS

FORCE_CPU_ENV = "IDENTITY_LORA_FORCE_CPU"
ALLOW_UNPINNED_ENV = "IDENTITY_LORA_ALLOW_UNPINNED_ENGINE"
LORA_SUBFOLDER = "identity"
RUNS_SUBFOLDER = "train"  # inside the pack's private work folder
TOKENIZERS_SUBFOLDER = "tokenizers"
MODEL_FOLDERS = {"diffusion_model": "diffusion_models", "clip_l": "text_encoders", "t5xxl": "text_encoders"}
MODEL_FOLDERS["ae"] = "vae"
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
PREVIEW_COST = (
    "Each round samples 5 images (6 with a preview prompt) of 20 denoising steps and a VAE decode, "
    "about 24 training steps on a GPU (estimate): a 1500-step Fast run with a round every 250 steps "
    "takes about 10% longer."
)
VALIDATION_COST = (
    "Each validation (at every checkpoint interval) runs 4 forward passes per held-out image, about "
    "1.3 training steps per image; held-out images are not trained on."
)


def _profiles(key: str) -> str:
    return ", ".join(f"{name.capitalize()} {profile.value(key):g}" for name, profile in PROFILES.items())


TOOLTIPS = {
    "dataset": "The checked dataset from CaptionTokenizer or DatasetCheck.",
    "profile": "fast: 512 px, 1500 steps, rank 32 (dataset validation, < 1 h). final: 768 px, 2500 steps, "
    "rank 64, dropout 0.1, cosine (best realism).",
    "vram_tier": "Memory settings for your GPU. auto picks from the VRAM that is free after ComfyUI unloads "
    "its models (and refuses below 6.8 GiB). 8/10/12/16/24gb: fp8 base + checkpointing (+ block swap up to "
    "24gb: 28/22/16/8 blocks); 48/80gb: bf16 base, no checkpointing, ~2.2x faster (changes numerics "
    "slightly).",
    "text_encoder": "auto = frozen (design document Section 5). two_phase trains the CLIP-L LoRA for the "
    "first half of the steps; it needs regularization images, 15+ photos and a token that is not unique.",
    "diffusion_model": "FLUX.1-dev single-file model from models/diffusion_models.",
    "clip_l": "CLIP-L text encoder from models/text_encoders (or clip).",
    "t5xxl": "T5-XXL text encoder from models/text_encoders (or clip).",
    "ae": "FLUX autoencoder (ae) from models/vae.",
    "output_name": "LoRA file name; published as models/loras/identity/<name>.safetensors.",
    "seed": "Training seed.",
    "checkpoint_every": "Save a checkpoint and a resumable state every N steps (0: none; Cancel then loses "
    "the run).",
    "resume": "Continue a cancelled run of the same inputs at its last saved step. Off: start again (the old "
    "run folder is kept, renamed).",
    "overwrite": "Replace an existing LoRA of the same name.",
    "regularization": "Optional regularization dataset (other people, no trigger token); defaults to the one "
    "DatasetCheck attached.",
    "steps": f"0 = profile value ({_profiles('max_train_steps')}).",
    "learning_rate": f"0 = profile value ({_profiles('learning_rate')}).",
    "rank": f"LoRA rank; 0 = profile value ({_profiles('network_dim')}).",
    "alpha": "LoRA alpha; 0 = the rank when rank is set, else the profile value "
    f"({_profiles('network_alpha')}).",
    "resolution": f"Training resolution; 0 = profile value ({_profiles('resolution')}). Buckets widen to "
    "contain it.",
    "preview_every_n_steps": "0 = off. Every N steps the engine samples the likeness prompts (portrait and "
    "new environment, 2 fixed seeds each) and a pose probe; each face is scored against your photos as it "
    "appears (live likeness, the likeness curve, early stop). Use the checkpoint interval, so every "
    "checkpoint gets its score. " + PREVIEW_COST,
    "preview_prompt": "An extra preview prompt sampled with them ({token} and {class_word} are filled in, "
    "nothing else); empty = none.",
    "early_stop": "Stop when likeness has not improved for a few checkpoints while the loss still falls "
    "(needs previews), keeping the best checkpoint; resumable. auto: Fast on (2 checkpoints), Final off "
    "(its cosine tail refines detail).",
    "face_backend": "Face backend for the live likeness (as in ArcFaceScore).",
    "validation_split": "0 = off. Share of the images held out to measure validation loss, drawn on the loss "
    "curve (needs checkpoint_every > 0). " + VALIDATION_COST,
    "advanced_settings": 'Optional JSON of further profile values, e.g. {"lr_warmup_steps": 50, '
    '"t5xxl_max_token_length": 256}; applied last.',
    "oom_fallback": "Out of GPU memory: continue on the next smaller VRAM tier by itself, from the last "
    "saved state (the summary and the LoRA's metadata say so). Off: stop with the error.",
    "ram_check": "Before training, refuse a run whose estimated RAM peak (from the model files' size) "
    "exceeds the RAM available after ComfyUI released its models. Off: start anyway (still reported).",
    "num_processes": "Processes, one per GPU of this machine (data parallel through accelerate). Several "
    "machines: see the README, 'More than one GPU or machine'.",
}


class _ClassProperty:
    """A class attribute computed when read (ComfyUI reads RETURN_TYPES from the class)."""

    def __init__(self, compute) -> None:
        self.compute = compute

    def __get__(self, _instance, owner):
        return self.compute(owner)


def _return_types(_cls) -> tuple:
    loaders = tuple(comfy_glue.loader_combo(loader, name) for _, loader, name, _ in LOADER_OUTPUTS)
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
        encoders = comfy_glue.model_file_names("text_encoders")
        required = {
            "dataset": (DATASET_TYPE,),
            "profile": (list(PROFILES), {"default": "fast"}),
            "vram_tier": (["auto", *TIER_ORDER], {"default": "auto"}),
            "text_encoder": (list(TE_POLICIES), {"default": "auto"}),
            "diffusion_model": (comfy_glue.model_file_names("diffusion_models"),),
            "clip_l": (encoders,),
            "t5xxl": (encoders,),
            "ae": (comfy_glue.model_file_names("vae"),),
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
            models = {role: _file_identity(path) for role, path in _model_paths(inputs).items()}
        except (OSError, ValueError):
            return float("nan")
        settings = {k: v for k, v in sorted(inputs.items()) if k not in NOT_SETTINGS}
        text = json.dumps({"settings": settings, "models": models}, sort_keys=True, default=str)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def run(self, dataset, output_name, unique_id=None, **inputs):
        from ..identity_core.access import hide_private_paths
        from ..identity_core.dataset.gate import refuse_failed_dataset
        from ..sd_scripts_bridge.errors import TrainingCancelledError
        from ..sd_scripts_bridge.job import run_job
        from .train_progress import TrainingProgress

        comfy_glue.raise_if_interrupted()
        refuse_failed_dataset(dataset)
        work = comfy_glue.work_folder()
        prompts, probe = _likeness_prompts(dataset, inputs)
        request = _request(dataset, output_name, inputs, work, prompts)
        progress = TrainingProgress(unique_id)
        relay = _relay(dataset, inputs, prompts, probe, progress, request)
        with hide_private_paths(work):
            try:
                result = run_job(
                    request,
                    on_event=relay or progress,
                    should_cancel=comfy_glue.is_interrupted,
                    options=_options(inputs, unique_id, relay),
                    host=comfy_glue.ComfyMemory(),
                    should_stop=relay.should_stop if relay is not None else None,
                )
            except TrainingCancelledError:
                comfy_glue.raise_if_interrupted()  # ComfyUI shows the node as interrupted
                raise
        return _outputs(result, inputs, relay, _preview_index(prompts))


def _preview_index(prompts) -> int:
    """The prompt the previews output shows: the user's preview prompt, else the first portrait."""
    return next((p.index for p in prompts if p.role == "preview"), 0)


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


def _likeness_prompts(dataset, inputs: dict):
    """The engine's sample prompts when previews are on (likeness, pose probe, the user's preview)."""
    from ..identity_core.dataset.gate import require_trigger_token
    from ..identity_core.evaluation.run_likeness import training_prompts
    from ..sd_scripts_bridge.sample_prompts import render_sample_prompt

    if not int(inputs.get("preview_every_n_steps") or 0):
        return [], None
    token, class_word = require_trigger_token(dataset), dataset.class_word or "person"
    preview = (inputs.get("preview_prompt") or "").strip()
    preview = render_sample_prompt(preview, token, class_word) if preview else ""
    notes = dataset.extra.get("image_notes") or {}
    return training_prompts(notes, token, class_word, int(inputs["seed"]), preview)


def _relay(dataset, inputs: dict, prompts, probe, progress, request):
    from .train_likeness import LiveLikenessRelay

    if not prompts:
        return None
    title = f"{LORA_SUBFOLDER}/{request.output_name}.safetensors"
    return LiveLikenessRelay(dataset, inputs, prompts, probe, progress, Path(request.run_dir), title)


def _request(dataset, output_name: str, inputs: dict, work: Path, prompts):
    """The node's inputs as the job's request, its run folder in the private work folder."""
    from ..identity_core.dataset.gate import require_trigger_token
    from ..sd_scripts_bridge.errors import GpuRequiredError
    from ..sd_scripts_bridge.job import place_run
    from ..sd_scripts_bridge.model import DatasetImage, EngineSamplePrompt, ModelFiles, PlanRequest

    cpu = os.environ.get(FORCE_CPU_ENV, "") == "1"
    if not cpu and not comfy_glue.cuda_available():
        raise GpuRequiredError(FORCE_CPU_ENV)
    token = require_trigger_token(dataset)
    class_word = dataset.class_word or "person"
    regularization = inputs.get("regularization") or dataset.regularization
    preview_every = int(inputs.get("preview_every_n_steps") or 0)
    uniqueness = dataset.token_uniqueness
    request = PlanRequest(
        profile=inputs["profile"],
        images=tuple(DatasetImage(Path(i.image_path), i.caption) for i in dataset.items),
        regularization=tuple(
            DatasetImage(Path(i.image_path), i.caption)
            for i in (regularization.items if regularization else ())
        ),
        models=ModelFiles(**{role: Path(path) for role, path in _model_paths(inputs).items()}),
        output_name=output_name.strip(),
        run_dir=work / RUNS_SUBFOLDER,  # place_run names the run folder inside it after the request key
        trigger_token=token,
        class_word=class_word,
        vram_tier=inputs["vram_tier"],
        te_policy=inputs["text_encoder"],
        token_is_unique=uniqueness.is_unique if uniqueness is not None else None,
        overrides=_overrides(inputs),
        seed=int(inputs["seed"]),
        save_every_n_steps=int(inputs["checkpoint_every"]) or None,
        sample_prompts=tuple(EngineSamplePrompt(p.text, seed=p.seed) for p in prompts),
        sample_every_n_steps=preview_every or None,
        validation_split=float(inputs.get("validation_split") or 0.0),
        tokenizer_cache_dir=_comfy_tokenizers(work),
        num_processes=int(inputs.get("num_processes") or 1),
        cpu=cpu,
        allow_unpinned_engine=os.environ.get(ALLOW_UNPINNED_ENV, "") == "1",
        publish_dir=Path(comfy_glue.lora_root()) / LORA_SUBFOLDER,
    )
    return place_run(request, work / RUNS_SUBFOLDER)


def _overrides(inputs: dict) -> dict:
    """Non-zero number inputs as profile settings; the advanced JSON is applied last."""
    from ..sd_scripts_bridge.overrides import from_fields, parse_settings_json

    fields = ("steps", "learning_rate", "rank", "alpha", "resolution")
    overrides = from_fields(**{name: inputs.get(name) or 0 for name in fields})
    overrides.update(parse_settings_json(inputs.get("advanced_settings") or ""))
    return overrides


def _model_paths(inputs: dict) -> dict[str, str]:
    from ..sd_scripts_bridge.request_checks import PlanInputError

    paths = {}
    for role, folder in MODEL_FOLDERS.items():
        try:
            paths[role] = comfy_glue.model_file_path(folder, inputs.get(role))
        except FileNotFoundError:
            raise PlanInputError(
                what=f"The {role} file {inputs.get(role)!r} is not in ComfyUI's models/{folder} folder",
                fix="put the file there and pick it again (refresh the node with R)",
            ) from None
    return paths


def _file_identity(path: str) -> list:
    """Name + size + mtime: notices a replaced file without reading it."""
    stat = os.stat(path)
    return [os.path.basename(path), stat.st_size, stat.st_mtime_ns]


def _comfy_tokenizers(work: Path) -> Path:
    """Offline tokenizer folders made from ComfyUI's own tokenizer files (the engine is offline)."""
    from ..sd_scripts_bridge.comfy_tokenizers import ensure_tokenizers

    return ensure_tokenizers(work / TOKENIZERS_SUBFOLDER, Path(comfy_glue.comfyui_dir()))


def _outputs(result, inputs: dict, relay, preview_index: int) -> dict:
    from ..identity_core.reports.loss_chart import loss_chart, read_loss_points, read_validation_points
    from .train_likeness import checkpoint_outputs

    lora_name = f"{LORA_SUBFOLDER}/{result.lora_path.name}"
    summary = result.summary + f"\nRun folder: {RUNS_SUBFOLDER}/{result.run_dir.name} in the work folder."
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
                comfy_glue.save_preview_png(chart, "identity_loss"),
                comfy_glue.save_preview_png(likeness, "identity_likeness"),
            ],
            "identity_lora": [{"lora_name": lora_name}],  # what the API client prints as "LoRA"
        },
        "result": (
            lora_name,
            str(result.lora_path),
            comfy_glue.arrays_to_images([chart]),
            summary,
            _preview_batch(_samples_of_prompt(result.samples, preview_index)),
            *(inputs[role] for *_, role in LOADER_OUTPUTS),
            checkpoints,
            comfy_glue.arrays_to_images([likeness]),
        ),
    }


_SAMPLE_TAIL = re.compile(r"_\d{6}_(?P<index>\d{2})_\d{14}(?:_\d+)?\.png$")  # the engine's sample names


def _samples_of_prompt(paths, index: int) -> list:
    """One sample per sampling step: the images of prompt ``index`` (all when none is named so)."""
    chosen = [p for p in paths if (m := _SAMPLE_TAIL.search(p.name)) and int(m.group("index")) == index]
    return chosen or list(paths)


def _preview_batch(paths):
    import numpy as np
    from PIL import Image

    arrays = []
    for path in paths:
        try:
            with Image.open(path) as image:
                arrays.append(np.asarray(image.convert("RGB")))
        except OSError:
            continue
    if arrays:
        size = arrays[-1].shape
        arrays = [a for a in arrays if a.shape == size]
    return comfy_glue.arrays_to_images(arrays or [np.zeros((64, 64, 3), np.uint8)])
