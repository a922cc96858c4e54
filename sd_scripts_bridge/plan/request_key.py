"""The request key: one hash of everything that decides what a training run produces.

It covers the resolved settings (an explicit profile value is the profile's value), the model
files (path, size and mtime: a replaced file is noticed without reading gigabytes) and the
dataset's content (image bytes and caption text, regularization included), but not where the run
folder or the published file live. The key names the run folder, so the same request finds its
own earlier run (to resume it), and it is written into the published LoRA's metadata, so an
identical request can reuse that file instead of training again.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from ..lora_file import read_metadata
from ..model import EngineSamplePrompt, PlanRequest
from .profiles import ResolvedProfile, resolve_profile
from .sample_prompts import resolved_prompt
from .staging import dataset_hash, model_identity, stage_images

REQUEST_KEY_METADATA = "identity_lora_request_key"
CHECKPOINT_MARK = ":step"  # a published checkpoint's key: <request key>:step<N>
RUN_FOLDER_KEY_CHARS = 12


def request_key(request: PlanRequest, profile: ResolvedProfile | None = None) -> str:
    """sha256 over the request's settings, model files and dataset content (``profile``: the
    request's resolved profile, when the caller already has it)."""
    record: dict[str, Any] = {
        "settings": _settings(request, profile or resolve_profile(request)),
        "models": {role: model_identity(Path(path)) for role, path in vars(request.models).items()},
        "dataset": dataset_hash(
            stage_images(request.images, "training"), stage_images(request.regularization, "regularization")
        ),
    }
    text = json.dumps(record, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _settings(request: PlanRequest, profile: ResolvedProfile) -> dict[str, Any]:
    return {
        "profile": request.profile,
        "settings": profile.settings,
        "output_name": request.output_name,
        "trigger_token": request.trigger_token,
        "class_word": request.class_word,
        "vram_tier": request.vram_tier,
        "te_policy": request.te_policy,
        "token_is_unique": request.token_is_unique,
        "seed": request.seed,
        "save_every_n_steps": request.save_every_n_steps,
        "sample_prompts": [_sample_prompt(entry, request.seed) for entry in request.sample_prompts],
        "sample_every_n_steps": request.sample_every_n_steps,
        "validation_split": request.validation_split,
        "num_processes": request.num_processes,
        "cpu": request.cpu,
    }


def _sample_prompt(entry: str | EngineSamplePrompt, seed: int) -> str | dict[str, Any]:
    """The text alone when the entry samples with the request's seed and the default steps (the key
    of such a request is the one it had before prompts could carry their own), else all three."""
    prompt = resolved_prompt(entry, seed)
    if prompt == resolved_prompt(prompt.text, seed):
        return prompt.text
    return {"text": prompt.text, "seed": prompt.seed, "steps": prompt.steps}


def run_folder_name(output_name: str, key: str) -> str:
    """``<output name>-<key prefix>``, in characters that are safe in any file system."""
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", output_name)[:60] or "lora"
    return f"{safe}-{key[:RUN_FOLDER_KEY_CHARS]}"


def checkpoint_key(key: str, step: int) -> str:
    """The request key of a file that holds step ``step`` of the run of ``key`` (``<key>:step<N>``)."""
    return f"{key.split(CHECKPOINT_MARK, 1)[0]}{CHECKPOINT_MARK}{step}"


def published_step(lora_path: Path, key: str) -> int | None:
    """The step when ``lora_path`` holds a checkpoint of the run of exactly this request (published
    by an evaluation of that run), else None."""
    recorded = _recorded_key(lora_path)
    base, mark, step = (recorded or "").partition(CHECKPOINT_MARK)
    return int(step) if mark and base == key and step.isdigit() else None


def published_for_key(lora_path: Path, key: str) -> bool:
    """Whether ``lora_path`` exists and was published by a run of exactly this request."""
    return _recorded_key(lora_path) == key


def _recorded_key(lora_path: Path) -> str | None:
    if not lora_path.is_file():
        return None
    try:
        metadata = read_metadata(lora_path)
    except (OSError, ValueError):  # unreadable: not ours to reuse; publishing reports it later
        return None
    return metadata.get(REQUEST_KEY_METADATA)
