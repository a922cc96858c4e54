"""Engine command lines as argument lists (never shell strings).

``accelerate launch`` runs as ``<engine python> -m accelerate.commands.launch`` so the engine's
own venv is used without relying on a ``bin/accelerate`` script; its options are given on the
command line, so no interactive ``accelerate config`` is needed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .model import Engine, PlanRequest


def launch_prefix(engine: Engine, request: PlanRequest) -> list[str]:
    argv = [
        str(engine.python), "-m", "accelerate.commands.launch",
        "--num_processes", str(request.num_processes),
        "--num_machines", "1",
        "--mixed_precision", "bf16",
        "--dynamo_backend", "no",
    ]  # fmt: skip
    if request.cpu:
        argv += ["--cpu", "--num_cpu_threads_per_process", str(max(1, os.cpu_count() or 1))]
    elif request.num_processes > 1:
        argv.append("--multi_gpu")
    argv += list(request.extra_accelerate_args)
    argv.append(str(engine.train_script))
    return argv


def model_flags(request: PlanRequest) -> list[str]:
    models = request.models
    flags = [
        "--pretrained_model_name_or_path", str(models.diffusion_model),
        "--clip_l", str(models.clip_l),
        "--t5xxl", str(models.t5xxl),
        "--ae", str(models.ae),
    ]  # fmt: skip
    if request.tokenizer_cache_dir is not None:
        flags += ["--tokenizer_cache_dir", str(request.tokenizer_cache_dir)]
    return flags


def training_flags(settings: Mapping[str, Any]) -> list[str]:
    """Flags that follow from the resolved profile + tier settings (shared by every phase)."""
    flags = [
        "--save_model_as", "safetensors",
        "--save_precision", settings["save_precision"],
        "--mixed_precision", settings["mixed_precision"],
        "--network_module", settings["network_module"],
        "--network_dim", str(settings["network_dim"]),
        "--network_alpha", _number(settings["network_alpha"]),
        "--optimizer_type", settings["optimizer_type"],
        "--optimizer_args", *settings["optimizer_args"],
        "--learning_rate", _number(settings["learning_rate"]),
        "--max_grad_norm", _number(settings["max_grad_norm"]),
        "--cache_latents", "--cache_latents_to_disk",
        "--cache_text_encoder_outputs", "--cache_text_encoder_outputs_to_disk",
        "--guidance_scale", _number(settings["guidance_scale"]),
        "--timestep_sampling", settings["timestep_sampling"],
        "--model_prediction_type", settings["model_prediction_type"],
        "--max_data_loader_n_workers", str(settings["max_data_loader_n_workers"]),
    ]  # fmt: skip
    if settings["network_dropout"]:
        flags += ["--network_dropout", _number(settings["network_dropout"])]
    if settings["max_data_loader_n_workers"] > 0:
        flags.append("--persistent_data_loader_workers")
    if settings["fp8_base"]:
        flags.append("--fp8_base")
    if settings["gradient_checkpointing"]:
        flags.append("--gradient_checkpointing")
    if settings["blocks_to_swap"]:
        flags += ["--blocks_to_swap", str(settings["blocks_to_swap"])]
    if settings["t5xxl_max_token_length"] is not None:
        flags += ["--t5xxl_max_token_length", str(settings["t5xxl_max_token_length"])]
    return flags


def _number(value: float) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def flag_names(argv: list[str] | tuple[str, ...]) -> list[str]:
    """The ``--options`` of a command (values that look like options never follow a flag here)."""
    return [item.split("=", 1)[0] for item in argv if item.startswith("--")]


def flag_values(argv: Sequence[str], flag: str) -> list[str]:
    """The values after the last occurrence of ``flag`` (up to the next ``--`` option)."""
    if flag not in argv:
        return []
    start = len(argv) - 1 - list(reversed(argv)).index(flag) + 1
    values: list[str] = []
    for item in argv[start:]:
        if item.startswith("--"):
            break
        values.append(item)
    return values


def flag_value(argv: Sequence[str], flag: str) -> str | None:
    values = flag_values(argv, flag)
    return values[0] if values else None


def path_str(path: Path | None) -> str:
    return "" if path is None else str(path)
