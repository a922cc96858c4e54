"""TrainIdentityLoRA's inputs as the job's ``PlanRequest``: model files from ComfyUI's folders, the
likeness sample prompts, the run folder inside the private work folder."""

from __future__ import annotations

import os
from pathlib import Path

from .comfy_glue.lora_folders import lora_root
from .comfy_glue.memory import cuda_available
from .comfy_glue.model_folders import model_file_path
from .comfy_glue.server_folders import comfyui_dir

FORCE_CPU_ENV = "IDENTITY_LORA_FORCE_CPU"
ALLOW_UNPINNED_ENV = "IDENTITY_LORA_ALLOW_UNPINNED_ENGINE"
LORA_SUBFOLDER = "identity"
RUNS_SUBFOLDER = "train"  # inside the pack's private work folder
TOKENIZERS_SUBFOLDER = "tokenizers"
MODEL_FOLDERS = {
    "diffusion_model": "diffusion_models",
    "clip_l": "text_encoders",
    "t5xxl": "text_encoders",
    "ae": "vae",
}


def likeness_prompts(dataset, inputs: dict):
    """The engine's sample prompts when previews are on (likeness, pose probe, the user's preview)."""
    from ..identity_core.dataset.gate import require_trigger_token
    from ..identity_core.evaluation.run_likeness import training_prompts
    from ..sd_scripts_bridge.plan.sample_prompts import render_sample_prompt

    if not int(inputs.get("preview_every_n_steps") or 0):
        return [], None
    token, class_word = require_trigger_token(dataset), dataset.class_word or "person"
    preview = (inputs.get("preview_prompt") or "").strip()
    preview = render_sample_prompt(preview, token, class_word) if preview else ""
    notes = dataset.extra.get("image_notes") or {}
    return training_prompts(notes, token, class_word, int(inputs["seed"]), preview)


def training_request(dataset, output_name: str, inputs: dict, work: Path, prompts):
    """The node's inputs as the job's request, its run folder in the private work folder."""
    from ..identity_core.dataset.gate import require_trigger_token
    from ..sd_scripts_bridge.errors import GpuRequiredError
    from ..sd_scripts_bridge.job import place_run
    from ..sd_scripts_bridge.model import DatasetImage, EngineSamplePrompt, ModelFiles, PlanRequest

    cpu = os.environ.get(FORCE_CPU_ENV, "") == "1"
    if not cpu and not cuda_available():
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
        models=ModelFiles(**{role: Path(path) for role, path in model_paths(inputs).items()}),
        output_name=output_name.strip(),
        run_dir=work / RUNS_SUBFOLDER,  # place_run names the run folder inside it after the request key
        trigger_token=token,
        class_word=class_word,
        vram_tier=inputs["vram_tier"],
        te_policy=inputs["text_encoder"],
        token_is_unique=uniqueness.is_unique if uniqueness is not None else None,
        overrides=overrides(inputs),
        seed=int(inputs["seed"]),
        save_every_n_steps=int(inputs["checkpoint_every"]) or None,
        sample_prompts=tuple(EngineSamplePrompt(p.text, seed=p.seed) for p in prompts),
        sample_every_n_steps=preview_every or None,
        validation_split=float(inputs.get("validation_split") or 0.0),
        tokenizer_cache_dir=_comfy_tokenizers(work),
        num_processes=int(inputs.get("num_processes") or 1),
        cpu=cpu,
        allow_unpinned_engine=os.environ.get(ALLOW_UNPINNED_ENV, "") == "1",
        publish_dir=Path(lora_root()) / LORA_SUBFOLDER,
    )
    return place_run(request, work / RUNS_SUBFOLDER)


def overrides(inputs: dict) -> dict:
    """Non-zero number inputs as profile settings; the advanced JSON is applied last."""
    from ..sd_scripts_bridge.plan.overrides import from_fields, parse_settings_json

    fields = ("steps", "learning_rate", "rank", "alpha", "resolution")
    overrides = from_fields(**{name: inputs.get(name) or 0 for name in fields})
    overrides.update(parse_settings_json(inputs.get("advanced_settings") or ""))
    return overrides


def model_paths(inputs: dict) -> dict[str, str]:
    from ..sd_scripts_bridge.plan.request_checks import PlanInputError

    paths = {}
    for role, folder in MODEL_FOLDERS.items():
        try:
            paths[role] = model_file_path(folder, inputs.get(role))
        except FileNotFoundError:
            raise PlanInputError(
                what=f"The {role} file {inputs.get(role)!r} is not in ComfyUI's models/{folder} folder",
                fix="put the file there and pick it again (refresh the node with R)",
            ) from None
    return paths


def _comfy_tokenizers(work: Path) -> Path:
    """Offline tokenizer folders made from ComfyUI's own tokenizer files (the engine is offline)."""
    from ..sd_scripts_bridge.engine.comfy_tokenizers import ensure_tokenizers

    return ensure_tokenizers(work / TOKENIZERS_SUBFOLDER, Path(comfyui_dir()))
