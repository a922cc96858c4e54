"""Build a TEST-DOUBLE engine folder and hand-made training plans for the runner tests.

``build_engine(root)`` lays out an engine folder the way ``install`` does (``sd-scripts/`` with
the stand-in trainer ``stand_in_trainer.py`` installed as ``flux_train_network.py``,
``venv/bin/python``, ``engine.json``), but every piece is a test double: the "venv Python" is a
generated shell wrapper around this test venv's Python and ``accelerate_launch.py``. Nothing with an
absolute path is committed; the folder is generated
into a temporary directory by the tests.

``make_plan`` builds a :class:`TrainingPlan` directly (phases with real-engine argv shapes) so the
runner can be tested without the planner. Tests and benchmarks import it as
``from devkit.stand_in_engine import stand_in``.
"""

from __future__ import annotations

import json
import shlex
import shutil
import stat
import sys
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file

from sd_scripts_bridge.engine import platform_compat
from sd_scripts_bridge.model import (
    DatasetImage,
    Engine,
    EngineSamplePrompt,
    ModelFiles,
    Phase,
    PhaseNetwork,
    PlanRequest,
    TierChoice,
    TrainingPlan,
)
from sd_scripts_bridge.plan.sample_prompts import sample_prompts_json

HERE = Path(__file__).resolve().parent
TRAINER = HERE / "stand_in_trainer.py"  # the stand-in flux_train_network.py
PINNED_COMMIT = "48d368fa557731ad0488c07304dfeba8c07910eb"


def build_engine(root: Path) -> Engine:
    """An engine folder whose Python is a wrapper that runs the stand-in (a test double)."""
    source_dir = root / "sd-scripts"
    source_dir.mkdir(parents=True, exist_ok=True)
    # installed under the engine script's name, which the runner launches
    shutil.copy(TRAINER, source_dir / "flux_train_network.py")
    python = platform_compat.venv_python(root / "venv")  # Scripts/python.exe when patched to Windows
    python.parent.mkdir(parents=True, exist_ok=True)
    launcher = shlex.quote(str(HERE / "accelerate_launch.py"))
    python.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} {launcher} "$@"\n', encoding="utf-8")
    python.chmod(python.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    info = {"commit": PINNED_COMMIT, "stand_in": "test double, not sd-scripts"}
    (root / "engine.json").write_text(json.dumps(info), encoding="utf-8")
    return Engine(root=root, source_dir=source_dir, python=python, commit=PINNED_COMMIT)


def write_base_model(path: Path, double_blocks: int = 1, single_blocks: int = 1) -> Path:
    """A tiny file with only the FLUX key names that tell the block counts (not a usable model)."""
    tensors = {"img_in.weight": np.zeros((1,), dtype=np.float16)}
    for index in range(double_blocks):
        tensors[f"double_blocks.{index}.img_attn.proj.bias"] = np.zeros((1,), dtype=np.float16)
    for index in range(single_blocks):
        tensors[f"single_blocks.{index}.modulation.lin.bias"] = np.zeros((1,), dtype=np.float16)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path))
    return path


def launch_argv(engine: Engine) -> list[str]:
    return [
        str(engine.python), "-m", "accelerate.commands.launch",
        "--num_processes", "1", "--num_machines", "1", "--mixed_precision", "bf16", "--dynamo_backend", "no",
        str(engine.train_script),
    ]  # fmt: skip


def make_plan(
    tmp: Path,
    engine: Engine,
    steps: int = 4,
    save_every: int | None = 2,
    two_phase: bool = False,
    tier: str = "24gb",
    rank: int = 4,
    output_name: str = "identity",
    sample_prompts: tuple[str | EngineSamplePrompt, ...] = (),
    sample_every: int | None = None,
) -> TrainingPlan:
    """A hand-built plan with one phase (UNet only) or two (CLIP-L LoRA, then frozen); with
    ``sample_prompts``, both phases sample every ``sample_every`` steps (64 px images)."""
    run_dir = tmp / "run"
    output_dir = run_dir / "output"
    prompts_path = run_dir / "sample_prompts.json" if sample_prompts else None
    base = write_base_model(tmp / "models" / "flux_tiny.safetensors")
    folder = tmp / "models"
    models = ModelFiles(base, folder / "clip_l.safetensors", folder / "t5.safetensors", folder / "ae")
    request = PlanRequest(
        profile="fast",
        images=(DatasetImage(tmp / "data" / "a.png", "ohwx person"),),
        models=models,
        output_name=output_name,
        run_dir=run_dir,
        trigger_token="ohwx",
        vram_tier=tier,
        publish_dir=tmp / "loras",
    )
    toml_path = run_dir / "dataset.toml"
    common = [
        *launch_argv(engine),
        "--pretrained_model_name_or_path", str(base),
        "--dataset_config", str(toml_path),
        "--output_dir", str(output_dir),
        "--network_module", "networks.lora_flux",
        "--network_dim", str(rank), "--network_alpha", str(rank),
        "--learning_rate", "1e-4",
    ]  # fmt: skip
    if save_every:
        common += ["--save_every_n_steps", str(save_every), "--save_state"]
    if prompts_path is not None:
        every = sample_every or save_every or 1
        common += ["--sample_prompts", str(prompts_path), "--sample_every_n_steps", str(every)]

    def phase(
        name: str, stem: str, count: int, specific: list[str], weights: Path | None, te_lr: float | None
    ) -> Phase:
        argv = [*common, "--output_name", stem, "--max_train_steps", str(count), *specific]
        network = PhaseNetwork(rank=rank, text_encoder_lr=te_lr)
        return Phase(name, tuple(argv), count, output_dir, stem, weights, network=network)

    if two_phase:
        first_steps = steps // 2
        phase1_flags = ["--text_encoder_lr", "5e-05"]
        phase1 = phase("te_phase1", f"{output_name}_te_phase1", first_steps, phase1_flags, None, 5e-05)
        phase2_flags = ["--network_weights", str(phase1.output_file), "--text_encoder_lr", "0"]
        phase2 = phase("te_phase2", output_name, steps - first_steps, phase2_flags, phase1.output_file, 0.0)
        phases = (phase1, phase2)
    else:
        phases = (phase("train", output_name, steps, ["--network_train_unet_only"], None, None),)
    return TrainingPlan(
        request=request,
        phases=phases,
        dataset_toml='[general]\ncaption_extension = ".txt"\n',
        dataset_toml_path=toml_path,
        run_dir=run_dir,
        tier=TierChoice(name=tier, reason="test plan", expected_sec_per_step=None),
        warnings=(),
        settings={"network_dim": rank},
        metadata={"identity_lora_profile": "fast", "identity_lora_trigger_token": "ohwx"},
        sample_prompts_path=prompts_path,
        sample_prompts_text=sample_prompts_json(sample_prompts, 64, 42) if sample_prompts else None,
    )
