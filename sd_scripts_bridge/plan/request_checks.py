"""Checks on a :class:`PlanRequest` that fail before any process starts, each with its fix."""

from __future__ import annotations

from pathlib import Path

from ..errors import BridgeError
from ..model import PlanRequest
from .sample_prompts import check_engine_sample_prompt

FORBIDDEN_NAME_CHARACTERS = set('/\\:*?"<>|')
MAX_NAME_LENGTH = 120


class PlanInputError(BridgeError):
    pass


def check_request(request: PlanRequest) -> None:
    check_output_name(request.output_name)
    check_models(request)
    check_text("trigger_token", request.trigger_token)
    check_text("class_word", request.class_word)
    check_range("seed", request.seed, 0, 2**32 - 1)
    check_range("num_processes", request.num_processes, 1, 64)
    check_range("validation_split", request.validation_split, 0.0, 0.5)
    if request.save_every_n_steps is not None:
        check_range("save_every_n_steps", request.save_every_n_steps, 1, 100_000)
    if request.sample_every_n_steps is not None:
        check_range("sample_every_n_steps", request.sample_every_n_steps, 1, 100_000)
        if not request.sample_prompts:
            raise PlanInputError(
                what="sample_every_n_steps is set but there are no sample prompts",
                fix="add sample prompts or leave sample_every_n_steps empty",
            )
    for prompt in request.sample_prompts:
        check_engine_sample_prompt(prompt)
    if request.sample_prompts and request.sample_every_n_steps is None and request.save_every_n_steps is None:
        raise PlanInputError(
            what="Sample prompts were given without sample_every_n_steps",
            fix="set sample_every_n_steps (or save_every_n_steps, which samples at each save)",
        )
    if request.tokenizer_cache_dir is not None and not Path(request.tokenizer_cache_dir).is_dir():
        raise PlanInputError(
            what="The tokenizer folder does not exist",
            fix="install the engine with --tokenizers DIR, or leave tokenizer_cache_dir empty when online",
            path=request.tokenizer_cache_dir,
        )
    check_run_dir(request)


def check_output_name(name: str) -> None:
    problem = None
    if not name or not name.strip():
        problem = "is empty"
    elif any(character in FORBIDDEN_NAME_CHARACTERS for character in name) or ".." in name:
        problem = "contains a path separator, '..' or a character not allowed in file names"
    elif name.startswith(".") or name != name.strip():
        problem = "starts with a dot or has leading/trailing spaces"
    elif len(name) > MAX_NAME_LENGTH:
        problem = f"is longer than {MAX_NAME_LENGTH} characters"
    elif any(ord(character) < 32 for character in name):
        problem = "contains control characters"
    if problem:
        raise PlanInputError(
            what=f"The output name {name!r} {problem}",
            fix="use a plain file name such as my_person_v1 (letters, digits, '-', '_'); the LoRA is "
            "always written to the LoRA folder, so no folders in the name",
        )


def check_models(request: PlanRequest) -> None:
    for role, path in (
        ("FLUX diffusion model", request.models.diffusion_model),
        ("CLIP-L text encoder", request.models.clip_l),
        ("T5-XXL text encoder", request.models.t5xxl),
        ("autoencoder (ae)", request.models.ae),
    ):
        if not Path(path).is_file():
            raise PlanInputError(
                what=f"The {role} file does not exist",
                fix="download it into ComfyUI's models folder (diffusion_models, text_encoders or vae) "
                "and select it again",
                path=path,
            )


def check_text(name: str, value: str) -> None:
    if not value or not value.strip() or "\n" in value or "\r" in value:
        raise PlanInputError(
            what=f"The {name} {value!r} is empty or spans several lines", fix=f"give a one-line {name}"
        )


def check_range(name: str, value: float, low: float, high: float) -> None:
    """``low <= value <= high``; NaN and infinity fail it (every comparison with NaN is false)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise PlanInputError(
            what=f"{name}={value!r} is out of range", fix=f"use a value from {low} to {high}"
        )


def check_run_dir(request: PlanRequest) -> None:
    """The run folder receives caches and checkpoints: it must not sit inside the user's dataset."""
    run_dir = Path(request.run_dir).resolve()
    for image in (*request.images, *request.regularization):
        folder = Path(image.image_path).resolve().parent
        if run_dir == folder or folder in run_dir.parents:
            raise PlanInputError(
                what="The run folder is inside the dataset folder, so training would write into it",
                fix="choose a run folder outside the dataset folder (the default under ComfyUI's output is)",
                path=run_dir,
            )
