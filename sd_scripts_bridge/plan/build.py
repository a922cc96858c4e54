"""``build_plan``: turn what the user asked for into engine runs, checked before anything starts.

A plan is pure data: the phases' argument lists, the dataset TOML text, the staged-dataset
layout, warnings and metadata. Nothing is written here; ``staging.prepare_run_dir(plan)`` writes
the run folder and the runner launches the phases.

Text-encoder training (``two_phase``, see te_policy.py) is two engine runs, because sd-scripts
cannot freeze the text encoder mid-run:

* phase 1, the first <= 50% of the steps: no ``--network_train_unet_only``, ``--text_encoder_lr``
  = 0.3-0.5 x the UNet LR (one value: CLIP-L only; T5 gets no LoRA). Its scheduler is
  ``constant_with_warmup`` with the profile's warmup, because one cosine curve cannot span two runs.
* phase 2, the rest: ``--network_weights <phase 1 file> --text_encoder_lr 0 --lr_warmup_steps 0``
  with the profile's scheduler. Never ``--network_train_unet_only`` here: it would silently drop
  the phase-1 TE weights. With lr 0 the CLIP-L LoRA stays applied and is saved unchanged (verified
  bit-identical), so the DiT keeps training against the conditioning inference will use.
* ``--max_grad_norm`` stays at the engine's 1.0 in both phases. In phase 2 the frozen CLIP-L
  LoRA's gradients still enter the clipping norm; Adafactor (relative_step=False) normalises each
  update by the gradients' RMS, so a uniform clip scale hardly changes the step, and one value
  keeps the phases and the UNet-only runs comparable. (``--max_grad_norm 0`` in phase 2 only
  would make phase 2 the one unclipped run.)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..engine.flag_manifest import check_command
from ..engine.folder import require_pinned
from ..engine.pins import ENGINE_COMMIT
from ..lora_file import read_header
from ..model import Engine, Phase, PhaseNetwork, PlanRequest, TrainingPlan
from .command import launch_environment, launch_prefix, model_flags, training_flags
from .dataset_toml import build_dataset_toml, engine_steps, subject_steps_of
from .profiles import Profile, ResolvedProfile, inert_settings, resolve_profile
from .request_checks import check_request
from .sample_prompts import FILE_NAME as SAMPLE_PROMPTS_FILE
from .sample_prompts import sample_prompts_json
from .staging import model_identity, plan_staging
from .te_policy import MIN_IMAGES_FOR_TE, TextEncoderDecision, decide_text_encoder
from .tiers import choose_tier, memory_settings

METADATA_PREFIX = "identity_lora_"
PLAN_FORMAT = "1"


def build_plan(request: PlanRequest, engine: Engine, profile: ResolvedProfile | None = None) -> TrainingPlan:
    """Check the request and build every phase; raises a BridgeError naming the fix on bad input.

    ``profile`` is the request's resolved profile when the caller has it (the job resolves it once
    for the request key and every plan); without it, it is resolved here.
    """
    if not request.allow_unpinned_engine:
        require_pinned(engine)
    check_request(request)
    resolved = profile or resolve_profile(request)
    settings = regularization_budget(resolved.settings, bool(request.regularization))
    tier, tier_choice = choose_tier(
        request.vram_tier, request.device, settings["resolution"], cpu=request.cpu
    )
    memory = memory_settings(tier, settings["resolution"], cpu=request.cpu)
    settings.update(
        fp8_base=memory.fp8_base,
        gradient_checkpointing=memory.gradient_checkpointing,
        blocks_to_swap=memory.blocks_to_swap,
    )
    te = decide_text_encoder(
        request.te_policy,
        request.token_is_unique,
        len(request.images),
        bool(request.regularization),
        settings["learning_rate"],
        settings["te_lr_ratio"],
        settings["te_phase_fraction"],
        settings["max_train_steps"],
    )
    run_dir = Path(request.run_dir).resolve()
    staging = plan_staging(run_dir, request.images, request.regularization, cache_inputs(request, settings))
    dataset_toml = build_dataset_toml(
        staging, settings, request.trigger_token, request.class_word, request.validation_split, request.seed
    )
    toml_path = run_dir / "dataset.toml"
    prompts_path = run_dir / SAMPLE_PROMPTS_FILE if request.sample_prompts else None
    phases = build_phases(request, engine, settings, te, run_dir, toml_path, prompts_path)
    for phase in phases:
        check_command(phase.argv, engine.train_script)
    warnings = plan_warnings(request, resolved.profile, settings, tier_choice, te)
    metadata = plan_metadata(
        request, engine, resolved.profile, settings, tier_choice, te, staging.dataset_hash
    )
    settings["text_encoder"] = te.mode
    return TrainingPlan(
        request=request,
        phases=phases,
        dataset_toml=dataset_toml,
        dataset_toml_path=toml_path,
        run_dir=run_dir,
        tier=tier_choice,
        warnings=tuple(warnings),
        settings=settings,
        metadata=metadata,
        staging=staging,
        sample_prompts_path=prompts_path,
        sample_prompts_text=(
            sample_prompts_json(request.sample_prompts, settings["resolution"], request.seed)
            if prompts_path
            else None
        ),
    )


def regularization_budget(settings: dict[str, Any], has_regularization: bool) -> dict[str, Any]:
    """``max_train_steps`` becomes the engine's step count; ``subject_steps`` what the subject gets.

    The profile's (or the user's) step count is meant for the subject images. With regularization
    the engine spends half of its steps on the priors (dataset_toml.py), so the engine runs twice
    the steps unless ``keep_subject_steps`` is off.
    """
    subject = settings["max_train_steps"]
    total = engine_steps(subject, has_regularization, settings["keep_subject_steps"])
    return {
        **settings,
        "max_train_steps": total,
        "subject_steps": subject_steps_of(total, has_regularization),
    }


def cache_inputs(request: PlanRequest, settings: dict[str, Any]) -> dict[str, Any]:
    """What the engine's latent and text-encoder caches depend on besides images and captions."""
    return {
        "ae": model_identity(request.models.ae),
        "clip_l": model_identity(request.models.clip_l),
        "t5xxl": model_identity(request.models.t5xxl),
        "t5xxl_max_token_length": settings["t5xxl_max_token_length"],
        "class_tokens": [request.trigger_token, request.class_word],
    }


def engine_output_dir(run_dir: Path) -> Path:
    """Where every phase's engine writes its LoRA files, states and ``sample/`` images."""
    return Path(run_dir) / "output"


def build_phases(
    request: PlanRequest,
    engine: Engine,
    settings: dict[str, Any],
    te: TextEncoderDecision,
    run_dir: Path,
    toml_path: Path,
    prompts_path: Path | None,
) -> tuple[Phase, ...]:
    output_dir = engine_output_dir(run_dir)
    common = [
        *model_flags(request),
        "--dataset_config", str(toml_path),
        "--output_dir", str(output_dir),
        *training_flags(settings),
        "--seed", str(request.seed),
    ]  # fmt: skip
    if request.regularization:
        common += ["--prior_loss_weight", repr(float(settings["prior_loss_weight"]))]
    validate_every = validation_interval(request)
    common += optional_flags(request, prompts_path, validate_every)

    def phase(
        name: str,
        output_name: str,
        steps: int,
        specific: list[str],
        weights: Path | None,
        te_lr: float | None,
    ) -> Phase:
        log = run_dir / "logs" / f"{name}.engine.log"
        argv = [
            *launch_prefix(engine, request),
            *common,
            "--output_name", output_name,
            "--max_train_steps", str(steps),
            "--console_log_file", str(log),
            *specific,
        ]  # fmt: skip
        return Phase(
            name,
            tuple(argv),
            steps,
            output_dir,
            output_name,
            network_weights=weights,
            engine_log=log,
            environment=launch_environment(request),
            network=PhaseNetwork(rank=settings["network_dim"], text_encoder_lr=te_lr),
            validate_every_n_steps=validate_every,
        )

    scheduler = ["--lr_scheduler", settings["lr_scheduler"]]
    warmup = settings["lr_warmup_steps"]
    if te.mode == "frozen":
        frozen = [*scheduler, "--lr_warmup_steps", str(warmup), "--network_train_unet_only"]
        return (phase("train", request.output_name, settings["max_train_steps"], frozen, None, None),)
    phase1 = phase(
        "te_phase1",
        f"{request.output_name}_te_phase1",
        te.phase1_steps,
        [
            "--lr_scheduler",
            "constant_with_warmup",
            "--lr_warmup_steps",
            str(min(warmup, te.phase1_steps)),
            "--text_encoder_lr",
            repr(te.te_learning_rate),
        ],
        None,
        te.te_learning_rate,
    )
    phase2 = phase(
        "te_phase2",
        request.output_name,
        te.phase2_steps,
        [
            *scheduler,
            "--lr_warmup_steps",
            "0",
            "--network_weights",
            str(phase1.output_file),
            "--text_encoder_lr",
            "0",
        ],
        phase1.output_file,
        0.0,
    )
    return (phase1, phase2)


# CPU runs (tests and the tiny demo). On a CPU without bf16 instructions a bf16 convolution is about
# 100x slower than fp32, and the engine encodes latents with the AE in the training precision unless
# told otherwise; and text-encoder outputs are cached one caption per T5-XXL pass by default, while one
# batch shares each layer's fp8 -> bf16 weight conversion across all captions (measured: 73-134 s per
# caption alone, 13.8 s per caption in a batch of 16).
CPU_FLAGS = ("--no_half_vae", "--text_encoder_batch_size", "16")


def validation_interval(request: PlanRequest) -> int | None:
    """Validation runs at every saved checkpoint when the request holds images back (None: none)."""
    if request.validation_split > 0 and request.save_every_n_steps:
        return request.save_every_n_steps
    return None


def optional_flags(request: PlanRequest, prompts_path: Path | None, validate_every: int | None) -> list[str]:
    flags: list[str] = list(CPU_FLAGS) if request.cpu else []
    if request.save_every_n_steps:
        flags += ["--save_every_n_steps", str(request.save_every_n_steps), "--save_state"]
    if prompts_path is not None:
        every = request.sample_every_n_steps or request.save_every_n_steps
        flags += ["--sample_prompts", str(prompts_path), "--sample_every_n_steps", str(every)]
    if validate_every is not None:
        flags += ["--validate_every_n_steps", str(validate_every)]
    return flags


def plan_warnings(
    request: PlanRequest,
    profile: Profile,
    settings: dict[str, Any],
    tier_choice: Any,
    te: TextEncoderDecision,
) -> list[str]:
    warnings = [
        f"{key}={setting.value} ({setting.source}) is inert: {setting.inert_reason}"
        for key, setting in inert_settings(profile).items()
    ]
    warnings += [f"numerics: {change}" for change in tier_choice.changes_numerics]
    low, high = profile.design_steps
    steps, subject = settings["max_train_steps"], settings["subject_steps"]
    if not low <= subject <= high:
        warnings.append(
            f"{subject} steps on the subject are outside the {profile.name} profile's design range "
            f"{low}-{high}"
        )
    if request.regularization:
        warnings.append(budget_warning(steps, subject, settings["keep_subject_steps"]))
    if settings["lr_warmup_steps"] >= steps:
        warnings.append(
            f"lr_warmup_steps={settings['lr_warmup_steps']} is not below max_train_steps={steps}: "
            "the learning rate never reaches its target"
        )
    if len(request.images) < MIN_IMAGES_FOR_TE:
        warnings.append(
            f"only {len(request.images)} training images: the design document (Section 6) asks for 15-30"
        )
    if profile.name == "final" and not request.regularization:
        warnings.append("no regularization images: Section 4.2 recommends prior regularization for Final")
    if te.mode == "two_phase" and settings["lr_scheduler"] != "constant_with_warmup":
        warnings.append(
            f"two_phase: phase 1 uses constant_with_warmup and phase 2 {settings['lr_scheduler']} without "
            "warmup (the engine cannot run one schedule across two runs; the optimizer state restarts)"
        )
    free_vram = request.device.free_vram_gib if request.device is not None else None
    if free_vram is None and request.vram_tier == "auto" and not request.cpu:
        warnings.append("GPU memory unknown: " + tier_choice.reason.split(";")[0])
    if settings["blocks_to_swap"] >= FP8_T5_BLOCKS and not is_fp8_file(request.models.t5xxl):
        warnings.append(
            f"tier {tier_choice.name}: the engine's VRAM table recommends an fp8 T5-XXL file below 12 GB "
            f"(t5xxl_fp8_e4m3fn.safetensors); {request.models.t5xxl.name} is not fp8, so caching the "
            "captions' text-encoder outputs may run out of GPU memory"
        )
    return warnings


def budget_warning(steps: int, subject: int, kept: bool) -> str:
    """The regularization budget in one sentence (a warning: it changes the run's length)."""
    text = (
        f"regularization: {steps} engine steps, {subject} on the subject images and {steps - subject} on the "
        "regularization images (the engine repeats regularization images to match subject images x repeats)"
    )
    if kept:
        return (
            text
            + "; the steps were doubled so the subject keeps the profile's step count (keep_subject_steps)"
        )
    return text + "; keep_subject_steps is off, so the subject gets half of the steps asked for"


FP8_T5_BLOCKS = 22  # the engine's 10 GB and 8 GB rows (22 and 28 swapped blocks) ask for an fp8 T5-XXL


def is_fp8_file(path: Path) -> bool:
    """Whether a safetensors file stores its weights in fp8 (True when unreadable: no false alarm)."""
    try:
        header, _ = read_header(Path(path))
    except (OSError, ValueError):
        return True
    dtypes = {entry.get("dtype") for name, entry in header.items() if name != "__metadata__"}
    return any(str(dtype).startswith("F8") for dtype in dtypes)


def plan_metadata(
    request: PlanRequest,
    engine: Engine,
    profile: Profile,
    settings: dict[str, Any],
    tier_choice: Any,
    te: TextEncoderDecision,
    dataset_hash: str,
) -> dict[str, str]:
    """Our own LoRA metadata (string values), written next to the engine's ``ss_*`` keys."""
    values = {
        "plan_format": PLAN_FORMAT,
        "profile": profile.name,
        "trigger_token": request.trigger_token,
        "class_word": request.class_word,
        "dataset_hash": dataset_hash,
        "engine_commit": engine.commit or "unknown",
        "engine_pinned": str(engine.commit == ENGINE_COMMIT).lower(),
        "vram_tier": tier_choice.name,
        "base_precision": "fp8" if settings["fp8_base"] else "bf16",
        "gradient_checkpointing": str(settings["gradient_checkpointing"]).lower(),
        "blocks_to_swap": str(settings["blocks_to_swap"]),
        "numerics_changes": json.dumps(list(tier_choice.changes_numerics)),
        "text_encoder": te.mode,
        "text_encoder_lr": repr(te.te_learning_rate),
        "text_encoder_steps": str(te.phase1_steps),
        "subject_steps": str(settings["subject_steps"]),
        "regularization_images": str(len(request.regularization)),
        "inert_settings": json.dumps(
            {key: setting.value for key, setting in inert_settings(profile).items()}
        ),
        "seed": str(request.seed),
    }
    return {METADATA_PREFIX + key: value for key, value in values.items()}
