"""Engine command lines as argument lists (never shell strings).

``accelerate launch`` runs as ``<engine python> -m accelerate.commands.launch`` so the engine's
own venv is used without relying on a ``bin/accelerate`` script; its options are given on the
command line, so no interactive ``accelerate config`` is needed.

Several processes (``num_processes`` > 1, one per GPU of this machine) always go through
accelerate's ``--multi_gpu`` launcher (torch.distributed.run: one worker per process, each with
``WORLD_SIZE``/``RANK`` set, DDP). accelerate 1.6 ignores the process count with ``--cpu``: its
simple launcher starts one process and expects mpirun for more. So a CPU run with several
processes (tests) is ``--multi_gpu`` with ``ACCELERATE_USE_CPU=true`` and no visible CUDA device in
the engine's environment: the workers then join a gloo process group on the CPU (accelerate's
MULTI_CPU), and ``engine/shims/multi_cpu`` (on the engine's PYTHONPATH only then) keeps accelerate
from putting sd-scripts' frozen FLUX model in DDP on the CPU, as it already does not on GPUs. The
rendezvous port is picked free at launch (``with_rendezvous_port``), so two jobs on
one machine do not collide on accelerate's fixed default (29500).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..model import Engine, PlanRequest

LAUNCH_MODULE = "accelerate.commands.launch"
PORT_FLAG = "--main_process_port"
# The engine's environment for a CPU run with several processes (see the module docstring).
MULTI_CPU_SHIM = Path(__file__).resolve().parents[1] / "engine" / "shims" / "multi_cpu"
MULTI_CPU_ENVIRONMENT = (
    ("ACCELERATE_USE_CPU", "true"),
    ("CUDA_VISIBLE_DEVICES", ""),
    ("PYTHONPATH", str(MULTI_CPU_SHIM)),
)


def launch_prefix(engine: Engine, request: PlanRequest) -> list[str]:
    processes = request.num_processes
    argv = [
        str(engine.python), "-m", LAUNCH_MODULE,
        "--num_processes", str(processes),
        "--num_machines", "1",
        "--mixed_precision", "bf16",
        "--dynamo_backend", "no",
    ]  # fmt: skip
    if processes > 1:
        argv.append("--multi_gpu")
    if request.cpu:
        threads = max(1, (os.cpu_count() or 1) // processes)
        argv += [] if processes > 1 else ["--cpu"]
        argv += ["--num_cpu_threads_per_process", str(threads)]
    argv += list(request.extra_accelerate_args)
    argv.append(str(engine.train_script))
    return argv


def launch_environment(request: PlanRequest) -> tuple[tuple[str, str], ...]:
    """Variables the engine needs beyond the runner's own (only CPU runs with several processes)."""
    return MULTI_CPU_ENVIRONMENT if request.cpu and request.num_processes > 1 else ()


def with_rendezvous_port(argv: Sequence[str]) -> list[str]:
    """``argv`` with a free local ``--main_process_port`` for a ``--multi_gpu`` launch that names none.

    Picked right before the launch; the OS could hand the port to another program in between,
    which accelerate reports as "another process is utilizing it" (run again).
    """
    argv = list(argv)
    if LAUNCH_MODULE not in argv:
        return argv
    launcher = argv[: argv.index(LAUNCH_MODULE) + 1]
    options = argv[len(launcher) :]
    if "--multi_gpu" not in options or any(item.split("=", 1)[0] == PORT_FLAG for item in options):
        return argv
    return [*launcher, PORT_FLAG, str(free_local_port()), *options]


def free_local_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


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
